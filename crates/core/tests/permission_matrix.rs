//! The permission matrix: every operation of `Session` × every role alone (plus a user with no
//! roles and a disabled user), on the user's own call and a colleague's where that matters. The
//! expected answer of each cell is written out below, once, from the practice's Call Recording
//! Policy and the README's rules — not computed from `policy::decide`. The test runs every cell,
//! fails on a missing or extra cell, lists every disagreement with the core, and checks that every
//! refusal left a "refused" entry by that user in the audit trail.

use callvault_core::archive::journal::Direction;
use callvault_core::ingest::CallSource;
use callvault_core::policy::Role;
use callvault_core::requests::{ConsentKind, Purpose, RequestDetails, Right};
use callvault_core::secret::Password;
use callvault_core::session::{self, AuditFilter, KdfChoice, SarOptions, SearchQuery, Session};
use callvault_core::{users, Error};
use callvault_testkit::demo::{speechlike, wav_g711};
use chrono::{Duration, TimeZone, Utc};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum X {
    /// Allowed.
    A,
    /// Refused (and audited).
    R,
}
use X::{A, R};

/// The rows of the table: each role alone, then an ingest identity, a user with no roles and a
/// disabled user (a clinician whose profile an admin marked disabled). The last three cannot log
/// on at all, so every operation is refused for them (at logon, which is audited).
const ROWS: [&str; 9] = [
    "admin",
    "approver",
    "data-controller",
    "supervisor",
    "clinician",
    "staff",
    "ingest",
    "no-roles",
    "disabled",
];

