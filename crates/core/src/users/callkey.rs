//! The call key's epochs (docs/FORMAT.md, "Rotating the call key"). The archive's first call key
//! (`custodian`) is the one in `archive.json`; when someone who held it leaves, a current holder
//! makes the next: `keys/custodian/<epoch>.json`, proved by the previous key (an XEdDSA signature
//! anyone can check against the previous public key), signed by its author, and giving the new
//! seed to each current holder. New audio is wrapped to the newest key; a re-wrap moves every
//! recording's data key to it and removes the old wraps.

use crate::archive::{self, Archive, Signer};
use crate::crypto::{self, Wrapped};
use crate::error::{Error, Result};
use crate::secret::Key32;
use serde::{Deserialize, Serialize};

/// The seeds of a rotating key's epochs a user holds, oldest first.
pub type CallSeeds = Vec<(u32, Key32)>;

/// Who may have made an epoch: the signing key of a current holder, by uid.
pub type AuthorKey<'a> = &'a dyn Fn(&str) -> Option<[u8; 32]>;

/// Every seed of one rotating key (`metadata`, `audit`) a session holds, newest first, with its
/// epoch where known. Opens what was encrypted to any of them: the one an object names first,
/// then the others (an object of a format before epochs names none).
#[derive(Clone)]
pub struct KeyRing(Vec<(Option<u32>, Key32)>);

impl KeyRing {
    /// A ring of one seed whose epoch is not known (a key bag's, before the epochs are read).
    pub fn one(seed: &Key32) -> KeyRing {
        KeyRing(vec![(None, seed.clone())])
    }
    /// The seed of epoch 0 if held, else the oldest: keys the local index, which must not change
    /// when the key rotates.
    pub fn first(&self) -> &Key32 {
        &self.0.last().expect("a ring holds a seed").1
    }
    /// Is epoch `e` newer than every epoch this ring holds a seed of (a seed of unknown epoch, a
    /// key bag's before the epochs are read, counting as the first)? Such an epoch was not given to
    /// this holder (yet): anything else that fails to open with the ring is damaged or altered.
    pub fn newer_than_held(&self, e: u32) -> bool {
        let newest = self
            .0
            .iter()
            .map(|(x, _)| x.unwrap_or(0))
            .max()
            .unwrap_or(0);
        e > newest
    }
    /// Every seed held, newest first (tags made under any of them are checked).
    pub fn seeds(&self) -> Vec<&Key32> {
        self.0.iter().map(|(_, k)| k).collect()
    }
    /// The newest seed `known` accepts.
    pub fn newest_in(&self, known: impl Fn(&Key32) -> bool) -> Option<Key32> {
        self.0.iter().map(|(_, k)| k).find(|k| known(k)).cloned()
    }
    /// The seeds to try for something made under `epoch`: that epoch's first, then the rest.
    pub fn candidates(&self, epoch: u32) -> impl Iterator<Item = &Key32> {
        let hit = self.0.iter().filter(move |(e, _)| *e == Some(epoch));
        let rest = self.0.iter().filter(move |(e, _)| *e != Some(epoch));
        hit.chain(rest).map(|(_, k)| k)
    }
    /// Unwrap a key wrapped to the epoch `epoch`'s public key (or any held).
    pub fn unwrap(&self, epoch: u32, info: &[u8], w: &Wrapped, what: &str) -> Result<Key32> {
        let mut first = None;
        for k in self.candidates(epoch) {
            match crypto::unwrap_key(k, info, w, what) {
                Ok(k) => return Ok(k),
                Err(e) => {
                    first.get_or_insert(e);
                }
            }
        }
        Err(first.expect("a ring holds a seed"))
    }
}

