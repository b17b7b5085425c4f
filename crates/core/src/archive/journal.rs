//! Per-device metadata journals (`journal/<device>/<seq>.cvj`). Each segment is written once and
//! holds a batch of entries, encrypted under a fresh segment key that is HPKE-wrapped to the
//! archive's metadata key: an importer needs only the public key, every logged-on user can read.

pub use crate::archive::readers::{check_copy, RecordingCopy};
use crate::archive::readers::{PartyKeys, PartyWrap, Readers};
pub use crate::archive::segments::{
    list_device, parse_segment_file, parse_segment_name, segment_file, segment_name, Listing,
};
use crate::archive::{check_trailer, join_signed, split_signed, Archive, Signer, SignerKeys};
use crate::crypto::{self, Wrapped};
use crate::error::{Error, Result};
use crate::secret::Key32;
use crate::users::callkey::KeyRing;
use serde::{Deserialize, Serialize};

pub const MAGIC: &[u8; 8] = b"CVJRNL\x00\x01";

/// Domain string of journal segment signatures.
pub const SIG_DOMAIN: &str = "callvault/v1/journal-signature";

/// Domain string of each entry's own signature (segment format 2): a compacted generation carries
/// the entries it kept with their authors' signatures, so it can remove entries but never add or
/// alter one.
pub const ENTRY_SIG_DOMAIN: &str = "callvault/v2/journal-entry";

/// The segment format this build writes: 2, each entry signed by its author.
const SEGMENT_V: u32 = 2;

/// What an entry's author signs: its place (device, sequence number) and its JSON.
pub(crate) fn entry_message(device: &str, seq: u64, entry: &JournalEntry) -> Vec<u8> {
    [
        format!("{ENTRY_SIG_DOMAIN}\n{device}\n{seq}\n").as_bytes(),
        &serde_json::to_vec(entry).expect("serialisable"),
    ]
    .concat()
}

/// A format-2 segment body: the entries and, one for each, its author's signature (base64).
#[derive(Serialize, Deserialize)]
struct SignedBody {
    entries: Vec<JournalEntry>,
    sigs: Vec<String>,
}

fn signed_body(device: &str, seq: u64, entries: &[JournalEntry], signer: &Signer) -> Vec<u8> {
    let sigs = entries
        .iter()
        .map(|e| {
            crypto::b64(&crypto::ed25519_sign(
                signer.seed,
                &entry_message(device, seq, e),
            ))
        })
        .collect();
    serde_json::to_vec(&SignedBody {
        entries: entries.to_vec(),
        sigs,
    })
    .expect("serialisable")
}

/// The direction of a call as the practice sees it.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
    Internal,
}

impl Direction {
    pub fn as_str(&self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
            Direction::Internal => "internal",
        }
    }
    pub fn parse(s: &str) -> Option<Direction> {
        match s.trim().to_ascii_lowercase().as_str() {
            "inbound" | "in" | "incoming" => Some(Direction::Inbound),
            "outbound" | "out" | "outgoing" => Some(Direction::Outbound),
            "internal" => Some(Direction::Internal),
            _ => None,
        }
    }
}

