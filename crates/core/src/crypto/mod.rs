//! Cryptographic building blocks, each used by the archive format (docs/FORMAT.md):
//! HPKE (RFC 9180, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM, base mode) to wrap keys to
//! public keys; AES-256-GCM for bodies; STREAM segments for audio (`stream`); Argon2id for passwords;
//! HMAC-SHA256 for keyed hashes; Ed25519 for user-record signatures.

pub mod stream;

use crate::error::{Error, Result};
use crate::secret::{Key32, Password};
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use hmac::{Hmac, Mac};
use hpke::{Deserializable, Kem as _, Serializable};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

type HKem = hpke::kem::X25519HkdfSha256;
type HKdf = hpke::kdf::HkdfSha256;
type HAead = hpke::aead::AesGcm256;

/// Fill an array from the OS random source.
pub fn random_array<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    rand::rngs::OsRng.fill_bytes(&mut b);
    b
}

/// A new random 128-bit identifier as 32 lower-case hex digits.
pub fn new_id() -> String {
    hex::encode(random_array::<16>())
}

pub fn sha256(data: &[u8]) -> [u8; 32] {
    Sha256::digest(data).into()
}

/// SHA-256 over data fed in pieces (a large file read in blocks).
#[derive(Default)]
pub struct Sha256Stream(Sha256);

impl Sha256Stream {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }
    pub fn finish(self) -> [u8; 32] {
        self.0.finalize().into()
    }
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    m.finalize().into_bytes().into()
}

/// Does `tag` equal HMAC-SHA256(key, data)? Compared in constant time.
pub fn hmac_sha256_verify(key: &[u8], data: &[u8], tag: &[u8]) -> bool {
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    m.verify_slice(tag).is_ok()
}

/// HKDF-SHA256 with an empty salt, expanding `ikm` to 32 bytes for `info`.
pub fn hkdf(ikm: &[u8], info: &[u8]) -> Key32 {
    let hk = hkdf::Hkdf::<Sha256>::new(None, ikm);
    let mut out = [0u8; 32];
    hk.expand(info, &mut out)
        .expect("32 bytes is a valid HKDF length");
    let k = Key32::from_bytes(out);
    zeroize::Zeroize::zeroize(&mut out);
    k
}

pub fn b64(data: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(data)
}

pub fn unb64(s: &str, what: &str) -> Result<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .map_err(|_| Error::tampered(what, "bad base64"))
}

/// The X25519 public key (32 bytes) of the key pair derived from a 32-byte seed.
pub fn x25519_public(seed: &Key32) -> [u8; 32] {
    let (_, pk) = HKem::derive_keypair(seed.expose());
    pk.to_bytes().into()
}

/// A key or small secret sealed to an X25519 public key with single-shot HPKE (base mode).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Wrapped {
    /// The encapsulated ephemeral public key, base64 (32 bytes).
    pub enc: String,
    /// The AES-256-GCM ciphertext and tag, base64.
    pub ct: String,
}

/// Seal `plaintext` to `recipient` (X25519 public key) with HPKE; `info` binds the context.
pub fn wrap(recipient: &[u8; 32], info: &[u8], plaintext: &[u8]) -> Result<Wrapped> {
    let pk = <HKem as hpke::Kem>::PublicKey::from_bytes(recipient)
        .map_err(|_| Error::Invalid("malformed public key".into()))?;
    let (enc, ct) = hpke::single_shot_seal::<HAead, HKdf, HKem, _>(
        &hpke::OpModeS::Base,
        &pk,
        info,
        plaintext,
        b"",
        &mut rand::rngs::OsRng,
    )
    .map_err(|_| Error::Invalid("HPKE seal failed".into()))?;
    Ok(Wrapped {
        enc: b64(&enc.to_bytes()),
        ct: b64(&ct),
    })
}

/// Open a `Wrapped` with the key pair derived from `seed`. `what` names the object for errors.
pub fn unwrap(seed: &Key32, info: &[u8], w: &Wrapped, what: &str) -> Result<Zeroizing<Vec<u8>>> {
    let (sk, _) = HKem::derive_keypair(seed.expose());
    let enc_bytes = unb64(&w.enc, what)?;
    let enc = <HKem as hpke::Kem>::EncappedKey::from_bytes(&enc_bytes)
        .map_err(|_| Error::tampered(what, "malformed key wrap"))?;
    let ct = unb64(&w.ct, what)?;
    hpke::single_shot_open::<HAead, HKdf, HKem>(&hpke::OpModeR::Base, &sk, &enc, info, &ct, b"")
        .map(Zeroizing::new)
        .map_err(|_| Error::tampered(what, "key wrap does not open (wrong key or altered)"))
}