/// The seeds of rotating key `name` a user reaches from their key bag's through the epochs on
/// the share, believed on their proofs alone (`read_key` with no author): for *reading* before
/// the users are known (their own profile, at logon). Nothing is written under them; the session
/// reads the chain again, authors checked, once it knows the users.
pub fn ring_unverified(
    archive: &Archive,
    name: &'static str,
    uid: &str,
    user_secret: &Key32,
    bag: &super::ArchiveSecrets,
) -> Result<KeyRing> {
    let seed = bag.require(name)?;
    let seeds = read_key(archive, name, None)
        .and_then(|chain| seeds_for(archive, &chain, uid, user_secret, seed))
        .map(|(s, _)| s)
        .unwrap_or_default();
    Ok(if seeds.is_empty() {
        KeyRing::one(seed)
    } else {
        KeyRing(seeds.into_iter().rev().map(|(e, k)| (Some(e), k)).collect())
    })
}

/// Give a key bag the epochs of the metadata, audit and admin keys it reaches, believing the
/// chains' proofs alone (before the users are known: at logon, or the break-glass reset). For
/// reading, and for writing only where FORMAT.md says a proof suffices.
pub fn take_epochs_unverified(
    archive: &Archive,
    uid: &str,
    user_secret: &Key32,
    bag: &mut super::ArchiveSecrets,
) {
    for name in ["metadata", "audit", "admin"] {
        let Some(seed) = bag.get(name).cloned() else {
            continue;
        };
        let seeds = read_key(archive, name, None)
            .and_then(|chain| seeds_for(archive, &chain, uid, user_secret, &seed))
            .map(|(s, _)| s)
            .unwrap_or_default();
        if !seeds.is_empty() {
            bag.set_epochs(name, seeds);
        }
    }
}

impl super::ArchiveSecrets {
    /// Take the epochs of a rotating key this user holds (`callkey::seeds_for`, oldest first):
    /// the newest becomes the key of that name, and every one opens what was made under it.
    pub fn set_epochs(&mut self, name: &str, seeds: CallSeeds) {
        if let Some((_, newest)) = seeds.last() {
            self.0.insert(name.into(), newest.clone());
        }
        self.1.insert(name.into(), seeds);
    }
    /// As `set_epochs` for the call key.
    pub fn set_call_keys(&mut self, seeds: CallSeeds) {
        self.set_epochs("custodian", seeds)
    }
    /// Every seed of a rotating key this user holds (before the epochs are read, the key bag's
    /// alone); refused if their roles hold none.
    pub fn ring(&self, name: &str) -> Result<KeyRing> {
        match self.1.get(name).filter(|s| !s.is_empty()) {
            Some(s) => Ok(KeyRing(
                s.iter().rev().map(|(e, k)| (Some(*e), k.clone())).collect(),
            )),
            None => self.require(name).map(KeyRing::one),
        }
    }
    /// Every call key this user holds with the wrap label of its epoch (`custodian`,
    /// `custodian:<epoch>`), newest first. Before the epochs are read, the key bag's alone.
    pub fn call_keys(&self) -> Vec<(String, &Key32)> {
        match self.1.get("custodian").filter(|s| !s.is_empty()) {
            None => self
                .get("custodian")
                .map(|c| ("custodian".to_string(), c))
                .into_iter()
                .collect(),
            Some(s) => s
                .iter()
                .rev()
                .map(|(e, k)| (crate::archive::audio::call_key_label(*e), k))
                .collect(),
        }
    }
    /// Every call key seed held, newest first (tags made under any of them are checked).
    pub fn call_seeds(&self) -> Vec<&Key32> {
        self.call_keys().into_iter().map(|(_, k)| k).collect()
    }
}

/// Folder of the call key's epoch files.
pub const DIR: &str = "keys/custodian";

/// The archive keys that rotate when someone who held them leaves, each with its own chain of
/// epochs in `keys/<name>/` (docs/FORMAT.md, "Rotating the archive's keys").
pub const ROTATING: [&str; 4] = ["custodian", "metadata", "audit", "admin"];

/// The word for a rotating key in its messages' domains: `call-key`, `metadata-key`, `audit-key`.
fn domain(name: &str) -> &'static str {
    match name {
        "custodian" => "call-key",
        "metadata" => "metadata-key",
        "admin" => "admin-key",
        _ => "audit-key",
    }
}

/// A rotating key in the practice's words.
pub fn what(name: &str) -> &'static str {
    match name {
        "custodian" => "call key",
        "metadata" => "metadata key",
        "admin" => "admin key",
        _ => "audit key",
    }
}