/// Everything the archive knows about one recording (all of it personal data: only ever encrypted).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RecordingMeta {
    pub id: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub direction: Direction,
    /// The staff user the call maps to, or None ("unassigned").
    pub staff_uid: Option<String>,
    /// The staff name or telephony identity as the source gave it.
    pub staff_label: Option<String>,
    pub extension: Option<String>,
    /// The external number as the source gave it.
    pub external_number: Option<String>,
    pub parties: Vec<String>,
    /// Staff users who were parties (the staff user included): they may reach this call.
    pub party_uids: Vec<String>,
    pub notes: Option<String>,
    /// The patients' NHS numbers the source gave (ten digits, check digit verified at import);
    /// links a supervisor makes later are `patient_link` entries.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nhs_numbers: Vec<String>,
    /// The phone system's id of the conversation this call is one leg of (a transferred call's
    /// legs share it), e.g. `freepbx:<linkedid>`; legs are joined only where their numbers and
    /// times agree ([`crate::conversation`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<String>,
    pub duration_ms: u64,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u16,
    pub source_name: String,
    pub size: u64,
    /// SHA-256 of the whole audio object file, so anyone can verify it without its key.
    pub object_sha256: String,
    /// SHA-256 of the waveform peaks object (`rec/../<id>.cvp`), if one was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peaks_sha256: Option<String>,
    /// Keyed hash (HMAC-SHA256 under the archive's dedup key) of the original audio bytes.
    pub dedup: String,
    pub imported_by: String,
    pub imported_at: String,
    /// Random, chosen at import: the id is [`recording_id`]`(imported_by, device, nonce)`, so a
    /// recording entry for the same id can only come from its importer's own journal. None in
    /// entries written before this (their ids are random).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
}

/// A recording's id, bound to its importer and the device whose journal records it (as a request's
/// id is bound to its raiser): 32 hex digits of SHA-256 over the three.
pub fn recording_id(importer: &str, device: &str, nonce: &str) -> String {
    let m = format!("callvault/v2/recording\n{importer}\n{device}\n{nonce}");
    hex::encode(&crate::crypto::sha256(m.as_bytes())[..16])
}

/// One journal entry. New kinds are added as new tags; an older reader refuses unknown tags clearly.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum JournalEntry {
    Recording(Box<RecordingMeta>),
    /// An event in an access request's life (raised, approved, rejected, agreed, extended, completed).
    Request(Box<crate::requests::RequestEntry>),
    /// A consent mark on a recording.
    Consent(Box<crate::requests::ConsentMark>),
    /// What remains of a deleted recording.
    Tombstone(Box<crate::retention::Tombstone>),
    Hold(Box<crate::retention::Hold>),
    HoldRelease(Box<crate::retention::HoldRelease>),
    Setting(Box<crate::retention::Setting>),
    /// A supervisor assigned an unassigned call to a staff user: its data key wrapped to them.
    Assign(Box<Assignment>),
    /// An admin changed a user's record: its revision, so every device (a new one included) can
    /// tell a later rollback of the record, and for a disablement the journal heads it followed.
    UserCheckpoint(Box<UserCheckpoint>),
    /// Every device's audit chain head as a logon saw it: a later cut of a chain (its tail, or the
    /// whole audit folder) is named by `audit verify` on every device, a new one included.
    AuditAnchor(Box<AuditAnchor>),
    /// An admin's upgrade run: each device's highest journal segment written before format 2.
    /// A compacted generation without entry signatures is believed only within these.
    FormatUpgrade(Box<FormatUpgrade>),
    /// A copy of a call's `recording` entry as its importer signed it, for a user who reads only
    /// the segments about them: journalled with an assignment of the call to them.
    RecordingCopy(Box<RecordingCopy>),
    /// A call linked to a patient's NHS number, or the link taken back.
    PatientLink(Box<crate::requests::PatientLink>),
    /// An event of a staff breach self-report (reported, assessed, closed).
    Breach(Box<crate::breach::BreachEntry>),
}

/// The journal segments written before format 2, as an admin's upgrade run found them.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FormatUpgrade {
    pub legacy: std::collections::BTreeMap<String, u64>,
    pub by: String,
    pub at: String,
}

/// Audit chain heads anchored in the signed journal.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct AuditAnchor {
    pub heads: Vec<crate::audit::Witness>,
    pub by: String,
    pub at: String,
}

/// A user record revision, journalled by the admin who wrote it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct UserCheckpoint {
    pub uid: String,
    pub rev: u64,
    pub disabled: bool,
    /// For a disablement: each device's highest journal segment the admin's computer had read.
    /// Segments the disabled user signs beyond these are refused on every device.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub heads: std::collections::BTreeMap<String, u64>,
    /// The user's keys as the record gives them (`device::key_pin`: public and signing key): a
    /// user's keys never change, so a record with other keys than a checkpoint names was forged,
    /// and a computer new to the archive knows it too. Absent in checkpoints from before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keys: Option<String>,
    pub by: String,
    pub at: String,
}

