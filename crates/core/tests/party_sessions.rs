//! Party sessions (issue 18, item 2; FORMAT.md, "A party's sync"): in an archive whose segments
//! carry their readers, a clinician or a receptionist holds no metadata key. Their sessions read
//! only the journal entries addressed to them into an index of their own, keyed from their own
//! secret — their calls, the calls assigned to them, their own requests — and an insider's
//! hand-written copy of a colleague's call gives them nothing.

use callvault_core::archive::journal::{self, Direction, JournalEntry};
use callvault_core::archive::readers::{PartyKeys, Readers};
use callvault_core::archive::{Archive, Signer};
use callvault_core::crypto;
use callvault_core::ingest::CallSource;
use callvault_core::policy::Role;
use callvault_core::requests::{Purpose, RequestDetails};
use callvault_core::secret::{Key32, Password};
use callvault_core::session::{self, KdfChoice, SearchQuery, Session};
use callvault_core::users::{self, callkey::KeyRing};
use callvault_testkit::demo::{speechlike, wav_g711};
use chrono::{TimeZone, Utc};
use std::collections::BTreeSet;
use std::path::Path;

const ROOT: (&str, &str) = ("root.admin", "root-pass-1234");
const SUP: (&str, &str) = ("sid.super", "sup-pass-1234");
const CLIN: (&str, &str) = ("dr.cal", "clin-pass-1234");
const RECEP: (&str, &str) = ("rae.recep", "recep-pass-123");

fn call(i: u32, ext: &str) -> CallSource {
    CallSource {
        name: format!("p{i}.wav"),
        bytes: wav_g711(8000, &speechlike(8000, 2, 60 + i), true),
        started_at: Utc.with_ymd_and_hms(2026, 7, i, 9, 0, 0).unwrap(),
        direction: Direction::Inbound,
        staff: None,
        extension: Some(ext.into()),
        external_number: Some(format!("07700 90083{i}")),
        parties: vec![format!("Party Caller {i}")],
        notes: None,
        nhs_numbers: vec![],
        conversation: None,
    }
}

async fn logon(archive: &Path, data: &Path, u: (&str, &str)) -> Session {
    Session::logon_in(archive, data, u.0, &Password::new(u.1))
        .await
        .unwrap()
}

async fn ids(s: &Session) -> BTreeSet<String> {
    s.search(&SearchQuery::default())
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.id)
        .collect()
}

/// A new archive made on computer `pc` by ROOT, with these users (name and password, roles,
/// extension) and calls imported: (its folder, the archive, `pc`, the calls' ids).
/// A user to add: name and password, roles, telephony identities.
type NewUser<'a> = ((&'a str, &'a str), Vec<Role>, Vec<String>);

