//! The policy's access workflow, each rule through `Session`: who may decide, separation of duties,
//! approvals naming specific recordings with an expiry and rights, the data controller's cases,
//! clinicians' own calls, consent marks, and every refusal in the audit trail.

use callvault_core::archive::journal::Direction;
use callvault_core::ingest::CallSource;
use callvault_core::policy::Role;
use callvault_core::requests::{ConsentKind, Purpose, RequestDetails, Right, State};
use callvault_core::secret::Password;
use callvault_core::session::{self, AuditFilter, KdfChoice, SearchQuery, Session};
use callvault_core::Error;
use callvault_testkit::demo::{speechlike, wav_g711};
use chrono::{Duration, TimeZone, Utc};
use std::path::PathBuf;

struct World {
    _tmp: tempfile::TempDir,
    archive: PathBuf,
    data: PathBuf,
    calls: Vec<String>,
}

const ADMIN: (&str, &str) = ("dana.dc", "dc-pass-1234");
const GP: (&str, &str) = ("dr.gwen.partner", "gp-pass-1234");
const PBM: (&str, &str) = ("pat.manager", "pbm-pass-1234");
const SUP: (&str, &str) = ("sid.super", "sup-pass-1234");
const CLIN: (&str, &str) = ("dr.cal.one", "clin-pass-1234");
const CLIN2: (&str, &str) = ("dr.cai.two", "clin2-pass-1234");
const STAFF: (&str, &str) = ("rae.reception", "staff-pass-1234");

impl World {
    /// An archive with a data controller, a GP partner and a PBM (approvers), a supervisor, two
    /// clinicians (ext 201, 202), a receptionist (ext 101), and three calls: one per clinician and
    /// one the receptionist took.
    async fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("archive");
        let data = tmp.path().join("device");
        session::init_in(
            &archive,
            &data,
            ADMIN.0,
            &Password::new(ADMIN.1),
            KdfChoice::Fast,
        )
        .await
        .unwrap();
        let mut s = Session::logon_in(&archive, &data, ADMIN.0, &Password::new(ADMIN.1))
            .await
            .unwrap();
        for (u, roles, tel) in [
            (GP, vec![Role::Approver, Role::Clinician], vec!["203"]),
            (PBM, vec![Role::Approver, Role::Supervisor], vec![]),
            (SUP, vec![Role::Supervisor], vec![]),
            (CLIN, vec![Role::Clinician], vec!["201"]),
            (CLIN2, vec![Role::Clinician], vec!["202"]),
            (STAFF, vec![Role::Staff], vec!["101"]),
        ] {
            let tel: Vec<String> = tel.into_iter().map(String::from).collect();
            s.add_user(u.0, &roles, &tel, &Password::new(u.1))
                .await
                .unwrap();
        }
        let call = |i: u32, ext: &str, number: &str| CallSource {
            name: format!("c{i}.wav"),
            bytes: wav_g711(8000, &speechlike(8000, 2, i), true),
            started_at: Utc.with_ymd_and_hms(2025, 5, 1 + i, 10, 0, 0).unwrap(),
            direction: Direction::Inbound,
            staff: None,
            extension: Some(ext.into()),
            external_number: Some(number.into()),
            parties: vec![format!("Caller {i}")],
            notes: None,
            nhs_numbers: vec![],
            conversation: None,
        };
        let rep = s
            .import_sources(vec![
                call(1, "201", "07700 900501"),
                call(2, "202", "07700 900502"),
                call(3, "101", "07700 900503"),
            ])
            .await
            .unwrap();
        let calls = rep.imported.iter().map(|i| i.id.clone()).collect();
        s.close().await;
        World {
            _tmp: tmp,
            archive,
            data,
            calls,
        }
    }

    async fn as_(&self, u: (&str, &str)) -> Session {
        Session::logon_in(&self.archive, &self.data, u.0, &Password::new(u.1))
            .await
            .unwrap()
    }
}

fn details(p: Purpose) -> RequestDetails {
    RequestDetails {
        purpose: Some(p),
        reason: "patient complaint about the call on 2 May".into(),
        number: Some("+447700900502".into()),
        ..Default::default()
    }
}

/// A refusal of something this user's index does not hold: a clinician or staff member reads only
/// the journal entries addressed to them, so a colleague's call or request is not there at all.
#[track_caller]
fn unseen<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    match r {
        Err(Error::NotFound(m)) => m,
        other => panic!("expected 'not found', got {other:?}"),
    }
}