/// Folder of a rotating key's epoch files.
pub fn dir(name: &str) -> String {
    format!("keys/{name}")
}

/// Relative path of the call key's epoch `epoch` (epoch ≥ 1).
pub fn path(epoch: u32) -> String {
    path_of("custodian", epoch)
}

/// Relative path of a rotating key's epoch `epoch` (epoch ≥ 1).
pub fn path_of(name: &str, epoch: u32) -> String {
    format!("keys/{name}/{epoch:08}.json")
}

/// The new seed wrapped to one holder's public key.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Grant {
    pub to: String,
    #[serde(flatten)]
    pub wrapped: Wrapped,
}

/// The part of an epoch file covered by its proof and signature.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct EpochSigned {
    pub epoch: u32,
    /// The new X25519 public key, base64.
    pub public_key: String,
    /// The previous epoch's public key, base64 (epoch 1: `archive.json`'s `keys.custodian`).
    pub prev_key: String,
    /// The archive's identity hash.
    pub archive: String,
    /// Who made it (uid); a holder of the call key by role.
    pub by: String,
    /// When, Unix milliseconds.
    pub at: i64,
    /// Whose leaving it answers (uids), for the record.
    pub leavers: Vec<String>,
    /// The new seed, wrapped to each holder at the time, info `callvault/v3/call-key/<epoch>/<uid>`.
    pub grants: Vec<Grant>,
    /// The previous epoch's seed wrapped to the new public key, info
    /// `callvault/v3/call-key-back/<epoch>`: the newest key opens every older one.
    pub back: Wrapped,
    /// The admin key's epochs only: each user's record believed when the epoch was made (uid →
    /// revision and hash). A user record of a later revision, of the same revision with another
    /// content, or of a user not named, is believed only if this epoch's key (or a newer) signed
    /// it (`users::cosign`), so an admin who left cannot make one with the keys they kept. Absent
    /// in other keys' epochs and in admin epochs made before admin signatures (file `v` 1; with
    /// it, `v` 2, which an older build refuses as newer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revisions: Option<Revisions>,
}

/// A user record as an admin key epoch names it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RecordRef {
    pub rev: u64,
    /// Hex SHA-256 of the message the archive's signing key signs (`users::cosign::record_hash`).
    pub hash: String,
}

/// The records an admin key epoch names, by uid.
pub type Revisions = std::collections::BTreeMap<String, RecordRef>;

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct EpochFile {
    pub v: u32,
    pub signed: EpochSigned,
    /// XEdDSA signature by the previous epoch's key over the message, base64.
    pub proof: String,
    /// Ed25519 signature by the author's user signing key over the message, base64.
    pub sig: String,
}

/// The message of a call key epoch, proved and signed: domain, then the compact JSON of `signed`.
pub fn message(s: &EpochSigned) -> Vec<u8> {
    message_for("custodian", s)
}

/// The message of a rotating key's epoch: `"callvault/v3/<domain>\n" ‖ JSON(signed)`.
pub fn message_for(name: &str, s: &EpochSigned) -> Vec<u8> {
    let mut m = format!("callvault/v3/{}\n", domain(name)).into_bytes();
    m.extend_from_slice(&serde_json::to_vec(s).expect("serialisable"));
    m
}

pub fn grant_info(name: &str, epoch: u32, uid: &str) -> Vec<u8> {
    format!("callvault/v3/{}/{epoch}/{uid}", domain(name)).into_bytes()
}

pub fn back_info(name: &str, epoch: u32) -> Vec<u8> {
    format!("callvault/v3/{}-back/{epoch}", domain(name)).into_bytes()
}

/// The verified epochs of a rotating key, and what was refused on the way.
#[derive(Clone, Debug)]
pub struct Chain {
    /// The key (`custodian`, `metadata`, `audit`).
    pub name: &'static str,
    /// Epochs 1 … N, in order, each proved by the one before.
    pub epochs: Vec<EpochSigned>,
    /// Files refused: (path, reason).
    pub problems: Vec<(String, String)>,
}

impl Default for Chain {
    fn default() -> Self {
        Chain::of("custodian")
    }
}

