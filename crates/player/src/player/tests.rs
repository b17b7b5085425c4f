//! Unit tests of the player's parts that need no device: the ring, channel mapping, the
//! resampler's alignment and length, volume, the limiter and loudness normalisation.

use super::output::{Dsp, LIMIT};
use super::pipeline::{map_channels, Resample};
use super::ring::Ring;
use super::{Player, PlayerEvent};

#[test]
fn player_can_be_shared_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Player>();
    send_sync::<PlayerEvent>();
}

#[test]
fn ring_wraps_and_keeps_whole_frames() {
    let r = Ring::new(10);
    assert_eq!(r.capacity(), 1024);
    let data: Vec<f32> = (0..1500).map(|i| i as f32).collect();
    assert_eq!(r.push(&data, 3), 1023);
    assert_eq!(r.push(&data, 3), 0);
    for i in 0..600 {
        assert_eq!(r.get(i), i as f32);
    }
    r.set_read(600);
    assert_eq!(r.push(&data[1023..], 3), 477);
    assert_eq!(r.len(), 900);
    for i in 600..1500 {
        assert_eq!(r.get(i), i as f32);
    }
}

#[test]
fn channels_mono_to_all_and_fold_down() {
    let mut out = Vec::new();
    map_channels(&[0.5, -0.25], 1, 2, &mut out);
    assert_eq!(out, [0.5, 0.5, -0.25, -0.25]);
    out.clear();
    map_channels(&[0.5, -0.25], 2, 1, &mut out);
    assert_eq!(out, [0.125]);
    out.clear();
    map_channels(&[0.5, 0.25], 2, 4, &mut out);
    assert_eq!(out, [0.5, 0.25, 0.0, 0.0]);
}

#[test]
fn resampler_is_aligned_and_exact_in_length() {
    let src: Vec<f32> = (0..8000 * 2)
        .map(|i| (2.0 * std::f32::consts::PI * 300.0 * i as f32 / 8000.0).sin() * 0.5)
        .collect();
    let mut r = Resample::new(8000, 48000, 1).unwrap();
    let mut out = Vec::new();
    for c in src.chunks(777) {
        r.push(c, &mut out);
    }
    r.finish(&mut out);
    assert_eq!(out.len(), src.len() * 6);
    // Aligned: output frame 6j is input frame j.
    let err = (100..src.len() - 100)
        .map(|j| (out[6 * j] - src[j]).abs())
        .fold(0.0f32, f32::max);
    assert!(err < 0.01, "max error {err}");
    // Equal rates: untouched.
    let mut same = Resample::new(8000, 8000, 1).unwrap();
    let mut o = Vec::new();
    same.push(&src, &mut o);
    same.finish(&mut o);
    assert_eq!(o, src);
}

#[test]
fn dsp_is_exact_at_unity_and_limits_above() {
    let mut d = Dsp::new(48000, 1.0);
    let mut f = [0.123f32, -0.999];
    d.process(&mut f, 1.0, false);
    assert_eq!(f, [0.123, -0.999]);
    let mut d = Dsp::new(48000, 1.5);
    let mut peak = 0.0f32;
    for i in 0..48000 {
        let v = (i as f32 * 0.05).sin() * 0.9;
        let mut f = [v, v];
        d.process(&mut f, 1.5, false);
        peak = peak.max(f[0].abs());
    }
    assert!(peak <= LIMIT + 1e-6, "peak {peak}");
    assert!(peak > 0.9, "peak {peak}");
}

#[test]
fn normalisation_lifts_quiet_audio_without_clipping() {
    let mut d = Dsp::new(8000, 1.0);
    let mut sum = 0.0f64;
    let mut peak = 0.0f32;
    for i in 0..8000 * 10 {
        let mut f = [(i as f32 * 0.2).sin() * 0.01];
        d.process(&mut f, 1.0, true);
        if i >= 8000 * 8 {
            sum += f64::from(f[0] * f[0]);
            peak = peak.max(f[0].abs());
        }
    }
    let rms = (sum / 16000.0).sqrt() as f32;
    // 0.007 RMS in, gain capped at 8x: about 0.057 out.
    assert!(rms > 0.05 && rms < 0.06, "rms {rms}");
    assert!(peak <= LIMIT);
    let mut d = Dsp::new(8000, 1.0);
    let mut peak = 0.0f32;
    for i in 0..8000 * 4 {
        let mut f = [(i as f32 * 0.2).sin() * 0.5];
        d.process(&mut f, 1.5, true);
        peak = peak.max(f[0].abs());
    }
    assert!(peak <= LIMIT + 1e-6, "peak {peak}");
}