async fn world(
    users: &[NewUser<'_>],
    calls: Vec<CallSource>,
) -> (
    tempfile::TempDir,
    std::path::PathBuf,
    std::path::PathBuf,
    Vec<String>,
) {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let pc = tmp.path().join("pc");
    session::init_in(
        &archive,
        &pc,
        ROOT.0,
        &Password::new(ROOT.1),
        KdfChoice::Fast,
    )
    .await
    .unwrap();
    let mut root = logon(&archive, &pc, ROOT).await;
    for (u, roles, tel) in users {
        root.add_user(u.0, roles, tel, &Password::new(u.1))
            .await
            .unwrap();
    }
    let rep = root.import_sources(calls).await.unwrap();
    root.close().await;
    let ids = rep.imported.iter().map(|i| i.id.clone()).collect();
    (tmp, archive, pc, ids)
}

/// What a user's own tool holds: uid, secret, key bag.
struct Tool {
    uid: String,
    secret: Key32,
    signing: Key32,
    bag: users::ArchiveSecrets,
}

fn tool(a: &Archive, u: (&str, &str)) -> Tool {
    let uid = users::uid_for(a, u.0).unwrap();
    let rec = users::load_latest(a, &uid).unwrap().unwrap();
    let un = users::unlock(a, &rec, &Password::new(u.1)).unwrap();
    let bag = users::open_keybag(&rec, &un.secret).unwrap();
    Tool {
        signing: users::user_signing_seed(&un.secret),
        uid,
        secret: un.secret,
        bag,
    }
}

impl Tool {
    /// Plant a generation 1 over segment `seq` of `device`, signed by this tool's user, holding
    /// nothing and addressed to nobody; returns its path.
    fn plant_over(&self, a: &Archive, device: &str, seq: u64) -> std::path::PathBuf {
        journal::compact(
            a,
            device,
            seq,
            1,
            &[],
            Some(&[]),
            "not-there.cvj",
            &self.signer(),
            &Readers::Metadata,
        )
        .ok();
        let planted = a.path(&format!(
            "journal/{device}/{}",
            journal::segment_file(seq, 1)
        ));
        assert!(planted.is_file());
        planted
    }

    fn signer(&self) -> Signer<'_> {
        Signer {
            uid: &self.uid,
            seed: &self.signing,
        }
    }

    /// Write `entries` in a journal of the tool's own, sealed to `to` as Callvault seals a
    /// segment to its parties.
    fn write_to(&self, a: &Archive, entries: &[JournalEntry], to: &str) {
        self.write_to_on(a, &"ab".repeat(16), entries, to)
    }

    /// As `write_to`, in journal `device`.
    fn write_to_on(&self, a: &Archive, device: &str, entries: &[JournalEntry], to: &str) {
        let rec = users::load_latest(a, to).unwrap().unwrap();
        let pk: [u8; 32] = crypto::unb64(&rec.signed.public_key, "pk")
            .unwrap()
            .try_into()
            .unwrap();
        journal::append_for(
            a,
            device,
            entries,
            None,
            &self.signer(),
            &Readers::Parties(vec![(to.to_string(), pk)]),
        )
        .unwrap();
    }
}

/// The segments whose header names `uid` among their readers (in the clear), in journal order.
fn addressed_to(a: &Archive, uid: &str) -> Vec<(String, u64)> {
    let mut out = vec![];
    for dev in a.list("journal").unwrap() {
        for (seq, (_, name)) in journal::list_device(a, &dev).unwrap().current {
            let b = a.read(&format!("journal/{dev}/{name}")).unwrap();
            if journal::segment_readers(&b, "t")
                .unwrap()
                .0
                .iter()
                .any(|u| u == uid)
            {
                out.push((dev.clone(), seq));
            }
        }
    }
    out.sort();
    out
}

/// Every user's signing key, from their records on the share.
fn signer_keys(a: &Archive) -> callvault_core::archive::SignerKeys {
    users::list_uids(a)
        .unwrap()
        .into_iter()
        .map(|u| {
            let r = users::load_latest(a, &u).unwrap().unwrap();
            let k: [u8; 32] = crypto::unb64(&r.signed.signing_key, "k")
                .unwrap()
                .try_into()
                .unwrap();
            (u, k)
        })
        .collect()
}

/// The `recording_copy` of `id` for `to`, signed by its importer where it stands (read with a
/// metadata key), authored by `by`.
fn copy_of(a: &Archive, metadata: &Key32, id: &str, to: &str, by: &str) -> JournalEntry {
    let signers = signer_keys(a);
    for dev in a.list("journal").unwrap() {
        for (seq, (gen, name)) in journal::list_device(a, &dev).unwrap().current {
            let rel = format!("journal/{dev}/{name}");
            let Ok((_, entries, Some(sigs))) = journal::open_segment_signed(
                &a.read(&rel).unwrap(),
                &KeyRing::one(metadata),
                &dev,
                seq,
                gen,
                &signers,
                &rel,
            ) else {
                continue;
            };
            for (e, sig) in entries.into_iter().zip(sigs) {
                if let JournalEntry::Recording(m) = e {
                    if m.id == id {
                        return JournalEntry::RecordingCopy(Box::new(journal::RecordingCopy {
                            recording: id.into(),
                            to: to.into(),
                            device: dev.clone(),
                            seq,
                            entry: m,
                            sig,
                            by: by.into(),
                            at: "2026-07-20T10:00:00.000Z".into(),
                        }));
                    }
                }
            }
        }
    }
    panic!("no recording {id}")
}

