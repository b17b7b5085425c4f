//! Checks the test vectors in docs/FORMAT.md against the implementation. Every `vector-<kind>` block
//! in the document is parsed and checked here; an unknown kind, a changed value in the document or a
//! changed behaviour of the code makes this test fail.

use callvault_core::archive::audio::{self, DecryptingReader};
use callvault_core::archive::journal::{self, JournalEntry};
use callvault_core::archive::readers::Readers;
use callvault_core::archive::{self, Archive, Signer, SignerKeys};
use callvault_core::audit::{self, AuditEntry};
use callvault_core::crypto::{self, stream, KdfParams, Wrapped};
use callvault_core::policy::{self, Role};
use callvault_core::secret::{Key32, Password};
use callvault_core::users::callkey::KeyRing;
use callvault_core::users::{self, Profile, UserRecord};
use callvault_core::Error;
use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::path::Path;

// ---- reading the document ----

struct Block {
    /// The fence's info string, e.g. `vector-stream` or `vector-file archive.json`.
    info: String,
    lines: Vec<String>,
}

impl Block {
    fn kind(&self) -> &str {
        self.info.split_whitespace().next().unwrap_or("")
    }

    /// The argument after the kind (`vector-file <path>`).
    fn arg(&self) -> &str {
        self.info
            .split_once(' ')
            .map(|(_, a)| a.trim())
            .unwrap_or("")
    }

    /// The block's text, lines joined by newlines, without a final newline.
    fn text(&self) -> String {
        self.lines.join("\n")
    }

    /// `name = value` lines; indented lines continue the previous (hex) value.
    fn values(&self) -> Values {
        let mut m: BTreeMap<String, String> = BTreeMap::new();
        let mut last: Option<String> = None;
        for line in &self.lines {
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            if line.starts_with(' ') {
                let k = last
                    .as_ref()
                    .unwrap_or_else(|| panic!("{}: continuation with no value", self.info));
                m.get_mut(k).unwrap().push_str(line.trim());
                continue;
            }
            let (k, v) = line
                .split_once(" = ")
                .unwrap_or_else(|| panic!("{}: not `name = value`: {line}", self.info));
            let k = k.trim().to_string();
            assert!(
                m.insert(k.clone(), v.trim().to_string()).is_none(),
                "{}: {k} given twice",
                self.info
            );
            last = Some(k);
        }
        Values {
            what: self.info.clone(),
            m,
        }
    }
}

struct Values {
    what: String,
    m: BTreeMap<String, String>,
}

impl Values {
    fn raw(&self, k: &str) -> &str {
        self.m
            .get(k)
            .unwrap_or_else(|| panic!("{}: no value {k}", self.what))
    }
    fn hex(&self, k: &str) -> Vec<u8> {
        hex::decode(self.raw(k)).unwrap_or_else(|e| panic!("{}: {k} is not hex: {e}", self.what))
    }
    fn hex_n<const N: usize>(&self, k: &str) -> [u8; N] {
        self.hex(k)
            .try_into()
            .unwrap_or_else(|_| panic!("{}: {k} is not {N} bytes", self.what))
    }
    fn key(&self, k: &str) -> Key32 {
        Key32::from_bytes(self.hex_n::<32>(k))
    }
    fn num(&self, k: &str) -> u64 {
        self.raw(k)
            .parse()
            .unwrap_or_else(|e| panic!("{}: {k} is not a number: {e}", self.what))
    }
    /// A quoted string: `\n` is a newline, `\\` a backslash, everything else stands for itself.
    fn text(&self, k: &str) -> String {
        let v = self.raw(k);
        let inner = v
            .strip_prefix('"')
            .and_then(|v| v.strip_suffix('"'))
            .unwrap_or_else(|| panic!("{}: {k} is not a quoted string", self.what));
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                match chars.next() {
                    Some('n') => out.push('\n'),
                    Some('\\') => out.push('\\'),
                    other => panic!("{}: {k}: unknown escape \\{other:?}", self.what),
                }
            } else {
                out.push(c);
            }
        }
        out
    }
}

const KNOWN_KINDS: &[&str] = &[
    "vector-stream",
    "vector-hpke",
    "vector-argon2id",
    "vector-secrets",
    "vector-file",
    "vector-uid",
    "vector-user-admin",
    "vector-user",
    "vector-audio",
    "vector-journal",
    "vector-audit",
    "vector-lockout",
    "vector-index-key",
    "vector-limits",
    "vector-peaks",
    "vector-segment-names",
    "vector-format2",
    "vector-epoch",
    "vector-everyone",
    "vector-party-index-key",
    "vector-profile-key",
];

fn blocks() -> Vec<Block> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/FORMAT.md");
    let doc = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut out = Vec::new();
    let mut cur: Option<Block> = None;
    for line in doc.lines() {
        match &mut cur {
            None => {
                if let Some(info) = line.strip_prefix("```vector-") {
                    cur = Some(Block {
                        info: format!("vector-{}", info.trim()),
                        lines: vec![],
                    });
                }
            }
            Some(b) => {
                if line == "```" {
                    out.push(cur.take().unwrap());
                } else {
                    b.lines.push(line.to_string());
                }
            }
        }
    }
    assert!(cur.is_none(), "unterminated vector block");
    for b in &out {
        assert!(
            KNOWN_KINDS.contains(&b.kind()),
            "FORMAT.md has a vector block of unknown kind {}",
            b.info
        );
    }
    out
}

fn all(kind: &str) -> Vec<Block> {
    blocks().into_iter().filter(|b| b.kind() == kind).collect()
}

fn one(kind: &str) -> Values {
    let mut v = all(kind);
    assert_eq!(v.len(), 1, "FORMAT.md should have exactly one {kind} block");
    v.remove(0).values()
}

fn file(name: &str) -> String {
    let mut v: Vec<Block> = all("vector-file")
        .into_iter()
        .filter(|b| b.arg() == name)
        .collect();
    assert_eq!(v.len(), 1, "FORMAT.md should have exactly one file {name}");
    v.remove(0).text()
}

fn user_file() -> (String, String) {
    let mut v: Vec<Block> = all("vector-file")
        .into_iter()
        .filter(|b| b.arg().starts_with("users/"))
        .collect();
    assert_eq!(
        v.len(),
        1,
        "FORMAT.md should have exactly one user record file"
    );
    let b = v.remove(0);
    (b.arg().to_string(), b.text())
}

fn secrets() -> Values {
    one("vector-secrets")
}

/// archive.json as the file holds it (the block plus the final newline).
fn archive_json() -> Vec<u8> {
    format!("{}\n", file("archive.json")).into_bytes()
}

fn example_archive() -> Archive {
    Archive::from_bytes(
        Path::new("/nonexistent/callvault-format-vectors"),
        archive_json(),
    )
    .expect("the example archive.json parses")
}

fn wrapped(v: &serde_json::Value) -> Wrapped {
    serde_json::from_value(v.clone()).expect("a wrap")
}

fn envelope(data: &[u8], magic: &[u8; 8]) -> (Vec<u8>, Vec<u8>) {
    assert_eq!(&data[..8], magic);
    let hlen = u32::from_be_bytes(data[8..12].try_into().unwrap()) as usize;
    (data[12..12 + hlen].to_vec(), data[12 + hlen..].to_vec())
}

fn with_version_byte(data: &[u8], v: u8) -> Vec<u8> {
    let mut d = data.to_vec();
    d[7] = v;
    d
}

/// A journal segment or audit file: (envelope, signature trailer).
fn split_trailer(data: &[u8]) -> (&[u8], &[u8]) {
    assert_eq!(archive::SIG_LEN, 64);
    data.split_at(data.len() - 64)
}

/// The example user's (Alice's) signing seed, as the document gives it.
fn alice_signing_seed() -> Key32 {
    one("vector-user").key("signing_seed")
}

/// The signing keys a reader knows: Alice's, from her record.
fn alice_keys() -> SignerKeys {
    let u = one("vector-user");
    let mut k = SignerKeys::new();
    k.insert(u.raw("uid").to_string(), u.hex_n::<32>("signing_key"));
    k
}

/// A copy of `data` with one bit of its signature trailer flipped.
fn flip_signature_bit(data: &[u8]) -> Vec<u8> {
    let mut d = data.to_vec();
    let n = d.len();
    d[n - 64 + 5] ^= 0x01;
    d
}

/// HKDF-SHA256 (RFC 5869) with no salt and a 32-byte output, spelt out with HMAC.
fn hkdf_by_rfc5869(ikm: &[u8], info: &[u8]) -> [u8; 32] {
    let prk = crypto::hmac_sha256(&[0u8; 32], ikm);
    crypto::hmac_sha256(&prk, &[info, &[1u8]].concat())
}

fn is_tampered(e: &Error, needle: &str) -> bool {
    matches!(e, Error::Tampered { reason, .. } if reason.contains(needle))
}

// ---- the vectors ----

#[test]
fn every_block_is_well_formed() {
    let b = blocks();
    assert!(
        b.len() >= 15,
        "expected the full set of vectors, found {}",
        b.len()
    );
    for blk in b.iter().filter(|b| b.kind() != "vector-file") {
        blk.values();
    }
}