/// THE TABLE. "Own" = a call the user took (their extension); "colleague's" = a call another
/// clinician took. Requests named "colleague's" were raised by that colleague.
///
/// Sources: policy "supervisor user rights can access all calls"; "clinician access ... calls
/// involving themselves only"; (b) access needs a reason formally authorised by a GP Partner or the
/// Practice Business Manager (approver), not by the person asking; (e)(f) SAR and police requests
/// go to the data controller; (g) disciplinary releases need the data controller's written
/// agreement; (h) deletion by supervisors; README: admin alone reaches no call, supervisors reach
/// any call only through an approved request, a clinician or staff member may listen to their own
/// call after stating a reason, SAR/police/erasure/portability are the data controller's, settings
/// and hold releases are the data controller's, holds are placed (and seen: their reasons may name
/// a patient) by supervisors, approvers and the data controller, users are managed by admins, the audit trail is read by admins and the data
/// controller.
#[rustfmt::skip]
const TABLE: &[(&str, [X; 9])] = &[
    //                                     admin appr  dc    super clin  staff ingest none  disabled
    ("search",                             [R,    A,    A,    A,    A,    A,    R,     R,    R]),
    ("show own call",                      [R,    A,    A,    A,    A,    A,    R,     R,    R]),
    ("show colleague's call",              [R,    A,    A,    A,    R,    R,    R,     R,    R]),
    ("waveform own call",                  [R,    A,    A,    A,    A,    A,    R,     R,    R]),
    ("waveform colleague's call",          [R,    A,    A,    A,    R,    R,    R,     R,    R]),
    ("listen own call, reason only",       [R,    R,    R,    R,    A,    A,    R,     R,    R]),
    ("listen colleague's call, reason only", [R,  R,    R,    R,    R,    R,    R,     R,    R]),
    ("listen colleague's call, own approved request", [R, A, A, A,  R,    R,    R,     R,    R]),
    ("export own call without a request",  [R,    R,    R,    R,    R,    R,    R,     R,    R]),
    ("raise a request",                    [A,    A,    A,    A,    A,    A,    R,     R,    R]),
    ("list requests",                      [A,    A,    A,    A,    A,    A,    R,     R,    R]),
    ("show colleague's request",           [R,    A,    A,    A,    R,    R,    R,     R,    R]),
    ("approve colleague's complaint",      [R,    A,    R,    R,    R,    R,    R,     R,    R]),
    ("reject colleague's complaint",       [R,    A,    R,    R,    R,    R,    R,     R,    R]),
    ("approve colleague's SAR",            [R,    R,    A,    R,    R,    R,    R,     R,    R]),
    ("agree colleague's disciplinary",     [R,    R,    A,    R,    R,    R,    R,     R,    R]),
    ("extend colleague's SAR",             [R,    R,    A,    R,    R,    R,    R,     R,    R]),
    ("complete colleague's complaint",     [R,    A,    A,    R,    R,    R,    R,     R,    R]),
    ("mark consent on own call",           [A,    A,    A,    A,    A,    A,    R,     R,    R]),
    ("mark consent on colleague's call",   [R,    R,    R,    A,    R,    R,    R,     R,    R]),
    ("assign an unassigned call",          [R,    R,    R,    A,    R,    R,    R,     R,    R]),
    ("add a user",                         [A,    R,    R,    R,    R,    R,    R,     R,    R]),
    ("set a user's roles",                 [A,    R,    R,    R,    R,    R,    R,     R,    R]),
    ("reset a user's password",            [A,    R,    R,    R,    R,    R,    R,     R,    R]),
    ("list users",                         [A,    A,    A,    A,    R,    R,    R,     R,    R]),
    // (An admin holds no metadata key, so has no index of every call to find duplicates in.)
    ("import",                             [R,    R,    A,    A,    R,    R,    R,     R,    R]),
    ("allow re-import of erased audio",    [R,    R,    A,    R,    R,    R,    R,     R,    R]),
    ("audit list",                         [A,    R,    A,    R,    R,    R,    R,     R,    R]),
    ("audit entries",                      [A,    R,    A,    R,    R,    R,    R,     R,    R]),
    ("audit verify",                       [A,    R,    A,    R,    R,    R,    R,     R,    R]),
    ("verify archive",                     [A,    R,    A,    A,    R,    R,    R,     R,    R]),
    ("rebuild index",                      [A,    A,    A,    A,    A,    A,    R,     R,    R]),
    // It lists every call of its range (issue 21): the roles that reach every call.
    ("check completeness",                 [R,    A,    A,    A,    R,    R,    R,     R,    R]),
    ("show settings",                      [A,    A,    A,    A,    A,    A,    R,     R,    R]),
    ("set a setting",                      [R,    R,    A,    R,    R,    R,    R,     R,    R]),
    // Issue 23: the do-not-record list is the data controller's to keep (and to read: its labels
    // say whose numbers are not recorded).
    ("list the do-not-record list",        [R,    R,    A,    R,    R,    R,    R,     R,    R]),
    ("add to the do-not-record list",      [R,    R,    A,    R,    R,    R,    R,     R,    R]),
    // Issue 23: the policy's "inform their line manager": anyone who logs on reports a breach
    // and lists their own reports (supervisors and the data controller see every one).
    ("report a breach",                    [A,    A,    A,    A,    A,    A,    R,     R,    R]),
    ("list breach reports",                [A,    A,    A,    A,    A,    A,    R,     R,    R]),
    ("list holds",                         [R,    A,    A,    A,    R,    R,    R,     R,    R]),
    ("place a hold",                       [R,    A,    A,    A,    R,    R,    R,     R,    R]),
    ("release a hold",                     [R,    R,    A,    R,    R,    R,    R,     R,    R]),
    ("retention plan",                     [R,    R,    A,    A,    R,    R,    R,     R,    R]),
    ("list tombstones",                    [R,    R,    A,    A,    R,    R,    R,     R,    R]),
    ("dump journals",                      [R,    R,    A,    R,    R,    R,    R,     R,    R]),
    ("export colleague's SAR",             [R,    R,    A,    R,    R,    R,    R,     R,    R]),
    ("export colleague's portability",     [R,    R,    A,    R,    R,    R,    R,     R,    R]),
    ("retention run",                      [R,    R,    A,    A,    R,    R,    R,     R,    R]),
    ("delete colleague's call",            [R,    R,    A,    A,    R,    R,    R,     R,    R]),
    ("erase (approved erasure request)",   [R,    R,    A,    R,    R,    R,    R,     R,    R]),
];

