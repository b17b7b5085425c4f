//! Patients, not just numbers: a patient who rings from two numbers written in two formats, whose
//! NHS number came with some calls and was linked to another by a supervisor after listening. A SAR
//! raised by NHS number and numbers finds exactly the patient's calls; a wrong NHS number is
//! refused with the reason and nothing is written; only a supervisor or the data controller links;
//! the link follows the call into the SAR export and goes with it at erasure.

use callvault_core::archive::journal::Direction;
use callvault_core::ingest::CallSource;
use callvault_core::patient;
use callvault_core::policy::Role;
use callvault_core::requests::{Purpose, RequestDetails, Right};
use callvault_core::secret::Password;
use callvault_core::session::{self, AuditFilter, KdfChoice, SarOptions, SearchQuery, Session};
use callvault_core::Error;
use callvault_testkit::demo::{mistyped_nhs, nhs_number, speechlike, wav_g711};
use chrono::{Duration, TimeZone, Utc};
use std::collections::BTreeSet;
use std::path::PathBuf;

const DC: (&str, &str) = ("dana.dc", "dc-pass-1234");
const SUP: (&str, &str) = ("sid.super", "sup-pass-1234");
const GP: (&str, &str) = ("dr.gwen.partner", "gp-pass-1234");
const CLIN: (&str, &str) = ("dr.cal.one", "clin-pass-1234");
const STAFF: (&str, &str) = ("rae.reception", "staff-pass-1234");

struct World {
    tmp: tempfile::TempDir,
    archive: PathBuf,
    data: PathBuf,
    /// The calls by name: `mobile` (with the NHS number), `landline`, `mobile-plus44`,
    /// `care-home` (linked later), `other-patient`, `stranger`.
    calls: Vec<(&'static str, String)>,
    nhs: String,
    other_nhs: String,
}

impl World {
    async fn new() -> World {
        let tmp = tempfile::tempdir().unwrap();
        let archive = tmp.path().join("archive");
        let data = tmp.path().join("device");
        session::init_in(&archive, &data, DC.0, &Password::new(DC.1), KdfChoice::Fast)
            .await
            .unwrap();
        let mut s = Session::logon_in(&archive, &data, DC.0, &Password::new(DC.1))
            .await
            .unwrap();
        for (u, roles, tel) in [
            (SUP, vec![Role::Supervisor], vec![]),
            (GP, vec![Role::Approver, Role::Clinician], vec!["203"]),
            (CLIN, vec![Role::Clinician], vec!["201"]),
            (STAFF, vec![Role::Staff], vec!["101"]),
        ] {
            let tel: Vec<String> = tel.into_iter().map(String::from).collect();
            s.add_user(u.0, &roles, &tel, &Password::new(u.1))
                .await
                .unwrap();
        }
        let nhs = nhs_number(4321);
        let other_nhs = nhs_number(8765);
        let call = |i: u32, ext: &str, number: &str, party: &str, nhs: &[&str]| CallSource {
            name: format!("c{i}.wav"),
            bytes: wav_g711(8000, &speechlike(8000, 2, i), true),
            started_at: Utc.with_ymd_and_hms(2026, 3, 2 + i, 10, 0, 0).unwrap(),
            direction: Direction::Inbound,
            staff: None,
            extension: Some(ext.into()),
            external_number: Some(number.into()),
            parties: vec![party.into()],
            notes: None,
            nhs_numbers: nhs.iter().map(|n| n.to_string()).collect(),
            conversation: None,
        };
        let plan = [
            (
                "mobile",
                call(1, "201", "07700 900111", "Ione Testbury", &[&nhs]),
            ),
            (
                "landline",
                call(2, "101", "+44 1632 960111", "Mr Testbury", &[]),
            ),
            (
                "mobile-plus44",
                call(3, "201", "+447700900111", "Caller", &[]),
            ),
            (
                "care-home",
                call(4, "101", "01632 960999", "Brookside Care Home", &[]),
            ),
            (
                "other-patient",
                call(5, "201", "07700 900222", "Wren Calloway", &[&other_nhs]),
            ),
            ("stranger", call(6, "101", "07700 900333", "Anon", &[])),
        ];
        let rep = s
            .import_sources(plan.iter().map(|(_, c)| c.clone()).collect())
            .await
            .unwrap();
        assert_eq!(rep.imported.len(), plan.len(), "{:?}", rep.rejected);
        let calls = plan
            .iter()
            .zip(&rep.imported)
            .map(|((n, _), i)| (*n, i.id.clone()))
            .collect();
        s.close().await;
        World {
            tmp,
            archive,
            data,
            calls,
            nhs,
            other_nhs,
        }
    }

    async fn as_(&self, u: (&str, &str)) -> Session {
        Session::logon_in(&self.archive, &self.data, u.0, &Password::new(u.1))
            .await
            .unwrap()
    }

