//! The fold's rules, event by event.
use super::*;
use chrono::Utc;

fn ev(by: &str, at: &str, event: RequestEvent) -> RequestEntry {
    RequestEntry {
        nonce: None,
        request: "r".into(),
        by: by.into(),
        at: at.into(),
        event,
    }
}

fn raised(p: Purpose) -> RequestEvent {
    RequestEvent::Raised(RequestDetails {
        purpose: Some(p),
        reason: "why".into(),
        ..Default::default()
    })
}

fn approve() -> RequestEvent {
    RequestEvent::Approved {
        recordings: vec!["rec1".into()],
        expires_at: "2999-01-01T00:00:00Z".into(),
        allow: vec![Right::Listen],
        note: None,
        keys: vec![],
    }
}

fn roles(u: &str) -> Vec<Role> {
    match u {
        "gp" | "pbm" => vec![Role::Approver],
        "dc" => vec![Role::DataController],
        _ => vec![Role::Staff],
    }
}

#[test]
fn self_approval_is_ignored_and_a_skewed_clock_cannot_reorder() {
    let h = Default::default();
    let st = fold(
        "r",
        vec![
            ev("gp", "2025-01-01T10:00:00Z", raised(Purpose::Complaint)),
            ev("gp", "2025-01-01T10:01:00Z", approve()),
        ],
        &roles,
        &h,
    )
    .unwrap();
    assert_eq!(st.state, State::Open);
    assert_eq!(st.ignored.len(), 1);
    // The approving PC's clock is behind: its approval is stamped before the request.
    let st = fold(
        "r",
        vec![
            ev("pbm", "2025-01-01T09:00:00Z", approve()),
            ev("gp", "2025-01-01T10:00:00Z", raised(Purpose::Complaint)),
        ],
        &roles,
        &h,
    )
    .unwrap();
    assert_eq!(st.state, State::Approved);
    assert!(access_refusal(&st, "gp", &roles("gp"), "rec1", Right::Listen, Utc::now()).is_none());
    assert!(access_refusal(&st, "gp", &roles("gp"), "rec1", Right::Export, Utc::now()).is_some());
    assert!(access_refusal(&st, "gp", &roles("gp"), "rec2", Right::Listen, Utc::now()).is_some());
    assert!(access_refusal(&st, "pbm", &roles("pbm"), "rec1", Right::Listen, Utc::now()).is_some());
}

#[test]
fn disciplinary_needs_written_agreement_and_only_the_dc_decides_a_sar() {
    let h = Default::default();
    let mut evs = vec![
        ev(
            "staff",
            "2025-01-01T10:00:00Z",
            raised(Purpose::Disciplinary),
        ),
        ev("pbm", "2025-01-01T11:00:00Z", approve()),
    ];
    let st = fold("r", evs.clone(), &roles, &h).unwrap();
    assert!(access_refusal(
        &st,
        "staff",
        &roles("staff"),
        "rec1",
        Right::Listen,
        Utc::now()
    )
    .unwrap()
    .contains("agreement"));
    evs.push(ev(
        "pbm",
        "2025-01-01T11:30:00Z",
        RequestEvent::Agreed { text: "ok".into() },
    ));
    let st = fold("r", evs.clone(), &roles, &h).unwrap();
    assert!(st.agreement.is_none(), "only the data controller agrees");
    evs.push(ev(
        "dc",
        "2025-01-01T12:00:00Z",
        RequestEvent::Agreed {
            text: "Agreed, J. Doe".into(),
        },
    ));
    let st = fold("r", evs, &roles, &h).unwrap();
    assert!(access_refusal(
        &st,
        "staff",
        &roles("staff"),
        "rec1",
        Right::Listen,
        Utc::now()
    )
    .is_none());
    let st = fold(
        "r",
        vec![
            ev("staff", "2025-01-01T10:00:00Z", raised(Purpose::Sar)),
            ev("gp", "2025-01-01T11:00:00Z", approve()),
        ],
        &roles,
        &h,
    )
    .unwrap();
    assert_eq!(st.state, State::Open, "an approver does not decide a SAR");
}

#[test]
fn expired_approval_refused() {
    let h = Default::default();
    let mut a = approve();
    if let RequestEvent::Approved { expires_at, .. } = &mut a {
        *expires_at = "2025-01-02T00:00:00Z".into();
    }
    let st = fold(
        "r",
        vec![
            ev("staff", "2025-01-01T10:00:00Z", raised(Purpose::Training)),
            ev("gp", "2025-01-01T11:00:00Z", a),
        ],
        &roles,
        &h,
    )
    .unwrap();
    assert!(access_refusal(
        &st,
        "staff",
        &roles("staff"),
        "rec1",
        Right::Listen,
        Utc::now()
    )
    .unwrap()
    .contains("expired"));
}

#[test]
fn only_the_data_controller_erases_an_erasure_requests_details() {
    let h = Default::default();
    let erased = |by: &str| {
        ev(
            by,
            "2025-02-01T10:00:00Z",
            RequestEvent::Erased {
                raised_by: "staff".into(),
                raised_at: "2025-01-01T10:00:00Z".into(),
            },
        )
    };
    let mut with_number = raised(Purpose::Erasure);
    if let RequestEvent::Raised(d) = &mut with_number {
        d.number = Some("07700 900123".into());
    }
    let r = ev("staff", "2025-01-01T10:00:00Z", with_number);
    // From anyone else, ignored: the details stand.
    let st = fold("r", vec![r.clone(), erased("gp")], &roles, &h).unwrap();
    assert_eq!(st.details.number.as_deref(), Some("07700 900123"));
    assert_eq!(st.ignored.len(), 1);
    // After the data controller's `erased` event, a forged `raised` (another purpose, another
    // raiser) counts for nothing: the request stays the erased one.
    let forged = ev("gp", "2025-03-01T10:00:00Z", raised(Purpose::Complaint));
    let st = fold("r", vec![forged, erased("dc")], &roles, &h).unwrap();
    assert_eq!(
        (st.raised_by.as_str(), st.purpose),
        ("staff", Purpose::Erasure)
    );
    assert_eq!(st.details, erased_details());
    // The data controller's: minimised, before and after the `raised` event is compacted.
    for evs in [vec![r, erased("dc")], vec![erased("dc")]] {
        let st = fold("r", evs, &roles, &h).unwrap();
        assert_eq!(st.details, erased_details());
        assert_eq!(
            (st.raised_by.as_str(), st.purpose),
            ("staff", Purpose::Erasure)
        );
    }
    // Without a `raised` event, only the data controller's `erased` event makes a request.
    assert!(fold("r", vec![erased("gp")], &roles, &h).is_none());
}
