//! Speed change with the pitch kept: a streaming WSOLA (waveform-similarity overlap-add) time
//! stretch, for listening to a call at 0.5×–2×.
//!
//! The input is cut into Hann-windowed frames of 30 ms taken every `speed × 15 ms` and laid down
//! every 15 ms; each frame's start is moved by up to ±8 ms to where it best continues the audio
//! already laid down (normalised cross-correlation over the overlap), so voiced sounds keep their
//! phase and the pitch is unchanged. With 50 % overlap the periodic Hann windows sum to one, so a
//! steady signal keeps its level.
//!
//! At 1.0× the stretch is bypassed entirely: the output is the input, sample for sample.
//!
//! Output frame `j` (counted from the last [`TimeStretch::reset`]) carries the input around frame
//! `j × speed`: the input is preceded by half a frame of silence and that half frame is dropped
//! from the output, so there is no fade-in and no offset, and [`TimeStretch::finish`] ends the
//! output at `round(input frames / speed)` frames.

/// Slowest speed offered.
pub const MIN_SPEED: f64 = 0.5;
/// Fastest speed offered.
pub const MAX_SPEED: f64 = 2.0;

/// Frame length.
const FRAME_MS: f64 = 30.0;
/// How far (each way) a frame may move to match the audio already laid down.
const TOLERANCE_MS: f64 = 8.0;

/// A streaming WSOLA time stretch over interleaved `f32` samples.
#[derive(Debug, Clone)]
pub struct TimeStretch {
    channels: usize,
    speed: f64,
    /// Frame length in frames (even).
    frame: usize,
    /// Synthesis hop: half a frame.
    hop: usize,
    tolerance: usize,
    /// Stride of the coarse search (and of its correlation sums): about one sample at 8 kHz.
    stride: usize,
    window: Vec<f32>,
    /// Input not yet used (interleaved), starting at padded frame index `base`.
    input: Vec<f32>,
    /// The same, mixed to mono, for matching.
    mono: Vec<f32>,
    base: usize,
    /// Real (unpadded) input frames received since the reset.
    received: u64,
    /// Next output frame (window) number.
    k: u64,
    /// Padded input position of the previous window.
    prev: Option<usize>,
    /// Overlap-add accumulator, one frame long.
    ola: Vec<f32>,
    /// Output frames still to drop (the padding).
    skip: usize,
    /// Output frames returned since the reset.
    produced: u64,
}