#[test]
fn stream() {
    let v = one("vector-stream");
    let key = v.key("key");
    let prefix = v.hex_n::<7>("nonce_prefix");
    let id = v.text("id");
    let len = v.num("len");
    let seg = v.num("seg") as u32;
    let pt = v.text("plaintext").into_bytes();
    assert_eq!(pt.len() as u64, len);

    // AAD = "callvault/v1/audio/" ‖ id ‖ BE64(len) ‖ BE32(seg), as the document says and the code does.
    let aad = v.hex("aad");
    let doc_aad = [
        b"callvault/v1/audio/".as_slice(),
        id.as_bytes(),
        &len.to_be_bytes(),
        &seg.to_be_bytes(),
    ]
    .concat();
    assert_eq!(aad, doc_aad);
    assert_eq!(audio::segment_aad(&id, len, seg), aad);

    // Nonces: prefix ‖ BE32(i) ‖ last flag.
    let n = stream::segment_count(len, seg);
    assert_eq!(n, 3);
    for i in 0..n {
        let last = i + 1 == n;
        let nonce = v.hex_n::<12>(&format!("nonce{i}"));
        assert_eq!(stream::nonce(&prefix, i as u32, last), nonce);
        let mut manual = prefix.to_vec();
        manual.extend_from_slice(&(i as u32).to_be_bytes());
        manual.push(last as u8);
        assert_eq!(&manual[..], &nonce[..]);
    }

    let ct = v.hex("ciphertext");
    assert_eq!(ct.len() as u64, len + n * stream::TAG as u64);
    assert_eq!(stream::encrypt_all(&key, &prefix, &aad, seg, &pt), ct);

    // Each segment alone, at offset i · (seg + 16); and each is plain AES-256-GCM.
    for i in 0..n {
        let start = (i * (seg as u64 + 16)) as usize;
        let end = (start + seg as usize + 16).min(ct.len());
        let got = stream::decrypt_segment(&key, &prefix, &aad, i, n, &ct[start..end], "v").unwrap();
        let p_start = (i * seg as u64) as usize;
        let p_end = (p_start + seg as usize).min(pt.len());
        assert_eq!(&got[..], &pt[p_start..p_end]);
        let nonce = v.hex_n::<12>(&format!("nonce{i}"));
        let plain = crypto::open(&key, &nonce, &aad, &ct[start..end], "v").unwrap();
        assert_eq!(&plain[..], &pt[p_start..p_end]);
    }
    // Truncation: the second segment is not the last one.
    let second = &ct[32..64];
    assert!(stream::decrypt_segment(&key, &prefix, &aad, 1, 2, second, "v").is_err());
}

#[test]
fn hpke_unwrap() {
    let v = one("vector-hpke");
    let seed = v.key("recipient_seed");
    assert_eq!(
        crypto::x25519_public(&seed),
        v.hex_n::<32>("recipient_public")
    );
    let info = v.text("info");
    let w = Wrapped {
        enc: crypto::b64(&v.hex("enc")),
        ct: crypto::b64(&v.hex("ct")),
    };
    let pt = v.hex("plaintext");
    assert_eq!(
        &crypto::unwrap(&seed, info.as_bytes(), &w, "v").unwrap()[..],
        &pt[..]
    );
    assert_eq!(
        crypto::unwrap_key(&seed, info.as_bytes(), &w, "v")
            .unwrap()
            .expose()[..],
        pt[..]
    );
    assert!(crypto::unwrap(&seed, b"callvault/v1/dek/other", &w, "v").is_err());
    assert!(crypto::unwrap(&Key32::from_bytes([7; 32]), info.as_bytes(), &w, "v").is_err());
}

#[test]
fn argon2id() {
    let v = one("vector-argon2id");
    let params = KdfParams {
        m_kib: v.num("m_kib") as u32,
        t: v.num("t") as u32,
        p: v.num("p") as u32,
    };
    assert_eq!(params, KdfParams::FAST);
    let k = crypto::argon2id(&Password::new(v.text("password")), &v.hex("salt"), params);
    assert_eq!(k.expose()[..], v.hex("key")[..]);
}

