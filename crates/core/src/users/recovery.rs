//! The practice's break-glass **recovery key** (docs/FORMAT.md, "The recovery key").
//!
//! The secrets of the users who hold call keys — approvers and the data controller — are escrowed
//! to this key, not to the admin key: an admin (an IT lead) can reset the password of anyone who
//! holds no call key, and so can become none of those who do. The recovery key's seed is sealed
//! under Argon2id of a **recovery code** printed once (at `init`, or when the data controller
//! creates it for an older archive) and kept offline by the data controller. With the code a
//! key holder's password can be reset, and a practice whose only admin forgot their password can
//! recover it; each use is audited loudly.
//!
//! `recovery.json` is written once. Its `tag` is a MAC under a key derived from `custodian`, so a
//! writer about to escrow a key holder's secret (who holds `custodian`: the key bag needs it)
//! knows the public key is the practice's own and not one an insider planted.

use crate::archive::Archive;
use crate::crypto::{self, KdfParams};
use crate::error::{Error, Result};
use crate::secret::{Key32, Password};
use serde::{Deserialize, Serialize};

/// Where the recovery key lives in the archive.
pub const PATH: &str = "recovery.json";

/// The alphabet of recovery codes: Crockford's base32 (no I, L, O, U).
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a recovery code (5 bits each: 125 bits), shown in groups of five.
const CODE_CHARS: usize = 25;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RecoveryFile {
    pub v: u32,
    /// X25519 public key of the recovery pair, base64.
    pub public: String,
    pub kdf: KdfParams,
    /// Argon2id salt, base64 (16 bytes).
    pub salt: String,
    /// nonce(12) ‖ AES-256-GCM(Argon2id(code), seed), base64.
    pub sealed: String,
    /// hex HMAC-SHA256(HKDF(custodian seed, "callvault/v3/recovery-tag"), message()).
    pub tag: String,
}

const SEED_AAD: &[u8] = b"callvault/v3/recovery-seed";

fn tag_of(archive: &Archive, f: &RecoveryFile, custodian: &Key32) -> String {
    let key = crypto::hkdf(custodian.expose(), b"callvault/v3/recovery-tag");
    hex::encode(crypto::hmac_sha256(key.expose(), &tag_message(archive, f)))
}

fn tag_message(archive: &Archive, f: &RecoveryFile) -> Vec<u8> {
    [
        b"callvault/v3/recovery\n".as_slice(),
        archive.config.identity_hash().as_bytes(),
        b"\n",
        f.public.as_bytes(),
        b"\n",
        &serde_json::to_vec(&f.kdf).expect("serialisable"),
        b"\n",
        f.salt.as_bytes(),
        b"\n",
        f.sealed.as_bytes(),
    ]
    .concat()
}

/// A recovery code as people copy it back: upper case, groups and spaces ignored, the letters
/// people confuse with digits read as those digits.
pub fn normalize_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| match c.to_ascii_uppercase() {
            'O' => '0',
            'I' | 'L' => '1',
            c => c,
        })
        .collect()
}

fn new_code() -> String {
    let bytes: [u8; CODE_CHARS] = crypto::random_array();
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(b & 31)] as char)
        .collect();
    chars
        .chunks(5)
        .map(|g| g.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// Does the archive have a recovery key file (believed or not)?
pub fn exists(archive: &Archive) -> bool {
    archive.path(PATH).symlink_metadata().is_ok()
}

/// Create the archive's recovery key (a holder of `custodian`: the data controller, or `init`) and
/// return its recovery code, shown once. Refused if the archive already has one.
pub fn create(archive: &Archive, custodian: &Key32) -> Result<Password> {
    if exists(archive) {
        return Err(Error::Invalid(format!(
            "{PATH}: this archive already has a recovery key"
        )));
    }
    let seed = Key32::random();
    let code = new_code();
    let kdf = archive.config.kdf;
    let salt: [u8; 16] = crypto::random_array();
    let k = crypto::argon2id(&Password::new(normalize_code(&code)), &salt, kdf);
    let nonce: [u8; 12] = crypto::random_array();
    let ct = crypto::seal(&k, &nonce, SEED_AAD, seed.expose());
    let mut f = RecoveryFile {
        v: 1,
        public: crypto::b64(&crypto::x25519_public(&seed)),
        kdf,
        salt: crypto::b64(&salt),
        sealed: crypto::b64(&[nonce.as_slice(), &ct].concat()),
        tag: String::new(),
    };
    f.tag = tag_of(archive, &f, custodian);
    let bytes = serde_json::to_vec_pretty(&f).expect("serialisable");
    archive.write_new(PATH, &bytes).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Invalid(format!("{PATH}: this archive already has a recovery key"))
        } else {
            Error::io(archive.path(PATH).display(), e)
        }
    })?;
    Ok(Password::new(code))
}

