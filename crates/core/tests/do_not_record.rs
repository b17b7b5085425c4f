//! The do-not-record list (issue 23, item 2): numbers and extensions whose calls are not kept.
//! The data controller lists a union representative's number and the staff room's extension; an
//! import and an unattended ingest then store nothing of their calls — no audio object, no journal
//! entry, no number anywhere on the share or in the audit trail — and say how many were not kept.
//! Attacks: a supervisor who writes a list of her own (to keep her calls out of the archive) is
//! not believed and her calls are kept; the newest version removed from the share stops imports
//! on a computer that saw it; only the data controller may read or change the list.

use callvault_core::archive::journal::Direction;
use callvault_core::archive::{Archive, Signer};
use callvault_core::dnr::{self, Kind};
use callvault_core::ingest::unattended::{self, IngestSession, Outcome};
use callvault_core::ingest::CallSource;
use callvault_core::policy::Role;
use callvault_core::secret::Password;
use callvault_core::session::{self, AuditFilter, KdfChoice, SearchQuery, Session};
use callvault_core::users;
use callvault_core::Error;
use callvault_testkit::demo::{speechlike, wav_g711};
use chrono::{TimeZone, Utc};
use std::path::{Path, PathBuf};

const DC: (&str, &str) = ("dana.dc", "dc-pass-1234");
const SUP: (&str, &str) = ("sid.super", "sup-pass-1234");
const CLIN: (&str, &str) = ("dr.cal.one", "clin-pass-1234");

/// The union representative's mobile, as the data controller types it.
const UNION: &str = "07700 900461";
/// The staff room's extension.
const STAFF_ROOM: &str = "250";
/// The supervisor's own mobile, which she would rather nobody heard.
const HERS: &str = "07700 900462";

struct World {
    tmp: tempfile::TempDir,
    archive: PathBuf,
    data: PathBuf,
}

/// A call: `i` seeds its audio and its day; from `number`, taken on extension `ext`.
fn call(i: u32, number: &str, ext: &str) -> CallSource {
    CallSource {
        name: format!("in-{}-{ext}-{i}.wav", number.replace(' ', "")),
        bytes: wav_g711(8000, &speechlike(8000, 2, 40 + i), true),
        started_at: Utc.with_ymd_and_hms(2026, 3, 1 + i, 10, 0, 0).unwrap(),
        direction: Direction::Inbound,
        staff: None,
        extension: Some(ext.into()),
        external_number: Some(number.into()),
        parties: vec![format!("Caller {i}")],
        notes: None,
        nhs_numbers: vec![],
        conversation: None,
    }
}

impl World {
    async fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("archive");
        let data = tmp.path().join("pm-pc");
        session::init_in(&archive, &data, DC.0, &Password::new(DC.1), KdfChoice::Fast)
            .await
            .unwrap();
        let mut s = w_logon(&archive, &data, DC).await.unwrap();
        s.add_user(SUP.0, &[Role::Supervisor], &[], &Password::new(SUP.1))
            .await
            .unwrap();
        s.add_user(
            CLIN.0,
            &[Role::Clinician],
            &["201".to_string()],
            &Password::new(CLIN.1),
        )
        .await
        .unwrap();
        s.close().await;
        World { tmp, archive, data }
    }

    async fn logon(&self, u: (&str, &str)) -> Result<Session, Error> {
        w_logon(&self.archive, &self.data, u).await
    }
}

async fn w_logon(archive: &Path, data: &Path, u: (&str, &str)) -> Result<Session, Error> {
    Session::logon_in(archive, data, u.0, &Password::new(u.1)).await
}

/// Every audio object on the share.
fn audio_objects(archive: &Path) -> usize {
    walk(&archive.join("rec"))
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "cva"))
        .count()
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

/// The number in every form a file could hold it: digits, spaced, international.
fn forms(number: &str) -> Vec<Vec<u8>> {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    vec![
        digits.clone().into_bytes(),
        number.as_bytes().to_vec(),
        format!("+44{}", &digits[1..]).into_bytes(),
    ]
}