impl TimeStretch {
    /// A stretch for audio at `rate` with `channels` channels, playing at `speed` (clamped to
    /// [`MIN_SPEED`]..=[`MAX_SPEED`]).
    pub fn new(rate: u32, channels: usize, speed: f64) -> TimeStretch {
        let rate = f64::from(rate.max(1));
        let frame = (((rate * FRAME_MS / 1000.0) as usize) / 2 * 2).max(8);
        let window = (0..frame)
            .map(|m| {
                let x = 2.0 * std::f64::consts::PI * m as f64 / frame as f64;
                (0.5 - 0.5 * x.cos()) as f32
            })
            .collect();
        let mut s = TimeStretch {
            channels: channels.max(1),
            speed: if speed.is_finite() {
                speed.clamp(MIN_SPEED, MAX_SPEED)
            } else {
                1.0
            },
            frame,
            hop: frame / 2,
            tolerance: ((rate * TOLERANCE_MS / 1000.0) as usize).max(1),
            stride: ((rate / 8000.0).round() as usize).max(1),
            window,
            input: Vec::new(),
            mono: Vec::new(),
            base: 0,
            received: 0,
            k: 0,
            prev: None,
            ola: Vec::new(),
            skip: 0,
            produced: 0,
        };
        s.reset();
        s
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// True at 1.0×, where the input is passed through untouched.
    pub fn is_bypassed(&self) -> bool {
        self.speed == 1.0
    }

    /// Forget all input (after a seek); the next input is frame 0.
    pub fn reset(&mut self) {
        let pad = self.frame / 2;
        self.input.clear();
        self.input.resize(pad * self.channels, 0.0);
        self.mono.clear();
        self.mono.resize(pad, 0.0);
        self.base = 0;
        self.received = 0;
        self.k = 0;
        self.prev = None;
        self.ola.clear();
        self.ola.resize(self.frame * self.channels, 0.0);
        self.skip = pad;
        self.produced = 0;
    }

    /// Stretch `input` (interleaved, whole frames), appending what is ready to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        if self.is_bypassed() {
            out.extend_from_slice(input);
            return;
        }
        self.append(input);
        self.received += (input.len() / self.channels) as u64;
        while self.step(out) {}
    }

    /// The end of the input: append the rest of the output, which ends at
    /// `round(input frames / speed)` frames.
    pub fn finish(&mut self, out: &mut Vec<f32>) {
        if self.is_bypassed() {
            return;
        }
        let target = (self.received as f64 / self.speed).round() as u64;
        let start = out.len();
        let silence = vec![0.0; self.frame * self.channels];
        while self.produced < target {
            if !self.step(out) {
                self.append(&silence);
            }
        }
        let extra =
            (self.produced.saturating_sub(target) as usize * self.channels).min(out.len() - start);
        out.truncate(out.len() - extra);
        self.produced = target;
    }

    fn append(&mut self, input: &[f32]) {
        let ch = self.channels;
        let whole = input.len() / ch * ch;
        self.input.extend_from_slice(&input[..whole]);
        if ch == 1 {
            self.mono.extend_from_slice(&input[..whole]);
        } else {
            let scale = 1.0 / ch as f32;
            self.mono.extend(
                input[..whole]
                    .chunks_exact(ch)
                    .map(|f| f.iter().sum::<f32>() * scale),
            );
        }
    }

    /// Padded frame index one past the input held.
    fn end(&self) -> usize {
        self.base + self.mono.len()
    }

    /// Normalised correlation of the candidate at padded position `at` with `target`.
    fn score(&self, target: usize, at: usize, stride: usize) -> f32 {
        let t = &self.mono[target - self.base..target - self.base + self.hop];
        let c = &self.mono[at - self.base..at - self.base + self.hop];
        let (mut xy, mut yy) = (0.0f32, 0.0f32);
        for i in (0..self.hop).step_by(stride) {
            xy += t[i] * c[i];
            yy += c[i] * c[i];
        }
        xy / (yy + 1e-9).sqrt()
    }

    /// Lay down one more window if the input allows; false if more input is needed.
    fn step(&mut self, out: &mut Vec<f32>) -> bool {
        let (frame, hop, tol, ch) = (self.frame, self.hop, self.tolerance, self.channels);
        let nominal = (self.k as f64 * hop as f64 * self.speed).round() as usize;
        let lo = nominal.saturating_sub(tol).max(self.base);
        let hi = nominal + tol;
        let needed = match self.prev {
            Some(p) => (hi + frame).max(p + 2 * hop),
            None => nominal + frame,
        };
        if needed > self.end() {
            return false;
        }
        let pos = match self.prev {
            None => nominal,
            Some(p) => {
                // Where the previous window's audio would naturally go on.
                let target = p + hop;
                let mut best = nominal.max(lo);
                let mut best_score = self.score(target, best, self.stride);
                let mut at = lo;
                while at <= hi {
                    let s = self.score(target, at, self.stride);
                    if s > best_score {
                        best = at;
                        best_score = s;
                    }
                    at += self.stride;
                }
                if self.stride > 1 {
                    let from = best.saturating_sub(self.stride - 1).max(lo);
                    let to = (best + self.stride - 1).min(hi);
                    let coarse = best;
                    best_score = self.score(target, coarse, 1);
                    for at in from..=to {
                        let s = self.score(target, at, 1);
                        if s > best_score {
                            best = at;
                            best_score = s;
                        }
                    }
                }
                best
            }
        };
        let off = (pos - self.base) * ch;
        for (m, w) in self.window.iter().enumerate() {
            for c in 0..ch {
                self.ola[m * ch + c] += w * self.input[off + m * ch + c];
            }
        }
        for f in 0..hop {
            if self.skip > 0 {
                self.skip -= 1;
            } else {
                out.extend_from_slice(&self.ola[f * ch..(f + 1) * ch]);
                self.produced += 1;
            }
        }
        self.ola.copy_within(hop * ch.., 0);
        let tail = self.ola.len() - hop * ch;
        self.ola[tail..].fill(0.0);
        self.prev = Some(pos);
        self.k += 1;

        // Drop input no later window can reach.
        let next_nominal = (self.k as f64 * hop as f64 * self.speed).round() as usize;
        let keep_from = next_nominal.saturating_sub(tol).min(pos + hop);
        if keep_from > self.base + 4 * frame {
            let n = keep_from - self.base;
            self.input.drain(..n * ch);
            self.mono.drain(..n);
            self.base = keep_from;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(rate: u32, hz: f64, secs: f64, channels: usize) -> Vec<f32> {
        let n = (f64::from(rate) * secs) as usize;
        (0..n)
            .flat_map(|i| {
                let v = (2.0 * std::f64::consts::PI * hz * i as f64 / f64::from(rate)).sin() * 0.5;
                std::iter::repeat_n(v as f32, channels)
            })
            .collect()
    }

    /// Frequency (1 Hz steps) with the most energy in `x` between `lo` and `hi`.
    fn dominant(x: &[f32], rate: u32, lo: u32, hi: u32) -> f64 {
        let mut best = (0.0, 0u32);
        for f in lo..=hi {
            let w = 2.0 * std::f64::consts::PI * f64::from(f) / f64::from(rate);
            let (mut re, mut im) = (0.0f64, 0.0f64);
            for (i, &v) in x.iter().enumerate() {
                re += f64::from(v) * (w * i as f64).cos();
                im += f64::from(v) * (w * i as f64).sin();
            }
            let p = re * re + im * im;
            if p > best.0 {
                best = (p, f);
            }
        }
        f64::from(best.1)
    }

    fn run(s: &mut TimeStretch, input: &[f32], chunk: usize) -> Vec<f32> {
        let mut out = Vec::new();
        for c in input.chunks(chunk) {
            s.process(c, &mut out);
        }
        s.finish(&mut out);
        out
    }

    #[test]
    fn one_x_is_exact_pass_through() {
        let x = tone(8000, 440.0, 1.0, 2);
        let mut s = TimeStretch::new(8000, 2, 1.0);
        assert!(s.is_bypassed());
        assert_eq!(run(&mut s, &x, 333), x);
    }

    #[test]
    fn speed_changes_length_not_pitch() {
        for (rate, speed) in [
            (8000, 2.0),
            (8000, 0.5),
            (48000, 2.0),
            (48000, 1.5),
            (16000, 0.75),
        ] {
            let x = tone(rate, 440.0, 2.0, 1);
            let mut s = TimeStretch::new(rate, 1, speed);
            let y = run(&mut s, &x, 1000);
            let want = (x.len() as f64 / speed).round() as usize;
            assert_eq!(y.len(), want, "{rate} Hz at {speed}x");
            let mid = &y[y.len() / 4..y.len() / 4 + rate as usize / 4];
            let f = dominant(mid, rate, 300, 600);
            assert!(
                (f - 440.0).abs() <= 440.0 * 0.03,
                "{rate} Hz at {speed}x: {f} Hz"
            );
            // The level is kept (Hann windows at 50 % overlap sum to one).
            let rms = (mid.iter().map(|v| v * v).sum::<f32>() / mid.len() as f32).sqrt();
            assert!(
                (rms - 0.5 / 2f32.sqrt()).abs() < 0.05,
                "{rate} Hz at {speed}x: rms {rms}"
            );
        }
    }

    #[test]
    fn streaming_matches_one_shot_and_stays_aligned() {
        let x = tone(8000, 200.0, 3.0, 2);
        let one = run(&mut TimeStretch::new(8000, 2, 1.25), &x, x.len());
        let many = run(&mut TimeStretch::new(8000, 2, 1.25), &x, 37 * 2);
        assert_eq!(one, many);
        // A click at input frame 16000 comes out near frame 16000 / 1.25.
        let mut y = vec![0.0f32; 24000];
        y[16000] = 1.0;
        let out = run(&mut TimeStretch::new(8000, 1, 1.25), &y, 500);
        let (at, _) = out
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
            .unwrap();
        assert!(
            (at as f64 - 12800.0).abs() <= 8.0 * 8.0 + 120.0,
            "click at {at}"
        );
    }

    #[test]
    fn reset_starts_again() {
        let x = tone(8000, 300.0, 0.5, 1);
        let mut s = TimeStretch::new(8000, 1, 0.5);
        let a = run(&mut s, &x, 100);
        s.reset();
        let b = run(&mut s, &x, 100);
        assert_eq!(a, b);
        assert_eq!(a.len(), 8000);
    }
}
