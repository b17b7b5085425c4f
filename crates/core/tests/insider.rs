//! The insider attack suite (issue 17): each attack written as a member of staff would make it —
//! their own password, write access to the share, and the core's low-level functions as a tool of
//! their own. Each asserts that no access is gained, that the planted or rolled-back file is
//! refused or named, and that nothing genuine is lost or hidden. docs/RELIABILITY.md lists every
//! attempt and its outcome.

use callvault_core::archive::journal::{self, Direction, JournalEntry, RecordingMeta};
use callvault_core::archive::readers::Readers;
use callvault_core::archive::{self, audio, Archive, Signer};
use callvault_core::crypto;
use callvault_core::ingest::CallSource;
use callvault_core::policy::Role;
use callvault_core::requests::{ConsentKind, ConsentMark};
use callvault_core::retention::{Hold, Setting, Tombstone};
use callvault_core::secret::{Key32, Password};
use callvault_core::session::{self, KdfChoice, SearchQuery, Session};
use callvault_core::users;
use callvault_core::users::callkey::KeyRing;
use callvault_core::Error;
use callvault_testkit::demo::{mistyped_nhs, nhs_number, speechlike, wav_g711};
use chrono::{TimeZone, Utc};
use std::path::{Path, PathBuf};

const DC: (&str, &str) = ("dana.dc", "dc-pass-1234");
const SUP: (&str, &str) = ("sid.super", "sup-pass-1234");
const CLIN: (&str, &str) = ("dr.cal.one", "clin-pass-1234");
const STAFF: (&str, &str) = ("rae.reception", "staff-pass-1234");

struct World {
    tmp: tempfile::TempDir,
    archive: PathBuf,
    /// The practice manager's computer (app-data folder).
    data: PathBuf,
    calls: Vec<String>,
}

fn call(i: u32, ext: &str) -> CallSource {
    CallSource {
        name: format!("c{i}.wav"),
        bytes: wav_g711(8000, &speechlike(8000, 2, i), true),
        started_at: Utc.with_ymd_and_hms(2025, 5, 1 + i, 10, 0, 0).unwrap(),
        direction: Direction::Inbound,
        staff: None,
        extension: Some(ext.into()),
        external_number: Some(format!("07700 90050{i}")),
        parties: vec![format!("Caller {i}")],
        notes: None,
        nhs_numbers: vec![],
        conversation: None,
    }
}

impl World {
    /// A data controller (also admin), a supervisor, a clinician (ext 201), a receptionist (ext
    /// 101), and three calls: two the clinician took, one the receptionist took.
    async fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("archive");
        let data = tmp.path().join("pm-pc");
        session::init_in(&archive, &data, DC.0, &Password::new(DC.1), KdfChoice::Fast)
            .await
            .unwrap();
        let mut s = Session::logon_in(&archive, &data, DC.0, &Password::new(DC.1))
            .await
            .unwrap();
        for (u, roles, tel) in [
            (SUP, vec![Role::Supervisor], vec![]),
            (CLIN, vec![Role::Clinician], vec!["201"]),
            (STAFF, vec![Role::Staff], vec!["101"]),
        ] {
            let tel: Vec<String> = tel.into_iter().map(String::from).collect();
            s.add_user(u.0, &roles, &tel, &Password::new(u.1))
                .await
                .unwrap();
        }
        let rep = s
            .import_sources(vec![call(1, "201"), call(2, "201"), call(3, "101")])
            .await
            .unwrap();
        let calls = rep.imported.iter().map(|i| i.id.clone()).collect();
        s.close().await;
        World {
            tmp,
            archive,
            data,
            calls,
        }
    }

    async fn logon(&self, u: (&str, &str)) -> Result<Session, Error> {
        Session::logon_in(&self.archive, &self.data, u.0, &Password::new(u.1)).await
    }

    /// A computer that never opened this archive before.
    fn fresh_device(&self, name: &str) -> PathBuf {
        self.tmp.path().join(name)
    }

    async fn logon_on(&self, data: &Path, u: (&str, &str)) -> Result<Session, Error> {
        Session::logon_in(&self.archive, data, u.0, &Password::new(u.1)).await
    }

    fn share(&self) -> Archive {
        Archive::open(&self.archive).unwrap()
    }
}

/// What the insider's own tool holds: their uid, user secret and archive secrets, unlocked with
/// their own password from their own record.
struct Insider {
    uid: String,
    signing: Key32,
    /// Held by supervisors, approvers, the data controller and admins; not by clinicians and
    /// staff (who read only the journal entries addressed to them).
    metadata: Option<Key32>,
    secret: Key32,
    dedup: Key32,
}

fn insider(a: &Archive, u: (&str, &str)) -> Insider {
    let uid = users::uid_for(a, u.0).unwrap();
    let rec = users::load_latest(a, &uid).unwrap().unwrap();
    let un = users::unlock(a, &rec, &Password::new(u.1)).unwrap();
    Insider {
        signing: users::user_signing_seed(&un.secret),
        metadata: un.secrets.get("metadata").cloned(),
        dedup: un.secrets.require("dedup").unwrap().clone(),
        secret: un.secret,
        uid,
    }
}

impl Insider {
    fn metadata(&self) -> &Key32 {
        self.metadata
            .as_ref()
            .expect("this role holds the metadata key")
    }

    /// Open one segment as this insider's tool can: with the metadata key, or as a party of it.
    fn open(&self, a: &Archive, dev: &str, seq: u64, name: &str) -> Option<Vec<JournalEntry>> {
        let rel = format!("journal/{dev}/{name}");
        let b = a.read(&rel).unwrap();
        let gen = journal::parse_segment_file(name)
            .map(|(_, g)| g)
            .unwrap_or(0);
        match &self.metadata {
            Some(m) => Some(
                journal::open_segment_gen(
                    &b,
                    &KeyRing::one(m),
                    dev,
                    seq,
                    gen,
                    &signer_keys(a),
                    &rel,
                )
                .unwrap()
                .1,
            ),
            None => {
                let keys = callvault_core::archive::readers::PartyKeys {
                    uid: &self.uid,
                    secret: &self.secret,
                    dedup: Some(&self.dedup),
                };
                journal::open_segment_as_party(&b, &keys, dev, seq, gen, &signer_keys(a), &rel)
                    .unwrap()
                    .map(|(_, e, _)| e)
            }
        }
    }

    /// Journal entries from a device folder of the insider's own, signed with their own key.
    fn write(&self, a: &Archive, entries: &[JournalEntry]) {
        self.write_from(a, &"ee".repeat(16), entries)
    }

    /// The same from a device id of their choosing (`00…` is read before every other journal).
    fn write_from(&self, a: &Archive, device: &str, entries: &[JournalEntry]) {
        journal::append(a, device, entries, &self.signer()).unwrap();
    }

    /// As `write_from`, the segment also sealed to `to` (uids), as Callvault seals a segment to
    /// the parties of its entries.
    fn write_for(&self, a: &Archive, device: &str, entries: &[JournalEntry], to: &[&str]) {
        let parties = to
            .iter()
            .map(|uid| {
                let rec = users::load_latest(a, uid).unwrap().unwrap();
                let pk: [u8; 32] = crypto::unb64(&rec.signed.public_key, "pk")
                    .unwrap()
                    .try_into()
                    .unwrap();
                (uid.to_string(), pk)
            })
            .collect();
        journal::append_for(
            a,
            device,
            entries,
            None,
            &self.signer(),
            &callvault_core::archive::readers::Readers::Parties(parties),
        )
        .unwrap();
    }

    /// The `recording_copy` of recording `id` for `to`, from its importer's signed entry (read
    /// with this insider's metadata key).
    fn copy_of(&self, a: &Archive, id: &str, to: &str) -> JournalEntry {
        for dev in a.list("journal").unwrap() {
            for (seq, (gen, name)) in journal::list_device(a, &dev).unwrap().current {
                let rel = format!("journal/{dev}/{name}");
                let (_, entries, sigs) = journal::open_segment_signed(
                    &a.read(&rel).unwrap(),
                    &KeyRing::one(self.metadata()),
                    &dev,
                    seq,
                    gen,
                    &signer_keys(a),
                    &rel,
                )
                .unwrap();
                for (e, sig) in entries.into_iter().zip(sigs.unwrap()) {
                    if let JournalEntry::Recording(m) = e {
                        if m.id == id {
                            return JournalEntry::RecordingCopy(Box::new(journal::RecordingCopy {
                                recording: id.to_string(),
                                to: to.to_string(),
                                device: dev.clone(),
                                seq,
                                entry: m,
                                sig,
                                by: self.uid.clone(),
                                at: now(),
                            }));
                        }
                    }
                }
            }
        }
        panic!("no recording {id}")
    }