fn holds(bytes: &[u8], needle: &[u8]) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test]
async fn listed_calls_leave_nothing_and_the_rest_are_kept() {
    let w = World::new().await;
    let mut dc = w.logon(DC).await.unwrap();
    // Only the data controller keeps the list: a supervisor is refused, and the refusal audited.
    let mut sup = w.logon(SUP).await.unwrap();
    let e = sup
        .do_not_record_add(Kind::Number, UNION, "union representative")
        .unwrap_err();
    assert!(matches!(e, Error::Forbidden(_)), "{e}");
    assert!(matches!(
        sup.do_not_record_list().unwrap_err(),
        Error::Forbidden(_)
    ));
    sup.close().await;
    // Bad input, named.
    let e = dc.do_not_record_add(Kind::Number, UNION, "  ").unwrap_err();
    assert!(e.to_string().contains("field 'label'"), "{e}");
    let e = dc
        .do_not_record_add(Kind::Number, "anonymous", "x")
        .unwrap_err();
    assert!(e.to_string().contains("field 'number'"), "{e}");
    let union = dc
        .do_not_record_add(Kind::Number, UNION, "union representative")
        .unwrap();
    dc.do_not_record_add(Kind::Extension, STAFF_ROOM, "staff room phone")
        .unwrap();
    // The same number in another format is the same entry.
    let e = dc
        .do_not_record_add(Kind::Number, "+44 7700 900461", "again")
        .unwrap_err();
    assert!(e.to_string().contains(&union), "{e}");
    let list = dc.do_not_record_list().unwrap();
    assert_eq!(list.version, 2, "two versions written");
    let labels: Vec<&str> = list.entries.iter().map(|e| e.label.as_str()).collect();
    assert_eq!(labels, ["union representative", "staff room phone"]);
    assert!(list.entries.iter().all(|e| e.added_by == DC.0));
    dc.close().await;

    // The supervisor imports four calls: one from the union representative (formatted as the
    // phone system writes it), one taken in the staff room, two others.
    let mut sup = w.logon(SUP).await.unwrap();
    let rep = sup
        .import_sources(vec![
            call(1, "+447700900461", "201"),
            call(2, "01632 960101", STAFF_ROOM),
            call(3, "01632 960102", "201"),
            call(4, "07700 900463", "201"),
        ])
        .await
        .unwrap();
    assert_eq!(rep.imported.len(), 2, "{rep:?}");
    assert_eq!(rep.not_kept, 2);
    assert!(rep.warnings.is_empty(), "{:?}", rep.warnings);
    assert!(rep.imported.iter().all(|i| !i.file.contains("900461")));
    assert_eq!(audio_objects(&w.archive), 2);
    let found = sup
        .search(&SearchQuery {
            limit: Some(100),
            ..Default::default()
        })
        .await
        .unwrap();
    let numbers: Vec<&str> = found
        .iter()
        .filter_map(|r| r.external_number.as_deref())
        .collect();
    assert_eq!(numbers.len(), 2);
    assert!(numbers
        .iter()
        .all(|n| !n.contains("900461") && !n.contains("960101")));
    sup.close().await;

    // Nothing of the listed calls anywhere: not in any file on the share or on the computer (the
    // list holds keyed hashes), not in the decrypted journals, not in the audit trail.
    for p in walk(&w.archive).into_iter().chain(walk(&w.data)) {
        let b = std::fs::read(&p).unwrap();
        for f in forms(UNION) {
            assert!(!holds(&b, &f), "{} holds the listed number", p.display());
        }
        assert!(!holds(&b, b"union representative"), "{}", p.display());
    }
    let dc = w.logon(DC).await.unwrap();
    let dump = dc.journal_dump().await.unwrap();
    for f in forms(UNION).into_iter().chain(forms("01632 960101")) {
        assert!(!holds(dump.as_bytes(), &f));
    }
    assert!(dump.contains("01632960102") || dump.contains("01632 960102"));
    let trail = dc.audit_list(&AuditFilter::default()).await.unwrap();
    let text = serde_json::to_string(&trail).unwrap();
    for f in forms(UNION) {
        assert!(!holds(text.as_bytes(), &f));
    }
    assert!(
        text.contains("not kept (do-not-record list) 2"),
        "the import's audit entry says how many"
    );
    assert!(text.contains("dnr.change") && text.contains("dnr.list"));
    dc.close().await;

    // Taken off the list, the union representative's next call is kept.
    let mut dc = w.logon(DC).await.unwrap();
    assert_eq!(dc.do_not_record_remove("07700900461").unwrap(), union);
    let rep = dc
        .import_sources(vec![call(5, UNION, "201")])
        .await
        .unwrap();
    assert_eq!((rep.imported.len(), rep.not_kept), (1, 0));
    let e = dc.do_not_record_remove(&union).unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e}");
    dc.close().await;
}