fn read(archive: &Archive) -> Result<RecoveryFile> {
    if !exists(archive) {
        return Err(Error::NotFound(format!(
            "{PATH}: this archive has no recovery key yet; the data controller creates one (`callvault recovery create`)"
        )));
    }
    let f: RecoveryFile = serde_json::from_slice(&archive.read(PATH)?)
        .map_err(|e| Error::tampered(PATH, format!("malformed recovery key ({e})")))?;
    if f.v != 1 {
        return Err(Error::Version {
            path: PATH.into(),
            found: f.v,
            supported: 1,
        });
    }
    Ok(f)
}

/// The recovery public key, believed only if its tag verifies under `custodian`: the key a key
/// holder's secret is escrowed to.
pub fn verified_public(archive: &Archive, custodian: &Key32) -> Result<[u8; 32]> {
    let f = read(archive)?;
    let key = crypto::hkdf(custodian.expose(), b"callvault/v3/recovery-tag");
    let tag = hex::decode(&f.tag).unwrap_or_default();
    if !crypto::hmac_sha256_verify(key.expose(), &tag_message(archive, &f), &tag) {
        return Err(Error::tampered(
            PATH,
            "the recovery key was not made by a holder of the archive's call keys (replaced?)",
        ));
    }
    crypto::unb64(&f.public, PATH)?
        .try_into()
        .map_err(|_| Error::tampered(PATH, "recovery public key has the wrong length"))
}

/// As [`verified_public`], the tag checked under each call key a session holds (every epoch: the
/// recovery key may have been made before a rotation).
pub fn verified_public_any(archive: &Archive, seeds: &[&Key32]) -> Result<[u8; 32]> {
    let mut last = Error::Forbidden("your roles do not hold the archive's custodian key".into());
    for c in seeds {
        match verified_public(archive, c) {
            Ok(k) => return Ok(k),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Open the recovery seed with the recovery code. A wrong code is refused as such.
pub fn open(archive: &Archive, code: &Password) -> Result<Key32> {
    let f = read(archive)?;
    f.kdf.check(PATH)?;
    let salt = crypto::unb64(&f.salt, PATH)?;
    let sealed = crypto::unb64(&f.sealed, PATH)?;
    if sealed.len() < 12 + 16 {
        return Err(Error::tampered(PATH, "sealed recovery key too short"));
    }
    let k = crypto::argon2id(&Password::new(normalize_code(code.expose())), &salt, f.kdf);
    let nonce: [u8; 12] = sealed[..12].try_into().expect("12 bytes");
    let seed = crypto::open(&k, &nonce, SEED_AAD, &sealed[12..], PATH)
        .map_err(|_| Error::Forbidden("the recovery code is not this archive's".into()))?;
    let seed = Key32::from_slice(&seed)
        .ok_or_else(|| Error::tampered(PATH, "sealed recovery key has the wrong length"))?;
    if crypto::b64(&crypto::x25519_public(&seed)) != f.public {
        return Err(Error::tampered(
            PATH,
            "sealed recovery key does not match its public key",
        ));
    }
    Ok(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_25_characters_in_five_groups_and_read_back_forgivingly() {
        let c = new_code();
        assert_eq!(c.len(), 29);
        assert_eq!(c.split('-').count(), 5);
        assert!(c
            .chars()
            .all(|ch| ch == '-' || ALPHABET.contains(&(ch as u8))));
        assert_eq!(normalize_code("abcde-0oil1 xyz"), "ABCDE00111XYZ");
        assert_eq!(normalize_code(&c.to_lowercase()), c.replace('-', ""));
    }
}
