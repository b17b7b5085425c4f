//! Staff breach self-reports (issue 23, item 3): a receptionist reports that she played a call to
//! the wrong caller; the report reaches the line manager's (a supervisor's) and the data
//! controller's overview and nobody else's; the data controller assesses it (not reportable to the
//! ICO) and closes it; the receptionist follows its state. Bad input is named; the report's words
//! are nowhere in the clear on the share or in the audit trail; an assessment or a report written
//! by the wrong person with a tool of their own counts for nothing.

use callvault_core::archive::journal::{self, Direction, JournalEntry};
use callvault_core::archive::{Archive, Signer};
use callvault_core::breach::{BreachEntry, BreachEvent, BreachState};
use callvault_core::ingest::CallSource;
use callvault_core::policy::Role;
use callvault_core::secret::Password;
use callvault_core::session::{self, AuditFilter, KdfChoice, Session};
use callvault_core::users;
use callvault_core::Error;
use callvault_testkit::demo::{speechlike, wav_g711};
use chrono::{TimeZone, Utc};
use std::path::{Path, PathBuf};

const DC: (&str, &str) = ("dana.dc", "dc-pass-1234");
const SUP: (&str, &str) = ("sid.super", "sup-pass-1234");
const GP: (&str, &str) = ("dr.gwen.partner", "gp-pass-1234");
const CLIN: (&str, &str) = ("dr.cal.one", "clin-pass-1234");
const STAFF: (&str, &str) = ("rae.reception", "staff-pass-1234");

const WHAT: &str = "I played a patient's call back to the wrong caller on the front desk phone";

struct World {
    _tmp: tempfile::TempDir,
    archive: PathBuf,
    data: PathBuf,
    call: String,
}

impl World {
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
            (GP, vec![Role::Approver], vec![]),
            (CLIN, vec![Role::Clinician], vec!["201"]),
            (STAFF, vec![Role::Staff], vec!["101"]),
        ] {
            let tel: Vec<String> = tel.into_iter().map(String::from).collect();
            s.add_user(u.0, &roles, &tel, &Password::new(u.1))
                .await
                .unwrap();
        }
        let rep = s
            .import_sources(vec![CallSource {
                name: "c1.wav".into(),
                bytes: wav_g711(8000, &speechlike(8000, 2, 7), true),
                started_at: Utc.with_ymd_and_hms(2026, 3, 2, 10, 0, 0).unwrap(),
                direction: Direction::Inbound,
                staff: None,
                extension: Some("101".into()),
                external_number: Some("07700 900481".into()),
                parties: vec![],
                notes: None,
                nhs_numbers: vec![],
                conversation: None,
            }])
            .await
            .unwrap();
        let call = rep.imported[0].id.clone();
        s.close().await;
        World {
            _tmp: tmp,
            archive,
            data,
            call,
        }
    }

    async fn as_(&self, u: (&str, &str)) -> Session {
        Session::logon_in(&self.archive, &self.data, u.0, &Password::new(u.1))
            .await
            .unwrap()
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

async fn open_reports(w: &World, u: (&str, &str)) -> Vec<String> {
    let s = w.as_(u).await;
    let o = s.overview().await.unwrap();
    s.close().await;
    o.breaches.into_iter().map(|b| b.id).collect()
}

#[tokio::test]
async fn a_receptionists_report_reaches_her_line_manager_and_the_data_controller_only() {
    let w = World::new().await;
    let mut staff = w.as_(STAFF).await;
    // Bad input, named, and nothing stored.
    let e = staff.report_breach("  ", None, &[]).await.unwrap_err();
    assert!(e.to_string().contains("field 'what'"), "{e}");
    let e = staff
        .report_breach(WHAT, None, &["not-an-id".into()])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("field 'call'"), "{e}");
    let e = staff
        .report_breach(WHAT, Some("2099-01-01"), &[])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("in the future"), "{e}");
    let e = staff
        .report_breach(WHAT, Some("last tuesday"), &[])
        .await
        .unwrap_err();
    assert!(e.to_string().contains("field 'when'"), "{e}");
    assert!(staff.breaches().await.unwrap().is_empty());
    let id = staff
        .report_breach(
            WHAT,
            Some("2026-03-02T10:05"),
            std::slice::from_ref(&w.call),
        )
        .await
        .unwrap();
    let mine = staff.breaches().await.unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].state, BreachState::Received);
    assert!(mine[0].own && mine[0].what == WHAT && mine[0].calls == std::slice::from_ref(&w.call));
    assert_eq!(mine[0].happened_at.as_deref(), Some("2026-03-02T10:05:00Z"));
    assert!(!mine[0].overdue && mine[0].due.is_some());
    staff.close().await;

    // On the overviews of the line manager and the data controller; not on a clinician's, an
    // approver's; on the reporter's own.
    assert_eq!(open_reports(&w, SUP).await, std::slice::from_ref(&id));
    assert_eq!(open_reports(&w, DC).await, std::slice::from_ref(&id));
    assert_eq!(open_reports(&w, STAFF).await, std::slice::from_ref(&id));
    assert!(open_reports(&w, CLIN).await.is_empty());
    assert!(open_reports(&w, GP).await.is_empty());
    let clin = w.as_(CLIN).await;
    assert!(clin.breaches().await.unwrap().is_empty());
    let e = clin.breach(&id).await.unwrap_err();
    assert!(e.is_refusal(), "{e}");
    clin.close().await;

    // The supervisor sees it but may not assess it; the data controller cannot close it before
    // assessing it.
    let mut sup = w.as_(SUP).await;
    assert_eq!(sup.breach(&id).await.unwrap().reporter, STAFF.0);
    let e = sup.assess_breach(&id, false, "fine").await.unwrap_err();
    assert!(matches!(e, Error::Forbidden(_)), "{e}");
    sup.close().await;
    let mut dc = w.as_(DC).await;
    let e = dc.close_breach(&id, "done").await.unwrap_err();
    assert!(e.to_string().contains("once assessed"), "{e}");
    dc.assess_breach(
        &id,
        false,
        "the caller was the patient's registered next of kin",
    )
    .await
    .unwrap();
    let b = dc.breach(&id).await.unwrap();
    assert_eq!(
        (b.state, b.reportable),
        (BreachState::Assessed, Some(false))
    );
    assert_eq!(b.assessed_by.as_deref(), Some(DC.0));
    dc.close_breach(&id, "reminded the desk of the policy")
        .await
        .unwrap();
    dc.close().await;
    let staff = w.as_(STAFF).await;
    let b = staff.breach(&id).await.unwrap();
    assert_eq!(b.state, BreachState::Closed);
    assert_eq!(b.note.as_deref(), Some("reminded the desk of the policy"));
    staff.close().await;
    assert!(
        open_reports(&w, SUP).await.is_empty(),
        "closed: off the overview"
    );

    // Its words are nowhere in the clear: not on the share, not on the computer, not in the
    // audit trail (which names the report and the call).
    for p in walk(&w.archive).into_iter().chain(walk(&w.data)) {
        let bytes = std::fs::read(&p).unwrap();
        assert!(
            !bytes.windows(20).any(|x| x == &WHAT.as_bytes()[..20]),
            "{}",
            p.display()
        );
    }
    let dc = w.as_(DC).await;
    let trail = dc.audit_list(&AuditFilter::default()).await.unwrap();
    let text = serde_json::to_string(&trail).unwrap();
    assert!(!text.contains("wrong caller"));
    let reported = trail
        .iter()
        .find(|e| e.action == "breach.report")
        .expect("the report is audited");
    assert_eq!(reported.targets, std::slice::from_ref(&w.call));
    assert!(reported.detail.as_deref().unwrap().contains(&id));
    assert!(trail
        .iter()
        .any(|e| e.action == "breach.assess" && e.outcome == "refused"));
    dc.close().await;
}

