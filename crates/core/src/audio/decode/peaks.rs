//! Waveform peaks of decoded audio: the channels mixed to mono, then the lowest and highest
//! sample of each short window.

/// Window of [`peaks`] used for waveforms.
pub const PEAK_WINDOW_MS: u32 = 10;

/// Waveform peaks: the channels mixed to mono, then (min, max) of each `window_ms` window (the
/// last may be shorter), scaled to `i16`.
pub fn peaks(samples: &[f32], rate: u32, channels: u16, window_ms: u32) -> Vec<(i16, i16)> {
    let ch = usize::from(channels.max(1));
    let window = ((u64::from(rate) * u64::from(window_ms) / 1000).max(1)) as usize;
    let scale = |x: f32| (x * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
    samples
        .chunks(window * ch)
        .filter(|w| w.len() >= ch)
        .map(|w| {
            let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
            for frame in w.chunks_exact(ch) {
                let m = if ch == 1 {
                    frame[0]
                } else {
                    frame.iter().sum::<f32>() / ch as f32
                };
                lo = lo.min(m);
                hi = hi.max(m);
            }
            (scale(lo), scale(hi))
        })
        .collect()
}
