//! Audio objects (`rec/<id[0..2]>/<id>.cva`): the original file's bytes under a fresh per-recording
//! data key (DEK), in STREAM segments, with the DEK wrapped (HPKE) to the custodian key and to each
//! staff user who was a party to the call. Ingest needs only public keys.

use crate::archive::{join_envelope, split_envelope};
use crate::crypto::{self, stream, Wrapped};
use crate::error::{Error, Result};
use crate::secret::Key32;
use serde::{Deserialize, Serialize};
use std::io::{Read, Seek, SeekFrom};
use zeroize::Zeroizing;

pub const MAGIC: &[u8; 8] = b"CVAUDIO\x01";

/// The header of an audio object.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AudioHeader {
    pub v: u32,
    /// Recording id (32 hex digits).
    pub id: String,
    /// Plaintext bytes per segment.
    pub seg: u32,
    /// Plaintext length in bytes.
    pub len: u64,
    /// STREAM nonce prefix, 7 bytes as 14 hex digits.
    pub nonce: String,
    pub wraps: Vec<KeyWrap>,
}

/// The DEK wrapped to one recipient: `custodian`, or `user:<uid>`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyWrap {
    pub to: String,
    #[serde(flatten)]
    pub wrapped: Wrapped,
}

/// Relative path of a recording's audio object.
pub fn object_path(id: &str) -> String {
    format!("rec/{}/{}.cva", &id[..2], id)
}

/// Relative path of a recording's audio object re-wrapped to call key `epoch` (≥ 1) by a key
/// rotation (docs/FORMAT.md, "Rotating the call key"): the same body, a new header.
pub fn rewrapped_path(id: &str, epoch: u32) -> String {
    format!("rec/{}/{}.k{epoch:08}.cva", &id[..2], id)
}

/// Relative path of the signed record binding a re-wrapped object to its journal entry.
pub fn rewrap_record_path(id: &str, epoch: u32) -> String {
    format!("rec/{}/{}.k{epoch:08}.cvk", &id[..2], id)
}

/// What a name in a `rec/<shard>/` folder is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectName {
    /// `<id>.cva`: the audio object as imported.
    Audio,
    /// `<id>.k<epoch>.cva`: the audio object re-wrapped to call key `epoch`.
    Rewrapped(u32),
    /// `<id>.k<epoch>.cvk`: the signed record of that re-wrap.
    RewrapRecord(u32),
    /// `<id>.cvp`: waveform peaks.
    Peaks,
}

/// Parse a name found in a `rec/<shard>/` folder: the recording id and what the file is.
pub fn parse_object_name(name: &str) -> Option<(&str, ObjectName)> {
    let id = name.get(..32).filter(|i| super::is_id(i))?;
    let kind = match &name[32..] {
        ".cva" => ObjectName::Audio,
        ".cvp" => ObjectName::Peaks,
        rest => {
            let (num, ext) = rest.strip_prefix(".k")?.split_at_checked(8)?;
            if !num.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let e: u32 = num.parse().ok().filter(|e| *e >= 1)?;
            match ext {
                ".cva" => ObjectName::Rewrapped(e),
                ".cvk" => ObjectName::RewrapRecord(e),
                _ => return None,
            }
        }
    };
    Some((id, kind))
}

/// The label of a DEK wrap to call key `epoch`: `custodian` for the archive's first, in
/// `archive.json`; `custodian:<epoch>` after a rotation.
pub fn call_key_label(epoch: u32) -> String {
    if epoch == 0 {
        "custodian".into()
    } else {
        format!("custodian:{epoch}")
    }
}

/// HPKE info for a DEK wrap.
pub fn wrap_info(id: &str) -> Vec<u8> {
    [b"callvault/v1/dek/".as_slice(), id.as_bytes()].concat()
}

/// Associated data of every segment: binds the recording id, length and segment size.
pub fn segment_aad(id: &str, len: u64, seg: u32) -> Vec<u8> {
    let mut a = b"callvault/v1/audio/".to_vec();
    a.extend_from_slice(id.as_bytes());
    a.extend_from_slice(&len.to_be_bytes());
    a.extend_from_slice(&seg.to_be_bytes());
    a
}