/// The audit action a refusal of each operation is recorded under.
fn refused_action(op: &str) -> &'static str {
    match op {
        "search" => "search",
        "show own call"
        | "show colleague's call"
        | "waveform own call"
        | "waveform colleague's call" => "recording.show",
        "listen own call, reason only"
        | "listen colleague's call, reason only"
        | "listen colleague's call, own approved request" => "recording.listen",
        "export own call without a request"
        | "export colleague's SAR"
        | "export colleague's portability" => "recording.export",
        "raise a request" => "request.raise",
        "list requests" | "show colleague's request" => "request.list",
        "approve colleague's complaint"
        | "reject colleague's complaint"
        | "approve colleague's SAR" => "request.decide",
        "agree colleague's disciplinary" => "request.agree",
        "extend colleague's SAR" => "request.extend",
        "complete colleague's complaint" => "request.complete",
        "mark consent on own call" | "mark consent on colleague's call" => "recording.mark_consent",
        "assign an unassigned call" => "recording.assign",
        "add a user" => "user.add",
        "set a user's roles" => "user.set_roles",
        "reset a user's password" => "user.reset_password",
        "list users" => "user.list",
        "import" => "import",
        "allow re-import of erased audio" => "import.allow_erased",
        "audit list" => "audit.list",
        "audit entries" | "audit verify" => "audit.verify",
        "verify archive" => "archive.verify",
        "check completeness" => "completeness.check",
        "rebuild index" => "index.rebuild",
        "show settings" => "settings.show",
        "set a setting" => "settings.set",
        "list the do-not-record list" => "dnr.list",
        "add to the do-not-record list" => "dnr.change",
        "report a breach" => "breach.report",
        "list breach reports" => "breach.list",
        "list holds" => "hold.list",
        "place a hold" => "hold.add",
        "release a hold" => "hold.release",
        "retention plan" | "retention run" => "retention.plan",
        "list tombstones" => "tombstone.list",
        "dump journals" => "journal.dump",
        "delete colleague's call" => "recording.delete",
        "erase (approved erasure request)" => "recording.erase",
        other => panic!("no audit action listed for operation '{other}'"),
    }
}

const DC: (&str, &str) = ("dana.dc", "dc-pass-1234");
const APPR: (&str, &str) = ("april.approver", "appr-pass-1234");
const COL: (&str, &str) = ("dr.col.league", "col-pass-1234");
const SPARE: (&str, &str) = ("sam.spare", "spare-pass-1234");
const U: (&str, &str) = ("ursula.under.test", "under-pass-1234");

struct World {
    tmp: tempfile::TempDir,
    archive: PathBuf,
    data: PathBuf,
    calls: BTreeMap<&'static str, String>,
    requests: BTreeMap<&'static str, String>,
    hold: String,
}