#[test]
fn archive_json_and_keys() {
    let s = secrets();
    let bytes = archive_json();
    let a = example_archive();
    assert_eq!(a.config.format, "callvault-archive");
    assert_eq!(a.config.v, archive::FORMAT_VERSION);
    assert_eq!(archive::FORMAT_VERSION, 1);
    // Written as pretty JSON plus a newline, fields in the documented order.
    let mut again = serde_json::to_vec_pretty(&a.config).unwrap();
    again.push(b'\n');
    assert_eq!(again, bytes);
    // The public keys are those of the published seeds.
    for n in ["metadata", "custodian", "audit", "admin"] {
        assert_eq!(
            a.config.keys.get(n).unwrap(),
            crypto::x25519_public(&s.key(n)),
            "{n}"
        );
    }
    assert_eq!(
        a.config.keys.get("signing").unwrap(),
        crypto::ed25519_public(&s.key("signing"))
    );
    // The values `init` writes (with `--kdf fast`), and the id the example audit trail names.
    assert_eq!(a.config.kdf, KdfParams::FAST);
    assert_eq!(a.config.kdf_measured_ms, 0);
    assert_eq!(a.config.segment_size, 65536);
    assert_eq!(a.config.timezone, "Europe/London");
    assert!(archive::is_id(&a.config.id));
    assert_eq!(crypto::unb64(&a.config.user_salt, "v").unwrap().len(), 16);
    let first_audit = all("vector-audit").remove(0).values();
    let init: Vec<AuditEntry> = serde_json::from_str(&first_audit.text("entries_json")).unwrap();
    assert_eq!(init[0].action, "archive.init");
    assert_eq!(init[0].targets, vec![a.config.id.clone()]);
    // created_at is to the second, and the example archive was created in the second its init
    // entry records.
    let created = a.config.created_at.strip_suffix('Z').expect("UTC");
    assert_eq!(created.len(), "2025-01-06T09:00:00".len());
    assert!(
        init[0].at.starts_with(created),
        "{created} vs {}",
        init[0].at
    );
    // A newer archive version is refused clearly.
    let mut cfg: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    cfg["v"] = 2.into();
    let e = Archive::from_bytes(Path::new("/x"), serde_json::to_vec(&cfg).unwrap()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Version {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn uid_derivation() {
    let v = one("vector-uid");
    let a = example_archive();
    assert_eq!(v.text("user_salt"), a.config.user_salt);
    let name = v.text("name");
    let norm = name.trim().to_lowercase();
    assert_eq!(norm, v.text("normalised"));
    let salt = crypto::unb64(&v.text("user_salt"), "v").unwrap();
    let uid = hex::encode(&crypto::hmac_sha256(&salt, norm.as_bytes())[..16]);
    assert_eq!(uid, v.raw("uid"));
    assert_eq!(users::uid_for(&a, &name).unwrap(), uid);
    assert_eq!(one("vector-user").raw("uid"), uid);
}

#[test]
fn user_record() {
    let s = secrets();
    let v = one("vector-user");
    let a = example_archive();
    let uid = v.raw("uid").to_string();
    let (path, text) = user_file();
    assert_eq!(path, format!("users/{uid}/00000000.cvu"));
    assert_eq!(users::uid_for(&a, &v.text("name")).unwrap(), uid);

    // The code accepts it, and writes records as pretty JSON with these fields in this order.
    let rec = users::check_record(&a, text.as_bytes(), &uid, 0, &path).unwrap();
    assert_eq!(serde_json::to_string_pretty(&rec).unwrap(), text);
    assert_eq!(rec.kdf, a.config.kdf);

    // Signature over "callvault/v1/user\n" ‖ compact JSON(signed).
    let msg = [
        v.text("sig_prefix").as_bytes(),
        &serde_json::to_vec(&rec.signed).unwrap(),
    ]
    .concat();
    let sig = crypto::unb64(&rec.sig, "v").unwrap();
    assert!(crypto::ed25519_verify(
        &a.config.keys.get("signing").unwrap(),
        &msg,
        &sig
    ));

    // Sealing: nonce(12) ‖ AES-256-GCM(Argon2id(password, salt), nonce, aad, seed).
    let user_secret = v.key("user_secret");
    let password = Password::new(v.text("password"));
    let k = crypto::argon2id(&password, &crypto::unb64(&rec.salt, "v").unwrap(), rec.kdf);
    let sealed = crypto::unb64(&rec.sealed, "v").unwrap();
    assert_eq!(sealed.len(), 12 + 32 + 16);
    let seed = crypto::open(
        &k,
        &sealed[..12].try_into().unwrap(),
        v.text("sealed_aad").as_bytes(),
        &sealed[12..],
        "v",
    )
    .unwrap();
    assert_eq!(&seed[..], user_secret.expose());
    assert_eq!(
        crypto::b64(&crypto::x25519_public(&user_secret)),
        rec.signed.public_key
    );

    // Signing key: Ed25519 with seed HKDF-SHA256(ikm = user secret, no salt, info), 32 bytes.
    let signing_seed = v.key("signing_seed");
    let signing_info = v.text("signing_info");
    assert_eq!(signing_info, "callvault/v1/user-signing");
    assert_eq!(
        hkdf_by_rfc5869(user_secret.expose(), signing_info.as_bytes()),
        *signing_seed.expose()
    );
    assert_eq!(
        users::user_signing_seed(&user_secret).expose(),
        signing_seed.expose()
    );
    let signing_key = v.hex_n::<32>("signing_key");
    assert_eq!(crypto::ed25519_public(&signing_seed), signing_key);
    assert_eq!(rec.signed.signing_key, crypto::b64(&signing_key));

    // Escrow to the admin key.
    let escrow = crypto::unwrap(
        &s.key("admin"),
        v.text("escrow_info").as_bytes(),
        &rec.signed.escrow,
        "v",
    )
    .unwrap();
    assert_eq!(&escrow[..], user_secret.expose());

    // Key bag: sorted JSON object of hex seeds, exactly the set for the roles.
    let profile_bytes = crypto::unwrap(
        &s.key("metadata"),
        v.text("profile_info").as_bytes(),
        &rec.signed.profile,
        "v",
    )
    .unwrap();
    let profile: Profile = serde_json::from_slice(&profile_bytes).unwrap();
    assert_eq!(serde_json::to_vec(&profile).unwrap(), &profile_bytes[..]);
    assert_eq!(profile.name, v.text("name"));
    assert_eq!(profile.roles, vec![Role::Admin, Role::DataController]);
    let bag = crypto::unwrap(
        &user_secret,
        v.text("keybag_info").as_bytes(),
        &rec.signed.keybag,
        "v",
    )
    .unwrap();
    let mut want: BTreeMap<String, String> = BTreeMap::new();
    for k in policy::archive_keys_for(&profile.roles, a.config.party_readers()) {
        want.insert(k.to_string(), hex::encode(s.key(k).expose()));
    }
    assert_eq!(want.len(), 6);
    assert_eq!(&bag[..], serde_json::to_vec(&want).unwrap());

    // And the code's own logon path.
    let u = users::unlock(&a, &rec, &password).unwrap();
    assert_eq!(u.uid, uid);
    assert_eq!(u.secret.expose(), user_secret.expose());
    assert_eq!(u.profile, profile);
    for k in want.keys() {
        assert_eq!(u.secrets.get(k).unwrap().expose(), s.key(k).expose(), "{k}");
    }
    assert!(matches!(
        users::unlock(&a, &rec, &Password::new("wrong password")),
        Err(Error::BadLogon)
    ));

    // A record (validly signed) whose signing key is not the one of the user's secret is refused.
    let mut other = rec.clone();
    other.signed.signing_key = crypto::b64(&crypto::ed25519_public(&Key32::from_bytes([3; 32])));
    let msg = [
        v.text("sig_prefix").as_bytes(),
        &serde_json::to_vec(&other.signed).unwrap(),
    ]
    .concat();
    other.sig = crypto::b64(&crypto::ed25519_sign(&s.key("signing"), &msg));
    let other_bytes = serde_json::to_vec(&other).unwrap();
    let other = users::check_record(&a, &other_bytes, &uid, 0, &path).unwrap();
    let e = users::unlock(&a, &other, &password).err().unwrap();
    assert!(is_tampered(&e, "signing key"), "{e}");
    // Password-hashing parameters out of range are refused before any derivation.
    let limits = one("vector-limits");
    let mut costly = rec.clone();
    costly.kdf.t = limits.num("t_max") as u32 + 1;
    let e = users::unlock(&a, &costly, &password).err().unwrap();
    assert!(is_tampered(&e, "out of range"), "{e}");

    // Placement and newer versions.
    assert!(users::check_record(&a, text.as_bytes(), &uid, 1, &path).is_err());
    let mut newer: UserRecord = rec.clone();
    newer.v = 2;
    let e =
        users::check_record(&a, &serde_json::to_vec(&newer).unwrap(), &uid, 0, &path).unwrap_err();
    assert!(matches!(e, Error::Version { found: 2, .. }), "{e}");
    // A changed signed part no longer verifies.
    let mut forged = rec;
    forged.signed.rev = 2;
    assert!(
        users::check_record(&a, &serde_json::to_vec(&forged).unwrap(), &uid, 0, &path).is_err()
    );
}

#[test]
fn password_reset_removes_older_versions() {
    let v = one("vector-user");
    let (path, text) = user_file();
    let uid = v.raw("uid").to_string();
    let dir = tempfile::tempdir().unwrap();
    archive::write_new(dir.path(), "archive.json", &archive_json()).unwrap();
    archive::write_new(dir.path(), &path, text.as_bytes()).unwrap();
    let a = Archive::open(dir.path()).unwrap();
    let old_password = Password::new(v.text("password"));
    let old = users::load_latest(&a, &uid).unwrap().unwrap();
    let admin = users::unlock(&a, &old, &old_password).unwrap();
    let new_password = Password::new("a new password for the test");
    users::reset_password(&a, &admin.secrets, &admin.uid, &uid, &new_password, None).unwrap();
    // A new version, a new revision signed by the admin binding the new sealing, nothing older left.
    assert_eq!(
        a.list(&format!("users/{uid}")).unwrap(),
        vec!["00000001.cvu".to_string()]
    );
    let cur = users::load_latest(&a, &uid).unwrap().unwrap();
    assert_eq!(cur.ver, 1);
    assert_eq!(cur.signed.rev, old.signed.rev + 1);
    assert_eq!(cur.signed.public_key, old.signed.public_key);
    assert_eq!(
        cur.signed.sealing,
        Some(users::sealing_hash(&cur.kdf, &cur.salt, &cur.sealed))
    );
    assert_ne!(cur.salt, old.salt);
    assert!(matches!(
        users::unlock(&a, &cur, &old_password),
        Err(Error::BadLogon)
    ));
    let u = users::unlock(&a, &cur, &new_password).unwrap();
    assert_eq!(u.secret.expose(), v.key("user_secret").expose());
    // And an `r` marker.
    let marks = a.list(&format!("auth/{uid}")).unwrap();
    assert_eq!(marks.len(), 1);
    assert_eq!(users::parse_mark(&marks[0]).unwrap().0, 'r');
}

#[test]
fn audio_object() {
    let s = secrets();
    let v = one("vector-audio");
    let user = one("vector-user");
    let obj = v.hex("object");
    let pt = v.text("plaintext").into_bytes();

    // Envelope: magic ‖ BE32(header length) ‖ header ‖ body.
    assert_eq!(audio::MAGIC, b"CVAUDIO\x01");
    let (h, body) = envelope(&obj, audio::MAGIC);
    assert_eq!(String::from_utf8(h.clone()).unwrap(), v.text("header_json"));
    let (header, body_offset) = audio::parse_header(&obj, "v").unwrap();
    assert_eq!(body_offset, 12 + h.len());
    assert_eq!(v.text("path"), audio::object_path(&header.id));
    assert_eq!(header.len, pt.len() as u64);
    assert_eq!(header.expected_size(body_offset), obj.len() as u64);
    assert_eq!(crypto::sha256(&obj)[..], v.hex("sha256")[..]);
    assert_eq!(
        crypto::hmac_sha256(s.key("dedup").expose(), &pt)[..],
        v.hex("dedup")[..]
    );

    // By the document: open the custodian wrap, then STREAM with the documented AAD.
    let hj: serde_json::Value = serde_json::from_slice(&h).unwrap();
    assert_eq!(hj["wraps"][0]["to"], "custodian");
    assert_eq!(
        hj["wraps"][1]["to"],
        format!("user:{}", user.raw("uid")).as_str()
    );
    let dek_info = v.text("dek_info");
    assert_eq!(dek_info, format!("callvault/v1/dek/{}", header.id));
    let dek = crypto::unwrap_key(
        &s.key("custodian"),
        dek_info.as_bytes(),
        &wrapped(&hj["wraps"][0]),
        "v",
    )
    .unwrap();
    let dek_user = crypto::unwrap_key(
        &user.key("user_secret"),
        dek_info.as_bytes(),
        &wrapped(&hj["wraps"][1]),
        "v",
    )
    .unwrap();
    assert_eq!(dek, dek_user);
    let aad = v.hex("aad");
    assert_eq!(audio::segment_aad(&header.id, header.len, header.seg), aad);
    let prefix: [u8; 7] = hex::decode(hj["nonce"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    assert_eq!(
        stream::encrypt_all(&dek, &prefix, &aad, header.seg, &pt),
        body
    );

    // By the code: DecryptingReader with the custodian key, and with Alice's key.
    for (label, seed) in [
        ("custodian".to_string(), s.key("custodian")),
        (format!("user:{}", user.raw("uid")), user.key("user_secret")),
    ] {
        let mut r =
            DecryptingReader::new(Cursor::new(obj.clone()), &[(label, &seed)], "v").unwrap();
        assert_eq!(r.len(), pt.len() as u64);
        assert_eq!(r.segment_count(), 3);
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        assert_eq!(got, pt);
    }
    // No key of ours, truncation, and a newer envelope version are refused.
    let stranger = Key32::from_bytes([9; 32]);
    assert!(DecryptingReader::new(
        Cursor::new(obj.clone()),
        &[("user:0000".into(), &stranger)],
        "v"
    )
    .is_err());
    let custodian = s.key("custodian");
    let keys = [("custodian".to_string(), &custodian)];
    // Opened for the recording whose id its header names; refused when opened for another.
    assert!(
        DecryptingReader::open_recording(Cursor::new(obj.clone()), &header.id, &keys, "v").is_ok()
    );
    let e = DecryptingReader::open_recording(
        Cursor::new(obj.clone()),
        "0123456789abcdef0123456789abcdef",
        &keys,
        "v",
    )
    .err()
    .unwrap();
    assert!(is_tampered(&e, "another recording"), "{e}");
    assert!(DecryptingReader::new(Cursor::new(obj[..obj.len() - 1].to_vec()), &keys, "v").is_err());
    let e = DecryptingReader::new(Cursor::new(with_version_byte(&obj, 2)), &keys, "v")
        .err()
        .unwrap();
    assert!(matches!(e, Error::Version { found: 2, .. }), "{e}");
}

#[test]
fn journal_segment() {
    let s = secrets();
    let v = one("vector-journal");
    let a = one("vector-audio");
    let user = one("vector-user");
    let data = v.hex("file");
    let device = v.text("device");
    let seq = v.num("seq");
    assert_eq!(
        v.text("path"),
        format!("journal/{device}/{}", journal::segment_name(seq))
    );
    assert_eq!(journal::MAGIC, b"CVJRNL\x00\x01");

    // By the document: envelope ‖ 64-byte Ed25519 trailer.
    let (signed, sig) = split_trailer(&data);
    assert_eq!(sig, &v.hex("signature")[..]);
    let (h, body) = envelope(signed, journal::MAGIC);
    assert_eq!(String::from_utf8(h.clone()).unwrap(), v.text("header_json"));
    let hj: serde_json::Value = serde_json::from_slice(&h).unwrap();
    assert_eq!(hj["v"], 1);
    assert_eq!(hj["device"], device.as_str());
    assert_eq!(hj["seq"], seq);
    assert_eq!(hj["signer"], v.text("signer").as_str());
    assert_eq!(v.text("signer"), user.raw("uid"));
    let info = v.text("info");
    assert_eq!(info, format!("callvault/v1/journal/{device}/{seq}"));
    let key = crypto::unwrap_key(
        &s.key("metadata"),
        info.as_bytes(),
        &wrapped(&hj["wrap"]),
        "v",
    )
    .unwrap();
    let aad = [journal::MAGIC.as_slice(), &h].concat();
    let plain = crypto::open(&key, &[0u8; 12], &aad, &body, "v").unwrap();
    assert_eq!(
        String::from_utf8(plain.to_vec()).unwrap(),
        v.text("entries_json")
    );
    // The trailer signs domain ‖ "\n" ‖ SHA-256(every byte before it), by the signer's key.
    let domain = v.text("sig_domain");
    assert_eq!(domain, journal::SIG_DOMAIN);
    assert_eq!(crypto::sha256(signed)[..], v.hex("signed_sha256")[..]);
    let msg = [domain.as_bytes(), b"\n", &v.hex("signed_sha256")].concat();
    assert_eq!(archive::trailer_message(&domain, signed), msg);
    assert!(crypto::ed25519_verify(
        &user.hex_n::<32>("signing_key"),
        &msg,
        sig
    ));
    assert_eq!(
        crypto::ed25519_sign(&alice_signing_seed(), &msg)[..],
        sig[..]
    );

    // By the code.
    let keys = alice_keys();
    let open = |d: &[u8], k: &SignerKeys| {
        journal::open_segment(d, &KeyRing::one(&s.key("metadata")), &device, seq, k, "v")
    };
    let entries = open(&data, &keys).unwrap();
    assert_eq!(
        serde_json::to_string(&entries).unwrap(),
        v.text("entries_json")
    );
    #[allow(irrefutable_let_patterns)]
    let JournalEntry::Recording(m) = &entries[0] else {
        panic!("the example entry is a recording")
    };
    assert_eq!(m.object_sha256, a.raw("sha256"));
    assert_eq!(m.dedup, a.raw("dedup"));
    assert_eq!(m.size, a.text("plaintext").len() as u64);
    assert_eq!(audio::object_path(&m.id), a.text("path"));
    // An entry's author (a recording's importer) is the segment's signer.
    assert_eq!(m.imported_by, v.text("signer"));

    // A flipped signature byte, an unknown signer, another key for the signer, a lost trailer.
    let e = open(&flip_signature_bit(&data), &keys).unwrap_err();
    assert!(is_tampered(&e, "signature does not verify"), "{e}");
    let e = open(&data, &SignerKeys::new()).unwrap_err();
    assert!(is_tampered(&e, "no known user"), "{e}");
    let mut impostor = SignerKeys::new();
    impostor.insert(
        user.raw("uid").to_string(),
        crypto::ed25519_public(&s.key("signing")),
    );
    assert!(open(&data, &impostor).is_err());
    assert!(open(signed, &keys).is_err());
    // Misplaced, wrong key, newer version.
    assert!(journal::open_segment(
        &data,
        &KeyRing::one(&s.key("metadata")),
        &device,
        seq + 1,
        &keys,
        "v"
    )
    .is_err());
    assert!(journal::open_segment(
        &data,
        &KeyRing::one(&s.key("audit")),
        &device,
        seq,
        &keys,
        "v"
    )
    .is_err());
    let e = open(&with_version_byte(&data, 2), &keys).unwrap_err();
    assert!(matches!(e, Error::Version { found: 2, .. }), "{e}");
}

#[test]
fn journal_numbers_are_never_reused() {
    let s = secrets();
    let user = one("vector-user");
    let uid = user.raw("uid").to_string();
    let device = one("vector-journal").text("device");
    let dir = tempfile::tempdir().unwrap();
    archive::write_new(dir.path(), "archive.json", &archive_json()).unwrap();
    let a = Archive::open(dir.path()).unwrap();
    let seed = alice_signing_seed();
    let signer = Signer {
        uid: &uid,
        seed: &seed,
    };
    let e: Vec<JournalEntry> = serde_json::from_str(&one("vector-journal").text("entries_json"))
        .expect("the example entries parse");
    // One more than the highest present (0 for an empty folder) ...
    assert_eq!(journal::append(&a, &device, &e, &signer).unwrap(), 0);
    assert_eq!(journal::append(&a, &device, &e, &signer).unwrap(), 1);
    // ... or than the highest this device knows it wrote, whichever is greater.
    let rel = |seq| format!("journal/{device}/{}", journal::segment_name(seq));
    std::fs::remove_file(dir.path().join(rel(1))).unwrap();
    assert_eq!(
        journal::append_after(&a, &device, &e, Some(1), &signer).unwrap(),
        2
    );
    assert_eq!(
        journal::append_after(&a, &device, &e, Some(0), &signer).unwrap(),
        3
    );
    for seq in [0, 2, 3] {
        let got = journal::open_segment(
            &a.read(&rel(seq)).unwrap(),
            &KeyRing::one(&s.key("metadata")),
            &device,
            seq,
            &alice_keys(),
            "v",
        )
        .unwrap();
        assert_eq!(got, e);
    }
}

#[test]
fn audit_chain() {
    let s = secrets();
    let user = one("vector-user");
    let files: Vec<Values> = all("vector-audit").iter().map(|b| b.values()).collect();
    assert_eq!(files.len(), 2);
    assert_eq!(audit::MAGIC, b"CVAUDIT\x01");
    let mut prev = String::new();
    let mut want_entries: Vec<AuditEntry> = Vec::new();
    for (i, v) in files.iter().enumerate() {
        let data = v.hex("file");
        let device = v.text("device");
        let seq = v.num("seq");
        assert_eq!(seq, i as u64);
        assert_eq!(
            v.text("path"),
            format!("audit/{device}/{}", audit::file_name(seq))
        );
        // The chain hashes the whole file, trailer included.
        assert_eq!(crypto::sha256(&data)[..], v.hex("sha256")[..]);
        let (signed, sig) = split_trailer(&data);
        assert_eq!(sig, &v.hex("signature")[..]);
        assert_eq!(crypto::sha256(signed)[..], v.hex("signed_sha256")[..]);
        let (h, body) = envelope(signed, audit::MAGIC);
        assert_eq!(String::from_utf8(h.clone()).unwrap(), v.text("header_json"));
        let hj: serde_json::Value = serde_json::from_slice(&h).unwrap();
        assert_eq!(hj["seq"], seq);
        assert_eq!(hj["prev"], prev.as_str(), "prev of audit file {seq}");
        let info = v.text("info");
        assert_eq!(info, format!("callvault/v1/audit/{device}/{seq}"));
        let key = crypto::unwrap_key(&s.key("audit"), info.as_bytes(), &wrapped(&hj["wrap"]), "v")
            .unwrap();
        let plain = crypto::open(
            &key,
            &[0u8; 12],
            &[audit::MAGIC.as_slice(), &h].concat(),
            &body,
            "v",
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(plain.to_vec()).unwrap(),
            v.text("entries_json")
        );
        let entries: Vec<AuditEntry> = serde_json::from_slice(&plain).unwrap();
        let domain = v.text("sig_domain");
        assert_eq!(domain, audit::SIG_DOMAIN);
        match v.text("signer").as_str() {
            // Unsigned: a null signer, 64 zero bytes, and only logon and lockout actions.
            "none" => {
                assert_eq!(hj["signer"], serde_json::Value::Null);
                assert_eq!(sig, &[0u8; 64][..]);
                for e in &entries {
                    assert!(audit::UNSIGNED_ACTIONS.contains(&e.action.as_str()));
                }
            }
            uid => {
                assert_eq!(hj["signer"], uid);
                assert_eq!(uid, user.raw("uid"));
                let msg = [domain.as_bytes(), b"\n", &crypto::sha256(signed)].concat();
                assert_eq!(archive::trailer_message(&domain, signed), msg);
                assert!(crypto::ed25519_verify(
                    &user.hex_n::<32>("signing_key"),
                    &msg,
                    sig
                ));
                assert_eq!(
                    crypto::ed25519_sign(&alice_signing_seed(), &msg)[..],
                    sig[..]
                );
            }
        }
        want_entries.extend(entries);
        prev = hex::encode(crypto::sha256(&data));
    }
    assert_eq!(files[0].text("signer"), user.raw("uid"));
    assert_eq!(files[1].text("signer"), "none");
    assert_eq!(
        audit::UNSIGNED_ACTIONS,
        ["logon", "account.lock", "recovery.use"]
    );

    // By the code: an archive folder holding archive.json and the two files verifies clean.
    let keys = alice_keys();
    let folder = |second: Option<&[u8]>| {
        let dir = tempfile::tempdir().unwrap();
        archive::write_new(dir.path(), "archive.json", &archive_json()).unwrap();
        archive::write_new(dir.path(), &files[0].text("path"), &files[0].hex("file")).unwrap();
        if let Some(b) = second {
            archive::write_new(dir.path(), &files[1].text("path"), b).unwrap();
        }
        let a = Archive::open(dir.path()).unwrap();
        (dir, a)
    };
    let (dir, a) = folder(Some(&files[1].hex("file")));
    let rep = audit::verify(&a, &KeyRing::one(&s.key("audit")), &keys).unwrap();
    assert!(rep.problems.is_empty(), "{:?}", rep.problems);
    assert_eq!(rep.devices, 1);
    assert_eq!(rep.files, 2);
    assert_eq!(rep.all_entries, want_entries);
    assert_eq!(rep.heads[0].2, prev);

    // Signed by no known user: that file is refused; the unsigned one still stands.
    let rep = audit::verify(&a, &KeyRing::one(&s.key("audit")), &SignerKeys::new()).unwrap();
    assert_eq!(rep.problems.len(), 1, "{:?}", rep.problems);
    assert_eq!(rep.problems[0].object, files[0].text("path"));

    // Removing the first file breaks the chain.
    std::fs::remove_file(dir.path().join(files[0].text("path"))).unwrap();
    let rep = audit::verify_chain(&a, None, &keys).unwrap();
    assert!(!rep.problems.is_empty());

    // A flipped signature byte, and an unsigned file whose trailer is not zero, are refused.
    let refused = |second: &[u8], why: &str| {
        let (_dir, a) = folder(Some(second));
        let rep = audit::verify(&a, &KeyRing::one(&s.key("audit")), &keys).unwrap();
        assert_eq!(rep.problems.len(), 1, "{:?}", rep.problems);
        assert_eq!(rep.problems[0].object, files[1].text("path"));
        assert!(rep.problems[0].reason.contains(why), "{:?}", rep.problems);
    };
    let mut resigned = files[1].hex("file");
    let n = resigned.len();
    resigned[n - 1] = 1;
    refused(&resigned, "unsigned entry with a signature trailer");
    let (_d, a) = folder(None);
    let device = files[0].text("device");
    let seed = alice_signing_seed();
    let alice = Signer {
        uid: user.raw("uid"),
        seed: &seed,
    };
    let show = AuditEntry {
        action: "recording.show".into(),
        outcome: "allowed".into(),
        ..want_entries[1].clone()
    };
    audit::append(&a, &device, std::slice::from_ref(&show), Some(&alice)).unwrap();
    let signed_show = a.read(&files[1].text("path")).unwrap();
    refused(
        &flip_signature_bit(&signed_show),
        "signature does not verify",
    );

    // An unsigned file may only record logons and lockouts: a non-logon action is refused.
    let (_d, a) = folder(None);
    audit::append(&a, &device, std::slice::from_ref(&show), None).unwrap();
    let unsigned_show = a.read(&files[1].text("path")).unwrap();
    assert_eq!(split_trailer(&unsigned_show).1, &[0u8; 64][..]);
    refused(&unsigned_show, "needs a logged-on user");

    // ... and only those that were not allowed: an unsigned successful logon is refused.
    let (_d, a) = folder(None);
    let allowed_logon = AuditEntry {
        outcome: "allowed".into(),
        ..want_entries[1].clone()
    };
    audit::append(&a, &device, &[allowed_logon], None).unwrap();
    refused(
        &a.read(&files[1].text("path")).unwrap(),
        "needs a logged-on user",
    );

    // A signed file holds only its signer's own entries.
    let (_d, a) = folder(None);
    let someone_else = AuditEntry {
        actor: Some("0123456789abcdef0123456789abcdef".into()),
        ..show
    };
    audit::append(&a, &device, &[someone_else], Some(&alice)).unwrap();
    refused(
        &a.read(&files[1].text("path")).unwrap(),
        "actor other than its signer",
    );
}

#[test]
fn lockout() {
    let cases = all("vector-lockout");
    assert_eq!(cases.len(), 2);
    for b in cases {
        let v = b.values();
        let dir = tempfile::tempdir().unwrap();
        archive::write_new(dir.path(), "archive.json", &archive_json()).unwrap();
        let a = Archive::open(dir.path()).unwrap();
        let uid = one("vector-user").raw("uid").to_string();
        for i in 0.. {
            let k = format!("marker{i}");
            if !v.m.contains_key(&k) {
                break;
            }
            let name = v.text(&k);
            let (kind, ms) = users::parse_mark(&name).expect("a valid marker name");
            assert_eq!(name, format!("{kind}-{ms:013}-{}", &name[16..]));
            archive::write_new(dir.path(), &format!("auth/{uid}/{name}"), b"").unwrap();
        }
        let got = users::locked_until(&a, &uid, v.num("now_ms") as i64).unwrap();
        match v.raw("locked_until") {
            "\"none\"" => assert_eq!(got, None),
            _ => assert_eq!(got, Some(v.num("locked_until") as i64)),
        }
    }
    assert_eq!(users::LOCKOUT_FAILURES, 5);
    assert_eq!(users::LOCKOUT_MS, 900_000);
}

#[test]
fn index_key() {
    let v = one("vector-index-key");
    assert_eq!(v.hex("metadata"), secrets().hex("metadata"));
    let info = v.text("info");
    assert_eq!(
        info,
        format!("callvault/v1/local-index/{}", v.text("device"))
    );
    let k = crypto::hkdf(&v.hex("metadata"), info.as_bytes());
    assert_eq!(k.expose()[..], v.hex("key")[..]);
    assert_eq!(
        hkdf_by_rfc5869(&v.hex("metadata"), info.as_bytes())[..],
        v.hex("key")[..]
    );
}

#[test]
fn party_index_key() {
    let v = one("vector-party-index-key");
    assert_eq!(v.hex("secret"), one("vector-user").hex("user_secret"));
    let info = v.text("info");
    assert_eq!(
        info,
        format!(
            "callvault/v4/party-index/{}/{}",
            v.text("uid"),
            v.text("device")
        )
    );
    let k = crypto::hkdf(&v.hex("secret"), info.as_bytes());
    assert_eq!(
        hex::encode(k.expose()),
        hex::encode(hkdf_by_rfc5869(&v.hex("secret"), info.as_bytes()))
    );
    assert_eq!(hex::encode(k.expose()), hex::encode(v.hex("key")));
}

#[test]
fn profile_key() {
    let v = one("vector-profile-key");
    assert_eq!(v.hex("dedup"), secrets().hex("dedup"));
    assert_eq!(v.text("info"), "callvault/v4/profile-everyone");
    let seed = crypto::hkdf(&v.hex("dedup"), v.text("info").as_bytes());
    assert_eq!(hex::encode(seed.expose()), hex::encode(v.hex("seed")));
    assert_eq!(
        hex::encode(crypto::x25519_public(&seed)),
        hex::encode(v.hex("public"))
    );
    // What the core seals a profile to in an archive with `readers`.
    let mut cfg: serde_json::Value = serde_json::from_slice(&archive_json()).unwrap();
    cfg["readers"] = serde_json::json!(1);
    let a = Archive::from_bytes(
        Path::new("/nonexistent/callvault-format-vectors"),
        serde_json::to_vec(&cfg).unwrap(),
    )
    .unwrap();
    // (The vector user's key bag holds the `vector-secrets` seeds, `dedup` among them.)
    let (path, text) = user_file();
    let uid = one("vector-user").raw("uid").to_string();
    let rec = users::check_record(&example_archive(), text.as_bytes(), &uid, 0, &path).unwrap();
    let bag = users::unlock(
        &example_archive(),
        &rec,
        &Password::new(one("vector-user").text("password")),
    )
    .unwrap()
    .secrets;
    assert_eq!(
        hex::encode(users::profile_recipient(&a, &bag).unwrap()),
        hex::encode(v.hex("public"))
    );
}

#[test]
fn archive_json_limits() {
    let l = one("vector-limits");
    let base: serde_json::Value = serde_json::from_slice(&archive_json()).unwrap();
    let parse = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut cfg = base.clone();
        f(&mut cfg);
        Archive::from_bytes(Path::new("/x"), serde_json::to_vec(&cfg).unwrap())
    };
    let kdf = |m: u64, t: u64, p: u64| {
        move |c: &mut serde_json::Value| {
            c["kdf"] = serde_json::json!({"m_kib": m, "t": t, "p": p});
        }
    };
    let ok = |f: &dyn Fn(&mut serde_json::Value), what: &str| {
        if let Err(e) = parse(f) {
            panic!("{what} should be accepted: {e}")
        }
    };
    let refused = |f: &dyn Fn(&mut serde_json::Value), what: &str| match parse(f) {
        Ok(_) => panic!("{what} should be refused"),
        Err(e) => assert!(is_tampered(&e, "out of range"), "{what}: {e}"),
    };
    let (m_min, m_max, per_p) = (l.num("m_kib_min"), l.num("m_kib_max"), l.num("m_kib_per_p"));
    let (t_min, t_max) = (l.num("t_min"), l.num("t_max"));
    let (p_min, p_max) = (l.num("p_min"), l.num("p_max"));
    let (s_min, s_max) = (l.num("segment_size_min"), l.num("segment_size_max"));
    assert_eq!(m_max, 4 << 20, "4 GiB in KiB");
    assert_eq!(s_max, 16 << 20, "16 MiB");

    ok(&kdf(m_min, 1, 1), "m_kib at its minimum");
    refused(&kdf(m_min - 1, 1, 1), "m_kib below its minimum");
    ok(&kdf(m_max, 1, 1), "m_kib at its maximum");
    refused(&kdf(m_max + 1, 1, 1), "m_kib above its maximum");
    ok(&kdf(1 << 13, t_min, 1), "t at its minimum");
    refused(&kdf(1 << 13, t_min - 1, 1), "t below its minimum");
    ok(&kdf(1 << 13, t_max, 1), "t at its maximum");
    refused(&kdf(1 << 13, t_max + 1, 1), "t above its maximum");
    ok(&kdf(1 << 13, 1, p_min), "p at its minimum");
    refused(&kdf(1 << 13, 1, p_min - 1), "p below its minimum");
    ok(
        &kdf(per_p * p_max, 1, p_max),
        "p at its maximum with m_kib = 8·p",
    );
    refused(&kdf(per_p * p_max - 1, 1, p_max), "m_kib below 8·p");
    refused(&kdf(1 << 13, 1, p_max + 1), "p above its maximum");
    for (size, good) in [
        (s_min, true),
        (s_min - 1, false),
        (s_max, true),
        (s_max + 1, false),
    ] {
        let f = move |c: &mut serde_json::Value| c["segment_size"] = size.into();
        if good {
            ok(&f, &format!("segment_size {size}"))
        } else {
            refused(&f, &format!("segment_size {size}"))
        }
    }
    let id = base["id"].as_str().unwrap().to_string();
    for bad in [id.to_uppercase(), id[1..].to_string(), format!("{id}0")] {
        refused(
            &move |c| c["id"] = bad.clone().into(),
            "a malformed archive id",
        );
    }
    // The same check guards user records' parameters (see user_record) and is one function.
    for (m, t, p, good) in [
        (m_min, t_min, p_min, true),
        (m_min, t_max + 1, p_min, false),
    ] {
        let k = KdfParams {
            m_kib: m as u32,
            t: t as u32,
            p: p as u32,
        };
        assert_eq!(k.check("v").is_ok(), good, "{k:?}");
    }
}

#[test]
fn peaks_object() {
    let v = one("vector-peaks");
    let id = v.text("id");
    let dek = v.key("dek");
    let obj = v.hex("object");
    assert_eq!(audio::PEAKS_MAGIC, b"CVPEAKS\x01");
    assert_eq!(v.text("path"), audio::peaks_path(&id));
    assert_eq!(crypto::sha256(&obj)[..], v.hex("sha256")[..]);
    let window = v.num("window_ms") as u32;
    let pairs: Vec<(i16, i16)> = v
        .text("peaks")
        .split_whitespace()
        .map(|p| {
            let (lo, hi) = p.split_once(',').expect("lo,hi");
            (lo.parse().unwrap(), hi.parse().unwrap())
        })
        .collect();
    let plain = v.hex("plain");
    assert_eq!(plain.len(), 2 * pairs.len());

    // By the document: envelope, header keys in sorted order, HKDF key, AES-256-GCM, zero nonce.
    let (h, body) = envelope(&obj, audio::PEAKS_MAGIC);
    assert_eq!(String::from_utf8(h.clone()).unwrap(), v.text("header_json"));
    let hj: serde_json::Value = serde_json::from_slice(&h).unwrap();
    assert_eq!(hj["v"], 1);
    assert_eq!(hj["id"], id.as_str());
    assert_eq!(hj["count"], pairs.len());
    assert_eq!(hj["window_ms"], window);
    assert_eq!(body, v.hex("body"));
    assert_eq!(obj.len(), 12 + h.len() + plain.len() + 16);
    let info = v.text("info");
    assert_eq!(info, format!("callvault/v1/peaks/{id}"));
    let key = crypto::hkdf(dek.expose(), info.as_bytes());
    assert_eq!(key.expose()[..], v.hex("key")[..]);
    assert_eq!(
        hkdf_by_rfc5869(dek.expose(), info.as_bytes())[..],
        v.hex("key")[..]
    );
    let aad = [audio::PEAKS_MAGIC.as_slice(), &h].concat();
    assert_eq!(aad, v.hex("aad"));
    assert_eq!(crypto::seal(&key, &[0u8; 12], &aad, &plain), body);
    assert_eq!(
        crypto::open(&key, &[0u8; 12], &aad, &body, "v")
            .unwrap()
            .to_vec(),
        plain
    );
    // Each 16-bit value becomes a signed byte by an arithmetic shift right by 8.
    let shifted: Vec<u8> = pairs
        .iter()
        .flat_map(|(lo, hi)| [(lo >> 8) as i8 as u8, (hi >> 8) as i8 as u8])
        .collect();
    assert_eq!(shifted, plain);

    // By the code: sealing is deterministic, opening gives the window and the signed pairs.
    assert_eq!(audio::seal_peaks(&id, &dek, window, &pairs), obj);
    let want: Vec<(i8, i8)> = plain.chunks(2).map(|c| (c[0] as i8, c[1] as i8)).collect();
    assert_eq!(
        audio::open_peaks(&obj, &id, &dek, "v").unwrap(),
        (window, want)
    );
    // Another recording's id, another key, a flipped body bit, a newer version: refused.
    let e = audio::open_peaks(&obj, "0b7c4e2a9d1f3e5c7a9b2d4f6e8a0c1e", &dek, "v").unwrap_err();
    assert!(is_tampered(&e, "another recording"), "{e}");
    assert!(audio::open_peaks(&obj, &id, &Key32::from_bytes([7; 32]), "v").is_err());
    let mut bad = obj.clone();
    let n = bad.len();
    bad[n - 20] ^= 0x01;
    assert!(audio::open_peaks(&bad, &id, &dek, "v").is_err());
    let e = audio::open_peaks(&with_version_byte(&obj, 2), &id, &dek, "v").unwrap_err();
    assert!(matches!(e, Error::Version { found: 2, .. }), "{e}");
}

#[test]
fn segment_file_names() {
    let v = one("vector-segment-names");
    let mut n = 0;
    for i in 0.. {
        let k = format!("file{i}");
        if !v.m.contains_key(&k) {
            break;
        }
        let name = v.text(&k);
        let seq = v.num(&format!("seq{i}"));
        let gen = v.num(&format!("gen{i}")) as u32;
        assert_eq!(
            journal::parse_segment_file(&name),
            Some((seq, gen)),
            "{name}"
        );
        assert_eq!(journal::parse_segment_name(&name), Some(seq), "{name}");
        assert_eq!(journal::segment_file(seq, gen), name);
        if gen == 0 {
            assert_eq!(journal::segment_name(seq), name);
        }
        n += 1;
    }
    assert!(n >= 2);
    let mut refused = 0;
    for i in 0.. {
        let k = format!("refused{i}");
        if !v.m.contains_key(&k) {
            break;
        }
        let name = v.text(&k);
        assert_eq!(journal::parse_segment_file(&name), None, "{name}");
        refused += 1;
    }
    assert!(refused >= 1);

    // Compaction: generation 1 of segment 0 holds what is kept, names its generation in its header
    // (after `signer`), replaces generation 0, and is what a listing takes for that number.
    let s = secrets();
    let user = one("vector-user");
    let uid = user.raw("uid").to_string();
    let device = one("vector-journal").text("device");
    let dir = tempfile::tempdir().unwrap();
    archive::write_new(dir.path(), "archive.json", &archive_json()).unwrap();
    let a = Archive::open(dir.path()).unwrap();
    let seed = alice_signing_seed();
    let signer = Signer {
        uid: &uid,
        seed: &seed,
    };
    let e: Vec<JournalEntry> = serde_json::from_str(&one("vector-journal").text("entries_json"))
        .expect("the example entries parse");
    assert_eq!(journal::append(&a, &device, &e, &signer).unwrap(), 0);
    assert_eq!(journal::append(&a, &device, &e, &signer).unwrap(), 1);
    let first = journal::segment_file(0, 0);
    let compacted = journal::segment_file(0, 1);
    assert_eq!(compacted, "0000000000000000-0001.cvj");
    // An interrupted compaction leaves both generations: the newer is current.
    let old = a.read(&format!("journal/{device}/{first}")).unwrap();
    journal::compact(
        &a,
        &device,
        0,
        1,
        &[],
        Some(&[]),
        &first,
        &signer,
        &Readers::Metadata,
    )
    .unwrap();
    assert!(!dir
        .path()
        .join(format!("journal/{device}/{first}"))
        .exists());
    archive::write_new(dir.path(), &format!("journal/{device}/{first}"), &old).unwrap();
    archive::write_new(dir.path(), &format!("journal/{device}/notes.txt"), b"").unwrap();
    let l = journal::list_device(&a, &device).unwrap();
    assert_eq!(l.current.get(&0), Some(&(1, compacted.clone())));
    assert_eq!(l.current.get(&1), Some(&(0, journal::segment_file(1, 0))));
    assert_eq!(l.superseded, vec![first.clone()]);
    assert_eq!(l.unexpected, vec!["notes.txt".to_string()]);

    let data = a.read(&format!("journal/{device}/{compacted}")).unwrap();
    let (signed, _) = split_trailer(&data);
    let (h, _) = envelope(signed, journal::MAGIC);
    let h = String::from_utf8(h).unwrap();
    assert!(
        h.starts_with(&format!(r#"{{"v":2,"device":"{device}","seq":0,"wrap":{{"#)),
        "{h}"
    );
    // ... then the key commitment every segment of this build carries (64 hex digits).
    let (head, kc) = h.rsplit_once(r#","kc":""#).expect("a key commitment");
    assert!(
        head.ends_with(&format!(r#","signer":"{uid}","gen":1"#)),
        "{h}"
    );
    assert!(
        kc.len() == 66 && kc.ends_with("\"}") && kc[..64].bytes().all(|b| b.is_ascii_hexdigit()),
        "{h}"
    );
    let (by, kept) = journal::open_segment_gen(
        &data,
        &KeyRing::one(&s.key("metadata")),
        &device,
        0,
        1,
        &alice_keys(),
        "v",
    )
    .unwrap();
    assert_eq!(by, uid);
    assert!(kept.is_empty());
    // The same wrap info for every generation; a generation is bound to its name.
    let hj: serde_json::Value = serde_json::from_str(&h).unwrap();
    crypto::unwrap_key(
        &s.key("metadata"),
        format!("callvault/v1/journal/{device}/0").as_bytes(),
        &wrapped(&hj["wrap"]),
        "v",
    )
    .unwrap();
    let e = journal::open_segment_gen(
        &data,
        &KeyRing::one(&s.key("metadata")),
        &device,
        0,
        0,
        &alice_keys(),
        "v",
    )
    .unwrap_err();
    assert!(is_tampered(&e, "moved or renamed"), "{e}");
    // The first generation's header has no `gen`.
    let (signed, _) = split_trailer(&old);
    let (h0, _) = envelope(signed, journal::MAGIC);
    assert!(!String::from_utf8(h0).unwrap().contains("\"gen\""));
}

/// Format 2's signed structures (issue 17): the archive identity and its fingerprint, the sealing
/// hash a user record's signed part binds, a request id, and an entry's own signature.
#[test]
fn format2_vectors() {
    let v = one("vector-format2");
    let a = example_archive();
    assert_eq!(a.config.identity_hash(), v.text("identity_hash"));
    assert_eq!(a.config.fingerprint(), v.text("fingerprint"));
    let (_, text) = user_file();
    let rec: users::UserRecord = serde_json::from_str(&text).unwrap();
    assert_eq!(
        users::sealing_hash(&rec.kdf, &rec.salt, &rec.sealed),
        v.text("sealing_hash")
    );
    assert_eq!(
        callvault_core::requests::request_id(
            &v.text("raiser"),
            &v.text("request_device"),
            &v.text("nonce")
        ),
        v.text("request_id")
    );
    assert_eq!(
        callvault_core::archive::journal::recording_id(
            &v.text("raiser"),
            &v.text("request_device"),
            &v.text("nonce")
        ),
        v.text("recording_id")
    );
    // An entry's signature: Ed25519 by its author over
    // "callvault/v2/journal-entry\n<device>\n<seq>\n" ‖ JSON(entry); deterministic.
    let device = one("vector-journal").text("device");
    let uid = one("vector-user").raw("uid").to_string();
    let dir = tempfile::tempdir().unwrap();
    archive::write_new(dir.path(), "archive.json", &archive_json()).unwrap();
    let a = Archive::open(dir.path()).unwrap();
    let seed = alice_signing_seed();
    let signer = Signer {
        uid: &uid,
        seed: &seed,
    };
    let e: Vec<JournalEntry> = serde_json::from_str(&one("vector-journal").text("entries_json"))
        .expect("the example entries parse");
    assert_eq!(journal::append(&a, &device, &e, &signer).unwrap(), 0);
    let bytes = a
        .read(&format!("journal/{device}/{}", journal::segment_file(0, 0)))
        .unwrap();
    let s = secrets();
    let (_, _, sigs) = journal::open_segment_signed(
        &bytes,
        &KeyRing::one(&s.key("metadata")),
        &device,
        0,
        0,
        &alice_keys(),
        "t",
    )
    .unwrap();
    assert_eq!(sigs.unwrap(), vec![v.text("entry_signature")]);
    // Issue 18's entries, exactly as readers re-serialise them (their signatures cover this).
    assert_eq!(
        callvault_core::requests::grant_info(
            &v.text("request_id"),
            &v.text("recording_id"),
            &v.text("raiser")
        ),
        v.text("grant_info").into_bytes()
    );
    for k in [
        "grant_entry_json",
        "erased_entry_json",
        "assign_without_key_json",
        "patient_link_json",
        "patient_unlink_json",
        "raised_patient_json",
        "recording_leg_json",
        "breach_reported_json",
    ] {
        let e: JournalEntry =
            serde_json::from_str(&v.text(k)).unwrap_or_else(|e| panic!("{k}: {e}"));
        assert_eq!(serde_json::to_string(&e).unwrap(), v.text(k), "{k}");
    }
    // A leg of a transferred call: its conversation id is one a reader accepts.
    let leg: JournalEntry = serde_json::from_str(&v.text("recording_leg_json")).unwrap();
    let JournalEntry::Recording(m) = leg else {
        panic!("recording_leg_json is not a recording entry")
    };
    let k = m.conversation.expect("a conversation id");
    assert_eq!(
        callvault_core::conversation::check_key(&k).as_deref(),
        Ok(k.as_str())
    );
    // A breach report's id is bound to its reporter by the nonce of its `reported` event, and a
    // reader folds that event into a report.
    let id = callvault_core::breach::breach_id(&v.text("raiser"), &v.text("nonce"));
    assert_eq!(id, v.text("breach_id"));
    let m = format!(
        "callvault/v1/breach\n{}\n{}",
        v.text("raiser"),
        v.text("nonce")
    );
    assert_eq!(hex::encode(&crypto::sha256(m.as_bytes())[..16]), id);
    let JournalEntry::Breach(b) = serde_json::from_str(&v.text("breach_reported_json")).unwrap()
    else {
        panic!("breach_reported_json is not a breach entry")
    };
    let folded = callvault_core::breach::fold(&id, vec![*b], &|_| false).expect("a report");
    assert_eq!(folded.reporter, v.text("raiser"));
    // A do-not-record entry's hash: HMAC-SHA-256 under HKDF(dedup, "callvault/v1/dnr-match") of
    // "number:" ‖ the national digits; computed here by RFC 5869 as well as by the core.
    let dedup = secrets().key("dedup");
    let keys = callvault_core::dnr::Keys::from_dedup(&dedup);
    let hash = keys
        .hash(callvault_core::dnr::Kind::Number, &v.text("dnr_number"))
        .unwrap();
    assert_eq!(hash, v.text("dnr_number_hash"));
    let k = hkdf_by_rfc5869(dedup.expose(), b"callvault/v1/dnr-match");
    assert_eq!(
        hex::encode(crypto::hmac_sha256(&k, b"number:07700900461")),
        hash
    );
    // The NHS number in them passes its check (a reader refuses a link whose number does not).
    assert!(callvault_core::patient::is_canonical("9990000018"));
    assert!(!callvault_core::patient::is_canonical("9990000017"));
}

#[test]
fn key_epochs_and_xeddsa() {
    use callvault_core::users::callkey;
    use curve25519_dalek::{EdwardsPoint, MontgomeryPoint, Scalar};
    use hpke::{Kem as _, Serializable};
    use sha2::{Digest, Sha512};
    let v = one("vector-epoch");
    let prev = v.key("prev_seed");
    let new = v.key("new_seed");
    // The X25519 key pair of a seed is HPKE's DeriveKeyPair; the public key is private · base.
    let (sk, pk) = hpke::kem::X25519HkdfSha256::derive_keypair(prev.expose());
    let private = v.hex_n::<32>("prev_private");
    assert_eq!(sk.to_bytes()[..], private);
    assert_eq!(pk.to_bytes()[..], v.hex_n::<32>("prev_public"));
    assert_eq!(
        MontgomeryPoint::mul_base_clamped(private).to_bytes(),
        v.hex_n::<32>("prev_public")
    );
    assert_eq!(crypto::x25519_public(&new), v.hex_n::<32>("new_public"));
    // XEdDSA by the text: a = clamp(private), A = a·B, negated if its sign bit is 1.
    let mut clamped = private;
    clamped[0] &= 248;
    clamped[31] &= 127;
    clamped[31] |= 64;
    let mut a = Scalar::from_bytes_mod_order(clamped);
    let mut big_a = EdwardsPoint::mul_base(&a);
    if big_a.compress().as_bytes()[31] & 0x80 != 0 {
        a = -a;
        big_a = -big_a;
    }
    let edwards = v.hex_n::<32>("prev_edwards");
    assert_eq!(big_a.compress().to_bytes(), edwards);
    assert_eq!(
        MontgomeryPoint(v.hex_n::<32>("prev_public"))
            .to_edwards(0)
            .unwrap()
            .compress()
            .to_bytes(),
        edwards
    );
    let prefix = v.hex_n::<32>("nonce_prefix");
    assert_eq!(
        hkdf_by_rfc5869(prev.expose(), b"callvault/v3/xeddsa-nonce"),
        prefix
    );
    let signed_text = v.text("signed");
    let domain = v.text("domain");
    assert_eq!(domain, "callvault/v3/metadata-key\n");
    let msg = [domain.as_bytes(), signed_text.as_bytes()].concat();
    let r = Scalar::from_hash(Sha512::new().chain_update(prefix).chain_update(&msg));
    let big_r = EdwardsPoint::mul_base(&r).compress();
    let h = Scalar::from_hash(
        Sha512::new()
            .chain_update(big_r.as_bytes())
            .chain_update(edwards)
            .chain_update(&msg),
    );
    let proof = v.hex_n::<64>("proof");
    assert_eq!(proof[..32], big_r.to_bytes());
    assert_eq!(proof[32..], (r + h * a).to_bytes());
    // It is an Ed25519 signature under A (checked strictly by an Ed25519 verifier).
    let vk = ed25519_dalek::VerifyingKey::from_bytes(&edwards).unwrap();
    vk.verify_strict(&msg, &ed25519_dalek::Signature::from_bytes(&proof))
        .unwrap();
    // The author's signature.
    let author_public = v.hex_n::<32>("author_public");
    assert_eq!(crypto::ed25519_public(&v.key("author_seed")), author_public);
    let sig = v.hex_n::<64>("sig");
    ed25519_dalek::VerifyingKey::from_bytes(&author_public)
        .unwrap()
        .verify_strict(&msg, &ed25519_dalek::Signature::from_bytes(&sig))
        .unwrap();

    // By the code: the message is the domain and the compact JSON, fields in the document's order.
    let signed: callkey::EpochSigned = serde_json::from_str(&signed_text).unwrap();
    assert_eq!(callkey::message_for("metadata", &signed), msg);
    assert_eq!(
        callkey::message(&signed),
        [v.text("call_key_domain").as_bytes(), signed_text.as_bytes()].concat()
    );
    assert_eq!(crypto::xeddsa_sign(&prev, &msg), proof);
    assert!(crypto::xeddsa_verify(
        &v.hex_n::<32>("prev_public"),
        &msg,
        &proof
    ));
    assert!(!crypto::xeddsa_verify(
        &v.hex_n::<32>("new_public"),
        &msg,
        &proof
    ));
    assert_eq!(crypto::ed25519_sign(&v.key("author_seed"), &msg), sig);
    assert_eq!(signed.public_key, crypto::b64(&v.hex_n::<32>("new_public")));
    assert_eq!(signed.prev_key, crypto::b64(&v.hex_n::<32>("prev_public")));
    // The grant opens with the holder's secret under its info, the back with the new seed.
    let uid = v.text("holder_uid");
    let info = v.text("grant_info");
    assert_eq!(callkey::grant_info("metadata", 1, &uid), info.as_bytes());
    assert_eq!(
        callkey::back_info("metadata", 1),
        v.text("back_info").as_bytes()
    );
    let g = &signed.grants[0];
    assert_eq!(g.to, uid);
    let got =
        crypto::unwrap_key(&v.key("holder_secret"), info.as_bytes(), &g.wrapped, "v").unwrap();
    assert_eq!(got.expose(), new.expose());
    let back = crypto::unwrap_key(&new, v.text("back_info").as_bytes(), &signed.back, "v").unwrap();
    assert_eq!(back.expose(), prev.expose());
}

#[test]
fn user_record_admin_signature() {
    use callvault_core::users::cosign;
    let s = secrets();
    let v = one("vector-user-admin");
    let a = example_archive();
    let uid = one("vector-user").raw("uid").to_string();
    let (path, text) = user_file();
    let mut rec = users::check_record(&a, text.as_bytes(), &uid, 0, &path).unwrap();
    let msg = [
        b"callvault/v1/user\n".as_slice(),
        &serde_json::to_vec(&rec.signed).unwrap(),
    ]
    .concat();
    // The hash an admin key epoch names a record by: SHA-256 of the signing key's message.
    assert_eq!(hex::encode(crypto::sha256(&msg)), v.raw("record_hash"));
    assert_eq!(cosign::record_hash(&rec.signed), v.raw("record_hash"));
    // admin_sig: XEdDSA (deterministic) by the admin seed over domain ‖ that message.
    let domain = v.text("domain");
    assert_eq!(domain, "callvault/v3/user-admin\n");
    let admin_msg = [domain.as_bytes(), &msg].concat();
    let sig = crypto::xeddsa_sign(&s.key("admin"), &admin_msg);
    assert_eq!(hex::encode(sig), v.raw("admin_sig"));
    assert!(crypto::xeddsa_verify(
        &a.config.keys.get("admin").unwrap(),
        &admin_msg,
        &sig
    ));
    // The reader's rule accepts it at epoch 0, and refuses it altered.
    rec.admin_sig = Some(cosign::AdminSig {
        epoch: 0,
        sig: crypto::b64(&sig),
    });
    let rule = cosign::Rule::read(&a);
    rule.check(&rec, &path).unwrap();
    let mut bad = sig;
    bad[5] ^= 1;
    rec.admin_sig = Some(cosign::AdminSig {
        epoch: 0,
        sig: crypto::b64(&bad),
    });
    assert!(rule.check(&rec, &path).is_err());
    // A record whose key bags were given epochs of rotating keys carries `given` (name → epoch),
    // last among the signed fields, and its hash covers it.
    rec.signed.given = serde_json::from_str(v.raw("given")).unwrap();
    let json = String::from_utf8(serde_json::to_vec(&rec.signed).unwrap()).unwrap();
    assert!(
        json.ends_with(&format!(",\"given\":{}}}", v.raw("given"))),
        "{json}"
    );
    assert_eq!(cosign::record_hash(&rec.signed), v.raw("given_record_hash"));
}

#[test]
fn segment_key_sealed_for_every_user() {
    use callvault_core::archive::readers::{everyone_aad, PartyKeys, EVERYONE_INFO};
    let s = secrets();
    let v = one("vector-everyone");
    let device = v.text("device");
    let seq = v.num("seq");
    assert_eq!(v.text("info").as_bytes(), EVERYONE_INFO);
    let k = crypto::hkdf(s.key("dedup").expose(), v.text("info").as_bytes());
    assert_eq!(hex::encode(k.expose()), v.raw("everyone_key"));
    assert_eq!(everyone_aad(&device, seq), v.text("aad").into_bytes());
    let nonce = v.hex_n::<12>("nonce");
    let ct = crypto::seal(
        &k,
        &nonce,
        &everyone_aad(&device, seq),
        v.key("segment_key").expose(),
    );
    assert_eq!(
        crypto::b64(&[nonce.as_slice(), &ct].concat()),
        v.text("everyone")
    );
    // A reader holding only dedup opens it; at another place it does not open.
    let secret = Key32::from_bytes([9; 32]);
    let dedup = s.key("dedup");
    let keys = PartyKeys {
        uid: "e289cc7c82ded3abcf7dbfebc9aea3dd",
        secret: &secret,
        dedup: Some(&dedup),
    };
    let got = keys
        .open(&device, seq, &[], Some(&v.text("everyone")), "v")
        .unwrap()
        .unwrap();
    assert_eq!(got.expose(), v.key("segment_key").expose());
    assert!(keys
        .open(&device, seq + 1, &[], Some(&v.text("everyone")), "v")
        .is_err());
}