    fn signer(&self) -> Signer<'_> {
        Signer {
            uid: &self.uid,
            seed: &self.signing,
        }
    }

    /// A legal hold on `recordings` in the insider's name.
    fn hold(&self, recordings: &[String], reason: &str) -> JournalEntry {
        JournalEntry::Hold(Box::new(Hold {
            hold: crypto::new_id(),
            recordings: recordings.to_vec(),
            reason: reason.into(),
            request: None,
            by: self.uid.clone(),
            at: now(),
        }))
    }
}

/// A computer's state for the (one) archive it opened: its folder and its plaintext device.json.
fn device_file(data: &Path) -> (PathBuf, serde_json::Value) {
    let d = std::fs::read_dir(data.join("archives"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let df = serde_json::from_slice(&std::fs::read(d.path().join("device.json")).unwrap()).unwrap();
    (d.path(), df)
}

fn now() -> String {
    Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn everything() -> SearchQuery {
    SearchQuery {
        limit: Some(100),
        ..Default::default()
    }
}

fn warned(s: &Session, what: &str) -> bool {
    s.warnings.iter().any(|w| w.contains(what))
}

fn tampered<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    match r {
        Err(e @ Error::Tampered { .. }) => e.to_string(),
        other => panic!("expected a refusal as tampered, got {other:?}"),
    }
}

// ---- 1. Swap archive.json ----

#[tokio::test]
async fn a_swapped_archive_identity_is_refused_on_every_computer() {
    let w = World::new().await;
    let path = w.archive.join("archive.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    // The insider's own custodian and admin keys, a new id; signing, salt and metadata kept.
    let mine = Key32::random();
    let public = crypto::b64(&crypto::x25519_public(&mine));
    v["id"] = crypto::new_id().into();
    v["keys"]["custodian"] = public.clone().into();
    v["keys"]["admin"] = public.into();
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, serde_json::to_vec_pretty(&v).unwrap()).unwrap();

    // The computer that knew the archive refuses it, saying what changed.
    let e = tampered(w.logon(DC).await);
    assert!(
        e.contains("the archive identity at this folder has changed")
            && e.contains("custodian key differs"),
        "{e}"
    );
    // A computer new to the archive: every user record is bound to the genuine identity.
    let fresh = w.fresh_device("new-pc");
    let e = tampered(w.logon_on(&fresh, DC).await);
    assert!(e.contains("another archive identity"), "{e}");
    // Put back, everything is as it was: nothing was imported under the insider's keys.
    std::fs::remove_file(&path).unwrap();
    let genuine = {
        // The pinned copy on the practice manager's computer is the genuine archive.json.
        let (_, df) = device_file(&w.data);
        crypto::unb64(df["pinned_archive_json"].as_str().unwrap(), "t").unwrap()
    };
    std::fs::write(&path, genuine).unwrap();
    let s = w.logon(DC).await.unwrap();
    assert_eq!(s.search(&everything()).await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_first_use_shows_the_fingerprint_of_the_set_up_sheet() {
    let w = World::new().await;
    let fp = w.share().config.fingerprint();
    let s = w.logon_on(&w.fresh_device("gp-mac"), CLIN).await.unwrap();
    assert!(
        warned(&s, &format!("its fingerprint is {fp}")),
        "{:?}",
        s.warnings
    );
    s.close().await;
    let s = w.logon_on(&w.fresh_device("gp-mac"), CLIN).await.unwrap();
    assert!(!warned(&s, "fingerprint"), "{:?}", s.warnings);
}

// ---- 2. Forge a compacted journal generation ----

fn signer_keys(a: &Archive) -> archive::SignerKeys {
    let mut signers = archive::SignerKeys::new();
    for uid in users::list_uids(a).unwrap() {
        let r = users::load_latest(a, &uid).unwrap().unwrap();
        let k = crypto::unb64(&r.signed.signing_key, "t").unwrap();
        signers.insert(uid, k.try_into().unwrap());
    }
    signers
}

#[tokio::test]
async fn a_forged_compacted_generation_adds_nothing() {
    let w = World::new().await;
    let a = w.share();
    let sup = insider(&a, SUP);
    let dc_uid = users::uid_for(&a, DC.0).unwrap();
    let signers = signer_keys(&a);
    // The practice manager's computer's first journal segment, as any user can read it.
    let dev = device_file(&w.data).1["device_id"]
        .as_str()
        .unwrap()
        .to_string();
    let name = journal::segment_file(0, 0);
    let bytes = a.read(&format!("journal/{dev}/{name}")).unwrap();
    let (_, mut entries, sigs) = journal::open_segment_signed(
        &bytes,
        &KeyRing::one(sup.metadata()),
        &dev,
        0,
        0,
        &signers,
        "t",
    )
    .unwrap();
    let mut sigs = sigs.expect("format 2 entries carry signatures");
    // A setting "by" the data controller, signed with the supervisor's own key.
    let forged = JournalEntry::Setting(Box::new(Setting {
        key: "retention-months".into(),
        value: "1".into(),
        by: dc_uid.clone(),
        at: now(),
    }));
    entries.push(forged);
    sigs.push(crypto::b64(&[7u8; 64]));
    let me = Signer {
        uid: &sup.uid,
        seed: &sup.signing,
    };
    journal::compact(
        &a,
        &dev,
        0,
        1,
        &entries,
        Some(&sigs),
        &name,
        &me,
        &Readers::Metadata,
    )
    .unwrap();
    let fresh = w.fresh_device("new-pc");
    let mut dc = w.logon_on(&fresh, DC).await.unwrap();
    assert_eq!(dc.setting("retention-months").await.unwrap(), "36");
    assert!(
        warned(&dc, "is not signed by its author"),
        "{:?}",
        dc.warnings
    );
    let rep = dc.verify().await.unwrap();
    assert!(
        rep.problems
            .iter()
            .any(|p| p.object.contains(&dev) && p.reason.contains("not signed by its author")),
        "{:?}",
        rep.problems
    );
    dc.close().await;
    // The same as a format-1 generation (no entry signatures at all): no segment of this archive
    // was written before format 2, so it is refused too.
    let name1 = journal::segment_file(0, 1);
    journal::compact(
        &a,
        &dev,
        0,
        2,
        &entries,
        None,
        &name1,
        &me,
        &Readers::Metadata,
    )
    .unwrap();
    let dc = w.logon_on(&w.fresh_device("another-pc"), DC).await.unwrap();
    assert_eq!(dc.setting("retention-months").await.unwrap(), "36");
    assert!(
        warned(&dc, "without its entries' own signatures"),
        "{:?}",
        dc.warnings
    );
}

// ---- 3. Take over or make vanish a request ----

#[tokio::test]
async fn a_second_raised_event_neither_hides_nor_takes_over_a_request() {
    use callvault_core::requests::{
        request_id, Purpose, RequestDetails, RequestEntry, RequestEvent,
    };
    let w = World::new().await;
    let mut dc = w.logon(DC).await.unwrap();
    let rid = dc
        .raise_request(RequestDetails {
            purpose: Some(Purpose::Sar),
            reason: "subject access request received by letter".into(),
            number: Some("07700 900501".into()),
            identity: Some("passport seen".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    dc.close().await;
    let a = w.share();
    let me = insider(&a, STAFF);
    let raised = |purpose: Option<Purpose>, nonce: Option<String>| {
        JournalEntry::Request(Box::new(RequestEntry {
            request: rid.clone(),
            by: me.uid.clone(),
            at: "2000-01-01T00:00:00.000Z".into(),
            event: RequestEvent::Raised(RequestDetails {
                purpose,
                reason: "mine now".into(),
                ..Default::default()
            }),
            nonce,
        }))
    };
    // Dated 2000 with no purpose (the SAR would vanish), with a purpose (the insider would become
    // its requester, inheriting any approval), and with a nonce of their own.
    me.write(&a, &[raised(None, None)]);
    me.write(&a, &[raised(Some(Purpose::Complaint), None)]);
    me.write(
        &a,
        &[raised(Some(Purpose::Complaint), Some(crypto::new_id()))],
    );
    // A request id of the insider's own is theirs: a new request, not this one.
    assert_ne!(request_id(&me.uid, &"ee".repeat(16), "n"), rid);
    for data in [w.data.clone(), w.fresh_device("new-pc")] {
        let dc = w.logon_on(&data, DC).await.unwrap();
        let r = dc.request(&rid).await.unwrap();
        assert_eq!(r.purpose, Purpose::Sar);
        assert_eq!(r.raised_by.as_deref(), Some(DC.0));
        assert!(r.due_date.is_some(), "the SAR lost its deadline");
        assert!(warned(&dc, "raised a second time") || warned(&dc, "is not theirs"));
        dc.close().await;
    }
}

// ---- 4. Undo a revocation ----

/// Delete a user's newest record version, as an insider undoing a change would.
fn delete_newest_record(a: &Archive, name: &str) {
    let uid = users::uid_for(a, name).unwrap();
    let newest = a.list(&format!("users/{uid}")).unwrap().pop().unwrap();
    std::fs::remove_file(a.path(&format!("users/{uid}/{newest}"))).unwrap();
}

#[tokio::test]
async fn a_demotion_undone_by_deleting_the_newest_record_gives_nothing_back() {
    let w = World::new().await;
    // The supervisor uses the practice manager's computer once, then is demoted to staff.
    w.logon(SUP).await.unwrap().close().await;
    // She keeps a copy of her record first: taking the metadata key away (staff hold none) also
    // removes the older versions from the share.
    let a = w.share();
    let uid = users::uid_for(&a, SUP.0).unwrap();
    let kept: Vec<(String, Vec<u8>)> = a
        .list(&format!("users/{uid}"))
        .unwrap()
        .into_iter()
        .map(|n| {
            let rel = format!("users/{uid}/{n}");
            let b = a.read(&rel).unwrap();
            (rel, b)
        })
        .collect();
    let mut dc = w.logon(DC).await.unwrap();
    dc.set_roles(SUP.0, &[Role::Staff]).await.unwrap();
    dc.close().await;
    delete_newest_record(&a, SUP.0);
    for (rel, b) in kept {
        if !a.path(&rel).exists() {
            a.write_new(&rel, &b).unwrap();
        }
    }

    // On the computer that saw the demotion, and on one that never saw the archive.
    let e = tampered(w.logon(SUP).await);
    assert!(e.contains("rolled back"), "{e}");
    let fresh = w.fresh_device("new-pc");
    match w.logon_on(&fresh, SUP).await {
        Err(Error::Forbidden(m)) => assert!(m.contains("rolled back"), "{m}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Everyone else is told which record was rolled back; the supervisor's roles count for
    // nothing meanwhile.
    let dc = w.logon_on(&fresh, DC).await.unwrap();
    assert!(warned(&dc, "rolled back"), "{:?}", dc.warnings);
    assert!(!dc
        .list_users()
        .await
        .unwrap()
        .iter()
        .any(|u| u.name == SUP.0));
}

#[tokio::test]
async fn a_disabled_user_who_deletes_the_disabled_version_stays_out() {
    let w = World::new().await;
    let mut dc = w.logon(DC).await.unwrap();
    dc.update_user(STAFF.0, None, Some(true)).await.unwrap();
    dc.close().await;
    delete_newest_record(&w.share(), STAFF.0);
    assert!(w.logon(STAFF).await.is_err());
    assert!(w.logon_on(&w.fresh_device("new-pc"), STAFF).await.is_err());
}

#[tokio::test]
async fn a_replayed_old_password_sealing_or_a_planted_kdf_is_refused() {
    let w = World::new().await;
    let a = w.share();
    let uid = users::uid_for(&a, CLIN.0).unwrap();
    let old = std::fs::read(a.path(&format!("users/{uid}/00000000.cvu"))).unwrap();
    // The clinician's password leaked; the admin resets it.
    let mut dc = w.logon(DC).await.unwrap();
    dc.reset_password(CLIN.0, &Password::new("a-new-pass-5678"))
        .await
        .unwrap();
    dc.close().await;
    // The insider republishes the old record (the leaked password's sealing) as the newest version.
    let newest: u64 =
        users::parse_ver(&a.list(&format!("users/{uid}")).unwrap().pop().unwrap()).unwrap();
    let mut rec: serde_json::Value = serde_json::from_slice(&old).unwrap();
    rec["ver"] = (newest + 1).into();
    a.write_new(
        &format!("users/{uid}/{:08}.cvu", newest + 1),
        &serde_json::to_vec(&rec).unwrap(),
    )
    .unwrap();
    assert!(
        w.logon(CLIN).await.is_err(),
        "the old password opened the account"
    );
    assert!(w.logon_on(&w.fresh_device("new-pc"), CLIN).await.is_err());
    // A planted KDF cost in the current record: refused as not the sealing the admin signed.
    std::fs::remove_file(a.path(&format!("users/{uid}/{:08}.cvu", newest + 1))).unwrap();
    let cur_path = a.path(&format!("users/{uid}/{newest:08}.cvu"));
    let mut cur: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&cur_path).unwrap()).unwrap();
    cur["kdf"]["t"] = 9.into();
    std::fs::remove_file(&cur_path).unwrap();
    std::fs::write(&cur_path, serde_json::to_vec(&cur).unwrap()).unwrap();
    let e = tampered(w.logon(CLIN).await);
    assert!(e.contains("sealing is not the one the admin signed"), "{e}");
}

#[tokio::test]
async fn what_a_disabled_user_signs_after_the_disablement_is_refused() {
    let w = World::new().await;
    let a = w.share();
    let me = insider(&a, CLIN);
    let mark = |note: &str, call: &str| {
        JournalEntry::Consent(Box::new(ConsentMark {
            recording: call.to_string(),
            by: me.uid.clone(),
            at: now(),
            kind: ConsentKind::CallerObjected,
            stopped_at_ms: Some(1000),
            note: Some(note.into()),
        }))
    };
    // Before: a genuine mark on their own call.
    me.write(&a, &[mark("before", &w.calls[0])]);
    let mut dc = w.logon(DC).await.unwrap();
    dc.update_user(CLIN.0, None, Some(true)).await.unwrap();
    dc.close().await;
    // After the disablement, with their own tool.
    me.write(&a, &[mark("after", &w.calls[1])]);
    for data in [w.data.clone(), w.fresh_device("new-pc")] {
        let s = w.logon_on(&data, SUP).await.unwrap();
        let found = s.search(&everything()).await.unwrap();
        let consent = |id: &str| found.iter().find(|r| r.id == id).unwrap().consent.clone();
        assert!(consent(&w.calls[0]).is_some(), "the genuine mark was lost");
        assert_eq!(
            consent(&w.calls[1]),
            None,
            "a mark after disablement counted"
        );
        assert!(
            warned(&s, "after their account was disabled"),
            "{:?}",
            s.warnings
        );
        s.close().await;
    }
}

#[tokio::test]
async fn a_disabled_supervisors_own_compacted_generation_is_refused() {
    let w = World::new().await;
    let a = w.share();
    let me = insider(&a, SUP);
    let mut dc = w.logon(DC).await.unwrap();
    dc.update_user(SUP.0, None, Some(true)).await.unwrap();
    dc.close().await;
    // After the disablement: a hold on every call, journalled and then "compacted" into a
    // generation 1 of a new number, its generation 0 removed (no first generation to judge).
    let device = "ee".repeat(16);
    me.write(&a, &[me.hold(&w.calls, "blocking every deletion")]);
    let name = journal::segment_name(0);
    let rel = format!("journal/{device}/{name}");
    let (_, entries, sigs) = journal::open_segment_signed(
        &a.read(&rel).unwrap(),
        &KeyRing::one(me.metadata()),
        &device,
        0,
        0,
        &signer_keys(&a),
        &rel,
    )
    .unwrap();
    journal::compact(
        &a,
        &device,
        0,
        1,
        &entries,
        sigs.as_deref(),
        &name,
        &me.signer(),
        &Readers::Metadata,
    )
    .unwrap();
    let _ = std::fs::remove_file(a.path(&rel));
    no_hold_and_named(&w, "after their account was disabled").await;
}

/// On the computer that saw the archive before and on a new one: no hold counts, and the planted
/// segment is named with `why`.
async fn no_hold_and_named(w: &World, why: &str) {
    for data in [w.data.clone(), w.fresh_device("new-pc")] {
        let dc = w.logon_on(&data, DC).await.unwrap();
        assert!(dc.holds().await.unwrap().is_empty());
        assert!(warned(&dc, why), "{:?}", dc.warnings);
        dc.close().await;
    }
}

/// Found in review: a first generation's entry signatures were not checked (its trailer, by the
/// same author, covered them), yet a compaction keeps the signatures it finds — so a bad one,
/// believed at first, would later make the rewritten generation refused and its genuine entries
/// vanish on new computers. Now refused from the first generation.
#[tokio::test]
async fn a_first_generation_with_a_bad_entry_signature_is_refused() {
    let w = World::new().await;
    let a = w.share();
    let me = insider(&a, SUP);
    let hold = me.hold(&w.calls[..1], "a hold whose own signature is garbage");
    // Written as generation 0 with a signature of zeros, the trailer signed properly.
    let _ = journal::compact(
        &a,
        &"ee".repeat(16),
        0,
        0,
        &[hold],
        Some(&[crypto::b64(&[0u8; 64])]),
        "absent.cvj",
        &me.signer(),
        &Readers::Metadata,
    );
    assert!(a
        .path(&format!(
            "journal/{}/{}",
            "ee".repeat(16),
            journal::segment_name(0)
        ))
        .is_file());
    no_hold_and_named(&w, "is not signed by its author").await;
}

// ---- 5. Substitute audio ----

#[tokio::test]
async fn substituted_audio_or_peaks_are_refused_before_any_byte_is_used() {
    let w = World::new().await;
    let a = w.share();
    let id = &w.calls[0];
    // A fake object under the same id, wrapped to the archive's public custodian key.
    let fake = wav_g711(8000, &speechlike(8000, 2, 99), true);
    let custodian = a.config.keys.get("custodian").unwrap();
    let obj = audio::seal(id, 65536, &fake, &[("custodian".into(), custodian)]).unwrap();
    let rel = audio::object_path(id);
    std::fs::remove_file(a.path(&rel)).unwrap();
    a.write_new(&rel, &obj).unwrap();
    let clin = w.logon(CLIN).await.unwrap();
    let e = tampered(
        clin.open_for_listening(id, None, Some("checking my own call"))
            .await,
    );
    assert!(e.contains("not the one its journal entry names"), "{e}");
    // The planted object is named by verify.
    let mut dc = w.logon(DC).await.unwrap();
    let rep = dc.verify().await.unwrap();
    assert!(
        rep.problems.iter().any(|p| p.object == rel),
        "{:?}",
        rep.problems
    );
    // Replaced peaks: the waveform is refused, not drawn.
    let id2 = &w.calls[1];
    let prel = audio::peaks_path(id2);
    let mut peaks = std::fs::read(a.path(&prel)).unwrap();
    let n = peaks.len();
    peaks[n - 1] ^= 1;
    std::fs::remove_file(a.path(&prel)).unwrap();
    a.write_new(&prel, &peaks).unwrap();
    let e = tampered(clin.waveform(id2).await);
    assert!(e.contains("waveform object is not the one"), "{e}");
    // The untouched call still plays.
    assert!(clin
        .open_for_listening(id2, None, Some("checking my own call"))
        .await
        .is_ok());
}

// ---- 6. Cut the audit trail ----

#[tokio::test]
async fn a_cut_audit_trail_is_named_on_a_new_computer_and_after_an_index_rebuild() {
    let w = World::new().await;
    let a = w.share();
    // Some history on the practice manager's computer, anchored by the next logons.
    let s = w.logon(SUP).await.unwrap();
    s.search(&everything()).await.unwrap();
    s.close().await;
    w.logon(CLIN).await.unwrap().close().await;
    // The insider cuts that computer's chain back to its first file (below the heads its logons
    // anchored; a device anchors at most every quarter of an hour), then the whole audit folder.
    let dev = a.list("audit").unwrap().pop().unwrap();
    let files = a.list(&format!("audit/{dev}")).unwrap();
    for f in &files[1..] {
        std::fs::remove_file(a.path(&format!("audit/{dev}/{f}"))).unwrap();
    }
    let cut = |r: &callvault_core::audit::AuditReport| {
        r.problems
            .iter()
            .any(|p| p.object.starts_with(&format!("audit/{dev}")) && p.reason.contains("cut back"))
    };
    let fresh = w.fresh_device("new-pc");
    let dc = w.logon_on(&fresh, DC).await.unwrap();
    let rep = dc.verify_audit().await.unwrap();
    assert!(cut(&rep), "{:?}", rep.problems);
    // `index rebuild` (which any user may run) does not forget it.
    let (dc, _, _) = dc.rebuild_index().await.unwrap();
    let rep = dc.verify_audit().await.unwrap();
    assert!(cut(&rep), "{:?}", rep.problems);
    dc.close().await;
    std::fs::remove_dir_all(a.path("audit")).unwrap();
    let dc = w.logon_on(&w.fresh_device("another-pc"), DC).await.unwrap();
    let rep = dc.verify_audit().await.unwrap();
    assert!(cut(&rep), "{:?}", rep.problems);
}

// ---- 7. Entries nobody checked ----

#[tokio::test]
async fn a_receptionists_hand_written_entries_are_refused_and_named() {
    let w = World::new().await;
    let a = w.share();
    let me = insider(&a, STAFF);
    // Her own call: a receptionist's tool reads no other (she holds no metadata key).
    let target = w.calls[2].clone();
    let mut meta = read_recordings(&a, &me)
        .into_iter()
        .find(|m| m.id == target)
        .unwrap();
    // Move the call's date three years back (the next sweep would destroy it), as the receptionist.
    meta.started_at = "2021-01-01T10:00:00Z".into();
    meta.imported_by = me.uid.clone();
    let bad_id = |id: &str| {
        let mut m = meta.clone();
        m.id = id.into();
        JournalEntry::Recording(Box::new(m))
    };
    me.write(
        &a,
        &[
            JournalEntry::Recording(Box::new(meta.clone())),
            JournalEntry::Hold(Box::new(Hold {
                hold: crypto::new_id(),
                recordings: w.calls.clone(),
                reason: "blocking every deletion".into(),
                request: None,
                by: me.uid.clone(),
                at: now(),
            })),
            JournalEntry::Tombstone(Box::new(Tombstone {
                recording: target.clone(),
                call_date: chrono::NaiveDate::from_ymd_opt(2025, 5, 4).unwrap(),
                deleted_at: now(),
                by: me.uid.clone(),
                reason: "make it vanish".into(),
                request: None,
                rule: None,
                dedup: meta.dedup.clone(),
                run: crypto::new_id(),
            })),
            JournalEntry::Setting(Box::new(Setting {
                key: "retention-months".into(),
                value: "1".into(),
                by: me.uid.clone(),
                at: now(),
            })),
            // A consent mark on a call the receptionist was no party to.
            JournalEntry::Consent(Box::new(ConsentMark {
                recording: w.calls[1].clone(),
                by: me.uid.clone(),
                at: now(),
                kind: ConsentKind::NotRecorded,
                stopped_at_ms: None,
                note: None,
            })),
        ],
    );
    // Malformed ids, which once panicked or reached shred paths.
    me.write(&a, &[bad_id("x"), bad_id("../../../../etc/passwd")]);
    // A supervisor may import: their second entry for the same id, moving its date, is refused —
    // with the importer's nonce (the id is not theirs), and without one (an unbound entry gives way
    // to the importer's bound one, whichever journal a computer reads first).
    let sup = insider(&a, SUP);
    let mut moved = meta.clone();
    moved.imported_by = sup.uid.clone();
    let mut unbound = moved.clone();
    unbound.nonce = None;
    sup.write(&a, &[JournalEntry::Recording(Box::new(moved))]);
    sup.write_from(
        &a,
        &"00".repeat(16),
        &[JournalEntry::Recording(Box::new(unbound))],
    );

    for data in [w.data.clone(), w.fresh_device("new-pc")] {
        let mut dc = w.logon_on(&data, DC).await.unwrap();
        let all = dc.search(&everything()).await.unwrap();
        assert_eq!(all.len(), 3, "a call vanished or was doubled");
        let call = all.iter().find(|r| r.id == target).unwrap();
        assert!(
            call.started_at.starts_with("2025-05-04"),
            "{}",
            call.started_at
        );
        assert!(all.iter().all(|r| r.consent.is_none()));
        assert!(dc.holds().await.unwrap().is_empty());
        assert_eq!(dc.setting("retention-months").await.unwrap(), "36");
        for what in [
            "(recording) by",
            "(hold) by",
            "(tombstone) by",
            "(setting) by",
            "(consent) by",
            "(its id is not theirs)",
            "malformed recording id",
        ] {
            assert!(warned(&dc, what), "{what} not reported: {:?}", dc.warnings);
        }
        assert!(
            warned(&dc, "a second recording entry") || warned(&dc, "gave way to its importer's"),
            "{:?}",
            dc.warnings
        );
        let rep = dc.verify().await.unwrap();
        assert!(
            rep.problems
                .iter()
                .any(|p| p.reason.contains("(tombstone) by")),
            "{:?}",
            rep.problems
        );
        assert!(dc.retention_due().await.unwrap().is_empty());
        dc.close().await;
    }
}

/// Read every recording entry on the share this user's tool can open: all of them with the
/// metadata key; a clinician's or a receptionist's own calls only, through the segments' wraps to
/// them.
fn read_recordings(a: &Archive, me: &Insider) -> Vec<RecordingMeta> {
    let mut out = Vec::new();
    for dev in a.list("journal").unwrap() {
        for name in a.list(&format!("journal/{dev}")).unwrap() {
            let seq = journal::parse_segment_name(&name).unwrap();
            for e in me.open(a, &dev, seq, &name).unwrap_or_default() {
                if let JournalEntry::Recording(m) = e {
                    out.push(*m);
                }
            }
        }
    }
    out
}

// ---- 9. Edit the local index ----

/// Open the local index a user's tool can open on a computer: the metadata holders' (its key
/// derives from the metadata seed and the device id in the plaintext device.json), or, for a
/// clinician or receptionist, their own (from their own secret).
async fn open_index(data: &Path, me: &Insider) -> (sqlx::SqlitePool, String) {
    let (dir, df) = device_file(data);
    let device = df["device_id"].as_str().unwrap().to_string();
    let (file, key) = match &me.metadata {
        Some(m) => (
            "index.db".to_string(),
            crypto::hkdf(
                m.expose(),
                format!("callvault/v1/local-index/{device}").as_bytes(),
            ),
        ),
        None => (
            format!("index-{}.db", me.uid),
            crypto::hkdf(
                me.secret.expose(),
                format!("callvault/v4/party-index/{}/{device}", me.uid).as_bytes(),
            ),
        ),
    };
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.join(file))
        .pragma("key", format!("\"x'{}'\"", hex::encode(key.expose())));
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .unwrap();
    (pool, device)
}

#[tokio::test]
async fn an_edited_local_index_grants_nothing_and_is_rebuilt() {
    use callvault_core::requests::{Purpose, RequestDetails, RequestEntry, RequestEvent, Right};
    let w = World::new().await;
    let a = w.share();
    let me = insider(&a, CLIN);
    // The clinician's own index on this computer (she holds no metadata key, so the practice
    // manager's is closed to her) holds nothing of the receptionist's call: she writes it in,
    // herself a party, pointing at a genuine segment of hers.
    let clin = w.logon(CLIN).await.unwrap();
    clin.close().await;
    let (pool, _) = open_index(&w.data, &me).await;
    let none: Option<i64> = sqlx::query_scalar("SELECT rowid FROM recordings WHERE id = ?")
        .bind(&w.calls[2])
        .fetch_optional(&pool)
        .await
        .unwrap();
    assert!(
        none.is_none(),
        "a colleague's call in a clinician's own index"
    );
    let rowid = sqlx::query(
        "INSERT INTO recordings (id, started_at, direction, staff_uid, external_digits, duration_ms, dedup, meta, src)
         SELECT ?, started_at, direction, staff_uid, external_digits, duration_ms, 'planted', replace(meta, ?, ?), src
         FROM recordings WHERE id = ?",
    )
    .bind(&w.calls[2])
    .bind(&w.calls[0])
    .bind(&w.calls[2])
    .bind(&w.calls[0])
    .execute(&pool)
    .await
    .unwrap()
    .last_insert_rowid();
    let src: String = sqlx::query_scalar("SELECT src FROM recordings WHERE id = ?")
        .bind(&w.calls[0])
        .fetch_one(&pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO recording_parties (uid, rec_rowid, src) VALUES (?, ?, ?)")
        .bind(&me.uid)
        .bind(rowid)
        .bind(&src)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let clin = w.logon(CLIN).await.unwrap();
    let e = tampered(
        clin.open_for_listening(&w.calls[2], None, Some("curious"))
            .await,
    );
    assert!(e.contains("does not match the signed journal"), "{e}");
    clin.close().await;
    // The next logon on that computer rebuilds the index from the journal: the call is gone from
    // her view again, and she is told why.
    let clin = w.logon(CLIN).await.unwrap();
    assert!(warned(&clin, "was rebuilt"), "{:?}", clin.warnings);
    assert!(clin
        .search(&everything())
        .await
        .unwrap()
        .iter()
        .all(|r| r.id != w.calls[2]));
    clin.close().await;

    // A supervisor's request, with an approval "by" the data controller added to the index.
    let mut sup = w.logon(SUP).await.unwrap();
    let rid = sup
        .raise_request(RequestDetails {
            purpose: Some(Purpose::Complaint),
            reason: "complaint about a call".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    sup.close().await;
    let s = insider(&a, SUP);
    let (pool, device) = open_index(&w.data, &s).await;
    let approved = RequestEntry {
        request: rid.clone(),
        by: users::uid_for(&a, DC.0).unwrap(),
        at: now(),
        event: RequestEvent::Approved {
            recordings: vec![w.calls[0].clone()],
            expires_at: "2099-01-01T00:00:00Z".into(),
            allow: vec![Right::Listen],
            note: None,
            keys: vec![],
        },
        nonce: None,
    };
    sqlx::query(
        "INSERT INTO request_events (request, at, device, seq, idx, event) VALUES (?, ?, ?, 0, 99, ?)",
    )
    .bind(&rid)
    .bind(&approved.at)
    .bind(&device)
    .bind(serde_json::to_string(&approved).unwrap())
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let sup = w.logon(SUP).await.unwrap();
    let e = tampered(sup.open_for_listening(&w.calls[0], Some(&rid), None).await);
    assert!(e.contains("does not match the signed journal"), "{e}");
}

/// A supervisor edits the approver's computer's index so that another patient's call looks like a
/// leg of the transferred call a complaint is about (same conversation id, number and a time
/// following on): the call page there shows it as one, but the approval, which widens only as the
/// signed journal entries join the legs, names the real legs and not it.
#[tokio::test]
async fn an_edited_index_cannot_widen_an_approval_to_another_call() {
    let w = World::new().await;
    const GP: (&str, &str) = ("dr.gwen.partner", "gp-pass-1234");
    let mut dc = w.logon(DC).await.unwrap();
    dc.add_user(GP.0, &[Role::Approver], &[], &Password::new(GP.1))
        .await
        .unwrap();
    let at = |d: u32, s: u32| Utc.with_ymd_and_hms(2025, 6, d, 10, 0, s).unwrap();
    let leg = |i: u32, number: &str, started, conversation: Option<&str>| CallSource {
        conversation: conversation.map(String::from),
        external_number: Some(number.into()),
        started_at: started,
        ..call(i, "201")
    };
    let k = Some("freepbx:1748858400.1");
    let rep = dc
        .import_sources(vec![
            leg(11, "07700 900561", at(2, 0), k),
            leg(12, "07700 900561", at(2, 5), k),
            leg(13, "07700 900562", at(9, 0), None),
        ])
        .await
        .unwrap();
    let ids: Vec<String> = rep.imported.iter().map(|i| i.id.clone()).collect();
    let (first, second, other) = (&ids[0], &ids[1], &ids[2]);
    dc.close().await;
    let mut sup = w.logon(SUP).await.unwrap();
    let rid = sup
        .raise_request(callvault_core::requests::RequestDetails {
            purpose: Some(callvault_core::requests::Purpose::Complaint),
            reason: "complaint about the transferred call".into(),
            number: Some("07700 900561".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    sup.close().await;
    let (pool, _) = open_index(&w.data, &insider(&w.share(), SUP)).await;
    sqlx::query(
        "UPDATE recordings SET started_at = ?, external_digits = '07700900561',
         meta = json_set(meta, '$.conversation', ?, '$.external_number', '07700 900561') WHERE id = ?",
    )
    .bind(at(2, 8).timestamp_millis())
    .bind(k)
    .bind(other)
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
    let mut gp = w.logon(GP).await.unwrap();
    let shown: Vec<String> = gp
        .show(first)
        .await
        .unwrap()
        .conversation
        .unwrap()
        .legs
        .into_iter()
        .map(|l| l.id)
        .collect();
    assert_eq!(
        shown,
        [first.clone(), second.clone(), other.clone()],
        "the edit took"
    );
    gp.approve(
        &rid,
        std::slice::from_ref(first),
        Utc::now() + chrono::Duration::days(7),
        &[callvault_core::requests::Right::Listen],
    )
    .await
    .unwrap();
    let mut approved = gp.request(&rid).await.unwrap().approved_recordings;
    approved.sort();
    let mut want = vec![first.clone(), second.clone()];
    want.sort();
    assert_eq!(approved, want, "the other patient's call is not approved");
    gp.close().await;
}

/// What a member of staff would plant in the practice manager's computer's index to have the next
/// retention run destroy calls: the hold's row gone, two calls' dates moved into 2000, and a
/// tombstone for the third (an "unfinished" deletion the next run would complete).
async fn plant_deletion_rows(w: &World, me: &Insider) {
    let (pool, _) = open_index(&w.data, me).await;
    sqlx::query("DELETE FROM holds")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE recordings SET started_at = 946684800000 WHERE id IN (?, ?)")
        .bind(&w.calls[0])
        .bind(&w.calls[1])
        .execute(&pool)
        .await
        .unwrap();
    let t = Tombstone {
        recording: w.calls[2].clone(),
        call_date: chrono::NaiveDate::from_ymd_opt(2000, 1, 1).unwrap(),
        deleted_at: now(),
        by: me.uid.clone(),
        reason: "tidying up".into(),
        request: None,
        rule: None,
        dedup: String::new(),
        run: "00".repeat(16),
    };
    sqlx::query(
        "INSERT OR REPLACE INTO tombstones (recording, dedup, tombstone) VALUES (?, '', ?)",
    )
    .bind(&w.calls[2])
    .bind(serde_json::to_string(&t).unwrap())
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;
}

#[tokio::test]
async fn an_edited_local_index_gets_no_call_destroyed() {
    let w = World::new().await;
    let a = w.share();
    let mut dc = w.logon(DC).await.unwrap();
    let hold = dc
        .add_hold(&[w.calls[0].clone()], "complaint under investigation", None)
        .await
        .unwrap();
    dc.close().await;
    // A supervisor: one who holds the metadata key, and so can open the practice manager's index
    // (a receptionist no longer can).
    let me = insider(&a, SUP);

    // The plan: nothing is due (the journal dates the calls 2025), and the edit is reported.
    plant_deletion_rows(&w, &me).await;
    let mut dc = w.logon(DC).await.unwrap();
    let due = dc.retention_due().await.unwrap();
    assert!(due.is_empty(), "{due:?}");
    assert!(
        warned(
            &dc,
            "disagreed with the signed journal before planning retention"
        ),
        "{:?}",
        dc.warnings
    );
    // The run, the index edited again while the data controller is logged on: nothing deleted.
    plant_deletion_rows(&w, &me).await;
    assert!(dc.retention_run().await.unwrap().is_none());
    assert!(warned(&dc, "before a retention run"), "{:?}", dc.warnings);
    // A deletion of the held call, its hold's row deleted again: refused by the hold.
    plant_deletion_rows(&w, &me).await;
    match dc.delete(&[w.calls[0].clone()], "no longer needed").await {
        Err(Error::Forbidden(m)) => assert!(m.contains("legal hold"), "{m}"),
        other => panic!("expected a refusal by the hold, got {other:?}"),
    }
    // Each time, this computer's index was rebuilt from the journal, and the audit trail says so.
    let trail = dc
        .audit_list(&session::AuditFilter::default())
        .await
        .unwrap();
    let rebuilt = trail
        .iter()
        .filter(|e| {
            e.detail
                .as_deref()
                .is_some_and(|d| d.contains("disagreed with the signed journal"))
        })
        .count();
    assert_eq!(rebuilt, 3, "{trail:?}");
    dc.close().await;

    // Nothing genuine lost or hidden: every call's audio is in place, every call is found, the
    // hold still stands.
    for id in &w.calls {
        assert!(w.archive.join(audio::object_path(id)).is_file(), "{id}");
    }
    let dc = w.logon(DC).await.unwrap();
    assert_eq!(dc.search(&everything()).await.unwrap().len(), 3);
    assert!(dc
        .holds()
        .await
        .unwrap()
        .iter()
        .any(|h| h.hold == hold && h.released.is_none() && h.recordings == [w.calls[0].clone()]));
    assert!(dc.tombstones().await.unwrap().is_empty());
}

/// Found by re-deriving the index for a retention run: a computer new to the archive reads the
/// journals in the order of their device ids, so a consent mark or an assignment can come before
/// the recording it names. They wait for it, and every computer decides them the same way.
#[tokio::test]
async fn entries_read_before_their_recording_are_decided_the_same_on_every_computer() {
    use callvault_core::archive::journal::Assignment;
    let w = World::new().await;
    let a = w.share();
    let clin = insider(&a, CLIN);
    let sup = insider(&a, SUP);
    // The clinician's mark on her own call, and a supervisor's assignment of the receptionist's
    // call to the clinician (with its copy for her), each from a journal read before the
    // importer's, and each sealed to the clinician as Callvault seals them.
    clin.write_for(
        &a,
        &"00".repeat(16),
        &[JournalEntry::Consent(Box::new(ConsentMark {
            recording: w.calls[0].clone(),
            by: clin.uid.clone(),
            at: now(),
            kind: ConsentKind::CallerObjected,
            stopped_at_ms: Some(1000),
            note: None,
        }))],
        &[&clin.uid],
    );
    sup.write_for(
        &a,
        &"01".repeat(16),
        &[JournalEntry::Assign(Box::new(Assignment {
            recording: w.calls[2].clone(),
            staff_uid: clin.uid.clone(),
            wrap: Some(crypto::Wrapped {
                enc: String::new(),
                ct: String::new(),
            }),
            by: sup.uid.clone(),
            at: now(),
        }))],
        &[&clin.uid],
    );
    let copy = sup.copy_of(&a, &w.calls[2], &clin.uid);
    sup.write_for(&a, &"01".repeat(16), &[copy], &[&clin.uid]);
    for data in [w.data.clone(), w.fresh_device("new-pc")] {
        let c = w.logon_on(&data, CLIN).await.unwrap();
        let mine = c.search(&everything()).await.unwrap();
        assert_eq!(mine.len(), 3, "{mine:?}");
        let marked = mine.iter().find(|r| r.id == w.calls[0]).unwrap();
        assert!(marked.consent.is_some(), "{:?}", c.warnings);
        assert!(!warned(&c, "(consent) by"), "{:?}", c.warnings);
        c.close().await;
    }
}

/// Items 5 and 9 together: the substituted object's hash written into the index's copy of the
/// call's entry on the computer where the clinician will play it. Objects are checked against the
/// signed journal entry, not the index.
#[tokio::test]
async fn a_substituted_object_with_its_hash_edited_into_the_index_is_refused() {
    let w = World::new().await;
    let a = w.share();
    let id = &w.calls[0];
    let fake = wav_g711(8000, &speechlike(8000, 2, 98), true);
    let custodian = a.config.keys.get("custodian").unwrap();
    let obj = audio::seal(id, 65536, &fake, &[("custodian".into(), custodian)]).unwrap();
    let rel = audio::object_path(id);
    std::fs::remove_file(a.path(&rel)).unwrap();
    a.write_new(&rel, &obj).unwrap();
    // The index the clinician's sessions use on this computer is her own (keyed from her secret):
    // whoever edits it knows her password (or is her).
    let me = insider(&a, CLIN);
    w.logon(CLIN).await.unwrap().close().await;
    let (pool, _) = open_index(&w.data, &me).await;
    let meta: String = sqlx::query_scalar("SELECT meta FROM recordings WHERE id = ?")
        .bind(id)
        .fetch_one(&pool)
        .await
        .unwrap();
    let mut m: RecordingMeta = serde_json::from_str(&meta).unwrap();
    m.object_sha256 = hex::encode(crypto::sha256(&obj));
    sqlx::query("UPDATE recordings SET meta = ? WHERE id = ?")
        .bind(serde_json::to_string(&m).unwrap())
        .bind(id)
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let clin = w.logon(CLIN).await.unwrap();
    let e = tampered(
        clin.open_for_listening(id, None, Some("checking my own call"))
            .await,
    );
    assert!(e.contains("not the one its journal entry names"), "{e}");
}

// ---- 10. Double calls ----

#[test]
fn two_computers_importing_the_same_folder_at_once_store_each_call_once() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let w = rt.block_on(World::new());
    let sources = || (10..16).map(|i| call(i, "201")).collect::<Vec<_>>();
    let pcs = [
        w.data.clone(),
        w.fresh_device("ingest-pc"),
        w.fresh_device("sup-pc"),
    ];
    // Every computer logs on first (so none has seen the others' imports), then all import at once.
    let sessions: Vec<Session> = pcs
        .iter()
        .map(|d| rt.block_on(w.logon_on(d, DC)).unwrap())
        .collect();
    let handles: Vec<_> = sessions
        .into_iter()
        .map(|mut s| {
            let src = sources();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Runtime::new().unwrap();
                rt.block_on(async move {
                    let r = s.import_sources(src).await.unwrap();
                    s.close().await;
                    r.imported.len()
                })
            })
        })
        .collect();
    let stored: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(stored >= 6, "each call stored at least once ({stored})");
    for d in pcs.iter().cloned().chain([w.fresh_device("new-pc")]) {
        let s = rt.block_on(w.logon_on(&d, DC)).unwrap();
        let all = rt.block_on(s.search(&everything())).unwrap();
        assert_eq!(all.len(), 3 + 6, "on {}: {:?}", d.display(), all.len());
        rt.block_on(s.close());
    }
}

#[tokio::test]
async fn two_imports_on_one_computer_wait_for_each_other() {
    let w = World::new().await;
    let mut a = w.logon(DC).await.unwrap();
    let mut b = w.logon(SUP).await.unwrap();
    let src = || (20..24).map(|i| call(i, "201")).collect::<Vec<_>>();
    let (ra, rb) = tokio::join!(a.import_sources(src()), b.import_sources(src()));
    let (ra, rb) = (ra.unwrap(), rb.unwrap());
    assert_eq!(ra.imported.len() + rb.imported.len(), 4, "{ra:?} {rb:?}");
    a.close().await;
    b.close().await;
    let s = w.logon(DC).await.unwrap();
    assert_eq!(s.search(&everything()).await.unwrap().len(), 3 + 4);
}

/// Issue 18: a supervisor, who holds no call key, assigns a call to herself — through Callvault,
/// and with her own tool as a wrap-less `assign` entry — hoping the next key holder's logon
/// delivers its key to her. Refused, and no key is delivered.
#[tokio::test]
async fn a_supervisor_cannot_get_a_calls_key_by_assigning_it_to_herself() {
    use callvault_core::archive::journal::Assignment;
    let w = World::new().await;
    let mut dc = w.logon(DC).await.unwrap();
    let rep = dc.import_sources(vec![call(4, "299")]).await.unwrap();
    let unassigned = rep.imported[0].id.clone();
    dc.close().await;
    let mut s = w.logon(SUP).await.unwrap();
    let e = s.assign(&unassigned, SUP.0).await.unwrap_err();
    assert!(matches!(e, Error::Forbidden(_)), "{e}");
    s.close().await;
    let a = w.share();
    let sup = insider(&a, SUP);
    for (i, id) in [&w.calls[0], &unassigned].into_iter().enumerate() {
        sup.write_from(
            &a,
            &format!("0{i}").repeat(16),
            &[JournalEntry::Assign(Box::new(Assignment {
                recording: id.clone(),
                staff_uid: sup.uid.clone(),
                wrap: None,
                by: sup.uid.clone(),
                at: now(),
            }))],
        );
    }
    // The data controller (a key holder) logs on: nothing is delivered to the supervisor, nor
    // offered for delivery.
    let mut dc = w.logon(DC).await.unwrap();
    assert!(dc.assignments_awaiting_key().await.unwrap().is_empty());
    assert!(dc.deliver_assigned_key(&unassigned, None).await.is_err());
    let trail = serde_json::to_string(&dc.audit_list(&Default::default()).await.unwrap()).unwrap();
    assert!(!trail.contains("delivered the key"), "a key was delivered");
    dc.close().await;
    let s = w.logon(SUP).await.unwrap();
    for id in [&w.calls[0], &unassigned] {
        assert!(
            matches!(s.waveform(id).await, Err(Error::Forbidden(_))),
            "the supervisor opened {id}"
        );
    }
}

/// An approver's delivery of a call's key is bound to the assignment she saw: a supervisor's own
/// tool that re-assigns the call (a raw `assign` entry, to someone of the supervisor's choosing)
/// between her seeing it waiting and delivering gets the key delivered to no one.
#[tokio::test(flavor = "multi_thread")]
async fn a_key_is_delivered_only_to_the_assignment_the_authoriser_saw() {
    use callvault_core::archive::journal::Assignment;
    let w = World::new().await;
    let mut dc = w.logon(DC).await.unwrap();
    let rep = dc.import_sources(vec![call(5, "298")]).await.unwrap();
    let id = rep.imported[0].id.clone();
    dc.close().await;
    let mut s = w.logon(SUP).await.unwrap();
    s.assign(&id, CLIN.0).await.unwrap();
    s.close().await;
    let dc = w.logon(DC).await.unwrap();
    let waiting = dc.assignments_awaiting_key().await.unwrap();
    let seen = waiting.iter().find(|x| x.recording == id).unwrap().clone();
    dc.close().await;
    let a = w.share();
    let sup = insider(&a, SUP);
    let staff_uid = users::uid_for(&a, STAFF.0).unwrap();
    sup.write(
        &a,
        &[JournalEntry::Assign(Box::new(Assignment {
            recording: id.clone(),
            staff_uid: staff_uid.clone(),
            wrap: None,
            by: sup.uid.clone(),
            // The time the authoriser saw: only the assignee tells the two apart.
            at: seen.assigned_at.clone(),
        }))],
    );
    let mut dc = w.logon(DC).await.unwrap();
    let e = dc
        .deliver_assigned_key(&id, Some((&seen.assigned_to, &seen.assigned_at)))
        .await
        .unwrap_err();
    assert!(e.to_string().contains("assigned again"), "{e}");
    dc.close().await;
    // (The hand-written assignment is not addressed to her: the call is not even in her index.)
    let staff = w.logon(STAFF).await.unwrap();
    assert!(
        matches!(
            staff.waveform(&id).await,
            Err(Error::Forbidden(_) | Error::NotFound(_))
        ),
        "the key reached the re-assigned staff member"
    );
}

/// An admin (an IT lead) cannot make a supervisor (whose key bag holds the metadata key, which the
/// admin does not hold), and makes a clinician of their own; a supervisor assigns a call to that
/// clinician, and the admin waits for a key holder's logon: no key moves until an approver or the
/// data controller chooses to deliver it, and what she is asked names who assigned the call to
/// whom.
#[tokio::test(flavor = "multi_thread")]
async fn an_admin_gets_no_calls_key_from_a_supervisor_and_a_clinician_of_their_own() {
    const IT: (&str, &str) = ("ivo.it", "it-pass-12345");
    const FAKE_SUP: (&str, &str) = ("sup.helper", "fake-pass-1234");
    const FAKE_CLIN: (&str, &str) = ("dr.helper", "fake-pass-5678");
    let w = World::new().await;
    let mut dc = w.logon(DC).await.unwrap();
    dc.add_user(IT.0, &[Role::Admin], &[], &Password::new(IT.1))
        .await
        .unwrap();
    let rep = dc.import_sources(vec![call(4, "299")]).await.unwrap();
    let unassigned = rep.imported[0].id.clone();
    dc.close().await;
    // The admin alone cannot make a supervisor: her key bag would hold the metadata key.
    let mut it = w.logon(IT).await.unwrap();
    let e = it
        .add_user(
            FAKE_SUP.0,
            &[Role::Supervisor],
            &[],
            &Password::new(FAKE_SUP.1),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Forbidden(m) if m.contains("metadata key")),
        "{e}"
    );
    // Nor import: her index holds no other call, so no duplicate or erased audio would be found
    // (and the app does not offer it).
    assert!(!it.abilities().may_import);
    let e = it.import_sources(vec![call(5, "298")]).await.unwrap_err();
    assert!(
        matches!(&e, Error::Forbidden(m) if m.contains("metadata key")),
        "{e}"
    );
    // A clinician of their own, she can (her key bag holds nothing the admin lacks).
    it.add_user(
        FAKE_CLIN.0,
        &[Role::Clinician],
        &[],
        &Password::new(FAKE_CLIN.1),
    )
    .await
    .unwrap();
    it.close().await;
    // The supervisor, made by the data controller, assigns the call to the admin's clinician.
    let mut dc = w.logon(DC).await.unwrap();
    dc.add_user(
        FAKE_SUP.0,
        &[Role::Supervisor],
        &[],
        &Password::new(FAKE_SUP.1),
    )
    .await
    .unwrap();
    dc.close().await;
    // Nor can the admin become her: her secret is escrowed to the recovery key, so the admin
    // cannot reset her password (and read every call's details with her key bag).
    let mut it = w.logon(IT).await.unwrap();
    let e = it
        .reset_password(FAKE_SUP.0, &Password::new("it-knows-this-1"))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Forbidden(m) if m.contains("recovery key")),
        "{e}"
    );
    it.close().await;
    assert!(w.logon(FAKE_SUP).await.is_ok(), "her password stays");
    let mut sup = w.logon(FAKE_SUP).await.unwrap();
    sup.assign(&unassigned, FAKE_CLIN.0).await.unwrap();
    sup.close().await;
    // Key holders log on, on two computers: nothing is delivered.
    for data in [w.data.clone(), w.fresh_device("gp-mac")] {
        let dc = w.logon_on(&data, DC).await.unwrap();
        dc.close().await;
    }
    let clin = w.logon(FAKE_CLIN).await.unwrap();
    assert!(clin.show(&unassigned).await.is_ok(), "assigned to her");
    assert!(matches!(
        clin.open_for_listening(&unassigned, None, Some("my call"))
            .await,
        Err(Error::Forbidden(_))
    ));
    assert!(matches!(
        clin.waveform(&unassigned).await,
        Err(Error::Forbidden(_))
    ));
    clin.close().await;
    // No wrap to the clinician anywhere in the journals (read with the metadata key, which the
    // admin's own tool does not hold).
    let a = w.share();
    let dc_tool = insider(&a, DC);
    let clin_uid = users::uid_for(&a, FAKE_CLIN.0).unwrap();
    let wraps_to_clin = read_assignments(&a, dc_tool.metadata())
        .into_iter()
        .filter(|x| x.staff_uid == clin_uid && x.wrap.is_some())
        .count();
    assert_eq!(wraps_to_clin, 0, "a key reached the admin's clinician");
    // What the data controller is asked names who assigned the call to whom.
    let dc = w.logon(DC).await.unwrap();
    let waiting = dc.assignments_awaiting_key().await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(
        (
            waiting[0].assigned_by.as_str(),
            waiting[0].assigned_to.as_str()
        ),
        (FAKE_SUP.0, FAKE_CLIN.0)
    );
}

/// Every `assign` entry in the archive's journals, read with the metadata key.
fn read_assignments(a: &Archive, metadata: &Key32) -> Vec<journal::Assignment> {
    let signers = signer_keys(a);
    let mut out = Vec::new();
    for dev in a.list("journal").unwrap() {
        for name in a.list(&format!("journal/{dev}")).unwrap() {
            let seq = journal::parse_segment_name(&name).unwrap();
            let b = a.read(&format!("journal/{dev}/{name}")).unwrap();
            for e in journal::open_segment(&b, &KeyRing::one(metadata), &dev, seq, &signers, "t")
                .unwrap()
            {
                if let JournalEntry::Assign(x) = e {
                    out.push(*x);
                }
            }
        }
    }
    out
}

/// A patient link decides whose SAR a call goes into: a clinician's own tool linking her own call
/// to a patient, and a supervisor's linking one to a number that fails the NHS check (written past
/// the core's check), are refused on every computer and named; no search by NHS number finds them.
#[tokio::test]
async fn a_patient_link_by_a_clinician_or_to_an_invalid_nhs_number_is_refused_and_named() {
    use callvault_core::requests::PatientLink;
    let w = World::new().await;
    let a = w.share();
    let nhs = nhs_number(1234);
    let clin = insider(&a, CLIN);
    let link = |by: &Insider, recording: &str, n: &str| {
        JournalEntry::PatientLink(Box::new(PatientLink {
            recording: recording.into(),
            nhs_number: n.into(),
            unlink: false,
            by: by.uid.clone(),
            at: now(),
        }))
    };
    // Her own call, sealed to her as Callvault would.
    clin.write_for(
        &a,
        &"cc".repeat(16),
        &[link(&clin, &w.calls[0], &nhs)],
        &[&clin.uid],
    );
    clin.write(&a, &[link(&clin, &w.calls[1], &nhs)]);
    let sup = insider(&a, SUP);
    let bad = mistyped_nhs(&nhs);
    sup.write(
        &a,
        &[
            link(&sup, &w.calls[2], &bad),
            link(&sup, &w.calls[2], "../../etc"),
        ],
    );
    // A supervisor (who may import) writes an unbound `recording` entry for the receptionist's
    // call carrying the NHS number, in a journal read first by a new computer: it gives way to
    // the importer's own entry, and its link must go with it.
    let dc_tool = insider(&a, DC);
    let mut forged = read_recordings(&a, &dc_tool)
        .into_iter()
        .find(|m| m.id == w.calls[2])
        .unwrap();
    forged.nonce = None;
    forged.imported_by = sup.uid.clone();
    forged.nhs_numbers = vec![nhs.clone()];
    sup.write_from(
        &a,
        &"00".repeat(16),
        &[JournalEntry::Recording(Box::new(forged))],
    );
    // A link dated in the year 8999 by a supervisor's own tool: she can still take it back. One
    // dated at the very end of 9999 (whose next millisecond no reader could parse) is refused.
    let other = nhs_number(4321);
    let dated = |n: &str, at: &str| {
        JournalEntry::PatientLink(Box::new(PatientLink {
            recording: w.calls[2].clone(),
            nhs_number: n.into(),
            unlink: false,
            by: sup.uid.clone(),
            at: at.into(),
        }))
    };
    sup.write(
        &a,
        &[
            dated(&other, "8999-06-30T00:00:00.000Z"),
            dated(&nhs, "9999-12-31T23:59:59.999Z"),
        ],
    );
    let mut s = w.logon_on(&w.fresh_device("sup-pc"), SUP).await.unwrap();
    s.link_patient(&w.calls[2], &other, true).await.unwrap();
    s.close().await;
    for data in [w.data.clone(), w.fresh_device("new-pc")] {
        let dc = w.logon_on(&data, DC).await.unwrap();
        for n in [&nhs, &bad, &other] {
            let r = dc
                .search(&SearchQuery {
                    nhs_number: Some(n.clone()),
                    ..everything()
                })
                .await;
            assert!(
                r.as_ref().map_or(true, |v| v.is_empty()),
                "a forged link was believed: {r:?}"
            );
        }
        let all = dc.search(&everything()).await.unwrap();
        assert!(all.iter().all(|c| c.nhs_numbers.is_empty()), "{all:?}");
        for what in [
            "(patient_link) by",
            "its NHS number fails its check",
            "its time is not a time",
        ] {
            assert!(warned(&dc, what), "{what} not reported: {:?}", dc.warnings);
        }
        dc.close().await;
    }
}