fn call(i: u32, ext: &str, y: i32, number: &str) -> CallSource {
    CallSource {
        name: format!("m{i}.wav"),
        bytes: wav_g711(8000, &speechlike(8000, 1, 900 + i), true),
        started_at: Utc.with_ymd_and_hms(y, 5, 1 + i, 10, 0, 0).unwrap(),
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

fn details(p: Purpose) -> RequestDetails {
    RequestDetails {
        purpose: Some(p),
        reason: "matrix test".into(),
        number: Some("07700 900702".into()),
        ..Default::default()
    }
}

impl World {
    async fn as_(&self, u: (&str, &str)) -> Result<Session, Error> {
        Session::logon_in(&self.archive, &self.data, u.0, &Password::new(u.1)).await
    }

    /// The archive for one row: the data controller (admin + data-controller, from init), an
    /// approver/supervisor, a colleague clinician (ext 302), a spare staff user (ext 303), and the
    /// user under test (ext 301) with the row's roles; calls, requests and a hold to act on.
    async fn new(row: &str) -> World {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("archive");
        let data = tmp.path().join("device");
        session::init_in(&archive, &data, DC.0, &Password::new(DC.1), KdfChoice::Fast)
            .await
            .unwrap();
        let mut w = World {
            tmp,
            archive,
            data,
            calls: BTreeMap::new(),
            requests: BTreeMap::new(),
            hold: String::new(),
        };
        let mut dc = w.as_(DC).await.unwrap();
        let roles: Vec<Role> = match row {
            "no-roles" => vec![],
            "disabled" => vec![Role::Clinician],
            r => vec![Role::parse(r).unwrap()],
        };
        for (u, roles, tel) in [
            (APPR, vec![Role::Approver, Role::Supervisor], vec![]),
            (COL, vec![Role::Clinician], vec!["302"]),
            (SPARE, vec![Role::Staff], vec!["303"]),
            (U, roles, vec!["301"]),
        ] {
            let tel: Vec<String> = tel.into_iter().map(String::from).collect();
            dc.add_user(u.0, &roles, &tel, &Password::new(u.1))
                .await
                .unwrap();
        }
        let rep = dc
            .import_sources(vec![
                call(1, "301", 2025, "07700 900701"),
                call(2, "302", 2025, "07700 900702"),
                call(3, "399", 2025, "07700 900703"),
                call(4, "302", 2025, "07700 900704"),
                call(5, "302", 2025, "07700 900705"),
                call(6, "302", 2021, "07700 900706"),
                call(7, "302", 2025, "07700 900707"),
            ])
            .await
            .unwrap();
        for (k, i) in [
            ("own", 0),
            ("colleague", 1),
            ("unassigned", 2),
            ("delete", 3),
            ("erase", 4),
            ("old", 5),
            ("held", 6),
        ] {
            w.calls.insert(k, rep.imported[i].id.clone());
        }
        w.hold = dc
            .add_hold(&[w.calls["held"].clone()], "litigation", None)
            .await
            .unwrap();
        dc.close().await;
        // Requests raised by the colleague.
        let mut col = w.as_(COL).await.unwrap();
        for (k, p) in [
            ("approve", Purpose::Complaint),
            ("reject", Purpose::Complaint),
            ("complete", Purpose::Complaint),
            ("sar", Purpose::Sar),
            ("disciplinary", Purpose::Disciplinary),
            ("erasure", Purpose::Erasure),
            ("sar-approved", Purpose::Sar),
            ("portability", Purpose::Portability),
        ] {
            let id = col.raise_request(details(p)).await.unwrap();
            w.requests.insert(k, id);
        }
        col.close().await;
        let until = Utc::now() + Duration::days(30);
        let mut dc = w.as_(DC).await.unwrap();
        dc.approve(
            &w.requests["erasure"],
            &[w.calls["erase"].clone()],
            until,
            &[Right::Export],
        )
        .await
        .unwrap();
        for k in ["sar-approved", "portability"] {
            dc.approve(
                &w.requests[k],
                &[w.calls["colleague"].clone()],
                until,
                &[Right::Export],
            )
            .await
            .unwrap();
        }
        dc.close().await;
        // The user's own complaint request about the colleague's call, approved by the approver.
        if let Ok(mut u) = w.as_(U).await {
            let id = u.raise_request(details(Purpose::Complaint)).await.unwrap();
            u.close().await;
            let mut a = w.as_(APPR).await.unwrap();
            a.approve(
                &id,
                &[w.calls["colleague"].clone()],
                until,
                &[Right::Listen],
            )
            .await
            .unwrap();
            a.close().await;
            w.requests.insert("own", id);
        }
        if row == "disabled" {
            let archive = callvault_core::archive::Archive::open(&w.archive).unwrap();
            let dc_uid = users::uid_for(&archive, DC.0).unwrap();
            let dc_rec = users::load_latest(&archive, &dc_uid).unwrap().unwrap();
            let admin = users::unlock(&archive, &dc_rec, &Password::new(DC.1)).unwrap();
            let uid = users::uid_for(&archive, U.0).unwrap();
            let profile = users::Profile {
                name: U.0.into(),
                roles: vec![Role::Clinician],
                telephony_ids: vec!["301".into()],
                disabled: true,
            };
            users::update_profile(&archive, &admin.secrets, &dc_uid, &uid, &profile, &[]).unwrap();
        }
        w
    }
}

/// Run one operation as the user under test. Ok = done; Err = the core's answer.
async fn run(op: &str, s: Session, w: &World) -> (Session, Result<(), Error>) {
    let mut s = s;
    let c = |k: &str| w.calls[k].clone();
    let rq = |k: &str| w.requests[k].clone();
    let until = Utc::now() + Duration::days(30);
    let r: Result<(), Error> = match op {
        "search" => s.search(&SearchQuery::default()).await.map(drop),
        "check completeness" => {
            let cdr = w.archive.with_file_name("calls.csv");
            std::fs::write(
                &cdr,
                "id,start,answered,talk_seconds\nc1,2026-11-30T09:00:00Z,yes,30\n",
            )
            .unwrap();
            s.check_completeness(&callvault_core::session::CompletenessQuery {
                cdr,
                ..Default::default()
            })
            .await
            .map(drop)
        }
        "show own call" => s.show(&c("own")).await.map(drop),
        "show colleague's call" => s.show(&c("colleague")).await.map(drop),
        "waveform own call" => s.waveform(&c("own")).await.map(drop),
        "waveform colleague's call" => s.waveform(&c("colleague")).await.map(drop),
        "listen own call, reason only" => s
            .open_for_listening(&c("own"), None, Some("what did I advise"))
            .await
            .map(drop),
        "listen colleague's call, reason only" => s
            .open_for_listening(&c("colleague"), None, Some("curious"))
            .await
            .map(drop),
        "listen colleague's call, own approved request" => s
            .open_for_listening(&c("colleague"), Some(&rq("own")), Some("complaint"))
            .await
            .map(drop),
        "export own call without a request" => s
            .authorize(&c("own"), Right::Export, None, Some("copy"))
            .await
            .map(drop),
        "raise a request" => s.raise_request(details(Purpose::Training)).await.map(drop),
        "list requests" => s.requests(None).await.map(drop),
        "show colleague's request" => s.request(&rq("approve")).await.map(drop),
        "approve colleague's complaint" => {
            s.approve(&rq("approve"), &[c("colleague")], until, &[Right::Listen])
                .await
        }
        "reject colleague's complaint" => s.reject(&rq("reject"), "not needed").await,
        "approve colleague's SAR" => {
            s.approve(&rq("sar"), &[c("colleague")], until, &[Right::Export])
                .await
        }
        "agree colleague's disciplinary" => {
            s.agree(&rq("disciplinary"), "agreed in writing", None)
                .await
        }
        "extend colleague's SAR" => s.extend(&rq("sar"), 10, "complex").await.map(drop),
        "complete colleague's complaint" => s.complete(&rq("complete"), None).await,
        "mark consent on own call" => {
            s.mark_consent(&c("own"), ConsentKind::CallerObjected, Some(500), None)
                .await
        }
        "mark consent on colleague's call" => {
            s.mark_consent(&c("colleague"), ConsentKind::NotRecorded, None, None)
                .await
        }
        "assign an unassigned call" => s.assign(&c("unassigned"), SPARE.0).await,
        "add a user" => {
            s.add_user(
                "new.person",
                &[Role::Staff],
                &[],
                &Password::new("new-pass-1234"),
            )
            .await
        }
        "set a user's roles" => s.set_roles(SPARE.0, &[Role::Staff, Role::Clinician]).await,
        "reset a user's password" => {
            s.reset_password(SPARE.0, &Password::new("spare-pass-5678"))
                .await
        }
        "list users" => s.list_users().await.map(drop),
        "import" => s
            .import_sources(vec![call(20, "302", 2025, "07700 900720")])
            .await
            .map(drop),
        "allow re-import of erased audio" => s.allow_erased_reimport(),
        "audit list" => s.audit_list(&AuditFilter::default()).await.map(drop),
        "audit entries" => s.audit_entries().await.map(drop),
        "audit verify" => s.verify_audit().await.map(drop),
        "verify archive" => s.verify().await.map(drop),
        "rebuild index" => match s.rebuild_index().await {
            Ok((s2, _, _)) => return (s2, Ok(())),
            Err(e) => {
                // rebuild_index consumes the session; log on again to go on.
                let s2 = w.as_(U).await.unwrap();
                return (s2, Err(e));
            }
        },
        "show settings" => s.settings().await.map(drop),
        "set a setting" => s.set_setting("practice-name", "Matrix Surgery").await,
        "list the do-not-record list" => s.do_not_record_list().map(drop),
        "report a breach" => s
            .report_breach("played a call to the wrong caller", None, &[c("own")])
            .await
            .map(drop),
        "list breach reports" => s.breaches().await.map(drop),
        "add to the do-not-record list" => s
            .do_not_record_add(
                callvault_core::dnr::Kind::Number,
                "07700 900465",
                "union representative",
            )
            .map(drop),
        "list holds" => s.holds().await.map(drop),
        "place a hold" => s
            .add_hold(&[c("colleague")], "complaint pending", None)
            .await
            .map(drop),
        "release a hold" => s.release_hold(&w.hold, "settled").await,
        "retention plan" => s.retention_due().await.map(drop),
        "list tombstones" => s.tombstones().await.map(drop),
        "dump journals" => s.journal_dump().await.map(drop),
        "export colleague's SAR" => {
            let out = w.tmp.path().join("sar-out");
            s.export_sar(
                &rq("sar-approved"),
                &out,
                &SarOptions::default(),
                &mut |_, _| {},
            )
            .await
            .map(drop)
        }
        "export colleague's portability" => {
            let out = w.tmp.path().join("port-out");
            s.export_portability(&rq("portability"), &out, &mut |_, _| {})
                .await
                .map(drop)
        }
        "retention run" => s.retention_run().await.map(drop),
        "delete colleague's call" => s.delete(&[c("delete")], "entered in error").await.map(drop),
        "erase (approved erasure request)" => s.erase(&rq("erasure")).await.map(drop),
        other => panic!("operation '{other}' has no runner"),
    };
    (s, r)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_by_every_role_matches_the_policy_table() {
    // The table is complete: every row has a cell for every role (the array type), every
    // operation is listed once, and every operation has a runner and an audit action.
    let mut names: Vec<&str> = TABLE.iter().map(|(op, _)| *op).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), TABLE.len(), "an operation is listed twice");
    let cells = TABLE.len() * ROWS.len();
    let mut disagreements: Vec<String> = Vec::new();
    let mut refusals_audited = 0usize;
    for (col, row) in ROWS.iter().enumerate() {
        let w = World::new(row).await;
        let mut expected_refusals: BTreeMap<&str, usize> = BTreeMap::new();
        match w.as_(U).await {
            Err(e) => {
                // Cannot log on: every cell of this row must say Refuse.
                for (op, cells) in TABLE {
                    if cells[col] != R {
                        disagreements.push(format!(
                            "{row} / {op}: table says {:?}, but the user cannot log on ({e})",
                            cells[col]
                        ));
                    }
                }
                assert!(
                    matches!(e, Error::Forbidden(_)),
                    "{row}: logon refused with {e:?}"
                );
                expected_refusals.insert("logon", 1);
            }
            Ok(mut s) => {
                for (op, cells) in TABLE {
                    let (s2, r) = run(op, s, &w).await;
                    s = s2;
                    let got = match &r {
                        Ok(()) => A,
                        Err(Error::Forbidden(_)) => R,
                        // `show` answers "no such recording, or not one you may see".
                        Err(Error::NotFound(m)) if m.contains("not one you may see") => R,
                        Err(e) => {
                            disagreements.push(format!("{row} / {op}: unexpected error {e:?}"));
                            continue;
                        }
                    };
                    if got != cells[col] {
                        disagreements.push(format!(
                            "{row} / {op}: table says {:?}, core says {got:?} ({r:?})",
                            cells[col]
                        ));
                    }
                    if got == R {
                        *expected_refusals.entry(refused_action(op)).or_default() += 1;
                    }
                }
                s.close().await;
            }
        }
        // Every refusal is in the audit trail, by this user, under its action.
        let dc = w.as_(DC).await.unwrap();
        let entries = dc
            .audit_list(&AuditFilter {
                user: Some(U.0.into()),
                ..Default::default()
            })
            .await
            .unwrap();
        dc.close().await;
        let mut refused: BTreeMap<String, usize> = BTreeMap::new();
        // A logon that cannot go on (an ingest identity, no roles) is audited as "failed"
        // with the reason; a disabled account's as "refused". Both count as the refusal.
        for e in entries
            .iter()
            .filter(|e| e.outcome == "refused" || (e.action == "logon" && e.outcome == "failed"))
        {
            *refused.entry(e.action.clone()).or_default() += 1;
        }
        for (action, n) in &expected_refusals {
            let have = refused.get(*action).copied().unwrap_or(0);
            if have < *n {
                disagreements.push(format!(
                    "{row}: {n} refusal(s) of {action}, but {have} 'refused' audit entries"
                ));
            }
            refusals_audited += n.min(&have);
        }
    }
    eprintln!(
        "permission matrix: {} operations x {} roles = {cells} cells; {refusals_audited} refusals found in the audit trail",
        TABLE.len(),
        ROWS.len()
    );
    assert!(
        disagreements.is_empty(),
        "{} disagreement(s) between the policy table and the core:\n{}",
        disagreements.len(),
        disagreements.join("\n")
    );
}