/// Encrypt `plaintext` as recording `id`, its DEK wrapped to each `(label, X25519 public key)`.
pub fn seal(
    id: &str,
    seg: u32,
    plaintext: &[u8],
    recipients: &[(String, [u8; 32])],
) -> Result<Vec<u8>> {
    seal_keyed(id, seg, plaintext, recipients).map(|(o, _)| o)
}

/// As `seal`, also returning the data key (for the recording's other objects, e.g. its peaks).
pub fn seal_keyed(
    id: &str,
    seg: u32,
    plaintext: &[u8],
    recipients: &[(String, [u8; 32])],
) -> Result<(Vec<u8>, Key32)> {
    let dek = Key32::random();
    let prefix: [u8; 7] = crypto::random_array();
    let info = wrap_info(id);
    let mut wraps = Vec::with_capacity(recipients.len());
    for (label, pk) in recipients {
        wraps.push(KeyWrap {
            to: label.clone(),
            wrapped: crypto::wrap(pk, &info, dek.expose())?,
        });
    }
    let header = AudioHeader {
        v: 1,
        id: id.to_string(),
        seg,
        len: plaintext.len() as u64,
        nonce: hex::encode(prefix),
        wraps,
    };
    let hbytes = serde_json::to_vec(&header).expect("serialisable");
    let body = stream::encrypt_all(
        &dek,
        &prefix,
        &segment_aad(id, header.len, seg),
        seg,
        plaintext,
    );
    Ok((join_envelope(MAGIC, &hbytes, &body), dek))
}

/// Magic of a waveform peaks object.
pub const PEAKS_MAGIC: &[u8; 8] = b"CVPEAKS\x01";

/// Relative path of a recording's waveform peaks object.
pub fn peaks_path(id: &str) -> String {
    format!("rec/{}/{}.cvp", &id[..2], id)
}

fn peaks_key(dek: &Key32, id: &str) -> Key32 {
    crypto::hkdf(dek.expose(), format!("callvault/v1/peaks/{id}").as_bytes())
}

/// Seal waveform peaks (min/max per window, as i8 pairs) under a key derived from the data key:
/// whoever may open the recording may draw its waveform, without decoding it.
pub fn seal_peaks(id: &str, dek: &Key32, window_ms: u32, peaks: &[(i16, i16)]) -> Vec<u8> {
    let header =
        serde_json::json!({ "v": 1, "id": id, "window_ms": window_ms, "count": peaks.len() });
    let h = serde_json::to_vec(&header).expect("serialisable");
    let mut plain = Vec::with_capacity(peaks.len() * 2);
    for (lo, hi) in peaks {
        plain.push((lo >> 8) as i8 as u8);
        plain.push((hi >> 8) as i8 as u8);
    }
    let body = crypto::seal(
        &peaks_key(dek, id),
        &[0u8; 12],
        &[PEAKS_MAGIC.as_slice(), &h].concat(),
        &plain,
    );
    join_envelope(PEAKS_MAGIC, &h, &body)
}

/// Open a peaks object with the recording's data key: (window in ms, min/max pairs as i8).
pub fn open_peaks(data: &[u8], id: &str, dek: &Key32, what: &str) -> Result<(u32, Vec<(i8, i8)>)> {
    let (h, body) = split_envelope(data, PEAKS_MAGIC, what)?;
    let header: serde_json::Value = serde_json::from_slice(h)
        .map_err(|e| Error::tampered(what, format!("malformed header ({e})")))?;
    if header["id"] != id {
        return Err(Error::tampered(what, "peaks belong to another recording"));
    }
    let window = header["window_ms"].as_u64().unwrap_or(10) as u32;
    let plain = crypto::open(
        &peaks_key(dek, id),
        &[0u8; 12],
        &[PEAKS_MAGIC.as_slice(), h].concat(),
        body,
        what,
    )?;
    Ok((
        window,
        plain
            .chunks(2)
            .map(|c| (c[0] as i8, c.get(1).copied().unwrap_or(0) as i8))
            .collect(),
    ))
}

/// Parse an audio object's header from its first bytes; returns the header and the body offset.
pub fn parse_header(data: &[u8], what: &str) -> Result<(AudioHeader, usize)> {
    let (h, _) = split_envelope(data, MAGIC, what)?;
    let header: AudioHeader = serde_json::from_slice(h)
        .map_err(|e| Error::tampered(what, format!("malformed header ({e})")))?;
    if header.v != 1 {
        return Err(Error::Version {
            path: what.into(),
            found: header.v,
            supported: 1,
        });
    }
    if header.seg == 0
        || header.seg > 16 << 20
        || hex::decode(&header.nonce).map(|n| n.len()) != Ok(7)
    {
        return Err(Error::tampered(what, "malformed header fields"));
    }
    Ok((header, 12 + h.len()))
}