#[track_caller]
fn forbidden<T: std::fmt::Debug>(r: Result<T, Error>) -> String {
    match r {
        Err(Error::Forbidden(m)) => m,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

async fn refusals(w: &World, request: Option<&str>) -> Vec<(String, String)> {
    let s = w.as_(ADMIN).await;
    let f = AuditFilter {
        request: request.map(String::from),
        ..Default::default()
    };
    let out = s
        .audit_list(&f)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.outcome == "refused")
        .map(|e| (e.action, e.detail.unwrap_or_default()))
        .collect();
    s.close().await;
    out
}

#[tokio::test]
async fn an_approver_cannot_approve_their_own_request_and_it_is_audited() {
    let w = World::new().await;
    let mut gp = w.as_(GP).await;
    let rid = gp.raise_request(details(Purpose::Complaint)).await.unwrap();
    // The request's details find the call as a candidate.
    let view = gp.request(&rid).await.unwrap();
    assert_eq!(view.candidates.len(), 1);
    assert_eq!(view.candidates[0].id, w.calls[1]);
    let m = forbidden(
        gp.approve(
            &rid,
            &[w.calls[1].clone()],
            Utc::now() + Duration::days(30),
            &[Right::Listen],
        )
        .await,
    );
    assert!(m.contains("you raised it"), "{m}");
    gp.close().await;
    // A clinician cannot decide at all (nor read another's request); the PBM can.
    let mut clin = w.as_(CLIN).await;
    unseen(
        clin.approve(
            &rid,
            &[w.calls[1].clone()],
            Utc::now() + Duration::days(30),
            &[Right::Listen],
        )
        .await,
    );
    clin.close().await;
    let mut pbm = w.as_(PBM).await;
    pbm.approve(
        &rid,
        &[w.calls[1].clone()],
        Utc::now() + Duration::days(30),
        &[Right::Listen],
    )
    .await
    .unwrap();
    assert_eq!(pbm.request(&rid).await.unwrap().state, State::Approved);
    // Deciding twice is refused.
    forbidden(pbm.reject(&rid, "changed my mind").await);
    pbm.close().await;
    // The requester may now listen to that call, and only that call, and only listen.
    let gp = w.as_(GP).await;
    let g = gp
        .authorize(&w.calls[1], Right::Listen, Some(&rid), None)
        .await
        .unwrap();
    assert_eq!(g.request.as_deref(), Some(rid.as_str()));
    forbidden(
        gp.authorize(&w.calls[0], Right::Listen, Some(&rid), None)
            .await,
    );
    forbidden(
        gp.authorize(&w.calls[1], Right::Export, Some(&rid), None)
            .await,
    );
    gp.close().await;
    // Someone else may not use the GP's approval.
    let sup = w.as_(SUP).await;
    forbidden(
        sup.authorize(&w.calls[1], Right::Listen, Some(&rid), None)
            .await,
    );
    sup.close().await;
    let r = refusals(&w, Some(&rid)).await;
    assert!(
        r.iter()
            .any(|(a, d)| a == "request.decide" && d.contains("you raised it")),
        "{r:?}"
    );
    assert!(r.iter().any(|(a, _)| a == "request.decide"), "{r:?}");
    assert!(
        r.iter()
            .filter(|(a, _)| a == "recording.listen" || a == "recording.export")
            .count()
            >= 3,
        "{r:?}"
    );
}

#[tokio::test]
async fn a_supervisor_needs_an_approved_request_and_an_expired_one_is_refused() {
    let w = World::new().await;
    let sup = w.as_(SUP).await;
    let m = forbidden(
        sup.authorize(&w.calls[0], Right::Listen, None, Some("just checking"))
            .await,
    );
    assert!(m.contains("approved request"), "{m}");
    sup.close().await;
    let mut sup = w.as_(SUP).await;
    let rid = sup.raise_request(details(Purpose::Training)).await.unwrap();
    // Open, not approved yet.
    assert!(forbidden(
        sup.authorize(&w.calls[0], Right::Listen, Some(&rid), None)
            .await
    )
    .contains("not approved"));
    sup.close().await;
    let mut gp = w.as_(GP).await;
    gp.approve(
        &rid,
        &[w.calls[0].clone()],
        Utc::now() + Duration::milliseconds(1500),
        &[Right::Listen, Right::Export],
    )
    .await
    .unwrap();
    gp.close().await;
    let sup = w.as_(SUP).await;
    sup.authorize(&w.calls[0], Right::Export, Some(&rid), None)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1600)).await;
    let m = forbidden(
        sup.authorize(&w.calls[0], Right::Listen, Some(&rid), None)
            .await,
    );
    assert!(m.contains("expired"), "{m}");
    sup.close().await;
    let r = refusals(&w, None).await;
    assert!(
        r.iter()
            .any(|(a, d)| a == "recording.listen" && d.contains("expired")),
        "{r:?}"
    );
    assert!(
        r.iter()
            .any(|(a, d)| a == "recording.listen" && d.contains("approved request")),
        "{r:?}"
    );
}

