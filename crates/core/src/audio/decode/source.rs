//! Sources symphonia reads from: an archive object's plaintext (a [`DecryptingReader`], seekable
//! and of known length), and [`SharedSource`], one source shared between a format reader and the
//! decoder that may need to make a fresh reader over it.

use crate::archive::audio::DecryptingReader;
use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex};
use symphonia::core::io::MediaSource;

/// An archive object's plaintext as a symphonia source (seekable, length known).
impl<R: Read + Seek + Send + Sync> MediaSource for DecryptingReader<R> {
    fn is_seekable(&self) -> bool {
        true
    }

    fn byte_len(&self) -> Option<u64> {
        Some(self.len())
    }
}

/// A source shared between the format reader and the [`Decoder`], which can then make a fresh
/// reader over it (symphonia 0.5's `MediaSourceStream` cannot give its source back).
#[derive(Clone)]
pub(super) struct SharedSource(pub(super) Arc<Mutex<Box<dyn MediaSource>>>);

impl SharedSource {
    fn lock(&self) -> std::io::Result<std::sync::MutexGuard<'_, Box<dyn MediaSource>>> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("audio source poisoned"))
    }
}

impl Read for SharedSource {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.lock()?.read(buf)
    }
}

impl Seek for SharedSource {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.lock()?.seek(pos)
    }
}

impl MediaSource for SharedSource {
    fn is_seekable(&self) -> bool {
        self.lock().map(|s| s.is_seekable()).unwrap_or(false)
    }

    fn byte_len(&self) -> Option<u64> {
        self.lock().ok().and_then(|s| s.byte_len())
    }
}