/// A call assigned to its staff user after import (the extension mapped to no one then).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Assignment {
    pub recording: String,
    pub staff_uid: String,
    /// The recording's data key wrapped (HPKE, info `callvault/v1/dek/<id>`) to the staff user.
    /// Absent when a supervisor (who holds no call keys) assigned it: an approver's or the data
    /// controller's next session delivers the key with a second `assign` entry that has it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wrap: Option<crate::crypto::Wrapped>,
    pub by: String,
    pub at: String,
}

impl JournalEntry {
    /// The user the entry says wrote it (must be the segment's signer).
    pub fn author(&self) -> &str {
        match self {
            JournalEntry::Recording(m) => &m.imported_by,
            JournalEntry::Request(r) => &r.by,
            JournalEntry::Consent(c) => &c.by,
            JournalEntry::Tombstone(t) => &t.by,
            JournalEntry::Hold(h) => &h.by,
            JournalEntry::HoldRelease(h) => &h.by,
            JournalEntry::Setting(s) => &s.by,
            JournalEntry::Assign(a) => &a.by,
            JournalEntry::UserCheckpoint(c) => &c.by,
            JournalEntry::AuditAnchor(a) => &a.by,
            JournalEntry::FormatUpgrade(f) => &f.by,
            JournalEntry::RecordingCopy(c) => &c.by,
            JournalEntry::PatientLink(l) => &l.by,
            JournalEntry::Breach(b) => &b.by,
        }
    }

