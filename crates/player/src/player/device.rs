//! Output devices through cpal: listing them with the labels [`Player::new`](super::Player::new)
//! accepts, choosing a configuration in a sample format we can write, and opening the stream
//! whose callback is [`Output`].

use super::output::Output;
use super::shared::Shared;
use callvault_core::{Error, Result};
use cpal::traits::{DeviceTrait, HostTrait};
use cpal::{FromSample, SampleFormat, SizedSample};
use std::sync::Arc;

/// Device buffer period aimed at (the device holds two): long enough to ride out a busy machine,
/// short enough for a seek, pause or volume change to be heard at once (the callback comes round
/// at least this often).
const PERIOD_SECONDS: f64 = 0.02;

pub(super) fn device_error(name: &str, reason: String) -> Error {
    Error::Audio {
        file: format!("output device '{name}'"),
        reason,
    }
}

pub(super) fn name_of(d: &cpal::Device) -> String {
    d.description()
        .map(|desc| desc.name().to_string())
        .unwrap_or_else(|_| "unnamed device".into())
}

pub(super) fn device_id(d: &cpal::Device) -> String {
    d.id().map(|i| i.id().to_string()).unwrap_or_default()
}

/// Every output device with the label [`Player::new`](super::Player::new) accepts: its name, or
/// "name (id)" where two devices share a name.
pub(super) fn labelled_devices(host: &cpal::Host) -> Result<Vec<(String, cpal::Device)>> {
    let devices: Vec<cpal::Device> = host
        .output_devices()
        .map_err(|e| device_error("*", format!("cannot list output devices ({e})")))?
        .collect();
    let names: Vec<String> = devices.iter().map(name_of).collect();
    Ok(devices
        .into_iter()
        .zip(names.iter())
        .map(|(d, n)| {
            let label = if names.iter().filter(|m| *m == n).count() > 1 {
                format!("{n} ({})", device_id(&d))
            } else {
                n.clone()
            };
            (label, d)
        })
        .collect())
}

const FORMATS: [SampleFormat; 10] = [
    SampleFormat::F32,
    SampleFormat::I16,
    SampleFormat::I32,
    SampleFormat::F64,
    SampleFormat::U16,
    SampleFormat::I8,
    SampleFormat::U8,
    SampleFormat::U32,
    SampleFormat::I64,
    SampleFormat::U64,
];

/// The device's default configuration, or one at the same rate in a format we can write.
pub(super) fn choose_config(
    d: &cpal::Device,
) -> std::result::Result<cpal::SupportedStreamConfig, cpal::Error> {
    let def = d.default_output_config()?;
    if FORMATS.contains(&def.sample_format()) {
        return Ok(def);
    }
    d.supported_output_configs()?
        .filter(|c| FORMATS.contains(&c.sample_format()))
        .filter_map(|c| c.try_with_sample_rate(def.sample_rate()))
        .next()
        .ok_or_else(|| {
            cpal::Error::with_message(
                cpal::ErrorKind::UnsupportedConfig,
                format!(
                    "no supported sample format (default {})",
                    def.sample_format()
                ),
            )
        })
}

/// The stream configuration: the device's, with a period of about [`PERIOD_SECONDS`] where the
/// device says which sizes it takes.
fn stream_config(config: &cpal::SupportedStreamConfig) -> cpal::StreamConfig {
    let mut c = config.config();
    if let cpal::SupportedBufferSize::Range { min, max } = *config.buffer_size() {
        let want = (f64::from(config.sample_rate()) * PERIOD_SECONDS) as u32;
        c.buffer_size = cpal::BufferSize::Fixed(want.clamp(min, max.max(min)));
    }
    c
}

pub(super) fn build_stream(
    device: &cpal::Device,
    config: &cpal::SupportedStreamConfig,
    shared: &Arc<Shared>,
) -> std::result::Result<cpal::Stream, cpal::Error> {
    let preferred = stream_config(config);
    match build_stream_with(device, config.sample_format(), preferred, shared) {
        Err(_) if preferred.buffer_size != cpal::BufferSize::Default => {
            let fallback = config.config();
            build_stream_with(device, config.sample_format(), fallback, shared)
        }
        r => r,
    }
}

fn build_stream_with(
    device: &cpal::Device,
    format: SampleFormat,
    config: cpal::StreamConfig,
    shared: &Arc<Shared>,
) -> std::result::Result<cpal::Stream, cpal::Error> {
    fn build<T: SizedSample + FromSample<f32>>(
        device: &cpal::Device,
        config: cpal::StreamConfig,
        shared: &Arc<Shared>,
    ) -> std::result::Result<cpal::Stream, cpal::Error> {
        let mut out = Output::new(shared.clone());
        let sh = shared.clone();
        device.build_output_stream::<T, _, _>(
            config,
            move |data: &mut [T], _: &cpal::OutputCallbackInfo| out.fill(data),
            move |e: cpal::Error| {
                if e.kind() != cpal::ErrorKind::Xrun {
                    if let Ok(mut slot) = sh.device_error.try_lock() {
                        slot.get_or_insert_with(|| format!("audio output device failed: {e}"));
                    }
                    sh.wake_session();
                }
            },
            None,
        )
    }
    match format {
        SampleFormat::F32 => build::<f32>(device, config, shared),
        SampleFormat::I16 => build::<i16>(device, config, shared),
        SampleFormat::I32 => build::<i32>(device, config, shared),
        SampleFormat::F64 => build::<f64>(device, config, shared),
        SampleFormat::U16 => build::<u16>(device, config, shared),
        SampleFormat::I8 => build::<i8>(device, config, shared),
        SampleFormat::U8 => build::<u8>(device, config, shared),
        SampleFormat::U32 => build::<u32>(device, config, shared),
        SampleFormat::I64 => build::<i64>(device, config, shared),
        SampleFormat::U64 => build::<u64>(device, config, shared),
        other => Err(cpal::Error::with_message(
            cpal::ErrorKind::UnsupportedConfig,
            format!("sample format {other} is not supported"),
        )),
    }
}