impl AudioHeader {
    /// Unwrap the DEK with the first of `keys` (`(label, seed)`) that has a wrap here.
    pub fn unwrap_dek(&self, keys: &[(String, &Key32)], what: &str) -> Result<Key32> {
        let info = wrap_info(&self.id);
        for (label, seed) in keys {
            if let Some(w) = self.wraps.iter().find(|w| &w.to == label) {
                return crypto::unwrap_key(seed, &info, &w.wrapped, what);
            }
        }
        Err(Error::Forbidden(format!(
            "recording {}: no key of yours opens it",
            self.id
        )))
    }

    fn prefix(&self) -> [u8; 7] {
        hex::decode(&self.nonce)
            .expect("checked at parse")
            .try_into()
            .expect("7 bytes")
    }

    pub fn segment_count(&self) -> u64 {
        stream::segment_count(self.len, self.seg)
    }

    /// Expected total object size given the header size.
    pub fn expected_size(&self, body_offset: usize) -> u64 {
        body_offset as u64 + self.len + self.segment_count() * stream::TAG as u64
    }
}

/// Read an audio object's header from the start of `inner` and check the object's size against it.
fn read_checked_header<R: Read + Seek>(inner: &mut R, what: &str) -> Result<(AudioHeader, usize)> {
    let mut head = vec![0u8; 12];
    inner
        .seek(SeekFrom::Start(0))
        .map_err(|e| Error::io(what, e))?;
    inner
        .read_exact(&mut head)
        .map_err(|_| Error::tampered(what, "truncated header"))?;
    let hlen = u32::from_be_bytes(head[8..12].try_into().unwrap()) as usize;
    if hlen > 1 << 20 {
        return Err(Error::tampered(what, "header length out of range"));
    }
    head.resize(12 + hlen, 0);
    inner
        .read_exact(&mut head[12..])
        .map_err(|_| Error::tampered(what, "truncated header"))?;
    let (header, body_offset) = parse_header(&head, what)?;
    let size = inner
        .seek(SeekFrom::End(0))
        .map_err(|e| Error::io(what, e))?;
    if size != header.expected_size(body_offset) {
        return Err(Error::tampered(
            what,
            "size does not match its header (truncated or extended)",
        ));
    }
    Ok((header, body_offset))
}

/// A `Read + Seek` view of a recording's plaintext that decrypts only the segments it needs, in
/// memory. Nothing decrypted is ever written anywhere.
pub struct DecryptingReader<R: Read + Seek> {
    inner: R,
    header: AudioHeader,
    body_offset: u64,
    dek: Key32,
    aad: Vec<u8>,
    prefix: [u8; 7],
    what: String,
    pos: u64,
    cached: Option<(u64, Zeroizing<Vec<u8>>)>,
}

impl<R: Read + Seek> DecryptingReader<R> {
    pub fn new(mut inner: R, keys: &[(String, &Key32)], what: &str) -> Result<Self> {
        let (header, body_offset) = read_checked_header(&mut inner, what)?;
        let dek = header.unwrap_dek(keys, what)?;
        Ok(Self::from_parts(inner, header, body_offset, dek, what))
    }

    fn from_parts(
        inner: R,
        header: AudioHeader,
        body_offset: usize,
        dek: Key32,
        what: &str,
    ) -> Self {
        DecryptingReader {
            aad: segment_aad(&header.id, header.len, header.seg),
            prefix: header.prefix(),
            inner,
            body_offset: body_offset as u64,
            dek,
            what: what.to_string(),
            pos: 0,
            cached: None,
            header,
        }
    }

    /// Open the object of recording `id`, refusing an object whose header names another recording.
    pub fn open_recording(
        inner: R,
        id: &str,
        keys: &[(String, &Key32)],
        what: &str,
    ) -> Result<Self> {
        let r = Self::new(inner, keys, what)?;
        if r.header.id != id {
            return Err(Error::tampered(
                what,
                "object belongs to another recording (swapped)",
            ));
        }
        Ok(r)
    }