impl Chain {
    /// No epoch after the first (`archive.json`'s) yet.
    pub fn of(name: &'static str) -> Chain {
        Chain {
            name,
            epochs: vec![],
            problems: vec![],
        }
    }
    /// The newest epoch (0: the key in `archive.json`).
    pub fn current(&self) -> u32 {
        self.epochs.len() as u32
    }
    /// The public key of epoch `e`.
    pub fn public(&self, archive: &Archive, e: u32) -> Result<[u8; 32]> {
        if e == 0 {
            return archive.config.keys.get(self.name);
        }
        let s = self.epochs.get(e as usize - 1).ok_or_else(|| {
            Error::Invalid(format!("{} epoch {e} does not exist", what(self.name)))
        })?;
        key32(&s.public_key, &path_of(self.name, e))
    }
    /// The newest public key and its wrap label.
    pub fn current_recipient(&self, archive: &Archive) -> Result<(String, [u8; 32])> {
        let e = self.current();
        Ok((archive::audio::call_key_label(e), self.public(archive, e)?))
    }
    /// The holders the newest epoch was given to (none known for epoch 0).
    pub fn holders(&self) -> Option<Vec<String>> {
        self.epochs
            .last()
            .map(|s| s.grants.iter().map(|g| g.to.clone()).collect())
    }
}

fn key32(b64: &str, what: &str) -> Result<[u8; 32]> {
    crypto::unb64(b64, what)?
        .try_into()
        .map_err(|_| Error::tampered(what, "a key of the wrong length"))
}

/// Read and verify the chain. `author(uid)` gives the Ed25519 signing key of a known user (enabled
/// or not: an epoch stays believed after its author leaves); epoch *n* ≥ 2 must be made by someone
/// epoch *n − 1* was given to, epoch 1 by a user the proof shows held `archive.json`'s key. Whether
/// its author still may hold the key is the leavers' question (`Session::key_leavers`), not the
/// chain's. An epoch that fails a check ends the chain there (named in `problems`): the keys after
/// it are not believed.
///
/// An ingest machine, which knows no user's signing key, passes `None`: it believes the proofs
/// alone, and its own pin of the newest epoch seen (`device::seen_call_key`).
pub fn read(archive: &Archive, author: Option<AuthorKey>) -> Result<Chain> {
    read_key(archive, "custodian", author)
}

/// As `read`, for any rotating key (`ROTATING`).
pub fn read_key(archive: &Archive, key: &'static str, author: Option<AuthorKey>) -> Result<Chain> {
    let mut chain = Chain::of(key);
    let mut prev = archive.config.keys.get(key)?;
    let identity = archive.config.identity_hash();
    let dir = dir(key);
    let w = what(key);
    for name in archive.list(&dir)? {
        let rel = format!("{dir}/{name}");
        let n = name
            .strip_suffix(".json")
            .filter(|n| n.len() == 8 && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse::<u32>().ok());
        let expected = chain.current() + 1;
        let refuse = |chain: &mut Chain, why: &str| {
            chain.problems.push((rel.clone(), why.to_string()));
        };
        let Some(n) = n else {
            refuse(&mut chain, &format!("not a {w} epoch file name; ignored"));
            continue;
        };
        if n != expected {
            refuse(
                &mut chain,
                &format!(
                    "{w} epoch {n} follows no believed epoch {}; not believed",
                    n - 1
                ),
            );
            break;
        }
        let f: EpochFile = match archive.read(&rel).and_then(|b| {
            serde_json::from_slice(&b).map_err(|_| Error::tampered(&rel, "malformed"))
        }) {
            Ok(f) => f,
            Err(_) => {
                refuse(
                    &mut chain,
                    &format!("unreadable or malformed {w} epoch; not believed"),
                );
                break;
            }
        };
        let s = &f.signed;
        let msg = message_for(key, s);
        let why: Option<String> = if f.v != 1 && !(f.v == 2 && s.revisions.is_some()) {
            Some(format!("a newer format of {w} epoch; not believed"))
        } else if s.epoch != n {
            Some("names another epoch than its file (moved?); not believed".into())
        } else if s.prev_key != crypto::b64(&prev) {
            Some(format!("does not follow the previous {w}; not believed"))
        } else if s.archive != identity {
            Some("made for another archive identity; not believed".into())
        } else if key32(&s.public_key, &rel).is_err() {
            Some("malformed public key; not believed".into())
        } else if !crypto::unb64(&f.proof, &rel)
            .is_ok_and(|p| crypto::xeddsa_verify(&prev, &msg, &p))
        {
            Some(format!(
                "not proved by the previous {w} (made by someone who does not hold it); not believed"
            ))
        } else if author.is_some()
            && n >= 2
            && !chain.epochs[n as usize - 2]
                .grants
                .iter()
                .any(|g| g.to == s.by)
        {
            Some(format!(
                "made by someone the previous {w} was not given to; not believed"
            ))
        } else {
            match author.map_or(Some(None), |a| a(&s.by).map(Some)) {
                None => {
                    Some("made by someone who is not a user of the archive; not believed".into())
                }
                Some(None) => None,
                Some(Some(k)) => (!crypto::unb64(&f.sig, &rel)
                    .is_ok_and(|sig| crypto::ed25519_verify(&k, &msg, &sig)))
                .then(|| "its author's signature does not verify; not believed".to_string()),
            }
        };
        if let Some(why) = why {
            refuse(&mut chain, &why);
            break;
        }
        prev = key32(&s.public_key, &rel)?;
        chain.epochs.push(f.signed);
    }
    Ok(chain)
}