/// The recordings and request ids a party reader's own index on `data` holds, opened as their
/// own tool can (their secret).
async fn party_index(data: &Path, a: &Archive, t: &Tool) -> (BTreeSet<String>, usize, String) {
    let dir = data.join("archives").join(&a.config.id);
    let df: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("device.json")).unwrap()).unwrap();
    let device = df["device_id"].as_str().unwrap();
    let key = crypto::hkdf(
        t.secret.expose(),
        format!("callvault/v4/party-index/{}/{device}", t.uid).as_bytes(),
    );
    let opts = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(dir.join(format!("index-{}.db", t.uid)))
        .pragma("key", format!("\"x'{}'\"", hex::encode(key.expose())));
    let pool = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(opts)
        .await
        .unwrap();
    let recs: Vec<String> = sqlx::query_scalar("SELECT id FROM recordings")
        .fetch_all(&pool)
        .await
        .unwrap();
    let requests: i64 = sqlx::query_scalar("SELECT count(*) FROM request_events")
        .fetch_one(&pool)
        .await
        .unwrap();
    let metas: Vec<String> = sqlx::query_scalar("SELECT meta FROM recordings")
        .fetch_all(&pool)
        .await
        .unwrap();
    pool.close().await;
    (
        recs.into_iter().collect(),
        requests as usize,
        metas.join("\n"),
    )
}