/// A user's own tool (her secrets from her own record, and the share) writes the list's next
/// version, listing `numbers`, signed with her own key.
fn plant_version(a: &Archive, u: (&str, &str), numbers: &[&str]) {
    let uid = users::uid_for(a, u.0).unwrap();
    let rec = users::load_latest(a, &uid).unwrap().unwrap();
    let un = users::unlock(a, &rec, &Password::new(u.1)).unwrap();
    let keys = dnr::Keys::from_dedup(un.secrets.require("dedup").unwrap());
    let seed = users::user_signing_seed(&un.secret);
    let entries = numbers
        .iter()
        .map(|n| dnr::Entry {
            id: "mine".into(),
            kind: Kind::Number,
            hash: keys.hash(Kind::Number, n).unwrap(),
            label: "private".into(),
            by: uid.clone(),
            at: "2026-03-01T00:00:00Z".into(),
        })
        .collect();
    let current = dnr::read(a, &keys, &|_| Err("not trusted".to_string())).unwrap();
    let signer = Signer {
        uid: &uid,
        seed: &seed,
    };
    dnr::write(a, &keys, &signer, &current, current.highest + 1, entries).unwrap();
}

#[tokio::test]
async fn a_list_written_by_anyone_but_the_data_controller_keeps_nothing_out() {
    let w = World::new().await;
    let a = Archive::open(&w.archive).unwrap();
    // The supervisor writes the next version herself, listing her own mobile, signed with her
    // own key (readers would refuse an unsigned one anyway).
    plant_version(&a, SUP, &[HERS]);
    let mut sup = w.logon(SUP).await.unwrap();
    let rep = sup
        .import_sources(vec![call(1, HERS, "201"), call(2, "01632 960103", "201")])
        .await
        .unwrap();
    assert_eq!((rep.imported.len(), rep.not_kept), (2, 0), "{rep:?}");
    assert!(
        rep.warnings
            .iter()
            .any(|w| w.contains("dnr/00000001.cvd") && w.contains("not the data controller")),
        "{:?}",
        rep.warnings
    );
    sup.close().await;
    // The data controller sees it named, and her own next version replaces it.
    let mut dc = w.logon(DC).await.unwrap();
    let list = dc.do_not_record_list().unwrap();
    assert!(list.entries.is_empty());
    assert!(list.problems.iter().any(|p| p.contains("00000001")));
    dc.do_not_record_add(Kind::Number, UNION, "union representative")
        .unwrap();
    assert_eq!(dc.do_not_record_list().unwrap().version, 2);
    // Bytes altered in her version: not believed, and this computer, which saw it, stores
    // nothing until she saves the list again (her list names why).
    let p = w.archive.join("dnr/00000002.cvd");
    let mut b = std::fs::read(&p).unwrap();
    let n = b.len();
    b[n - 70] ^= 1;
    std::fs::write(&p, &b).unwrap();
    let before = audio_objects(&w.archive);
    let e = dc
        .import_sources(vec![call(3, UNION, "201")])
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Tampered { .. }) && e.to_string().contains("replaced or altered"),
        "{e}"
    );
    assert_eq!(audio_objects(&w.archive), before);
    let list = dc.do_not_record_list().unwrap();
    assert!(
        list.problems
            .iter()
            .any(|p| p.contains("00000002") && p.contains("signature")),
        "{:?}",
        list.problems
    );
    dc.do_not_record_add(Kind::Number, UNION, "union representative")
        .unwrap();
    let rep = dc
        .import_sources(vec![call(3, UNION, "201"), call(4, "01632 960105", "201")])
        .await
        .unwrap();
    assert_eq!((rep.imported.len(), rep.not_kept), (1, 1));
    dc.close().await;
}