/// The seeds of a rotating key a user holds, by epoch, from the one in their key bag: forward
/// through the grants made to them, then back from the newest through each epoch's `back`.
/// Returns the seeds (oldest first) and, if they do not reach the newest epoch, why.
pub fn seeds_for(
    archive: &Archive,
    chain: &Chain,
    uid: &str,
    user_secret: &Key32,
    bag: &Key32,
) -> Result<(CallSeeds, Option<String>)> {
    let (name, w) = (chain.name, what(chain.name));
    let bag_pub = crypto::x25519_public(bag);
    let Some(start) =
        (0..=chain.current()).find(|e| chain.public(archive, *e).ok() == Some(bag_pub))
    else {
        return Ok((
            vec![],
            Some(format!(
                "the {w} in your key bag is none of the archive's {w}s"
            )),
        ));
    };
    let mut top = (start, bag.clone());
    let mut missing = None;
    // A grant or a `back` that does not open (a forged epoch carrying garbage) stops the walk
    // there: what was reached is kept, and the user is told, never locked out.
    for e in start + 1..=chain.current() {
        let s = &chain.epochs[e as usize - 1];
        let rel = path_of(name, e);
        let Some(g) = s.grants.iter().find(|g| g.to == uid) else {
            missing = Some(format!(
                "you were not given the archive's {w} of epoch {e} (made when a holder left): ask a holder to rotate it again (`callvault keys rotate`), which gives it to every current holder"
            ));
            break;
        };
        let seed = crypto::unwrap_key(user_secret, &grant_info(name, e, uid), &g.wrapped, &rel)
            .ok()
            .filter(|k| chain.public(archive, e).ok() == Some(crypto::x25519_public(k)));
        let Some(seed) = seed else {
            missing = Some(format!(
                "{rel}: the {w} given to you there does not open or is not the epoch's; ask the data controller"
            ));
            break;
        };
        top = (e, seed);
    }
    let mut out = vec![top.clone()];
    let (mut e, mut seed) = top;
    while e > 0 {
        let s = &chain.epochs[e as usize - 1];
        let rel = path_of(name, e);
        let older = crypto::unwrap_key(&seed, &back_info(name, e), &s.back, &rel)
            .ok()
            .filter(|k| chain.public(archive, e - 1).ok() == Some(crypto::x25519_public(k)));
        let Some(older) = older else {
            missing.get_or_insert(format!(
                "{rel}: the previous {w} it holds does not open or is not the previous epoch's; older data may not open (ask the data controller)"
            ));
            break;
        };
        e -= 1;
        seed = older;
        out.push((e, seed.clone()));
    }
    out.reverse();
    Ok((out, missing))
}