/// The call page's choice (issue 21, item 4): a user is offered exactly their approvals in force
/// for that call and that right — not an export-only approval to listen, not another call's, not
/// a colleague's, not an expired one — and the look-up is audited naming the call and what was
/// offered; a call that is not theirs is refused as not found.
#[tokio::test]
async fn the_call_page_is_offered_the_approvals_that_cover_the_call() {
    let w = World::new().await;
    let mut sup = w.as_(SUP).await;
    let listen = sup.raise_request(details(Purpose::Training)).await.unwrap();
    let export = sup
        .raise_request(details(Purpose::Complaint))
        .await
        .unwrap();
    let brief = sup.raise_request(details(Purpose::Training)).await.unwrap();
    sup.close().await;
    let mut gp = w.as_(GP).await;
    let month = Utc::now() + Duration::days(30);
    gp.approve(&listen, &[w.calls[0].clone()], month, &[Right::Listen])
        .await
        .unwrap();
    gp.approve(&export, &[w.calls[0].clone()], month, &[Right::Export])
        .await
        .unwrap();
    gp.approve(
        &brief,
        &[w.calls[1].clone()],
        Utc::now() + Duration::milliseconds(1200),
        &[Right::Listen],
    )
    .await
    .unwrap();
    let ids = |v: Vec<session::RequestView>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    // The approver is offered nothing: the requests are the supervisor's.
    assert!(ids(gp.approvals_for(&w.calls[0], Right::Listen).await.unwrap()).is_empty());
    gp.close().await;
    let sup = w.as_(SUP).await;
    assert_eq!(
        ids(sup.approvals_for(&w.calls[0], Right::Listen).await.unwrap()),
        vec![listen.clone()]
    );
    assert_eq!(
        ids(sup.approvals_for(&w.calls[0], Right::Export).await.unwrap()),
        vec![export.clone()]
    );
    assert!(ids(sup.approvals_for(&w.calls[2], Right::Listen).await.unwrap()).is_empty());
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(
        ids(sup.approvals_for(&w.calls[1], Right::Listen).await.unwrap()).is_empty(),
        "an expired approval is not offered"
    );
    let e = sup
        .approvals_for(&"f".repeat(32), Right::Listen)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::NotFound(_)), "{e}");
    sup.close().await;
    // A clinician asking about a colleague's call is refused as not found.
    let clin = w.as_(CLIN).await;
    unseen(clin.approvals_for(&w.calls[1], Right::Listen).await);
    clin.close().await;
    let dc = w.as_(ADMIN).await;
    let trail = dc
        .audit_list(&AuditFilter {
            recording: Some(w.calls[0].clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        trail.iter().any(|e| e.action == "request.list"
            && e.outcome == "allowed"
            && e.detail.as_deref().unwrap_or("").contains(&listen)),
        "the look-up is audited naming what was offered"
    );
    dc.close().await;
}

#[tokio::test]
async fn a_clinician_reaches_their_own_call_with_a_reason_and_not_a_colleagues() {
    let w = World::new().await;
    let clin = w.as_(CLIN).await;
    assert!(
        forbidden(clin.authorize(&w.calls[0], Right::Listen, None, None).await).contains("reason")
    );
    let g = clin
        .authorize(
            &w.calls[0],
            Right::Listen,
            None,
            Some("checking the dose I advised"),
        )
        .await
        .unwrap();
    assert_eq!(g.request, None);
    // A colleague's call is not in her index at all (no key of hers opens its entry).
    unseen(
        clin.authorize(&w.calls[1], Right::Listen, None, Some("curious"))
            .await,
    );
    assert!(forbidden(
        clin.authorize(&w.calls[0], Right::Export, None, Some("keep a copy"))
            .await
    )
    .contains("export"));
    // Search shows only the clinician's own call.
    let found = clin.search(&SearchQuery::default()).await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id, w.calls[0]);
    clin.close().await;
    let s = w.as_(ADMIN).await;
    let entries = s
        .audit_list(&AuditFilter {
            recording: Some(w.calls[0].clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(entries.iter().any(|e| e.action == "recording.listen"
        && e.outcome == "allowed"
        && e.detail
            .as_deref()
            .unwrap_or("")
            .contains("checking the dose")));
    let entries = s
        .audit_list(&AuditFilter {
            recording: Some(w.calls[1].clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(entries
        .iter()
        .any(|e| e.action == "recording.listen" && e.outcome == "refused"));
    s.close().await;
}

#[tokio::test]
async fn a_disciplinary_release_needs_the_data_controllers_written_agreement() {
    let w = World::new().await;
    let mut pbm = w.as_(PBM).await;
    let rid = pbm
        .raise_request(details(Purpose::Disciplinary))
        .await
        .unwrap();
    pbm.close().await;
    let mut gp = w.as_(GP).await;
    gp.approve(
        &rid,
        &[w.calls[2].clone()],
        Utc::now() + Duration::days(7),
        &[Right::Listen],
    )
    .await
    .unwrap();
    // Only the data controller agrees; a scan named by anyone else is not even read (a path that
    // does not exist is refused as not permitted, not as unreadable).
    forbidden(gp.agree(&rid, "fine by me", None).await);
    let nowhere = std::env::temp_dir().join("callvault-no-such-scan.pdf");
    forbidden(gp.agree(&rid, "fine by me", Some(&nowhere)).await);
    gp.close().await;
    let pbm = w.as_(PBM).await;
    let m = forbidden(
        pbm.authorize(&w.calls[2], Right::Listen, Some(&rid), None)
            .await,
    );
    assert!(m.contains("written agreement"), "{m}");
    pbm.close().await;
    let mut dc = w.as_(ADMIN).await;
    // The data controller's scan must be the letter itself: a relative path or a folder is
    // refused, and nothing is recorded.
    for bad in [PathBuf::from("signed-letter.pdf"), std::env::temp_dir()] {
        let e = dc.agree(&rid, "agreed", Some(&bad)).await.unwrap_err();
        assert!(matches!(e, Error::Invalid(_)), "{e}");
    }
    assert!(dc.request(&rid).await.unwrap().agreement.is_none());
    dc.agree(
        &rid,
        "I agree to release this call to the line manager. D. Controller, 3 June",
        None,
    )
    .await
    .unwrap();
    dc.close().await;
    let pbm = w.as_(PBM).await;
    pbm.authorize(&w.calls[2], Right::Listen, Some(&rid), None)
        .await
        .unwrap();
    let v = pbm.request(&rid).await.unwrap();
    assert_eq!(v.agreement_by.as_deref(), Some(ADMIN.0));
    pbm.close().await;
    let r = refusals(&w, Some(&rid)).await;
    assert!(
        r.iter()
            .any(|(a, d)| a == "recording.listen" && d.contains("written agreement")),
        "{r:?}"
    );
    assert!(r.iter().any(|(a, _)| a == "request.agree"), "{r:?}");
}

#[tokio::test]
async fn a_sar_is_decided_by_the_data_controller_with_its_statutory_due_date() {
    let w = World::new().await;
    let mut staff = w.as_(STAFF).await;
    let mut d = details(Purpose::Sar);
    d.received = Some(chrono::NaiveDate::from_ymd_opt(2025, 11, 25).unwrap());
    d.identity = Some("passport seen at the desk".into());
    let rid = staff.raise_request(d).await.unwrap();
    staff.close().await;
    // An approver does not decide a SAR.
    let mut gp = w.as_(GP).await;
    assert!(forbidden(
        gp.approve(
            &rid,
            &[w.calls[1].clone()],
            Utc::now() + Duration::days(30),
            &[Right::Export]
        )
        .await
    )
    .contains("data controller"));
    gp.close().await;
    let mut dc = w.as_(ADMIN).await;
    let v = dc.request(&rid).await.unwrap();
    // 25 Nov 2025 + one month = Christmas Day; Boxing Day and the weekend follow: Monday 29 Dec.
    assert_eq!(v.due_date.unwrap().to_string(), "2025-12-29");
    let due = dc.extend(&rid, 30, "numerous recordings").await.unwrap();
    assert_eq!(due.to_string(), "2026-01-28");
    assert!(
        dc.extend(&rid, 60, "more").await.is_err(),
        "beyond two further months"
    );
    dc.approve(
        &rid,
        &[w.calls[1].clone()],
        Utc::now() + Duration::days(30),
        &[Right::Export],
    )
    .await
    .unwrap();
    dc.authorize(&w.calls[1], Right::Export, Some(&rid), None)
        .await
        .unwrap();
    dc.complete(&rid, Some("package sent by recorded delivery"))
        .await
        .unwrap();
    assert_eq!(dc.request(&rid).await.unwrap().state, State::Completed);
    // Once completed, the approval no longer opens the call.
    forbidden(
        dc.authorize(&w.calls[1], Right::Export, Some(&rid), None)
            .await,
    );
    dc.close().await;
}

#[tokio::test]
async fn consent_marks_show_in_search_and_only_the_staff_member_or_a_supervisor_may_mark() {
    let w = World::new().await;
    let mut clin2 = w.as_(CLIN2).await;
    unseen(
        clin2
            .mark_consent(&w.calls[0], ConsentKind::CallerObjected, Some(12_000), None)
            .await,
    );
    clin2.close().await;
    let mut clin = w.as_(CLIN).await;
    clin.mark_consent(
        &w.calls[0],
        ConsentKind::CallerObjected,
        Some(1_000),
        Some("asked to stop"),
    )
    .await
    .unwrap();
    let found = clin.search(&SearchQuery::default()).await.unwrap();
    assert_eq!(
        found[0].consent.as_deref(),
        Some("caller objected; recording stopped at 00:01")
    );
    clin.close().await;
    let mut sup = w.as_(SUP).await;
    sup.mark_consent(&w.calls[2], ConsentKind::NotRecorded, None, None)
        .await
        .unwrap();
    let v = sup.show(&w.calls[2]).await.unwrap();
    assert_eq!(
        v.consent.as_deref(),
        Some("not recorded at caller's request")
    );
    sup.close().await;
}

#[tokio::test]
async fn role_changes_take_effect_and_are_audited() {
    let w = World::new().await;
    let mut dc = w.as_(ADMIN).await;
    dc.set_roles(STAFF.0, &[Role::Staff, Role::Supervisor])
        .await
        .unwrap();
    dc.close().await;
    let staff = w.as_(STAFF).await;
    assert_eq!(
        staff.search(&SearchQuery::default()).await.unwrap().len(),
        3,
        "now a supervisor"
    );
    staff.close().await;
    let mut dc = w.as_(ADMIN).await;
    dc.set_roles(STAFF.0, &[Role::Staff]).await.unwrap();
    let e = dc.audit_list(&AuditFilter::default()).await.unwrap();
    assert_eq!(
        e.iter()
            .filter(|e| e.action == "user.set_roles" && e.outcome == "allowed")
            .count(),
        2
    );
    dc.close().await;
    let staff = w.as_(STAFF).await;
    assert_eq!(
        staff.search(&SearchQuery::default()).await.unwrap().len(),
        1,
        "back to own calls"
    );
    staff.close().await;
    // Taking the approver role from the practice manager takes the call key out of every version
    // of her record on the share (older versions held it in their key bags).
    let a = callvault_core::archive::Archive::open(&w.archive).unwrap();
    let uid = callvault_core::users::uid_for(&a, PBM.0).unwrap();
    let holds_call_key = |a: &callvault_core::archive::Archive| {
        let rec = callvault_core::users::load_latest(a, &uid)
            .unwrap()
            .unwrap();
        let un = callvault_core::users::unlock(a, &rec, &Password::new(PBM.1)).unwrap();
        callvault_core::users::open_keybag(&rec, &un.secret)
            .unwrap()
            .get("custodian")
            .is_some()
    };
    assert!(holds_call_key(&a));
    let mut dc = w.as_(ADMIN).await;
    dc.set_roles(PBM.0, &[Role::Supervisor]).await.unwrap();
    dc.close().await;
    assert!(!holds_call_key(&a));
    assert_eq!(
        std::fs::read_dir(w.archive.join("users").join(&uid))
            .unwrap()
            .count(),
        1,
        "no older version keeps the key"
    );
}

#[tokio::test]
async fn preferences_are_each_users_own_and_not_plaintext_on_disk() {
    let w = World::new().await;
    let marker = "07700 900777 Quentin Marlowe-Fitch";
    let mut a = w.as_(CLIN).await;
    assert_eq!(a.preference("search").await.unwrap(), None);
    a.set_preference("search", Some(marker)).await.unwrap();
    a.close().await;
    // Kept across logons, for this user only.
    let a = w.as_(CLIN).await;
    assert_eq!(
        a.preference("search").await.unwrap().as_deref(),
        Some(marker)
    );
    a.close().await;
    let mut b = w.as_(CLIN2).await;
    assert_eq!(b.preference("search").await.unwrap(), None);
    assert!(b.set_preference("", Some("x")).await.is_err());
    assert!(b
        .set_preference("search", Some(&"x".repeat(70_000)))
        .await
        .is_err());
    b.close().await;
    // The device folder holds it only encrypted.
    let mut stack = vec![w.data.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let bytes = std::fs::read(&p).unwrap();
                assert!(
                    !bytes.windows(12).any(|x| x == b"Marlowe-Fitc"),
                    "{} holds the preference in plaintext",
                    p.display()
                );
            }
        }
    }
    // Forgotten on request.
    let mut a = w.as_(CLIN).await;
    a.set_preference("search", None).await.unwrap();
    assert_eq!(a.preference("search").await.unwrap(), None);
    a.close().await;
}

#[tokio::test]
async fn a_new_devices_first_catch_up_reports_its_progress() {
    let w = World::new().await;
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = seen.clone();
    let progress: callvault_core::index::Progress =
        std::sync::Arc::new(move |done, total| sink.lock().unwrap().push((done, total)));
    let other_device = w._tmp.path().join("second-device");
    let s = Session::logon_with_progress(
        &w.archive,
        &other_device,
        SUP.0,
        &Password::new(SUP.1),
        Some(progress),
    )
    .await
    .unwrap();
    let seen = seen.lock().unwrap().clone();
    let &(_, total) = seen.first().expect("progress reported");
    assert!(total > 0);
    assert_eq!(seen.first().unwrap().0, 0, "{seen:?}");
    assert_eq!(*seen.last().unwrap(), (total, total), "{seen:?}");
    assert!(seen.windows(2).all(|p| p[0].0 <= p[1].0), "{seen:?}");
    assert_eq!(s.search(&SearchQuery::default()).await.unwrap().len(), 3);
    s.close().await;
}

// ---- what the app's workflow screens use: user management, request drafts, the overview and
// release copies for police and disciplinary requests ----

#[tokio::test]
async fn an_admin_disables_and_re_enables_an_account_and_changes_telephony_ids() {
    let w = World::new().await;
    let mut admin = w.as_(ADMIN).await;
    admin.update_user(STAFF.0, None, Some(true)).await.unwrap();
    let refused = Session::logon_in(&w.archive, &w.data, STAFF.0, &Password::new(STAFF.1)).await;
    assert!(
        forbidden(refused).contains("disabled"),
        "a disabled account cannot log on"
    );
    // An admin cannot lock themselves out.
    assert!(forbidden(admin.update_user(ADMIN.0, None, Some(true)).await).contains("your own"));
    // A telephony identity already mapping to someone else is refused, naming them.
    let clash = admin
        .update_user(STAFF.0, Some(&["201".to_string()]), None)
        .await;
    assert!(
        matches!(&clash, Err(Error::Invalid(m)) if m.contains("201") && m.contains(CLIN.0)),
        "{clash:?}"
    );
    admin
        .update_user(STAFF.0, Some(&["101".into(), "102".into()]), Some(false))
        .await
        .unwrap();
    let u = admin
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .find(|u| u.name == STAFF.0)
        .unwrap();
    assert!(!u.disabled);
    assert_eq!(u.telephony_ids, vec!["101", "102"]);
    let staff = w.as_(STAFF).await;
    staff.close().await;
    // Someone who is not an admin may not change accounts; the refusal is audited.
    let mut clin = w.as_(CLIN).await;
    forbidden(clin.update_user(CLIN2.0, None, Some(true)).await);
    clin.close().await;
    let entries = admin.audit_list(&AuditFilter::default()).await.unwrap();
    let updates: Vec<(String, String)> = entries
        .iter()
        .filter(|e| e.action == "user.update")
        .map(|e| (e.outcome.clone(), e.detail.clone().unwrap_or_default()))
        .collect();
    assert!(
        updates.contains(&("allowed".into(), "disabled".into())),
        "{updates:?}"
    );
    assert!(
        updates.iter().any(|(o, d)| o == "allowed"
            && d.contains("telephony ids 101 -> 101,102")
            && d.contains("enabled")),
        "{updates:?}"
    );
    assert_eq!(
        updates.iter().filter(|(o, _)| o == "refused").count(),
        2,
        "self-disable and the clinician's attempt: {updates:?}"
    );
    admin.close().await;
}

#[tokio::test]
async fn a_request_being_typed_finds_its_candidate_calls_and_writes_nothing() {
    let w = World::new().await;
    let pbm = w.as_(PBM).await;
    let typed = |number: &str| RequestDetails {
        number: Some(number.into()),
        ..Default::default()
    };
    let found = pbm.draft_candidates(typed("07700 900502")).await.unwrap();
    assert_eq!(
        found.iter().map(|r| r.id.clone()).collect::<Vec<_>>(),
        vec![w.calls[1].clone()]
    );
    // By day and staff member (telephony identity) as well.
    let by_day = pbm
        .draft_candidates(RequestDetails {
            call_time: Some("2025-05-04".into()),
            staff: Some("101".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_day.len(), 1);
    assert_eq!(by_day[0].id, w.calls[2]);
    // Nothing typed yet: nothing searched.
    assert!(pbm
        .draft_candidates(RequestDetails::default())
        .await
        .unwrap()
        .is_empty());
    // A malformed time is an error naming it.
    let bad = pbm
        .draft_candidates(RequestDetails {
            call_time: Some("31/02/2025 ten".into()),
            ..Default::default()
        })
        .await;
    assert!(
        matches!(&bad, Err(Error::Invalid(m)) if m.contains("31/02/2025")),
        "{bad:?}"
    );
    assert!(
        pbm.requests(None).await.unwrap().is_empty(),
        "nothing raised"
    );
    pbm.close().await;
    // A receptionist's draft finds only calls she took.
    let staff = w.as_(STAFF).await;
    assert!(staff
        .draft_candidates(typed("07700 900502"))
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        staff
            .draft_candidates(typed("07700 900503"))
            .await
            .unwrap()
            .len(),
        1
    );
    staff.close().await;
    // Each draft search is audited with the number as a keyed hash, never in clear.
    let admin = w.as_(ADMIN).await;
    let drafts: Vec<String> = admin
        .audit_list(&AuditFilter::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| {
            e.detail
                .as_deref()
                .is_some_and(|d| d.starts_with("request draft"))
        })
        .map(|e| e.detail.unwrap())
        .collect();
    assert_eq!(drafts.len(), 4, "{drafts:?}");
    assert!(drafts
        .iter()
        .all(|d| !d.contains("900502") && !d.contains("900503")));
    admin.close().await;
}

#[tokio::test]
async fn the_overview_shows_each_user_what_needs_them() {
    let w = World::new().await;
    let mut clin = w.as_(CLIN).await;
    let complaint = clin
        .raise_request(details(Purpose::Complaint))
        .await
        .unwrap();
    let o = clin.overview().await.unwrap();
    assert!(
        o.awaiting_decision.is_empty(),
        "a clinician decides nothing"
    );
    assert_eq!(o.my_requests.len(), 1);
    assert_eq!(o.my_requests[0].id, complaint);
    assert!(o.holds.is_none() && o.retention.is_none() && o.recent_imports.is_none());
    assert!(o.sar_cases.is_empty());
    assert_eq!(o.calls_per_day.len(), 30);
    clin.close().await;

    let mut dc = w.as_(ADMIN).await;
    let sar = dc
        .raise_request(RequestDetails {
            purpose: Some(Purpose::Sar),
            reason: "the caller asked for copies of her calls in writing".into(),
            number: Some("07700 900501".into()),
            received: Some(Utc::now().date_naive() - Duration::days(20)),
            identity: Some("passport seen".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let o = dc.overview().await.unwrap();
    assert_eq!(o.sar_cases.len(), 1);
    let days = o.sar_cases[0].days_left.unwrap();
    assert!(
        (5..=15).contains(&days),
        "a month from 20 days ago: {days} days left"
    );
    // The SAR she logged waits for her decision (the data controller decides her cases); the
    // complaint waits for an approver, not for her.
    assert_eq!(
        o.awaiting_decision
            .iter()
            .map(|r| r.id.clone())
            .collect::<Vec<_>>(),
        vec![sar.clone()]
    );
    assert!(o.sar_cases[0].may_decide);
    assert!(
        o.recent_imports
            .as_ref()
            .unwrap()
            .iter()
            .map(|d| d.count)
            .sum::<u32>()
            >= 3
    );
    assert_eq!(o.retention.as_ref().unwrap().months, 36);
    let purposes: Vec<(String, u32)> = o
        .requests_by_purpose
        .iter()
        .map(|p| (p.purpose.clone(), p.count))
        .collect();
    assert_eq!(purposes, vec![("complaint".into(), 1), ("sar".into(), 1)]);
    dc.close().await;

    let gp = w.as_(GP).await;
    let o = gp.overview().await.unwrap();
    assert_eq!(
        o.awaiting_decision
            .iter()
            .map(|r| r.id.clone())
            .collect::<Vec<_>>(),
        vec![complaint.clone()],
        "the GP partner may decide the complaint, not the SAR"
    );
    assert_eq!(o.sar_cases.len(), 1, "approvers see SAR deadlines");
    assert!(o.holds.is_some());
    assert!(
        o.retention.is_none(),
        "the sweep is for supervisors and the DC"
    );
    gp.close().await;
}

#[tokio::test]
async fn a_police_request_is_released_as_a_copy_through_the_same_checks() {
    let w = World::new().await;
    let mut staff = w.as_(STAFF).await;
    let rid = staff
        .raise_request(RequestDetails {
            purpose: Some(Purpose::Police),
            reason: "police request about a threatening call (crime reference 12/3456)".into(),
            number: Some("07700 900503".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    staff.close().await;
    let out = w._tmp.path().join("release");
    let mut dc = w.as_(ADMIN).await;
    // Not yet approved: refused, and nothing written.
    forbidden(
        dc.export_release(&rid, &out, &Default::default(), &mut |_, _| {})
            .await,
    );
    assert!(!out.exists());
    dc.approve(
        &rid,
        &[w.calls[2].clone()],
        Utc::now() + Duration::days(7),
        &[Right::Export],
    )
    .await
    .unwrap();
    let mut steps = Vec::new();
    let rep = dc
        .export_release(&rid, &out, &Default::default(), &mut |d, t| {
            steps.push((d, t))
        })
        .await
        .unwrap();
    assert_eq!(steps.last(), Some(&(1, 1)));
    let names: Vec<String> = rep.files.iter().map(|f| f.name.clone()).collect();
    assert!(names.iter().any(|n| n.ends_with(".wav")), "{names:?}");
    assert!(names.iter().any(|n| n == "manifest.json"), "{names:?}");
    assert!(
        !names.iter().any(|n| n.ends_with(".pdf")),
        "no subject access letter in a police copy: {names:?}"
    );
    let wav = rep.files.iter().find(|f| f.name.ends_with(".wav")).unwrap();
    let bytes = std::fs::read(out.join(&wav.name)).unwrap();
    assert_eq!(&bytes[..4], b"RIFF");
    // A SAR goes through its own export (with its letter), not this one.
    let sar = dc
        .raise_request(RequestDetails {
            purpose: Some(Purpose::Sar),
            reason: "copies of calls".into(),
            number: Some("07700 900501".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let wrong = dc
        .export_release(
            &sar,
            &w._tmp.path().join("x"),
            &Default::default(),
            &mut |_, _| {},
        )
        .await;
    assert!(
        matches!(&wrong, Err(Error::Invalid(m)) if m.contains("own export")),
        "{wrong:?}"
    );
    let released: Vec<_> = dc
        .audit_list(&AuditFilter {
            request: Some(rid.clone()),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "export.release")
        .collect();
    assert_eq!(released.len(), 1);
    assert_eq!(released[0].targets, vec![w.calls[2].clone()]);
    dc.close().await;
    // The clinician holds no approval for it, nor can she read the request: refused.
    let clin = w.as_(CLIN).await;
    unseen(
        clin.export_release(
            &rid,
            &w._tmp.path().join("y"),
            &Default::default(),
            &mut |_, _| {},
        )
        .await,
    );
    clin.close().await;
}

#[tokio::test]
async fn a_session_catches_up_with_another_computers_decisions_and_a_disabled_account_ends() {
    let w = World::new().await;
    let mac = w._tmp.path().join("mac-device");
    // The manager raises a request on the PC and stays logged on.
    let mut pbm = w.as_(PBM).await;
    let rid = pbm
        .raise_request(details(Purpose::Complaint))
        .await
        .unwrap();
    // The GP partner approves it on her Mac.
    let mut gp = Session::logon_in(&w.archive, &mac, GP.0, &Password::new(GP.1))
        .await
        .unwrap();
    gp.approve(
        &rid,
        &[w.calls[1].clone()],
        Utc::now() + Duration::days(7),
        &[Right::Listen],
    )
    .await
    .unwrap();
    // Before catching up, the PC still sees the request open; after, approved, and she may listen.
    assert_eq!(pbm.request(&rid).await.unwrap().state, State::Open);
    assert!(pbm.refresh().await.unwrap() >= 1);
    assert_eq!(pbm.request(&rid).await.unwrap().state, State::Approved);
    pbm.authorize(&w.calls[1], Right::Listen, Some(&rid), None)
        .await
        .unwrap();
    assert_eq!(pbm.refresh().await.unwrap(), 0, "nothing new");
    gp.close().await;
    // The admin disables the manager's account on another computer: her session ends at the next
    // catch-up.
    let mut admin = Session::logon_in(&w.archive, &mac, ADMIN.0, &Password::new(ADMIN.1))
        .await
        .unwrap();
    admin.update_user(PBM.0, None, Some(true)).await.unwrap();
    admin.close().await;
    assert!(forbidden(pbm.refresh().await).contains("disabled"));
    pbm.close().await;
    // The end of her session is in the audit trail.
    let admin = w.as_(ADMIN).await;
    let ended: Vec<String> = admin
        .audit_list(&AuditFilter::default())
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "session.end" && e.outcome == "refused")
        .map(|e| e.detail.unwrap_or_default())
        .collect();
    assert_eq!(ended, vec!["this account has been disabled".to_string()]);
    admin.close().await;
}

/// Issue 18 item 6: a practice with a second authoriser can require one for the data controller's
/// own cases (setting `second-authoriser`); off by default, as for a one-person data controller.
#[tokio::test]
async fn a_second_authoriser_decides_the_data_controllers_own_cases_when_the_practice_requires_one()
{
    use callvault_core::archive::{journal, Archive, Signer};
    use callvault_core::requests::{RequestEntry, RequestEvent};
    let w = World::new().await;
    let mut dc = w.as_(ADMIN).await;
    // Off (the default): the data controller decides the SAR she raised herself.
    let own = dc.raise_request(details(Purpose::Sar)).await.unwrap();
    dc.approve(
        &own,
        &[w.calls[1].clone()],
        Utc::now() + Duration::days(30),
        &[Right::Export],
    )
    .await
    .unwrap();
    // A bad value is refused, naming the setting.
    let e = dc
        .set_setting("second-authoriser", "maybe")
        .await
        .unwrap_err();
    assert!(e.to_string().contains("second-authoriser"), "{e}");
    dc.set_setting("second-authoriser", "on").await.unwrap();
    let rid = dc.raise_request(details(Purpose::Sar)).await.unwrap();
    let m = forbidden(
        dc.approve(
            &rid,
            &[w.calls[1].clone()],
            Utc::now() + Duration::days(30),
            &[Right::Export],
        )
        .await,
    );
    assert!(m.contains("second authoriser"), "{m}");
    // Her own approval written with a tool of her own counts for nothing either.
    let a = Archive::open(&w.archive).unwrap();
    let uid = callvault_core::users::uid_for(&a, ADMIN.0).unwrap();
    let rec = callvault_core::users::load_latest(&a, &uid)
        .unwrap()
        .unwrap();
    let un = callvault_core::users::unlock(&a, &rec, &Password::new(ADMIN.1)).unwrap();
    let seed = callvault_core::users::user_signing_seed(&un.secret);
    journal::append(
        &a,
        &"ee".repeat(16),
        &[journal::JournalEntry::Request(Box::new(RequestEntry {
            nonce: None,
            request: rid.clone(),
            by: uid.clone(),
            at: Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            event: RequestEvent::Approved {
                recordings: vec![w.calls[1].clone()],
                expires_at: "2099-01-01T00:00:00Z".into(),
                allow: vec![Right::Export],
                note: None,
                keys: vec![],
            },
        }))],
        &Signer {
            uid: &uid,
            seed: &seed,
        },
    )
    .unwrap();
    dc.refresh().await.unwrap();
    let v = dc.request(&rid).await.unwrap();
    assert_eq!(v.state, State::Open);
    assert!(
        v.ignored.iter().any(|i| i.contains("second authoriser")),
        "{:?}",
        v.ignored
    );
    assert!(dc
        .authorize(&w.calls[1], Right::Export, Some(&rid), None)
        .await
        .is_err());
    // The SAR she decided before the setting was turned on stands.
    assert_eq!(dc.request(&own).await.unwrap().state, State::Approved);
    dc.close().await;
    // An approver (a GP partner) may now decide it.
    let mut gp = w.as_(GP).await;
    gp.approve(
        &rid,
        &[w.calls[1].clone()],
        Utc::now() + Duration::days(30),
        &[Right::Export],
    )
    .await
    .unwrap();
    gp.close().await;
    let dc = w.as_(ADMIN).await;
    assert_eq!(dc.request(&rid).await.unwrap().state, State::Approved);
    dc.authorize(&w.calls[1], Right::Export, Some(&rid), None)
        .await
        .unwrap();
}

#[tokio::test]
async fn approval_hands_a_supervisor_the_calls_key_and_a_key_holder_delivers_an_assigned_calls() {
    let w = World::new().await;
    // A supervisor holds no call key: the waveform (sealed under the call's key) does not open.
    let mut sup = w.as_(SUP).await;
    assert!(matches!(
        sup.waveform(&w.calls[0]).await,
        Err(Error::Forbidden(_))
    ));
    let rid = sup
        .raise_request(details(Purpose::Complaint))
        .await
        .unwrap();
    sup.close().await;
    let mut gp = w.as_(GP).await;
    gp.approve(
        &rid,
        &[w.calls[0].clone()],
        Utc::now() + Duration::milliseconds(2500),
        &[Right::Listen],
    )
    .await
    .unwrap();
    gp.close().await;
    // The approval carries the call's key, wrapped to the supervisor: she hears it, and only it.
    let sup = w.as_(SUP).await;
    let (mut dec, _) = sup
        .open_for_listening(&w.calls[0], Some(&rid), None)
        .await
        .unwrap();
    assert!(dec.next_block().unwrap().is_some(), "audio decodes");
    assert!(sup.waveform(&w.calls[0]).await.is_ok());
    assert!(matches!(
        sup.waveform(&w.calls[1]).await,
        Err(Error::Forbidden(_))
    ));
    // Expired: the core no longer uses the key it was handed.
    tokio::time::sleep(std::time::Duration::from_millis(2600)).await;
    assert!(matches!(
        sup.waveform(&w.calls[0]).await,
        Err(Error::Forbidden(_))
    ));
    sup.close().await;

    // An unassigned call, assigned by the supervisor (who holds no key to hand over).
    let mut dc = w.as_(ADMIN).await;
    let rep = dc
        .import_sources(vec![CallSource {
            name: "u.wav".into(),
            bytes: wav_g711(8000, &speechlike(8000, 2, 9), true),
            started_at: Utc.with_ymd_and_hms(2025, 5, 20, 10, 0, 0).unwrap(),
            direction: Direction::Inbound,
            staff: None,
            extension: Some("299".into()),
            external_number: Some("07700 900509".into()),
            parties: vec![],
            notes: None,
            nhs_numbers: vec![],
            conversation: None,
        }])
        .await
        .unwrap();
    let id = rep.imported[0].id.clone();
    dc.close().await;
    let mut sup = w.as_(SUP).await;
    sup.assign(&id, CLIN.0).await.unwrap();
    sup.close().await;
    // The clinician sees it as her call, but its key has not reached her yet.
    let clin = w.as_(CLIN).await;
    assert!(clin.show(&id).await.is_ok());
    assert!(matches!(
        clin.open_for_listening(&id, None, Some("my call")).await,
        Err(Error::Forbidden(_))
    ));
    clin.close().await;
    // An approver's logon alone delivers nothing: the key moves only when she chooses to.
    let gp = w.as_(GP).await;
    gp.close().await;
    let clin = w.as_(CLIN).await;
    assert!(matches!(
        clin.open_for_listening(&id, None, Some("my call")).await,
        Err(Error::Forbidden(_))
    ));
    // Nor can the clinician or the supervisor deliver it.
    assert!(matches!(
        clin.assignments_awaiting_key().await,
        Err(Error::Forbidden(_))
    ));
    clin.close().await;
    let mut sup = w.as_(SUP).await;
    assert!(matches!(
        sup.deliver_assigned_key(&id, None).await,
        Err(Error::Forbidden(_))
    ));
    sup.close().await;
    // The approver sees it waiting, on her overview too, and delivers it (journalled, audited).
    let mut gp = w.as_(GP).await;
    let waiting = gp.assignments_awaiting_key().await.unwrap();
    assert_eq!(waiting.len(), 1);
    assert_eq!(waiting[0].recording, id);
    assert_eq!(waiting[0].assigned_to, CLIN.0);
    assert_eq!(waiting[0].assigned_by, SUP.0);
    assert_eq!(gp.overview().await.unwrap().awaiting_keys, waiting);
    assert_eq!(
        gp.deliver_assigned_key(
            &id,
            Some((&waiting[0].assigned_to, &waiting[0].assigned_at))
        )
        .await
        .unwrap(),
        CLIN.0
    );
    assert!(gp.assignments_awaiting_key().await.unwrap().is_empty());
    assert!(
        gp.deliver_assigned_key(&id, None).await.is_err(),
        "nothing is waiting any more"
    );
    gp.close().await;
    let clin = w.as_(CLIN).await;
    let (mut dec, _) = clin
        .open_for_listening(&id, None, Some("my call"))
        .await
        .unwrap();
    assert!(dec.next_block().unwrap().is_some());
    clin.close().await;
    // A computer new to the archive decides the same, whatever order it reads the journals in.
    let fresh = w._tmp.path().join("fresh");
    let clin = Session::logon_in(&w.archive, &fresh, CLIN.0, &Password::new(CLIN.1))
        .await
        .unwrap();
    assert!(clin
        .open_for_listening(&id, None, Some("my call"))
        .await
        .is_ok());
    let dc = w.as_(ADMIN).await;
    let all = dc.audit_list(&Default::default()).await.unwrap();
    assert!(
        serde_json::to_string(&all)
            .unwrap()
            .contains("delivered the key of a call"),
        "the delivery is audited"
    );
}

/// A decision is taken on what the share says now: the GP partner, logged on on her Mac before the
/// manager raised a request on the PC, finds it and approves it without refreshing; a request the
/// manager rejected meanwhile on the PC is not approved over it; once her account is disabled
/// elsewhere, her open session decides nothing.
#[tokio::test]
async fn a_decision_catches_up_with_the_share_first() {
    let w = World::new().await;
    let mac = w._tmp.path().join("mac-device");
    let mut gp = Session::logon_in(&w.archive, &mac, GP.0, &Password::new(GP.1))
        .await
        .unwrap();
    let mut staff = w.as_(STAFF).await;
    let first = staff
        .raise_request(details(Purpose::Complaint))
        .await
        .unwrap();
    let second = staff
        .raise_request(details(Purpose::Complaint))
        .await
        .unwrap();
    staff.close().await;
    // The manager rejects the second one on the PC.
    let mut pbm = w.as_(PBM).await;
    pbm.reject(&second, "raised twice").await.unwrap();
    pbm.close().await;
    // The GP partner's session read neither; her decisions find both as the share has them.
    gp.approve(
        &first,
        &[w.calls[2].clone()],
        Utc::now() + Duration::days(7),
        &[Right::Listen],
    )
    .await
    .unwrap();
    assert_eq!(gp.request(&first).await.unwrap().state, State::Approved);
    let over = forbidden(
        gp.approve(
            &second,
            &[w.calls[2].clone()],
            Utc::now() + Duration::days(7),
            &[Right::Listen],
        )
        .await,
    );
    assert!(over.contains("already rejected"), "{over}");
    // Disabled on the PC, her open session on the Mac approves nothing more.
    let mut staff = w.as_(STAFF).await;
    let third = staff
        .raise_request(details(Purpose::Complaint))
        .await
        .unwrap();
    staff.close().await;
    let mut admin = w.as_(ADMIN).await;
    admin.update_user(GP.0, None, Some(true)).await.unwrap();
    admin.close().await;
    let gone = forbidden(
        gp.approve(
            &third,
            &[w.calls[2].clone()],
            Utc::now() + Duration::days(7),
            &[Right::Listen],
        )
        .await,
    );
    assert!(gone.contains("disabled"), "{gone}");
    // Her session has ended: nothing more is done in it, a decision or anything else.
    let again = forbidden(gp.reject(&third, "no").await);
    assert!(again.contains("ended"), "{again}");
    assert!(gp.search(&SearchQuery::default()).await.is_err());
    gp.close().await;
    let pbm = w.as_(PBM).await;
    assert_eq!(pbm.request(&third).await.unwrap().state, State::Open);
    pbm.close().await;
}

/// A supervisor's secret is escrowed to the recovery key (she holds the metadata key), as a call
/// key holder's is: that is no sign she held the call key, so the data controller's logon rotates
/// nothing.
#[tokio::test]
async fn a_supervisor_escrowed_to_the_recovery_key_is_no_call_key_leaver() {
    let w = World::new().await;
    for _ in 0..2 {
        let s = w.as_(ADMIN).await;
        assert!(
            !s.warnings.iter().any(|x| x.contains("rotated")),
            "{:?}",
            s.warnings
        );
        s.close().await;
    }
}
