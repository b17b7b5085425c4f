//! STREAM (Hoang, Reyhanitabar, Rogaway, Vizár 2015) over AES-256-GCM, as used for audio objects:
//! the plaintext is cut into fixed segments; segment `i` is sealed with nonce
//! `prefix(7) ‖ BE32(i) ‖ last(1)` so that any segment decrypts on its own, and truncation (the last
//! segment present lacks the last flag), reordering (wrong counter) and bit flips are detected.

use crate::crypto;
use crate::error::{Error, Result};
use crate::secret::Key32;
use zeroize::Zeroizing;

/// Authentication tag length per segment.
pub const TAG: usize = 16;

/// Nonce of segment `i`.
pub fn nonce(prefix: &[u8; 7], i: u32, last: bool) -> [u8; 12] {
    let mut n = [0u8; 12];
    n[..7].copy_from_slice(prefix);
    n[7..11].copy_from_slice(&i.to_be_bytes());
    n[11] = last as u8;
    n
}

/// Number of segments for `len` plaintext bytes (an empty plaintext has one empty segment).
pub fn segment_count(len: u64, seg: u32) -> u64 {
    if len == 0 {
        1
    } else {
        len.div_ceil(seg as u64)
    }
}

/// Encrypt a whole plaintext into concatenated segments.
pub fn encrypt_all(key: &Key32, prefix: &[u8; 7], aad: &[u8], seg: u32, pt: &[u8]) -> Vec<u8> {
    let n = segment_count(pt.len() as u64, seg);
    let mut out = Vec::with_capacity(pt.len() + n as usize * TAG);
    for i in 0..n {
        let start = (i * seg as u64) as usize;
        let end = ((i + 1) * seg as u64).min(pt.len() as u64) as usize;
        let last = i + 1 == n;
        let ct = crypto::seal(key, &nonce(prefix, i as u32, last), aad, &pt[start..end]);
        out.extend_from_slice(&ct);
    }
    out
}

/// Decrypt segment `i` of `n` from its ciphertext bytes.
pub fn decrypt_segment(
    key: &Key32,
    prefix: &[u8; 7],
    aad: &[u8],
    i: u64,
    n: u64,
    ct: &[u8],
    what: &str,
) -> Result<Zeroizing<Vec<u8>>> {
    let i32_ = u32::try_from(i).map_err(|_| Error::tampered(what, "too many segments"))?;
    crypto::open(key, &nonce(prefix, i32_, i + 1 == n), aad, ct, what).map_err(|_| {
        Error::tampered(
            what,
            format!("segment {i} does not authenticate (altered, truncated or reordered)"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(ct: &[u8], seg: usize) -> Vec<Vec<u8>> {
        ct.chunks(seg + TAG).map(|c| c.to_vec()).collect()
    }

    #[test]
    fn round_trip_random_access_and_attacks() {
        let key = Key32::random();
        let prefix = [7u8; 7];
        let pt: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let seg = 4096u32;
        let ct = encrypt_all(&key, &prefix, b"rec", seg, &pt);
        let segs = split(&ct, seg as usize);
        let n = segs.len() as u64;
        assert_eq!(n, 3);
        // Any segment on its own.
        let s1 = decrypt_segment(&key, &prefix, b"rec", 1, n, &segs[1], "t").unwrap();
        assert_eq!(&s1[..], &pt[4096..8192]);
        // Truncation: dropping the last segment makes the new last one fail.
        assert!(decrypt_segment(&key, &prefix, b"rec", 1, 2, &segs[1], "t").is_err());
        // Reordering.
        assert!(decrypt_segment(&key, &prefix, b"rec", 0, n, &segs[1], "t").is_err());
        // Other recording's associated data.
        assert!(decrypt_segment(&key, &prefix, b"other", 0, n, &segs[0], "t").is_err());
        // Bit flip.
        let mut bad = segs[2].clone();
        bad[3] ^= 0x10;
        assert!(decrypt_segment(&key, &prefix, b"rec", 2, n, &bad, "t").is_err());
    }
}