/// Unwrap a 32-byte key.
pub fn unwrap_key(seed: &Key32, info: &[u8], w: &Wrapped, what: &str) -> Result<Key32> {
    let pt = unwrap(seed, info, w, what)?;
    Key32::from_slice(&pt).ok_or_else(|| Error::tampered(what, "wrapped key has the wrong length"))
}

/// AES-256-GCM encrypt.
pub fn seal(key: &Key32, nonce: &[u8; 12], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let c = Aes256Gcm::new_from_slice(key.expose()).expect("32-byte key");
    c.encrypt(
        Nonce::from_slice(nonce),
        Payload {
            msg: plaintext,
            aad,
        },
    )
    .expect("AES-GCM encryption of an in-memory buffer cannot fail")
}

/// AES-256-GCM decrypt; `what` names the object in the error.
pub fn open(
    key: &Key32,
    nonce: &[u8; 12],
    aad: &[u8],
    ct: &[u8],
    what: &str,
) -> Result<Zeroizing<Vec<u8>>> {
    let c = Aes256Gcm::new_from_slice(key.expose()).expect("32-byte key");
    c.decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad })
        .map(Zeroizing::new)
        .map_err(|_| {
            Error::tampered(
                what,
                "does not authenticate (altered, truncated or wrong key)",
            )
        })
}

/// Argon2id cost parameters, recorded in the archive.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct KdfParams {
    /// Memory in KiB.
    pub m_kib: u32,
    /// Iterations.
    pub t: u32,
    /// Parallelism.
    pub p: u32,
}

impl KdfParams {
    /// Cheap parameters for tests only (`init --kdf fast`); recorded like any other.
    pub const FAST: KdfParams = KdfParams {
        m_kib: 8 * 1024,
        t: 1,
        p: 1,
    };

    /// Refuse parameters that would fail or exhaust memory (they come from files on the share).
    pub fn check(&self, what: &str) -> Result<()> {
        let ok = (8..=4 * 1024 * 1024).contains(&self.m_kib)
            && self.m_kib >= 8 * self.p
            && (1..=64).contains(&self.t)
            && (1..=16).contains(&self.p);
        if ok {
            Ok(())
        } else {
            Err(Error::tampered(
                what,
                "password hashing parameters out of range",
            ))
        }
    }

    /// Measure this machine and pick parameters costing about `target_ms` (64 MiB, rising t).
    pub fn calibrate(target_ms: u128) -> (KdfParams, u128) {
        let mut p = KdfParams {
            m_kib: 64 * 1024,
            t: 1,
            p: 1,
        };
        let pw = Password::new("calibration");
        let salt = [0u8; 16];
        loop {
            let start = std::time::Instant::now();
            let _ = argon2id(&pw, &salt, p);
            let ms = start.elapsed().as_millis();
            if ms >= target_ms || p.t >= 12 {
                return (p, ms);
            }
            // Scale t towards the target, at least one step.
            let per_t = (ms / p.t as u128).max(1);
            let want = (target_ms / per_t) as u32;
            p.t = want.clamp(p.t + 1, 12);
        }
    }
}

/// Derive a 32-byte key from a password with Argon2id.
pub fn argon2id(password: &Password, salt: &[u8], p: KdfParams) -> Key32 {
    let params = argon2::Params::new(p.m_kib, p.t, p.p, Some(32)).expect("valid Argon2 params");
    let a = argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params);
    let mut out = [0u8; 32];
    a.hash_password_into(password.expose().as_bytes(), salt, &mut out)
        .expect("Argon2 with valid salt and output length");
    let k = Key32::from_bytes(out);
    zeroize::Zeroize::zeroize(&mut out);
    k
}

/// The Ed25519 signing key derived from a 32-byte seed, and its public key.
pub fn ed25519_public(seed: &Key32) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(seed.expose())
        .verifying_key()
        .to_bytes()
}

pub fn ed25519_sign(seed: &Key32, msg: &[u8]) -> [u8; 64] {
    use ed25519_dalek::Signer;
    ed25519_dalek::SigningKey::from_bytes(seed.expose())
        .sign(msg)
        .to_bytes()
}