/// Make the next epoch of `chain`'s key: a fresh key pair, its seed granted to each of `holders`
/// (uid, X25519 public key), proved by the current seed and signed by `by`. An unbelieved file in
/// its place (planted, or a half-made epoch) is removed first. Returns the new epoch and seed.
pub fn rotate(
    archive: &Archive,
    chain: &Chain,
    current: &Key32,
    by: &Signer,
    holders: &[(String, [u8; 32])],
    leavers: Vec<String>,
    revisions: Option<Revisions>,
) -> Result<(u32, Key32)> {
    let name = chain.name;
    let e = chain.current() + 1;
    let prev = chain.public(archive, e - 1)?;
    if crypto::x25519_public(current) != prev {
        return Err(Error::Forbidden(format!(
            "this session does not hold the archive's newest {}, so it cannot make the next",
            what(name)
        )));
    }
    let seed = Key32::random();
    let public = crypto::x25519_public(&seed);
    let mut grants = Vec::with_capacity(holders.len());
    for (uid, pk) in holders {
        grants.push(Grant {
            to: uid.clone(),
            wrapped: crypto::wrap(pk, &grant_info(name, e, uid), seed.expose())?,
        });
    }
    let signed = EpochSigned {
        epoch: e,
        public_key: crypto::b64(&public),
        prev_key: crypto::b64(&prev),
        archive: archive.config.identity_hash(),
        by: by.uid.to_string(),
        at: chrono::Utc::now().timestamp_millis(),
        leavers,
        grants,
        back: crypto::wrap(&public, &back_info(name, e), current.expose())?,
        revisions,
    };
    let msg = message_for(name, &signed);
    let f = EpochFile {
        v: if signed.revisions.is_some() { 2 } else { 1 },
        proof: crypto::b64(&crypto::xeddsa_sign(current, &msg)),
        sig: crypto::b64(&crypto::ed25519_sign(by.seed, &msg)),
        signed,
    };
    let rel = path_of(name, e);
    archive::remove(archive, &rel)?;
    let mut bytes = serde_json::to_vec_pretty(&f).expect("serialisable");
    bytes.push(b'\n');
    archive
        .write_new(&rel, &bytes)
        .map_err(|err| Error::io(&rel, err))?;
    Ok((e, seed))
}

/// The signed part of a re-wrap record (`rec/<shard>/<id>.k<epoch>.cvk`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RewrapSigned {
    pub id: String,
    pub epoch: u32,
    /// SHA-256 of the re-wrapped object file, hex.
    pub object_sha256: String,
    /// The `object_sha256` of the recording's journal entry: the object it was made from.
    pub journal_sha256: String,
    pub by: String,
    pub at: i64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RewrapRecord {
    pub v: u32,
    pub signed: RewrapSigned,
    pub sig: String,
}

pub fn rewrap_message(s: &RewrapSigned) -> Vec<u8> {
    let mut m = b"callvault/v3/rewrap\n".to_vec();
    m.extend_from_slice(&serde_json::to_vec(s).expect("serialisable"));
    m
}

/// Read a re-wrap record and check it: for this recording and epoch, made from the object the
/// journal names, signed by a holder the epoch was given to (`signing_key_of(uid)`: a known
/// user's signing key). Returns the re-wrapped object's SHA-256 (hex).
pub fn check_rewrap(
    archive: &Archive,
    chain: &Chain,
    id: &str,
    epoch: u32,
    journal_sha256: &str,
    signing_key_of: &dyn Fn(&str) -> Option<[u8; 32]>,
) -> Result<String> {
    let rel = archive::audio::rewrap_record_path(id, epoch);
    let r: RewrapRecord = serde_json::from_slice(&archive.read(&rel)?)
        .map_err(|_| Error::tampered(&rel, "malformed re-wrap record"))?;
    let s = &r.signed;
    let Some(ep) = chain.epochs.get((epoch as usize).wrapping_sub(1)) else {
        return Err(Error::tampered(
            &rel,
            "re-wrap to a call key epoch that is not believed",
        ));
    };
    let why = if r.v != 1 {
        Some("a newer format of re-wrap record")
    } else if s.id != id || s.epoch != epoch {
        Some("names another recording or epoch (moved?)")
    } else if s.journal_sha256 != journal_sha256 {
        Some("made from another object than the recording's journal entry names")
    } else if !ep.grants.iter().any(|g| g.to == s.by) {
        Some("signed by someone the call key of its epoch was not given to")
    } else {
        match signing_key_of(&s.by) {
            None => Some("signed by no known user"),
            Some(k) => (!crypto::unb64(&r.sig, &rel)
                .is_ok_and(|sig| crypto::ed25519_verify(&k, &rewrap_message(s), &sig)))
            .then_some("its signature does not verify"),
        }
    };
    match why {
        Some(w) => Err(Error::tampered(&rel, format!("{w}; refused"))),
        None => Ok(s.object_sha256.clone()),
    }
}