    fn id(&self, name: &str) -> String {
        self.calls
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap()
            .1
            .clone()
    }

    fn names(&self, ids: impl IntoIterator<Item = String>) -> BTreeSet<&'static str> {
        ids.into_iter()
            .map(|id| self.calls.iter().find(|(_, i)| *i == id).unwrap().0)
            .collect()
    }
}

/// The calls a search by this NHS number finds.
async fn by_nhs(s: &Session, n: &str) -> Vec<String> {
    s.search(&SearchQuery {
        nhs_number: Some(n.into()),
        ..Default::default()
    })
    .await
    .unwrap()
    .into_iter()
    .map(|c| c.id)
    .collect()
}

/// The NHS number as a person writes it: `999 432 1xxx`.
fn spaced(n: &str) -> String {
    patient::display(n)
}

fn sar(w: &World) -> RequestDetails {
    RequestDetails {
        purpose: Some(Purpose::Sar),
        reason: "the patient asks for copies of their calls".into(),
        // Typed as the letter gives them: spaces, +44 and 0 forms.
        nhs_number: Some(spaced(&w.nhs)),
        number: Some("07700900111".into()),
        other_numbers: vec!["01632 960111".into()],
        identity: Some("photo ID and a utility bill seen at the desk".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn a_sar_by_nhs_number_and_numbers_finds_exactly_the_patients_calls() {
    let w = World::new().await;
    let dc = w.as_(DC).await;
    // Before anyone links the care home's call: the NHS number finds the call it came with, each
    // number the calls from it whatever their formatting.
    let draft = dc.draft_candidates(sar(&w)).await.unwrap();
    assert_eq!(
        w.names(draft.into_iter().map(|c| c.id)),
        BTreeSet::from(["mobile", "landline", "mobile-plus44"])
    );
    // The NHS number alone finds only the calls linked to it.
    let nhs_only = RequestDetails {
        nhs_number: Some(w.nhs.clone()),
        ..Default::default()
    };
    let found = dc.draft_candidates(nhs_only.clone()).await.unwrap();
    assert_eq!(
        w.names(found.iter().map(|c| c.id.clone())),
        BTreeSet::from(["mobile"])
    );
    assert_eq!(found[0].nhs_numbers, vec![w.nhs.clone()]);
    dc.close().await;

    // The supervisor listened to the care home's call: it was the patient. She links it.
    let mut sup = w.as_(SUP).await;
    sup.link_patient(&w.id("care-home"), &spaced(&w.nhs), false)
        .await
        .unwrap();
    // Twice is a clear error, not a second entry.
    let again = sup.link_patient(&w.id("care-home"), &w.nhs, false).await;
    assert!(
        matches!(&again, Err(Error::Invalid(m)) if m.contains("already linked")),
        "{again:?}"
    );
    // Her search by NHS number finds both calls now.
    let hits = by_nhs(&sup, &spaced(&w.nhs)).await;
    assert_eq!(w.names(hits), BTreeSet::from(["mobile", "care-home"]));
    sup.close().await;

    // A parent's call: the mobile call is about another patient too. Their number is theirs alone.
    let mut sup = w.as_(SUP).await;
    sup.link_patient(&w.id("mobile"), &w.other_nhs, false)
        .await
        .unwrap();
    sup.close().await;

    // The data controller raises the SAR: its candidates are exactly the patient's calls.
    let mut dc = w.as_(DC).await;
    let rid = dc.raise_request(sar(&w)).await.unwrap();
    let v = dc.request(&rid).await.unwrap();
    assert_eq!(
        v.nhs_number.as_deref(),
        Some(w.nhs.as_str()),
        "kept as ten digits"
    );
    assert_eq!(v.other_numbers, vec!["01632 960111".to_string()]);
    assert_eq!(
        w.names(v.candidates.iter().map(|c| c.id.clone())),
        BTreeSet::from(["mobile", "landline", "mobile-plus44", "care-home"])
    );
    // She approves them for export and exports: the manifest names the NHS number for the calls
    // linked to it (the import's and the supervisor's link alike).
    let ids: Vec<String> = v.candidates.iter().map(|c| c.id.clone()).collect();
    dc.approve(&rid, &ids, Utc::now() + Duration::days(7), &[Right::Export])
        .await
        .unwrap();
    let out = w.tmp.path().join("sar-out");
    dc.export_sar(&rid, &out, &SarOptions::default(), &mut |_, _| {})
        .await
        .unwrap();
    let csv = std::fs::read_to_string(out.join("manifest.csv")).unwrap();
    let json = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    for text in [&csv, &json] {
        assert!(
            !text.contains(&w.other_nhs),
            "another patient's NHS number was released"
        );
    }
    assert!(json.contains(&w.nhs));
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let head = rows.headers().unwrap().clone();
    let col = |n: &str| head.iter().position(|h| h == n).unwrap();
    let mut linked = BTreeSet::new();
    for r in rows.records() {
        let r = r.unwrap();
        if r[col("nhs_numbers")] == w.nhs {
            linked.insert(
                w.names([r[col("recording_id")].to_string()])
                    .pop_first()
                    .unwrap(),
            );
        } else {
            assert_eq!(&r[col("nhs_numbers")], "", "{r:?}");
        }
    }
    assert_eq!(linked, BTreeSet::from(["mobile", "care-home"]));
    dc.close().await;

    // Linked to the wrong patient: the supervisor takes it back and the call leaves the NHS
    // number's results on every computer (a new one included).
    let mut sup = w.as_(SUP).await;
    sup.link_patient(&w.id("care-home"), &w.nhs, true)
        .await
        .unwrap();
    sup.close().await;
    let fresh = w.tmp.path().join("new-pc");
    let dc = Session::logon_in(&w.archive, &fresh, DC.0, &Password::new(DC.1))
        .await
        .unwrap();
    let found = dc.draft_candidates(nhs_only).await.unwrap();
    assert_eq!(
        w.names(found.into_iter().map(|c| c.id)),
        BTreeSet::from(["mobile"])
    );
    // The other patient is found by theirs: their own call and the parent's call about them.
    let theirs = by_nhs(&dc, &w.other_nhs).await;
    assert_eq!(w.names(theirs), BTreeSet::from(["other-patient", "mobile"]));
    dc.close().await;
}

#[tokio::test]
async fn a_wrong_nhs_number_is_refused_with_the_reason_and_nothing_is_written() {
    let w = World::new().await;
    let mut dc = w.as_(DC).await;
    let before = dc.requests(None).await.unwrap().len();
    // The last digit changed: the check digit no longer matches.
    let typo = mistyped_nhs(&w.nhs);
    for (bad, why) in [
        (typo.as_str(), "check digit"),
        ("999 123 456", "9 digits"),
        ("999 123 45AB", "'A'"),
    ] {
        let mut d = sar(&w);
        d.nhs_number = Some(bad.into());
        for r in [
            dc.raise_request(d.clone()).await.map(|_| ()),
            dc.draft_candidates(d).await.map(|_| ()),
            dc.search(&SearchQuery {
                nhs_number: Some(bad.into()),
                ..Default::default()
            })
            .await
            .map(|_| ()),
            dc.link_patient(&w.id("stranger"), bad, false).await,
        ] {
            match r {
                Err(Error::Invalid(m)) => {
                    assert!(m.contains(why), "{bad}: {m}");
                    assert!(m.contains("NHS number"), "{m}");
                    // The reason never repeats the digits typed (an error may be logged).
                    assert!(!m.contains(bad.trim()), "{m}");
                }
                other => panic!("{bad}: expected a refusal, got {other:?}"),
            }
        }
    }
    assert_eq!(dc.requests(None).await.unwrap().len(), before);
    let stranger = dc.show(&w.id("stranger")).await.unwrap();
    assert!(stranger.nhs_numbers.is_empty());
    dc.close().await;
}

#[tokio::test]
async fn only_a_supervisor_or_the_data_controller_links_a_call_and_each_decision_is_audited() {
    let w = World::new().await;
    let own = w.id("mobile"); // ext 201: the clinician's own call
    for who in [CLIN, GP, STAFF] {
        let mut s = w.as_(who).await;
        let r = s.link_patient(&own, &w.other_nhs, false).await;
        assert!(matches!(&r, Err(Error::Forbidden(_))), "{}: {r:?}", who.0);
        s.close().await;
    }
    let mut dc = w.as_(DC).await;
    dc.link_patient(&w.id("stranger"), &w.other_nhs, false)
        .await
        .unwrap();
    let still = by_nhs(&dc, &w.other_nhs).await;
    assert_eq!(
        w.names(still),
        BTreeSet::from(["other-patient", "stranger"]),
        "the refused links changed nothing"
    );
    let trail = dc.audit_list(&AuditFilter::default()).await.unwrap();
    let link: Vec<_> = trail
        .iter()
        .filter(|e| e.action == "recording.link_patient")
        .collect();
    assert_eq!(link.iter().filter(|e| e.outcome == "refused").count(), 3);
    assert_eq!(link.iter().filter(|e| e.outcome == "allowed").count(), 1);
    // The trail names the call, never the NHS number.
    for e in &link {
        let text = serde_json::to_string(e).unwrap();
        assert!(!text.contains(&w.other_nhs), "{text}");
    }
    // The clinician sees the NHS number on her own call (it came with it), in her own index.
    let clin = w.as_(CLIN).await;
    let mine = clin.show(&own).await.unwrap();
    assert_eq!(mine.nhs_numbers, vec![w.nhs.clone()]);
    dc.close().await;
    clin.close().await;
}
