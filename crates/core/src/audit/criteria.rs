//! Personal values in the audit trail (a search's number, party and text) are kept only as keyed
//! hashes, so the trail proves who searched for what without keeping a patient's details past their
//! erasure. The key is derived from the audit file's own key: only whoever opens the file — a
//! holder of the `audit` key, or its writer at the time — can compute it, so an erased number can
//! be tried against the trail only by the audit key's holders, not by every user (FORMAT.md,
//! "Audit trail", search criteria).

use crate::crypto;
use crate::phone;
use crate::secret::Key32;

/// HKDF info of the criteria key, from an audit file's key.
pub const INFO: &[u8] = b"callvault/v2/audit-criteria";

/// Prefix of a value hashed with a file's criteria key.
pub const PREFIX: &str = "hmac2:";

/// HKDF info and prefix of the criteria key of earlier builds, keyed from the `dedup` seed (every
/// user's): still recognised when reading.
pub const LEGACY_INFO: &[u8] = b"callvault/v1/audit-criteria";
pub const LEGACY_PREFIX: &str = "hmac:";

/// The key that hashes personal values in one audit file's entries.
pub struct CriteriaKey {
    key: Key32,
    prefix: &'static str,
}

impl std::fmt::Debug for CriteriaKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CriteriaKey([redacted])")
    }
}

impl CriteriaKey {
    /// The criteria key of an audit file whose key is `file_key`.
    pub fn of_file(file_key: &Key32) -> Self {
        CriteriaKey {
            key: crypto::hkdf(file_key.expose(), INFO),
            prefix: PREFIX,
        }
    }

    /// The key earlier builds used, from the `dedup` seed.
    pub fn legacy(dedup: &Key32) -> Self {
        CriteriaKey {
            key: crypto::hkdf(dedup.expose(), LEGACY_INFO),
            prefix: LEGACY_PREFIX,
        }
    }

    /// `prefix ‖ first 16 hex digits of HMAC-SHA256(key, normalised)`.
    pub fn hash(&self, normalised: &str) -> String {
        let mac = crypto::hmac_sha256(self.key.expose(), normalised.as_bytes());
        format!("{}{}", self.prefix, &hex::encode(mac)[..16])
    }

    /// Does `detail` hold the hash of any of `candidates` (a whole criterion, or one of a
    /// request draft's parties)?
    pub fn names_any(&self, detail: &str, candidates: &[String]) -> bool {
        candidates.iter().any(|c| detail.contains(&self.hash(c)))
    }
}

/// A name or words as criteria are hashed: lower-cased, runs of white space made one space.
pub fn words(value: &str) -> String {
    value
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The most words (and characters) `candidates` takes: a value is a number, a name or a few words.
pub const MAX_WORDS: usize = 16;
pub const MAX_CHARS: usize = 200;
/// The most digits whose every run `candidates` hashes (a number with its country code).
pub const MAX_DIGITS: usize = 16;

/// The normalised values a search for `value` could have been given as, to find who searched for
/// it: for a number, the whole number and every run of at least 4 of its digits (a search by
/// fewer than 10 digits matches them anywhere in a number); for a name or words, lower-cased, the
/// whole and every run of its words.
pub fn candidates(value: &str) -> Vec<String> {
    let mut out = Vec::new();
    if value.chars().count() > MAX_CHARS || value.split_whitespace().count() > MAX_WORDS {
        return out;
    }
    if let Some(d) = phone::normalize(value).filter(|d| d.len() >= 4) {
        // Runs of a phone number's length; a longer string of digits only whole.
        let b = d.as_bytes();
        let shortest = if b.len() > MAX_DIGITS { b.len() } else { 4 };
        for len in shortest..=b.len() {
            for s in b.windows(len) {
                out.push(String::from_utf8_lossy(s).into_owned());
            }
        }
    }
    let words: Vec<String> = words(value)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    for len in 1..=words.len() {
        for run in words.windows(len) {
            out.push(run.join(" "));
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_cover_partial_numbers_and_word_runs() {
        let c = candidates("+44 7700 900777");
        assert!(c.contains(&"07700900777".to_string()));
        assert!(c.contains(&"900777".to_string()));
        assert!(c.contains(&"0777".to_string()));
        assert!(!c.contains(&"777".to_string()));
        let c = candidates(" Zelda  Quarrington ");
        for w in ["zelda", "quarrington", "zelda quarrington"] {
            assert!(c.contains(&w.to_string()), "{w}");
        }
    }

    #[test]
    fn a_files_key_and_the_legacy_key_hash_differently() {
        let f = Key32::from_bytes([7; 32]);
        let a = CriteriaKey::of_file(&f).hash("07700900777");
        let b = CriteriaKey::legacy(&f).hash("07700900777");
        assert!(a.starts_with("hmac2:") && b.starts_with("hmac:"));
        assert_ne!(a[6..], b[5..]);
        assert!(CriteriaKey::of_file(&f).names_any(
            &format!("criteria {{\"number\":\"{a}\"}}"),
            &candidates("07700 900777")
        ));
        assert!(candidates(&"word ".repeat(MAX_WORDS + 1)).is_empty());
        // A long string of digits only whole (and as one word).
        assert_eq!(candidates(&"1".repeat(40)), vec!["1".repeat(40)]);
        assert_eq!(words("  Zelda \t QUARRINGTON "), "zelda quarrington");
    }
}