/// Write a re-wrap record.
pub fn write_rewrap(archive: &Archive, s: RewrapSigned, by: &Signer) -> Result<()> {
    let rel = archive::audio::rewrap_record_path(&s.id, s.epoch);
    let r = RewrapRecord {
        v: 1,
        sig: crypto::b64(&crypto::ed25519_sign(by.seed, &rewrap_message(&s))),
        signed: s,
    };
    let bytes = serde_json::to_vec(&r).expect("serialisable");
    archive
        .write_new(&rel, &bytes)
        .map_err(|e| Error::io(&rel, e))
}

/// The record that a re-wrap run finished for an epoch: `keys/rewrapped/<epoch>.json`, compact
/// JSON `{"v":1,"epoch","count","by","at","sig"}`, `sig` by the author over
/// `"callvault/v3/rewrapped\n" ‖ epoch ‖ "\n" ‖ count ‖ "\n" ‖ by ‖ "\n" ‖ at`.
pub fn rewrap_done_path(epoch: u32) -> String {
    format!("keys/rewrapped/{epoch:08}.json")
}

#[derive(Serialize, Deserialize)]
struct RewrapDone {
    v: u32,
    epoch: u32,
    count: usize,
    by: String,
    at: i64,
    sig: String,
}

fn done_message(d: &RewrapDone) -> Vec<u8> {
    format!(
        "callvault/v3/rewrapped\n{}\n{}\n{}\n{}",
        d.epoch, d.count, d.by, d.at
    )
    .into_bytes()
}

/// Write (or replace) the record that every call is under epoch `epoch`.
pub fn write_rewrap_done(archive: &Archive, epoch: u32, count: usize, by: &Signer) -> Result<()> {
    let mut d = RewrapDone {
        v: 1,
        epoch,
        count,
        by: by.uid.to_string(),
        at: chrono::Utc::now().timestamp_millis(),
        sig: String::new(),
    };
    d.sig = crypto::b64(&crypto::ed25519_sign(by.seed, &done_message(&d)));
    let rel = rewrap_done_path(epoch);
    archive::remove(archive, &rel)?;
    archive
        .write_new(&rel, &serde_json::to_vec(&d).expect("serialisable"))
        .map_err(|e| Error::io(&rel, e))
}

/// Did a holder the epoch was granted to record that every call is under it? (Only spares
/// logons a scan of the audio folders: a removed record means a scan, a forged one is refused.)
pub fn rewrap_done(
    archive: &Archive,
    chain: &Chain,
    epoch: u32,
    signing_key_of: &dyn Fn(&str) -> Option<[u8; 32]>,
) -> bool {
    let Some(ep) = chain.epochs.get((epoch as usize).wrapping_sub(1)) else {
        return false;
    };
    let Ok(d) = archive.read(&rewrap_done_path(epoch)).and_then(|b| {
        serde_json::from_slice::<RewrapDone>(&b).map_err(|_| Error::Invalid(String::new()))
    }) else {
        return false;
    };
    d.v == 1
        && d.epoch == epoch
        && ep.grants.iter().any(|g| g.to == d.by)
        && signing_key_of(&d.by).is_some_and(|k| {
            crypto::unb64(&d.sig, "rewrapped")
                .is_ok_and(|sig| crypto::ed25519_verify(&k, &done_message(&d), &sig))
        })
}