#[tokio::test]
async fn clinicians_and_staff_read_only_their_own_entries_into_an_index_of_their_own() {
    let (tmp, archive, pc, imported) = world(
        &[
            (SUP, vec![Role::Supervisor], vec![]),
            (CLIN, vec![Role::Clinician], vec!["201".to_string()]),
            (RECEP, vec![Role::Staff], vec!["101".to_string()]),
        ],
        vec![
            call(1, "201"),
            call(2, "101"),
            call(3, "999"),
            call(4, "201"),
        ],
    )
    .await;
    let rep_ids = imported;
    let c: Vec<String> = rep_ids.clone();
    let a = Archive::open(&archive).unwrap();
    assert!(
        a.config.party_readers(),
        "a new archive carries its readers"
    );
    let clin_t = tool(&a, CLIN);
    let recep_t = tool(&a, RECEP);
    // Their key bags: `dedup` alone.
    for t in [&clin_t, &recep_t] {
        assert!(t.bag.get("metadata").is_none(), "{} holds metadata", t.uid);
        assert!(t.bag.get("dedup").is_some());
    }

    // The receptionist raises a request; the supervisor assigns the unassigned call to the
    // clinician.
    let mut recep = logon(&archive, &pc, RECEP).await;
    let rid = recep
        .raise_request(RequestDetails {
            purpose: Some(Purpose::Complaint),
            reason: "caller unhappy with the booking".into(),
            number: Some("07700 900832".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(ids(&recep).await, BTreeSet::from([c[1].clone()]));
    recep.close().await;
    let mut sup = logon(&archive, &pc, SUP).await;
    assert_eq!(ids(&sup).await.len(), 4, "a supervisor searches everything");
    sup.assign(&c[2], CLIN.0).await.unwrap();
    sup.close().await;

    // The clinician, on the same computer: her own calls and the one assigned to her, no
    // request; her index is her own file, and holds nothing else.
    let clin = logon(&archive, &pc, CLIN).await;
    let mine = BTreeSet::from([c[0].clone(), c[2].clone(), c[3].clone()]);
    assert_eq!(ids(&clin).await, mine);
    assert!(clin.requests(None).await.unwrap().is_empty());
    let assigned = clin.show(&c[2]).await.unwrap();
    assert_eq!(assigned.external_number.as_deref(), Some("07700 900833"));
    let e = clin.show(&c[1]).await.unwrap_err();
    assert!(e.is_refusal(), "{e:?}");
    clin.close().await;
    let (recs, requests, metas) = party_index(&pc, &a, &clin_t).await;
    assert_eq!(recs, mine);
    assert_eq!(requests, 0);
    assert!(!metas.contains("900832") && !metas.contains("Party Caller 2"));
    // The receptionist's: her call and her request.
    let recep = logon(&archive, &pc, RECEP).await;
    let reqs = recep.requests(None).await.unwrap();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].id, rid);
    recep.close().await;
    let (recs, requests, _) = party_index(&pc, &a, &recep_t).await;
    assert_eq!(recs, BTreeSet::from([c[1].clone()]));
    assert!(requests >= 1);

    // Attack 1: the supervisor's own tool writes a copy of the receptionist's call for the
    // clinician, with no assignment. A copy alone gives her nothing to see.
    let sup_t = tool(&a, SUP);
    let metadata = sup_t.bag.get("metadata").unwrap().clone();
    sup_t.write_to(
        &a,
        &[copy_of(&a, &metadata, &c[1], &clin_t.uid, &sup_t.uid)],
        &clin_t.uid,
    );
    // Attack 2: the receptionist's own tool (she can read her own call's entry as a party)
    // copies it for the clinician in her own name: she may not assign, so it is refused and named.
    let her_copy = copy_of(&a, &metadata, &c[1], &clin_t.uid, &recep_t.uid);
    recep_t.write_to(&a, &[her_copy], &clin_t.uid);
    let fresh = tmp.path().join("new-pc");
    for data in [&pc, &fresh] {
        let clin = logon(&archive, data, CLIN).await;
        assert_eq!(ids(&clin).await, mine, "on {}", data.display());
        assert!(clin.show(&c[1]).await.unwrap_err().is_refusal());
        assert!(
            clin.warnings
                .iter()
                .any(|w| w.contains("(recording_copy) by") && w.contains(&recep_t.uid)),
            "{:?}",
            clin.warnings
        );
        clin.close().await;
    }

    // Attack 3: the clinician's own tool, holding only her secret and `dedup`, opens no segment
    // about anyone else's call or request.
    let keys = PartyKeys {
        uid: &clin_t.uid,
        secret: &clin_t.secret,
        dedup: clin_t.bag.get("dedup"),
    };
    let signers = signer_keys(&a);
    for dev in a.list("journal").unwrap() {
        for (seq, (gen, name)) in journal::list_device(&a, &dev).unwrap().current {
            let rel = format!("journal/{dev}/{name}");
            let Ok(Some((_, entries, _))) = journal::open_segment_as_party(
                &a.read(&rel).unwrap(),
                &keys,
                &dev,
                seq,
                gen,
                &signers,
                &rel,
            ) else {
                continue;
            };
            for e in entries {
                match &e {
                    JournalEntry::Recording(m) => assert!(mine.contains(&m.id), "{rel}"),
                    JournalEntry::RecordingCopy(x) => assert_eq!(x.to, clin_t.uid, "{rel}"),
                    JournalEntry::Request(r) => panic!("{rel}: request {}", r.request),
                    _ => {}
                }
            }
        }
    }
}

/// A copy stands for its original only where the original would stand: a supervisor who has been
/// disabled keeps her tool and writes a call onto a clinician's extension in her own journal (her
/// signature, her id binding), and a colleague who may assign copies it for the clinician. Each
/// computer refuses both, the copy because its original was written after the disablement.
#[tokio::test]
async fn a_copy_of_what_a_disabled_importer_wrote_after_leaving_is_refused() {
    const SUP2: (&str, &str) = ("sue.super", "sup2-pass-1234");
    let (tmp, archive, pc, imported) = world(
        &[
            (SUP, vec![Role::Supervisor], vec![]),
            (SUP2, vec![Role::Supervisor], vec![]),
            (CLIN, vec![Role::Clinician], vec!["201".to_string()]),
        ],
        vec![call(1, "201")],
    )
    .await;
    let rep_ids = imported;
    let genuine = rep_ids[0].clone();
    let a = Archive::open(&archive).unwrap();
    let sup_t = tool(&a, SUP);
    let clin_t = tool(&a, CLIN);
    let mut root = logon(&archive, &pc, ROOT).await;
    root.update_user(SUP.0, None, Some(true)).await.unwrap();
    root.close().await;

    // Her tool: a call of her making, bound to her and her own journal, sealed to the clinician.
    let metadata = sup_t.bag.get("metadata").unwrap().clone();
    let JournalEntry::RecordingCopy(model) =
        copy_of(&a, &metadata, &genuine, &clin_t.uid, &sup_t.uid)
    else {
        unreachable!()
    };
    let mut fake = *model.entry;
    // (A journal every computer reads before the data controller's, which holds her
    // disablement: the copy is decided once every checkpoint is known, whatever the order.)
    let device = "00".repeat(16);
    let nonce = "5e".repeat(16);
    fake.nonce = Some(nonce.clone());
    fake.imported_by = sup_t.uid.clone();
    fake.id = journal::recording_id(&sup_t.uid, &device, &nonce);
    fake.dedup = "00".repeat(32);
    fake.started_at = "2026-07-09T09:00:00Z".into();
    sup_t.write_to_on(
        &a,
        &device,
        &[JournalEntry::Recording(Box::new(fake.clone()))],
        &clin_t.uid,
    );
    // Her colleague's tool copies it for the clinician, in the colleague's own name.
    let sup2_t = tool(&a, SUP2);
    let forged = copy_of(&a, &metadata, &fake.id, &clin_t.uid, &sup2_t.uid);
    sup2_t.write_to_on(&a, &device, &[forged], &clin_t.uid);

    for data in [pc.clone(), tmp.path().join("new-pc")] {
        let clin = logon(&archive, &data, CLIN).await;
        assert_eq!(ids(&clin).await, BTreeSet::from([genuine.clone()]));
        assert!(
            clin.warnings
                .iter()
                .any(|w| w.contains("its original was written by")
                    && w.contains("after their account was disabled")),
            "{:?}",
            clin.warnings
        );
        clin.close().await;
    }
}

/// A generation planted over a segment addressed to a clinician, by someone who may not compact
/// (a receptionist's own tool), signed by her and addressed to nobody: the clinician's computer is
/// told, and reads the genuine segment once the planted file is gone — it is never taken as read.
#[tokio::test]
async fn a_generation_planted_over_a_partys_segment_is_named_and_hides_nothing_for_good() {
    let (tmp, archive, _pc, imported) = world(
        &[
            (CLIN, vec![Role::Clinician], vec!["201".to_string()]),
            (RECEP, vec![Role::Staff], vec!["101".to_string()]),
        ],
        vec![call(1, "201"), call(2, "101")],
    )
    .await;
    let rep_ids = imported;
    let mine = rep_ids[0].clone();
    let a = Archive::open(&archive).unwrap();
    let clin_t = tool(&a, CLIN);
    let recep_t = tool(&a, RECEP);
    // The segment that holds the clinician's call, found by its header (its readers are named in
    // the clear).
    let (dev, seq) = addressed_to(&a, &clin_t.uid)[0].clone();
    let planted = recep_t.plant_over(&a, &dev, seq);
    assert!(planted.is_file());

    let fresh = tmp.path().join("new-pc");
    let clin = logon(&archive, &fresh, CLIN).await;
    assert!(ids(&clin).await.is_empty());
    assert!(
        clin.warnings.iter().any(|w| w.contains(&format!(
            "compacted by {}, who is not a supervisor or data controller",
            recep_t.uid
        ))),
        "{:?}",
        clin.warnings
    );
    clin.close().await;
    std::fs::remove_file(&planted).unwrap();
    let clin = logon(&archive, &fresh, CLIN).await;
    assert_eq!(ids(&clin).await, BTreeSet::from([mine]));
    clin.close().await;
}

/// A party reader's own index leaves the computer with them: at the refused logon of their
/// disabled account, and at their first logon after a promotion gives them the metadata key.
#[tokio::test]
async fn a_party_index_goes_when_its_owner_is_disabled_or_promoted() {
    let (_tmp, archive, pc, _) = world(
        &[
            (CLIN, vec![Role::Clinician], vec!["201".to_string()]),
            (RECEP, vec![Role::Staff], vec!["101".to_string()]),
        ],
        vec![call(1, "201"), call(2, "101")],
    )
    .await;
    let a = Archive::open(&archive).unwrap();
    let dir = pc.join("archives").join(&a.config.id);
    let file = |u: (&str, &str)| dir.join(format!("index-{}.db", users::uid_for(&a, u.0).unwrap()));
    for u in [CLIN, RECEP] {
        logon(&archive, &pc, u).await.close().await;
        assert!(file(u).is_file(), "{}", u.0);
    }
    let mut root = logon(&archive, &pc, ROOT).await;
    root.update_user(CLIN.0, None, Some(true)).await.unwrap();
    root.set_roles(RECEP.0, &[Role::Supervisor]).await.unwrap();
    root.close().await;
    assert!(
        Session::logon_in(&archive, &pc, CLIN.0, &Password::new(CLIN.1))
            .await
            .is_err()
    );
    assert!(!file(CLIN).exists());
    let sup = logon(&archive, &pc, RECEP).await;
    assert_eq!(ids(&sup).await.len(), 2, "a supervisor now: every call");
    sup.close().await;
    assert!(!file(RECEP).exists());
}

/// An assignment read before its call reaches a party reader (here: a generation planted over the
/// copy's segment, named and not taken as read) is kept, not dropped: once the copy can be read,
/// the call assigned is hers.
#[tokio::test]
async fn an_assignment_waits_for_its_call_across_syncs() {
    let (tmp, archive, pc, imported) = world(
        &[
            (SUP, vec![Role::Supervisor], vec![]),
            (CLIN, vec![Role::Clinician], vec!["201".to_string()]),
            (RECEP, vec![Role::Staff], vec!["101".to_string()]),
        ],
        vec![call(5, "999")],
    )
    .await;
    let rep_ids = imported;
    let id = rep_ids[0].clone();
    let mut sup = logon(&archive, &pc, SUP).await;
    sup.assign(&id, CLIN.0).await.unwrap();
    sup.close().await;
    let a = Archive::open(&archive).unwrap();
    let clin_t = tool(&a, CLIN);
    let recep_t = tool(&a, RECEP);
    // The segments addressed to her: the copy, then the assignment.
    let hers = addressed_to(&a, &clin_t.uid);
    assert_eq!(hers.len(), 2, "{hers:?}");
    let (dev, seq) = hers[0].clone();
    let planted = recep_t.plant_over(&a, &dev, seq);
    let fresh = tmp.path().join("new-pc");
    let clin = logon(&archive, &fresh, CLIN).await;
    assert!(ids(&clin).await.is_empty());
    assert!(
        clin.warnings.iter().any(|w| w.contains("compacted by")),
        "{:?}",
        clin.warnings
    );
    clin.close().await;
    std::fs::remove_file(&planted).unwrap();
    let clin = logon(&archive, &fresh, CLIN).await;
    assert_eq!(ids(&clin).await, BTreeSet::from([id.clone()]));
    assert_eq!(
        clin.show(&id).await.unwrap().external_number.as_deref(),
        Some("07700 900835")
    );
    clin.close().await;
}
