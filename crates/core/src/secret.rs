//! Wrapper types for key material and passwords: zeroed on drop, `[redacted]` in Debug output.

use zeroize::{Zeroize, ZeroizeOnDrop};

/// 32 bytes of secret key material (a seed, a data key, a derived key).
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct Key32([u8; 32]);

impl Key32 {
    pub fn from_bytes(b: [u8; 32]) -> Self {
        Key32(b)
    }
    pub fn from_slice(b: &[u8]) -> Option<Self> {
        let arr: [u8; 32] = b.try_into().ok()?;
        Some(Key32(arr))
    }
    pub fn random() -> Self {
        Key32(crate::crypto::random_array())
    }
    pub fn expose(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for Key32 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key32([redacted])")
    }
}

/// A password typed by a person.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Password(String);

impl Password {
    pub fn new(s: impl Into<String>) -> Self {
        Password(s.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_secrets() {
        let k = Key32::from_bytes([0x41; 32]);
        let p = Password::new("hunter2-correct-horse");
        let out = format!("{k:?} {p:?}");
        assert!(!out.contains("41") && !out.contains("hunter2"), "{out}");
        assert!(out.contains("redacted"));
    }
}
