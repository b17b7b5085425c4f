//! [`GsmDecoder`]: GSM 06.10 as a symphonia codec, for packets of whole 33-byte frames
//! ([`CODEC_TYPE_GSM`]) or of whole 65-byte Microsoft blocks ([`CODEC_TYPE_GSM_MS`]).

use super::params::{unpack_frame, unpack_ms_block};
use super::rpe::GsmState;
use super::tables::{
    CODEC_TYPE_GSM, CODEC_TYPE_GSM_MS, FRAMES_PER_PACKET, FRAME_BYTES, FRAME_SAMPLES,
    MS_BLOCK_BYTES, MS_BLOCK_SAMPLES, SAMPLE_RATE,
};
use symphonia::core::audio::{
    AsAudioBufferRef, AudioBuffer, AudioBufferRef, Channels, Signal, SignalSpec,
};
use symphonia::core::codecs::{
    CodecDescriptor, CodecParameters, Decoder, DecoderOptions, FinalizeResult,
};
use symphonia::core::errors::{decode_error, unsupported_error, Result as SymResult};
use symphonia::core::formats::Packet;
use symphonia::core::sample::SampleFormat;

/// symphonia [`Decoder`] for [`CODEC_TYPE_GSM`] (packets of whole 33-byte frames) and
/// [`CODEC_TYPE_GSM_MS`] (packets of whole 65-byte blocks). Output is mono 16-bit.
pub struct GsmDecoder {
    params: CodecParameters,
    ms: bool,
    state: GsmState,
    buf: AudioBuffer<i16>,
}

const DESCRIPTORS: &[CodecDescriptor] = &[
    CodecDescriptor {
        codec: CODEC_TYPE_GSM,
        short_name: "gsm",
        long_name: "GSM 06.10 full rate",
        inst_func: make_decoder,
    },
    CodecDescriptor {
        codec: CODEC_TYPE_GSM_MS,
        short_name: "gsm_ms",
        long_name: "GSM 06.10 full rate, Microsoft packing (WAV49)",
        inst_func: make_decoder,
    },
];

fn make_decoder(params: &CodecParameters, opts: &DecoderOptions) -> SymResult<Box<dyn Decoder>> {
    Ok(Box::new(GsmDecoder::try_new(params, opts)?))
}

impl GsmDecoder {
    fn spec(&self) -> SignalSpec {
        SignalSpec::new(
            self.params.sample_rate.unwrap_or(SAMPLE_RATE),
            Channels::FRONT_LEFT,
        )
    }

    fn decode_inner(&mut self, packet: &Packet) -> SymResult<()> {
        let data = packet.buf();
        let (unit, per_unit) = if self.ms {
            (MS_BLOCK_BYTES, MS_BLOCK_SAMPLES)
        } else {
            (FRAME_BYTES, FRAME_SAMPLES)
        };
        if !data.chunks_exact(unit).remainder().is_empty() {
            return decode_error("gsm: packet is not a whole number of frames");
        }
        let n = data.len() / unit * per_unit;
        if self.buf.capacity() < n {
            self.buf = AudioBuffer::new(n as u64, self.spec());
        }
        self.buf.clear();
        self.buf.render_reserved(Some(n));
        let out = self.buf.chan_mut(0);
        for (bytes, samples) in data.chunks_exact(unit).zip(out.chunks_exact_mut(per_unit)) {
            if self.ms {
                let frames = unpack_ms_block(bytes.try_into().expect("65 bytes"));
                let (a, b) = samples.split_at_mut(FRAME_SAMPLES);
                self.state
                    .decode_frame(&frames[0], a.try_into().expect("160 samples"));
                self.state
                    .decode_frame(&frames[1], b.try_into().expect("160 samples"));
            } else {
                let Some(params) = unpack_frame(bytes.try_into().expect("33 bytes")) else {
                    return decode_error("gsm: bad frame (no 0xD magic)");
                };
                self.state
                    .decode_frame(&params, samples.try_into().expect("160 samples"));
            }
        }
        self.buf
            .trim(packet.trim_start() as usize, packet.trim_end() as usize);
        Ok(())
    }
}

impl Decoder for GsmDecoder {
    fn try_new(params: &CodecParameters, _options: &DecoderOptions) -> SymResult<Self> {
        let ms = match params.codec {
            CODEC_TYPE_GSM => false,
            CODEC_TYPE_GSM_MS => true,
            _ => return unsupported_error("gsm: not a GSM 06.10 stream"),
        };
        if params.channels.is_some_and(|c| c.count() != 1) {
            return unsupported_error("gsm: GSM 06.10 is mono");
        }
        let mut params = params.clone();
        let rate = params.sample_rate.unwrap_or(SAMPLE_RATE);
        params
            .with_sample_rate(rate)
            .with_channels(Channels::FRONT_LEFT)
            .with_sample_format(SampleFormat::S16);
        let unit = if ms { MS_BLOCK_SAMPLES } else { FRAME_SAMPLES } as u64;
        let capacity = params
            .max_frames_per_packet
            .unwrap_or(FRAMES_PER_PACKET * FRAME_SAMPLES as u64)
            .clamp(unit, 1 << 20);
        Ok(GsmDecoder {
            buf: AudioBuffer::new(capacity, SignalSpec::new(rate, Channels::FRONT_LEFT)),
            params,
            ms,
            state: GsmState::new(),
        })
    }

    fn supported_codecs() -> &'static [CodecDescriptor] {
        DESCRIPTORS
    }

    fn reset(&mut self) {
        self.state = GsmState::new();
    }

    fn codec_params(&self) -> &CodecParameters {
        &self.params
    }

    fn decode(&mut self, packet: &Packet) -> SymResult<AudioBufferRef<'_>> {
        if let Err(e) = self.decode_inner(packet) {
            self.buf.clear();
            return Err(e);
        }
        Ok(self.buf.as_audio_buffer_ref())
    }

    fn finalize(&mut self) -> FinalizeResult {
        FinalizeResult::default()
    }

    fn last_decoded(&self) -> AudioBufferRef<'_> {
        self.buf.as_audio_buffer_ref()
    }
}