/// A user's own tool: their secrets from their own record.
fn signer_of(a: &Archive, u: (&str, &str)) -> (String, callvault_core::secret::Key32) {
    let uid = users::uid_for(a, u.0).unwrap();
    let rec = users::load_latest(a, &uid).unwrap().unwrap();
    let un = users::unlock(a, &rec, &Password::new(u.1)).unwrap();
    (uid, users::user_signing_seed(&un.secret))
}

#[tokio::test]
async fn an_assessment_or_a_report_in_someone_elses_name_counts_for_nothing() {
    let w = World::new().await;
    let mut staff = w.as_(STAFF).await;
    let id = staff.report_breach(WHAT, None, &[]).await.unwrap();
    staff.close().await;
    let a = Archive::open(&w.archive).unwrap();
    // The receptionist closes her own report as "not reportable", with a tool of her own; a
    // clinician writes a report in the receptionist's name.
    let (staff_uid, staff_seed) = signer_of(&a, STAFF);
    let (clin_uid, clin_seed) = signer_of(&a, CLIN);
    let ev = |by: &str, event: BreachEvent, breach: &str| {
        JournalEntry::Breach(Box::new(BreachEntry {
            breach: breach.into(),
            reporter: staff_uid.clone(),
            event,
            by: by.into(),
            at: Utc::now().to_rfc3339(),
        }))
    };
    journal::append(
        &a,
        &"ee".repeat(16),
        &[ev(
            &staff_uid,
            BreachEvent::Assessed {
                reportable: false,
                reason: "nothing to see".into(),
            },
            &id,
        )],
        &Signer {
            uid: &staff_uid,
            seed: &staff_seed,
        },
    )
    .unwrap();
    let forged = "ab".repeat(16);
    journal::append(
        &a,
        &"ef".repeat(16),
        &[ev(
            &clin_uid,
            BreachEvent::Reported {
                nonce: "n".into(),
                what: "the receptionist shared a recording on social media".into(),
                happened_at: None,
                calls: vec![],
            },
            &forged,
        )],
        &Signer {
            uid: &clin_uid,
            seed: &clin_seed,
        },
    )
    .unwrap();
    // The clinician also writes a report of her own under the receptionist's report's id, dated
    // before it, to take it over (its words, and the assessment sent to her).
    journal::append(
        &a,
        &"f0".repeat(16),
        &[JournalEntry::Breach(Box::new(BreachEntry {
            breach: id.clone(),
            reporter: clin_uid.clone(),
            event: BreachEvent::Reported {
                nonce: "n".into(),
                what: "nothing happened".into(),
                happened_at: None,
                calls: vec![],
            },
            by: clin_uid.clone(),
            at: "2000-01-01T00:00:00.000Z".into(),
        }))],
        &Signer {
            uid: &clin_uid,
            seed: &clin_seed,
        },
    )
    .unwrap();
    let dc = w.as_(DC).await;
    let list = dc.breaches().await.unwrap();
    assert_eq!(list.len(), 1, "the forged reports are not ones: {list:?}");
    assert_eq!(list[0].id, id);
    assert_eq!(
        (list[0].reporter.as_str(), list[0].what.as_str()),
        (STAFF.0, WHAT)
    );
    assert_eq!(
        list[0].state,
        BreachState::Received,
        "her assessment is ignored"
    );
    assert!(
        dc.warnings.iter().any(|w| w.contains("breach")),
        "{:?}",
        dc.warnings
    );
    dc.close().await;
}
