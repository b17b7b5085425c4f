//! Checks the test vectors in docs/FORMAT.md against the implementation. Every `vector-<kind>` block
//! in the document is parsed and checked here; an unknown kind, a changed value in the document or a
//! changed behaviour of the code makes this test fail.

use callvault_core::archive::audio::{self, DecryptingReader};
use callvault_core::archive::journal::{self, JournalEntry};
use callvault_core::archive::{self, Archive};
use callvault_core::audit::{self, AuditEntry};
use callvault_core::crypto::{self, stream, KdfParams, Wrapped};
use callvault_core::policy::{self, Role};
use callvault_core::secret::{Key32, Password};
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
    "vector-user",
    "vector-audio",
    "vector-journal",
    "vector-audit",
    "vector-lockout",
    "vector-index-key",
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

// ---- the vectors ----

#[test]
fn every_block_is_well_formed() {
    let b = blocks();
    assert!(
        b.len() >= 14,
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
    for k in policy::archive_keys_for(&profile.roles) {
        want.insert(k.to_string(), hex::encode(s.key(k).expose()));
    }
    assert_eq!(want.len(), 6);
    assert_eq!(&bag[..], serde_json::to_vec(&want).unwrap());

    // And the code's own logon path.
    let u = users::unlock(&rec, &password).unwrap();
    assert_eq!(u.uid, uid);
    assert_eq!(u.secret.expose(), user_secret.expose());
    assert_eq!(u.profile, profile);
    for k in want.keys() {
        assert_eq!(u.secrets.get(k).unwrap().expose(), s.key(k).expose(), "{k}");
    }
    assert!(matches!(
        users::unlock(&rec, &Password::new("wrong password")),
        Err(Error::BadLogon)
    ));

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
    let data = v.hex("file");
    let device = v.text("device");
    let seq = v.num("seq");
    assert_eq!(
        v.text("path"),
        format!("journal/{device}/{}", journal::segment_name(seq))
    );
    assert_eq!(journal::MAGIC, b"CVJRNL\x00\x01");

    // By the document.
    let (h, body) = envelope(&data, journal::MAGIC);
    assert_eq!(String::from_utf8(h.clone()).unwrap(), v.text("header_json"));
    let hj: serde_json::Value = serde_json::from_slice(&h).unwrap();
    assert_eq!(hj["v"], 1);
    assert_eq!(hj["device"], device.as_str());
    assert_eq!(hj["seq"], seq);
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

    // By the code.
    let entries = journal::open_segment(&data, &s.key("metadata"), &device, seq, "v").unwrap();
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

    // Misplaced, wrong key, newer version.
    assert!(journal::open_segment(&data, &s.key("metadata"), &device, seq + 1, "v").is_err());
    assert!(journal::open_segment(&data, &s.key("audit"), &device, seq, "v").is_err());
    let e = journal::open_segment(
        &with_version_byte(&data, 2),
        &s.key("metadata"),
        &device,
        seq,
        "v",
    )
    .unwrap_err();
    assert!(matches!(e, Error::Version { found: 2, .. }), "{e}");
}

#[test]
fn audit_chain() {
    let s = secrets();
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
        assert_eq!(crypto::sha256(&data)[..], v.hex("sha256")[..]);
        let (h, body) = envelope(&data, audit::MAGIC);
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
        want_entries.extend(serde_json::from_slice::<Vec<AuditEntry>>(&plain).unwrap());
        prev = hex::encode(crypto::sha256(&data));
    }

    // By the code: an archive folder holding archive.json and the two files verifies clean.
    let dir = tempfile::tempdir().unwrap();
    archive::write_new(dir.path(), "archive.json", &archive_json()).unwrap();
    for v in &files {
        archive::write_new(dir.path(), &v.text("path"), &v.hex("file")).unwrap();
    }
    let a = Archive::open(dir.path()).unwrap();
    let rep = audit::verify(&a, &s.key("audit")).unwrap();
    assert!(rep.problems.is_empty(), "{:?}", rep.problems);
    assert_eq!(rep.devices, 1);
    assert_eq!(rep.files, 2);
    assert_eq!(rep.all_entries, want_entries);
    assert_eq!(rep.heads[0].2, prev);

    // Removing the first file breaks the chain.
    std::fs::remove_file(dir.path().join(files[0].text("path"))).unwrap();
    let rep = audit::verify_chain(&a, None).unwrap();
    assert!(!rep.problems.is_empty());
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
}