#[tokio::test]
async fn the_newest_version_removed_stops_imports_on_a_computer_that_saw_it() {
    let w = World::new().await;
    let mut dc = w.logon(DC).await.unwrap();
    dc.do_not_record_add(Kind::Number, UNION, "union representative")
        .unwrap();
    dc.do_not_record_add(Kind::Number, "07700 900464", "employee assistance line")
        .unwrap();
    dc.close().await;
    // Someone with write access removes the newest version, to bring the employee-assistance
    // line's calls back into the archive.
    std::fs::remove_file(w.archive.join("dnr/00000002.cvd")).unwrap();
    let before = audio_objects(&w.archive);
    let mut dc = w.logon(DC).await.unwrap();
    let e = dc
        .import_sources(vec![call(1, "07700 900464", "201")])
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::Tampered { .. }) && e.to_string().contains("gone from the share"),
        "{e}"
    );
    assert_eq!(audio_objects(&w.archive), before, "nothing stored");
    // Nor when a version of someone else's making is planted above it.
    std::fs::write(w.archive.join("dnr/00000003.cvd"), b"junk").unwrap();
    let e = dc
        .import_sources(vec![call(1, "07700 900464", "201")])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("gone from the share"), "{e}");
    assert_eq!(audio_objects(&w.archive), before, "nothing stored");
    // The data controller saves the list again (as she sees it, adding the line back): imports
    // go on, and the line's calls are not kept.
    dc.do_not_record_add(Kind::Number, "07700 900464", "employee assistance line")
        .unwrap();
    let rep = dc
        .import_sources(vec![call(1, "07700 900464", "201")])
        .await
        .unwrap();
    assert_eq!((rep.imported.len(), rep.not_kept), (0, 1));
    dc.close().await;
}

#[tokio::test]
async fn the_unattended_ingest_drops_a_listed_call_before_storing_anything() {
    let w = World::new().await;
    let mut dc = w.logon(DC).await.unwrap();
    dc.do_not_record_add(Kind::Number, UNION, "union representative")
        .unwrap();
    let profile = w.tmp.path().join("ingest.json");
    unattended::export_profile(&mut dc, "ingest.pbx", &profile)
        .await
        .unwrap();
    dc.close().await;
    let state = w.tmp.path().join("ingest-state");
    std::fs::create_dir_all(&state).unwrap();
    let mut ing = IngestSession::open(&profile, None, &state).unwrap();
    let before = audio_objects(&w.archive);
    assert_eq!(
        ing.import(call(1, "+44 7700 900461", "201")).unwrap(),
        Outcome::NotKept
    );
    assert_eq!(audio_objects(&w.archive), before);
    let kept = ing.import(call(2, "01632 960104", "201")).unwrap();
    assert!(matches!(kept, Outcome::Imported { .. }), "{kept:?}");
    assert_eq!(audio_objects(&w.archive), before + 1);
    // A version by the supervisor (not the data controller) is not believed by the ingest
    // either: taking the union representative off that way keeps nothing more.
    plant_version(&Archive::open(&w.archive).unwrap(), SUP, &[]);
    assert_eq!(ing.import(call(3, UNION, "201")).unwrap(), Outcome::NotKept);
    // The share holds no trace of the number; the audit trail says a call was not kept.
    for p in walk(&w.archive) {
        let b = std::fs::read(&p).unwrap();
        for f in forms(UNION) {
            assert!(!holds(&b, &f), "{}", p.display());
        }
    }
    let dc = w.logon(DC).await.unwrap();
    let trail = dc.audit_list(&AuditFilter::default()).await.unwrap();
    let not_kept = trail
        .iter()
        .filter(|e| {
            e.detail
                .as_deref()
                .is_some_and(|d| d.contains("1 call not kept (do-not-record list)"))
        })
        .count();
    assert_eq!(not_kept, 2);
    dc.close().await;
}
