//! The codecs a recording may use (symphonia's, plus GSM 06.10), their names as shown to users,
//! and [`guard`], which turns a panic inside a container reader or codec into a refusal.

use std::sync::OnceLock;
use symphonia::core::codecs::{CodecRegistry, CodecType};
use symphonia::core::errors::Error as SymError;

/// symphonia's default codecs plus GSM 06.10 (`gsm`, `gsm_ms`).
pub fn codecs() -> &'static CodecRegistry {
    static REGISTRY: OnceLock<CodecRegistry> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        let mut r = CodecRegistry::new();
        symphonia::default::register_enabled_codecs(&mut r);
        r.register_all::<crate::audio::gsm::GsmDecoder>();
        r
    })
}

/// The short name of a codec ("pcm_mulaw", "mp3", "gsm_ms", ...), as shown to users.
pub fn codec_name(codec: CodecType) -> &'static str {
    codecs()
        .get_codec(codec)
        .map(|d| d.short_name)
        .unwrap_or("unknown")
}

thread_local! {
    /// Set while [`guard`] runs: a panic then is reported as an error, not printed.
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Run a call into a container reader or codec, turning a panic into an error. Some of
/// symphonia's readers and codecs panic on hostile input (an arithmetic overflow in the MS ADPCM
/// decoder, found by fuzzing): a recording that does that is refused as damaged, like any other,
/// rather than taking the app down. The panic message is not printed (the error says what failed).
pub(crate) fn guard<T>(
    f: impl FnOnce() -> std::result::Result<T, SymError>,
) -> std::result::Result<T, SymError> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GUARDED.with(|g| g.get()) {
                previous(info)
            }
        }));
    });
    let was = GUARDED.with(|g| g.replace(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(was));
    r.unwrap_or(Err(SymError::DecodeError(
        "the audio decoder failed on this data (damaged or malformed)",
    )))
}
