//! What the session thread does to each decoded block before it goes into the ring: stretch (at
//! the recording's rate), resample to the device's rate ([`Resample`], rubato's FFT resampler)
//! and map the channels ([`map_channels`]).

use crate::stretch::TimeStretch;
use callvault_core::{Error, Result};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler};

/// Input frames per resampler call.
const RESAMPLE_CHUNK: usize = 1024;

/// Streaming resampling with rubato's FFT resampler (a pass-through at equal rates), its delay
/// trimmed so output frame `j` is input frame `j × src / dst`.
pub(super) struct Resample {
    fft: Option<Fft<f32>>,
    ch: usize,
    src: u32,
    dst: u32,
    pending: Vec<f32>,
    scratch: Vec<f32>,
    trim: usize,
    fed: u64,
    emitted: u64,
}

impl Resample {
    pub(super) fn new(src: u32, dst: u32, ch: usize) -> Result<Resample> {
        let fft = if src == dst {
            None
        } else {
            Some(
                Fft::<f32>::new(
                    src as usize,
                    dst as usize,
                    RESAMPLE_CHUNK,
                    ch,
                    FixedSync::Input,
                )
                .map_err(|e| Error::Audio {
                    file: "player".into(),
                    reason: format!("cannot resample {src} Hz to {dst} Hz ({e})"),
                })?,
            )
        };
        let mut r = Resample {
            scratch: vec![0.0; fft.as_ref().map_or(0, |f| f.output_frames_max() * ch)],
            fft,
            ch,
            src,
            dst,
            pending: Vec::new(),
            trim: 0,
            fed: 0,
            emitted: 0,
        };
        r.reset();
        Ok(r)
    }

    pub(super) fn reset(&mut self) {
        if let Some(f) = &mut self.fft {
            f.reset();
            self.trim = f.output_delay();
        }
        self.pending.clear();
        self.fed = 0;
        self.emitted = 0;
    }

    /// Resample one chunk from `pending[off..]` (`partial` frames valid if given).
    fn run(&mut self, off: usize, partial: Option<usize>, out: &mut Vec<f32>) -> usize {
        let fft = self.fft.as_mut().expect("resampling");
        let ch = self.ch;
        let frames = self.pending.len() / ch;
        let input = InterleavedSlice::new(&self.pending[..], ch, frames).expect("sized");
        let out_frames = self.scratch.len() / ch;
        let mut output =
            InterleavedSlice::new_mut(&mut self.scratch[..], ch, out_frames).expect("sized");
        let mut idx = Indexing::new().input_offset(off);
        if let Some(p) = partial {
            idx = idx.partial_len(p);
        }
        let (used, made) = fft
            .process_into_buffer(&input, &mut output, Some(&idx))
            .expect("buffers sized from the resampler");
        let drop = self.trim.min(made);
        self.trim -= drop;
        out.extend_from_slice(&self.scratch[drop * ch..made * ch]);
        self.emitted += (made - drop) as u64;
        used
    }

    pub(super) fn push(&mut self, input: &[f32], out: &mut Vec<f32>) {
        let Some(fft) = &self.fft else {
            out.extend_from_slice(input);
            return;
        };
        let need = fft.input_frames_next();
        self.pending.extend_from_slice(input);
        self.fed += (input.len() / self.ch) as u64;
        let mut off = 0;
        while self.pending.len() / self.ch - off >= need {
            off += self.run(off, None, out);
        }
        self.pending.drain(..off * self.ch);
    }

    /// The end: the rest, up to `round(input × dst / src)` frames.
    pub(super) fn finish(&mut self, out: &mut Vec<f32>) {
        if self.fft.is_none() {
            return;
        }
        let target = (self.fed as f64 * f64::from(self.dst) / f64::from(self.src)).round() as u64;
        let start = out.len();
        let left = self.pending.len() / self.ch;
        if left > 0 {
            self.run(0, Some(left), out);
        }
        self.pending.clear();
        self.pending.resize(self.ch, 0.0);
        while self.emitted < target {
            self.run(0, Some(0), out);
        }
        let extra = ((self.emitted - target) as usize * self.ch).min(out.len() - start);
        out.truncate(out.len() - extra);
        self.emitted = target;
        self.pending.clear();
    }
}

/// `input` (interleaved, `from` channels) as `to` channels: mono to every channel, more channels
/// folded down by averaging, extra output channels silent.
pub(super) fn map_channels(input: &[f32], from: usize, to: usize, out: &mut Vec<f32>) {
    if from == to {
        out.extend_from_slice(input);
    } else if from == 1 {
        for &s in input {
            out.extend(std::iter::repeat_n(s, to));
        }
    } else {
        for f in input.chunks_exact(from) {
            for c in 0..to {
                let (sum, n) = f
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % to == c)
                    .fold((0.0f32, 0usize), |(s, n), (_, v)| (s + v, n + 1));
                out.push(if n == 0 { 0.0 } else { sum / n as f32 });
            }
        }
    }
}

pub(super) struct Pipeline {
    pub(super) src_rate: u32,
    pub(super) src_ch: usize,
    pub(super) dev_rate: u32,
    pub(super) dev_ch: usize,
    pub(super) stretch: TimeStretch,
    pub(super) resample: Resample,
    pub(super) a: Vec<f32>,
    pub(super) b: Vec<f32>,
    /// Device samples not yet in the ring, from `pending_at`.
    pub(super) pending: Vec<f32>,
    pub(super) pending_at: usize,
}

impl Pipeline {
    pub(super) fn ratio(&self) -> f64 {
        self.stretch.speed() * f64::from(self.src_rate) / f64::from(self.dev_rate)
    }

    pub(super) fn reset(&mut self, speed: f64) {
        if speed != self.stretch.speed() {
            self.stretch = TimeStretch::new(self.src_rate, self.src_ch, speed);
        } else {
            self.stretch.reset();
        }
        self.resample.reset();
        self.pending.clear();
        self.pending_at = 0;
    }

    pub(super) fn process(&mut self, block: &[f32]) {
        self.a.clear();
        self.stretch.process(block, &mut self.a);
        self.b.clear();
        self.resample.push(&self.a, &mut self.b);
        map_channels(&self.b, self.src_ch, self.dev_ch, &mut self.pending);
    }

    pub(super) fn finish(&mut self) {
        self.a.clear();
        self.stretch.finish(&mut self.a);
        self.b.clear();
        self.resample.push(&self.a, &mut self.b);
        self.resample.finish(&mut self.b);
        map_channels(&self.b, self.src_ch, self.dev_ch, &mut self.pending);
    }
}