    /// The entry's kind, as its tag reads in the journal.
    pub fn kind_name(&self) -> &'static str {
        match self {
            JournalEntry::Recording(_) => "recording",
            JournalEntry::Request(_) => "request",
            JournalEntry::Consent(_) => "consent",
            JournalEntry::Tombstone(_) => "tombstone",
            JournalEntry::Hold(_) => "hold",
            JournalEntry::HoldRelease(_) => "hold_release",
            JournalEntry::Setting(_) => "setting",
            JournalEntry::Assign(_) => "assign",
            JournalEntry::UserCheckpoint(_) => "user_checkpoint",
            JournalEntry::AuditAnchor(_) => "audit_anchor",
            JournalEntry::FormatUpgrade(_) => "format_upgrade",
            JournalEntry::RecordingCopy(_) => "recording_copy",
            JournalEntry::PatientLink(_) => "patient_link",
            JournalEntry::Breach(_) => "breach",
        }
    }

    /// The recording whose personal data this entry holds (erasure removes such entries).
    pub fn personal_data_of(&self) -> Option<&str> {
        match self {
            JournalEntry::Recording(m) => Some(&m.id),
            JournalEntry::Consent(c) => Some(&c.recording),
            JournalEntry::Assign(a) => Some(&a.recording),
            JournalEntry::RecordingCopy(c) => Some(&c.recording),
            JournalEntry::PatientLink(l) => Some(&l.recording),
            // An erasure request's `raised` event holds the erased person's number, names and
            // reason: it goes with their calls (its id is in their tombstones' `request`).
            JournalEntry::Request(r)
                if matches!(&r.event, crate::requests::RequestEvent::Raised(d)
                    if d.purpose == Some(crate::requests::Purpose::Erasure)) =>
            {
                Some(&r.request)
            }
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct SegmentHeader {
    v: u32,
    device: String,
    seq: u64,
    wrap: Wrapped,
    /// uid of the user who wrote (and signed) this segment; for a compacted segment, the
    /// maintainer who compacted it.
    signer: String,
    /// 0 as first written; raised each time the segment is compacted (an erasure rewrote it).
    #[serde(default, skip_serializing_if = "is_zero")]
    gen: u32,
    /// The epoch of the metadata key `wrap` is made to (docs/FORMAT.md, "Rotating the archive's
    /// keys"); 0, `archive.json`'s key, is left out.
    #[serde(default, skip_serializing_if = "is_zero")]
    epoch: u32,
    /// The segment key wrapped to each party of its entries (`archive::readers`); omitted when
    /// none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    to: Vec<PartyWrap>,
    /// The segment key sealed for every user (entries that name no patient); omitted otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    everyone: Option<String>,
    /// A commitment to the segment key (`key_commitment`): every reader, whichever wrap it opened,
    /// has the same key (AES-GCM alone would let a writer give the metadata key's holders and a
    /// segment's parties different keys, and so different entries). Omitted by builds before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kc: Option<String>,
}

/// `hex(SHA-256("callvault/v4/segment-key\n" ‖ segment key))`.
pub fn key_commitment(key: &Key32) -> String {
    hex::encode(crypto::sha256(
        &[b"callvault/v4/segment-key\n".as_slice(), key.expose()].concat(),
    ))
}

/// A segment's readers as its header names them: the parties' uids, and whether every user may
/// read it. Read without any key (a compaction keeps them).
pub fn segment_readers(data: &[u8], what: &str) -> Result<(Vec<String>, bool)> {
    let (h, _, _, _) = split_signed(data, MAGIC, what)?;
    let header: SegmentHeader = serde_json::from_slice(h)
        .map_err(|e| Error::tampered(what, format!("malformed header ({e})")))?;
    Ok((
        header.to.into_iter().map(|w| w.uid).collect(),
        header.everyone.is_some(),
    ))
}

/// The metadata key epoch a segment's key is wrapped to, as its header names it (read without any
/// key).
pub fn segment_epoch(data: &[u8], what: &str) -> Result<u32> {
    let (h, _, _, _) = split_signed(data, MAGIC, what)?;
    let header: SegmentHeader = serde_json::from_slice(h)
        .map_err(|e| Error::tampered(what, format!("malformed header ({e})")))?;
    Ok(header.epoch)
}

fn is_zero(g: &u32) -> bool {
    *g == 0
}

/// Rewrite segment `seq` of `device` as generation `gen` holding only `entries` (an erasure took
/// some out), signed by the maintainer; then remove (shred) the older generation. Readers take the
/// newest. Returns what became of the older generation. `sigs` are the kept entries' own
/// signatures by their authors (segment format 2); `None` for a segment written before format 2,
/// whose entries carry none.
#[allow(clippy::too_many_arguments)]
pub fn compact(
    archive: &Archive,
    device: &str,
    seq: u64,
    gen: u32,
    entries: &[JournalEntry],
    sigs: Option<&[String]>,
    old_name: &str,
    signer: &Signer,
    readers: &Readers,
) -> Result<crate::archive::Removal> {
    let (epoch, metadata_pub) = archive.recipient("metadata")?;
    let body_plain = zeroize::Zeroizing::new(match sigs {
        Some(sigs) => serde_json::to_vec(&SignedBody {
            entries: entries.to_vec(),
            sigs: sigs.to_vec(),
        })
        .expect("serialisable"),
        None => serde_json::to_vec(entries).expect("serialisable"),
    });
    let key = Key32::random();
    let (to, everyone) = readers.wraps(device, seq, &key)?;
    let header = SegmentHeader {
        v: if sigs.is_some() { SEGMENT_V } else { 1 },
        device: device.to_string(),
        seq,
        wrap: crypto::wrap(&metadata_pub, &info(device, seq), key.expose())?,
        signer: signer.uid.to_string(),
        gen,
        epoch,
        to,
        everyone,
        kc: Some(key_commitment(&key)),
    };
    let hbytes = serde_json::to_vec(&header).expect("serialisable");
    let body = crypto::seal(
        &key,
        &[0u8; 12],
        &[MAGIC.as_slice(), &hbytes].concat(),
        &body_plain,
    );
    let rel = format!("journal/{device}/{}", segment_file(seq, gen));
    archive
        .write_new(
            &rel,
            &join_signed(MAGIC, &hbytes, &body, SIG_DOMAIN, Some(signer)),
        )
        .map_err(|e| Error::io(archive.path(&rel).display(), e))?;
    let old = format!("journal/{device}/{old_name}");
    crate::archive::shred_and_remove(archive, &old)
}

fn info(device: &str, seq: u64) -> Vec<u8> {
    format!("callvault/v1/journal/{device}/{seq}").into_bytes()
}

/// Append a segment holding `entries` to `device`'s journal; returns its sequence number.
pub fn append(
    archive: &Archive,
    device: &str,
    entries: &[JournalEntry],
    signer: &Signer,
) -> Result<u64> {
    append_after(archive, device, entries, None, signer)
}

/// As `append`, never reusing a number at or below `floor` (the highest this device knows it
/// wrote, so a deleted newest segment's number is not reused and silently skipped by readers).
pub fn append_after(
    archive: &Archive,
    device: &str,
    entries: &[JournalEntry],
    floor: Option<u64>,
    signer: &Signer,
) -> Result<u64> {
    append_for(archive, device, entries, floor, signer, &Readers::Metadata)
}

/// As `append_after`, the segment also readable by `readers` (the parties of every entry in it,
/// or every user): the caller puts together only entries with the same readers.
pub fn append_for(
    archive: &Archive,
    device: &str,
    entries: &[JournalEntry],
    floor: Option<u64>,
    signer: &Signer,
    readers: &Readers,
) -> Result<u64> {
    let (epoch, metadata_pub) = archive.recipient("metadata")?;
    let dir = format!("journal/{device}");
    let mut seq = archive
        .list(&dir)?
        .iter()
        .filter_map(|n| parse_segment_name(n))
        .max()
        .max(floor)
        .map_or(0, |m| m + 1);
    loop {
        let body_plain = zeroize::Zeroizing::new(signed_body(device, seq, entries, signer));
        let key = Key32::random();
        let (to, everyone) = readers.wraps(device, seq, &key)?;
        let header = SegmentHeader {
            v: SEGMENT_V,
            device: device.to_string(),
            seq,
            wrap: crypto::wrap(&metadata_pub, &info(device, seq), key.expose())?,
            signer: signer.uid.to_string(),
            gen: 0,
            epoch,
            to,
            everyone,
            kc: Some(key_commitment(&key)),
        };
        let hbytes = serde_json::to_vec(&header).expect("serialisable");
        let body = crypto::seal(
            &key,
            &[0u8; 12],
            &[MAGIC.as_slice(), &hbytes].concat(),
            &body_plain,
        );
        let rel = format!("{dir}/{}", segment_name(seq));
        match archive.write_new(
            &rel,
            &join_signed(MAGIC, &hbytes, &body, SIG_DOMAIN, Some(signer)),
        ) {
            Ok(()) => return Ok(seq),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => seq += 1,
            Err(e) => return Err(Error::io(archive.path(&rel).display(), e)),
        }
    }
}

/// Read and authenticate one segment file (its bytes): its writer's signature, its place, its
/// encryption.
pub fn open_segment(
    data: &[u8],
    metadata: &KeyRing,
    device: &str,
    seq: u64,
    signers: &SignerKeys,
    what: &str,
) -> Result<Vec<JournalEntry>> {
    open_segment_gen(data, metadata, device, seq, 0, signers, what).map(|(_, e)| e)
}

/// As `open_segment`, also returning the signer's uid.
pub fn open_segment_by(
    data: &[u8],
    metadata: &KeyRing,
    device: &str,
    seq: u64,
    signers: &SignerKeys,
    what: &str,
) -> Result<(String, Vec<JournalEntry>)> {
    open_segment_gen(data, metadata, device, seq, 0, signers, what)
}

/// Open generation `gen` of a segment: returns the signer's uid and the entries.
pub fn open_segment_gen(
    data: &[u8],
    metadata: &KeyRing,
    device: &str,
    seq: u64,
    gen: u32,
    signers: &SignerKeys,
    what: &str,
) -> Result<(String, Vec<JournalEntry>)> {
    open_segment_signed(data, metadata, device, seq, gen, signers, what).map(|(s, e, _)| (s, e))
}

/// As `open_segment_gen`, also returning each entry's own signature (format 2; `None` before).
/// Every entry of format 2 must be proved by its author's signature (in a first generation too):
/// in a compacted generation (`gen` >= 1), one that does not — an entry added or altered by
/// whoever compacted it — makes the
/// whole generation refused.
pub fn open_segment_signed(
    data: &[u8],
    metadata: &KeyRing,
    device: &str,
    seq: u64,
    gen: u32,
    signers: &SignerKeys,
    what: &str,
) -> Result<(String, Vec<JournalEntry>, Option<Vec<String>>)> {
    open_with(
        data,
        &SegmentKey::Metadata(metadata),
        device,
        seq,
        gen,
        signers,
        what,
    )
    .map(|o| o.expect("the metadata key opens every segment"))
}

/// As `open_segment_signed`, by a reader who holds no metadata key: through the segment's wrap
/// to them (a party of its entries) or to every user. `Ok(None)`: the segment is not theirs to
/// read. Its signature, place and entries' signatures are checked as for any reader.
#[allow(clippy::type_complexity)]
pub fn open_segment_as_party(
    data: &[u8],
    keys: &PartyKeys,
    device: &str,
    seq: u64,
    gen: u32,
    signers: &SignerKeys,
    what: &str,
) -> Result<Option<(String, Vec<JournalEntry>, Option<Vec<String>>)>> {
    open_segment_as_party_by(data, keys, device, seq, gen, signers, what).map(|r| r.ok())
}

/// As `open_segment_as_party`, a segment not addressed to this reader given as `Err(signer)`: the
/// signer whose signature over these very bytes was checked.
#[allow(clippy::type_complexity)]
pub fn open_segment_as_party_by(
    data: &[u8],
    keys: &PartyKeys,
    device: &str,
    seq: u64,
    gen: u32,
    signers: &SignerKeys,
    what: &str,
) -> Result<std::result::Result<(String, Vec<JournalEntry>, Option<Vec<String>>), String>> {
    open_with(
        data,
        &SegmentKey::Party(keys),
        device,
        seq,
        gen,
        signers,
        what,
    )
}

/// How a reader opens a segment's key.
enum SegmentKey<'a> {
    Metadata(&'a KeyRing),
    Party(&'a PartyKeys<'a>),
}

#[allow(clippy::type_complexity)]
fn open_with(
    data: &[u8],
    keys: &SegmentKey,
    device: &str,
    seq: u64,
    gen: u32,
    signers: &SignerKeys,
    what: &str,
) -> Result<std::result::Result<(String, Vec<JournalEntry>, Option<Vec<String>>), String>> {
    let (h, body, sig, signed) = split_signed(data, MAGIC, what)?;
    let header: SegmentHeader = serde_json::from_slice(h)
        .map_err(|e| Error::tampered(what, format!("malformed header ({e})")))?;
    if header.device != device || header.seq != seq || header.gen != gen {
        return Err(Error::tampered(
            what,
            "segment was moved or renamed (header names another place)",
        ));
    }
    if header.v > SEGMENT_V {
        return Err(Error::Version {
            path: what.into(),
            found: header.v,
            supported: SEGMENT_V,
        });
    }
    check_trailer(signed, sig, SIG_DOMAIN, &header.signer, signers, what)?;
    let key = match keys {
        SegmentKey::Metadata(m) => {
            m.unwrap(header.epoch, &info(device, seq), &header.wrap, what)?
        }
        SegmentKey::Party(p) => {
            let Some(k) = p.open(device, seq, &header.to, header.everyone.as_deref(), what)? else {
                return Ok(Err(header.signer));
            };
            // Only what this build writes: signed entries and a committed key.
            if header.v < 2 || header.kc.is_none() {
                return Err(Error::tampered(
                    what,
                    "a segment for its parties must carry signed entries and commit to its key",
                ));
            }
            k
        }
    };
    if header
        .kc
        .as_ref()
        .is_some_and(|c| *c != key_commitment(&key))
    {
        return Err(Error::tampered(
            what,
            "the segment key does not match its commitment (its readers were given different keys)",
        ));
    }
    let plain = zeroize::Zeroizing::new(crypto::open(
        &key,
        &[0u8; 12],
        &[MAGIC.as_slice(), h].concat(),
        body,
        what,
    )?);
    let (entries, sigs) = parse_body(&plain, what)?;
    if header.v >= 2 && sigs.is_none() {
        return Err(Error::tampered(what, "entries carry no signatures"));
    }
    // For a party, at once (the sync checks it for the metadata key's holders, naming it): a first
    // generation's entries are all its signer's. The rest of the reading rules — compacted
    // generations by a maintainer, a disabled signer's heads, each author's roles — are the
    // reader's sync's, whichever key opened the segment.
    if matches!(keys, SegmentKey::Party(_))
        && gen == 0
        && entries.iter().any(|e| e.author() != header.signer)
    {
        return Err(Error::tampered(
            what,
            format!(
                "an entry claims another author than the segment's signer {}; the segment is refused",
                header.signer
            ),
        ));
    }
    // A copy of another's entry is believed only with its importer's own signature.
    for e in &entries {
        if let JournalEntry::RecordingCopy(c) = e {
            check_copy(c, signers, what)?;
        }
    }
    // Every generation: a first one too, so that nothing is believed that a later compaction,
    // which keeps the signatures it finds, could not carry.
    if let Some(sigs) = &sigs {
        for (i, (e, s)) in entries.iter().zip(sigs).enumerate() {
            let ok = signers.get(e.author()).is_some_and(|pk| {
                crypto::unb64(s, what)
                    .is_ok_and(|s| crypto::ed25519_verify(pk, &entry_message(device, seq, e), &s))
            });
            if !ok {
                return Err(Error::tampered(
                    what,
                    if gen > 0 {
                        format!(
                            "compacted by {}: entry {i} ({}) is not signed by its author {} (added or altered); the whole generation is refused",
                            header.signer,
                            e.kind_name(),
                            e.author()
                        )
                    } else {
                        format!(
                            "entry {i} ({}) is not signed by its author {}; the segment is refused",
                            e.kind_name(),
                            e.author()
                        )
                    },
                ));
            }
        }
    }
    Ok(Ok((header.signer, entries, sigs)))
}

/// A segment body: a JSON array of entries (format 1), or the entries with their signatures.
fn parse_body(plain: &[u8], what: &str) -> Result<(Vec<JournalEntry>, Option<Vec<String>>)> {
    if plain.first() == Some(&b'{') {
        let b: SignedBody = serde_json::from_slice(plain).map_err(|_| {
            Error::tampered(
                what,
                "entries not understood (written by a newer Callvault, or damaged)",
            )
        })?;
        if b.sigs.len() != b.entries.len() {
            return Err(Error::tampered(what, "one signature per entry expected"));
        }
        return Ok((b.entries, Some(b.sigs)));
    }
    Ok((parse_entries(plain, what)?, None))
}

/// Parse a segment's decrypted body: the JSON array of its entries.
pub fn parse_entries(plain: &[u8], what: &str) -> Result<Vec<JournalEntry>> {
    serde_json::from_slice(plain).map_err(|_| {
        Error::tampered(
            what,
            "entries not understood (written by a newer Callvault, or damaged)",
        )
    })
}