pub fn ed25519_verify(public: &[u8; 32], msg: &[u8], sig: &[u8]) -> bool {
    let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(public) else {
        return false;
    };
    let Ok(sig) = ed25519_dalek::Signature::from_slice(sig) else {
        return false;
    };
    vk.verify_strict(msg, &sig).is_ok()
}

/// An XEdDSA-style signature (Perrin, "The XEdDSA and VXEdDSA Signature Schemes", 2016) by the
/// X25519 key pair derived from `seed`: an Ed25519 signature under the Edwards form of that key
/// (sign bit 0), so anyone holding only the X25519 public key can check that the holder of its
/// private key signed. The nonce is derived from the seed and the message (deterministic).
pub fn xeddsa_sign(seed: &Key32, msg: &[u8]) -> [u8; 64] {
    use curve25519_dalek::{EdwardsPoint, Scalar};
    let (sk, _) = HKem::derive_keypair(seed.expose());
    let mut b: [u8; 32] = sk.to_bytes().into();
    b[0] &= 248;
    b[31] &= 127;
    b[31] |= 64;
    let mut a = Scalar::from_bytes_mod_order(b);
    zeroize::Zeroize::zeroize(&mut b);
    let mut big_a = EdwardsPoint::mul_base(&a);
    if big_a.compress().as_bytes()[31] & 0x80 != 0 {
        a = -a;
        big_a = -big_a;
    }
    let a_bytes = big_a.compress().to_bytes();
    let prefix = hkdf(seed.expose(), b"callvault/v3/xeddsa-nonce");
    let mut r = Scalar::from_hash(
        sha2::Sha512::new()
            .chain_update(prefix.expose())
            .chain_update(msg),
    );
    let big_r = EdwardsPoint::mul_base(&r).compress();
    let h = Scalar::from_hash(
        sha2::Sha512::new()
            .chain_update(big_r.as_bytes())
            .chain_update(a_bytes)
            .chain_update(msg),
    );
    let s = r + h * a;
    zeroize::Zeroize::zeroize(&mut r);
    zeroize::Zeroize::zeroize(&mut a);
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(big_r.as_bytes());
    out[32..].copy_from_slice(s.as_bytes());
    out
}

/// Check an [`xeddsa_sign`] signature against an X25519 public key.
pub fn xeddsa_verify(x25519_public: &[u8; 32], msg: &[u8], sig: &[u8]) -> bool {
    match curve25519_dalek::MontgomeryPoint(*x25519_public).to_edwards(0) {
        Some(ed) => ed25519_verify(&ed.compress().to_bytes(), msg, sig),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xeddsa_signs_under_the_x25519_public_key_only() {
        for _ in 0..16 {
            let seed = Key32::random();
            let pk = x25519_public(&seed);
            let sig = xeddsa_sign(&seed, b"callvault test message");
            assert!(xeddsa_verify(&pk, b"callvault test message", &sig));
            assert!(!xeddsa_verify(&pk, b"callvault test messagE", &sig));
            let other = x25519_public(&Key32::random());
            assert!(!xeddsa_verify(&other, b"callvault test message", &sig));
            let mut bad = sig;
            bad[40] ^= 1;
            assert!(!xeddsa_verify(&pk, b"callvault test message", &bad));
        }
    }

    #[test]
    fn wrap_round_trip_and_wrong_key_refused() {
        let seed = Key32::random();
        let pk = x25519_public(&seed);
        let w = wrap(&pk, b"ctx", b"secret data key bytes").unwrap();
        assert_eq!(
            &*unwrap(&seed, b"ctx", &w, "t").unwrap(),
            b"secret data key bytes"
        );
        assert!(unwrap(&Key32::random(), b"ctx", &w, "t").is_err());
        assert!(unwrap(&seed, b"other ctx", &w, "t").is_err());
    }

    #[test]
    fn aead_detects_flip() {
        let k = Key32::random();
        let mut ct = seal(&k, &[1; 12], b"aad", b"hello");
        assert_eq!(&*open(&k, &[1; 12], b"aad", &ct, "x").unwrap(), b"hello");
        ct[0] ^= 1;
        assert!(open(&k, &[1; 12], b"aad", &ct, "x").is_err());
    }

    #[test]
    fn signatures() {
        let s = Key32::random();
        let pk = ed25519_public(&s);
        let sig = ed25519_sign(&s, b"msg");
        assert!(ed25519_verify(&pk, b"msg", &sig));
        assert!(!ed25519_verify(&pk, b"msh", &sig));
    }
}