    /// Open the object of recording `id` with its data key already unwrapped (from a wrap kept
    /// outside the object: a later assignment).
    pub fn open_with_dek(mut inner: R, id: &str, dek: Key32, what: &str) -> Result<Self> {
        let (header, body_offset) = read_checked_header(&mut inner, what)?;
        if header.id != id {
            return Err(Error::tampered(
                what,
                "object belongs to another recording (swapped)",
            ));
        }
        Ok(Self::from_parts(inner, header, body_offset, dek, what))
    }

    pub fn len(&self) -> u64 {
        self.header.len
    }

    pub fn segment_count(&self) -> u64 {
        self.header.segment_count()
    }

    pub fn is_empty(&self) -> bool {
        self.header.len == 0
    }

    /// Decrypt segment `i` (authenticating it).
    pub fn segment(&mut self, i: u64) -> Result<&[u8]> {
        if self.cached.as_ref().map(|c| c.0) != Some(i) {
            let seg = self.header.seg as u64;
            let n = self.header.segment_count();
            if i >= n {
                return Err(Error::Invalid(format!(
                    "{}: segment {i} is past the end",
                    self.what
                )));
            }
            let ct_len = if i + 1 == n {
                self.header.len - i * seg
            } else {
                seg
            } as usize
                + stream::TAG;
            let off = self.body_offset + i * (seg + stream::TAG as u64);
            let mut ct = vec![0u8; ct_len];
            self.inner
                .seek(SeekFrom::Start(off))
                .map_err(|e| Error::io(&self.what, e))?;
            self.inner
                .read_exact(&mut ct)
                .map_err(|_| Error::tampered(&self.what, format!("segment {i} truncated")))?;
            let pt =
                stream::decrypt_segment(&self.dek, &self.prefix, &self.aad, i, n, &ct, &self.what)?;
            self.cached = Some((i, pt));
        }
        Ok(&self.cached.as_ref().expect("just filled").1)
    }
}

impl<R: Read + Seek> Read for DecryptingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.header.len || buf.is_empty() {
            return Ok(0);
        }
        let seg = self.header.seg as u64;
        let i = self.pos / seg;
        let within = (self.pos % seg) as usize;
        let data = self
            .segment(i)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
        let n = (data.len() - within).min(buf.len());
        buf[..n].copy_from_slice(&data[within..within + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for DecryptingReader<R> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let new = match to {
            SeekFrom::Start(p) => p as i128,
            SeekFrom::End(d) => self.header.len as i128 + d as i128,
            SeekFrom::Current(d) => self.pos as i128 + d as i128,
        };
        if new < 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "seek before start",
            ));
        }
        self.pos = new as u64;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn seal_and_read_back_with_either_key() {
        let custodian = Key32::random();
        let user = Key32::random();
        let id = crypto::new_id();
        let pt: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 256) as u8).collect();
        let obj = seal(
            &id,
            65536,
            &pt,
            &[
                ("custodian".into(), crypto::x25519_public(&custodian)),
                ("user:u1".into(), crypto::x25519_public(&user)),
            ],
        )
        .unwrap();
        for (label, seed) in [("custodian", &custodian), ("user:u1", &user)] {
            let mut r =
                DecryptingReader::new(Cursor::new(obj.clone()), &[(label.into(), seed)], "t")
                    .unwrap();
            r.seek(SeekFrom::Start(150_000)).unwrap();
            let mut tail = Vec::new();
            r.read_to_end(&mut tail).unwrap();
            assert_eq!(&tail[..], &pt[150_000..]);
        }
        let stranger = Key32::random();
        assert!(DecryptingReader::new(
            Cursor::new(obj.clone()),
            &[("user:u2".into(), &stranger)],
            "t"
        )
        .is_err());
        // Truncation by a whole segment is refused at open.
        let mut short = obj.clone();
        short.truncate(obj.len() - 1000);
        assert!(DecryptingReader::new(
            Cursor::new(short),
            &[("custodian".into(), &custodian)],
            "t"
        )
        .is_err());
        // A flipped bit is refused when its segment is read.
        let mut bad = obj.clone();
        let n = bad.len();
        bad[n - 100] ^= 1;
        let mut r =
            DecryptingReader::new(Cursor::new(bad), &[("custodian".into(), &custodian)], "t")
                .unwrap();
        let mut all = Vec::new();
        assert!(r.read_to_end(&mut all).is_err());
    }
}
