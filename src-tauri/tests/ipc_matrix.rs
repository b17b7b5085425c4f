//! Every IPC command that reaches personal data, for every demo user, over own and colleagues'
//! calls, through the app's real command handlers and its real capabilities (the app built on
//! Tauri's mock runtime with `generate_context!()`, so a command the main window may not call is
//! refused as it would be in the app). Each outcome must be exactly the core's: the same command
//! through `Session` directly gives the same result or the same refusal — so the shell neither adds
//! nor drops a rule — and every refusal the app met is in the audit trail, from the app's device.

use callvault_core::secret::Password;
use callvault_core::session::{AuditFilter, CompletenessQuery, KdfChoice, SearchQuery, Session};
use callvault_testkit::demo::demo_users;
use serde_json::{json, Value};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{get_ipc_response, mock_builder, MockRuntime, INVOKE_KEY};
use tauri::webview::InvokeRequest;
use tauri::{Manager, WebviewWindow};

const CALLS: usize = 24;

fn invoke(w: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        w,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            // The app's own origin (the custom protocol on Linux and macOS): "local" to the capabilities.
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.into(),
        },
    )
    .map(|b| b.deserialize::<Value>().expect("JSON"))
}

/// "ok", or the error's code (a denial by the capabilities has no code: its text is kept).
fn outcome(r: &Result<Value, Value>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => e
            .get("code")
            .and_then(Value::as_str)
            .map_or_else(|| format!("denied: {e}"), str::to_string),
    }
}

fn core_outcome<T>(r: &callvault_core::Result<T>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => e.code().into(),
    }
}

#[test]
fn every_ipc_command_decides_exactly_as_the_core_and_is_audited() {
    let tmp = tempfile::tempdir().unwrap();
    let archive = tmp.path().join("archive");
    let app_data = tmp.path().join("app-device");
    let direct_data = tmp.path().join("direct-device");
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    // Sound goes to a file (ALSA reads $HOME/.asoundrc when the player first opens a device).
    std::fs::write(
        home.join(".asoundrc"),
        format!(
            "pcm.!default {{ type file slave.pcm \"null\" file \"{}\" format \"raw\" }}\n",
            tmp.path().join("played.raw").display()
        ),
    )
    .unwrap();
    std::env::set_var("HOME", &home);
    std::env::set_var("CALLVAULT_DATA_DIR", tmp.path().join("maker"));
    std::env::remove_var("CALLVAULT_DEMO");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(callvault_testkit::demo::create(
        &archive,
        CALLS,
        KdfChoice::Fast,
    ))
    .unwrap();
    // The app's logon command finds this device's folder through CALLVAULT_DATA_DIR.
    std::env::set_var("CALLVAULT_DATA_DIR", &app_data);

    let app = callvault_app::app(mock_builder(), Some(archive.clone()))
        .build(tauri::generate_context!())
        .expect("the app on the mock runtime");
    // The mock runtime does not run the app's setup hook: manage its state as setup would.
    app.manage(callvault_app::state::AppState::new(
        false,
        tmp.path().join("app-config"),
        Some(archive.clone()),
    ));
    let w = match app.get_webview_window("main") {
        Some(w) => w,
        None => tauri::WebviewWindowBuilder::new(&app, "main", Default::default())
            .build()
            .unwrap(),
    };

    // Before logon nothing personal is reachable.
    let r = invoke(&w, "search", json!({ "query": {} }));
    assert_eq!(outcome(&r), "logged_off", "{r:?}");

    // Ids of the demo calls (they are imported in order), and whose each is.
    let all = rt
        .block_on(async {
            let s = Session::logon_in(
                &archive,
                &direct_data,
                "jordan.reid",
                &Password::new("jordan-demo-2026"),
            )
            .await?;
            let v = s
                .search(&SearchQuery {
                    limit: Some(1000),
                    ..Default::default()
                })
                .await;
            s.close().await;
            v
        })
        .unwrap();
    assert_eq!(all.len(), CALLS);
    let staff_of = |id: &str| {
        all.iter()
            .find(|r| r.id == id)
            .and_then(|r| r.staff.clone())
            .unwrap_or_default()
    };
    // A call log naming one demo call, for the completeness check.
    let cdr = tmp.path().join("calls.csv");
    std::fs::write(
        &cdr,
        format!(
            "id,start,answered,talk_seconds,from,to\nc1,{},yes,5,07700900999,\n",
            all[0].started_at
        ),
    )
    .unwrap();
    let mut cells = 0;
    let mut ipc_refusals = 0;
    for (n, u) in demo_users().into_iter().enumerate() {
        let who = (u.name.as_str(), u.password.as_str());
        // A patient of this user's own (each links a call to a number no one linked before).
        let nhs = callvault_testkit::demo::nhs_number(500 + 10 * n as u32);
        let logon = invoke(&w, "logon", json!({ "user": who.0, "password": who.1 }));
        let direct = rt.block_on(Session::logon_in(
            &archive,
            &direct_data,
            who.0,
            &Password::new(who.1),
        ));
        assert_eq!(outcome(&logon), core_outcome(&direct), "logon of {}", who.0);
        cells += 1;
        let Ok(mut s) = direct else {
            ipc_refusals += 1;
            continue;
        };
        // An own call (if the user takes calls) and a colleague's.
        let own = all
            .iter()
            .find(|r| staff_of(&r.id).starts_with(who.0))
            .map(|r| r.id.clone());
        let colleague = all
            .iter()
            .find(|r| !staff_of(&r.id).starts_with(who.0))
            .map(|r| r.id.clone())
            .unwrap();

        let ipc = invoke(&w, "search", json!({ "query": { "limit": 1000 } }));
        let core = rt.block_on(s.search(&SearchQuery {
            limit: Some(1000),
            ..Default::default()
        }));
        assert_eq!(outcome(&ipc), core_outcome(&core), "{} search", who.0);
        if let (Ok(ipc), Ok(core)) = (&ipc, &core) {
            let mut a: Vec<&str> = ipc
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap())
                .collect();
            let mut b: Vec<&str> = core.iter().map(|r| r.id.as_str()).collect();
            a.sort();
            b.sort();
            assert_eq!(a, b, "{} sees other calls through the app", who.0);
        }
        ipc_refusals += usize::from(ipc.is_err());
        cells += 1;

        for id in own.iter().chain(std::iter::once(&colleague)) {
            let checks: Vec<(&str, Result<Value, Value>, String)> = vec![
                (
                    "show",
                    invoke(&w, "show", json!({ "id": id })),
                    core_outcome(&rt.block_on(s.show(id))),
                ),
                (
                    "waveform",
                    invoke(&w, "waveform", json!({ "id": id })),
                    core_outcome(&rt.block_on(s.waveform(id))),
                ),
                (
                    "approvals_for",
                    invoke(&w, "approvals_for", json!({ "id": id })),
                    core_outcome(
                        &rt.block_on(s.approvals_for(id, callvault_core::requests::Right::Listen)),
                    ),
                ),
                (
                    "link_patient",
                    invoke(
                        &w,
                        "link_patient",
                        json!({ "link": { "recording": id, "nhs_number": nhs } }),
                    ),
                    // The core (which reads the share first) takes the app's link back: the same
                    // outcome for who may link, and the same refusal for who may not.
                    core_outcome(&rt.block_on(s.link_patient(id, &nhs, true))),
                ),
                (
                    "play",
                    invoke(
                        &w,
                        "play",
                        json!({ "id": id, "request": null, "reason": "checking the advice given" }),
                    ),
                    core_outcome(&rt.block_on(s.open_for_listening(
                        id,
                        None,
                        Some("checking the advice given"),
                    ))),
                ),
            ];
            for (cmd, ipc, core) in checks {
                assert_eq!(
                    outcome(&ipc),
                    core,
                    "{} {cmd} of {}'s call: app {ipc:?}",
                    who.0,
                    staff_of(id)
                );
                ipc_refusals += usize::from(ipc.is_err());
                cells += 1;
            }
            let _ = invoke(&w, "stop", json!({}));
        }
        // The workflow screens' commands: the same outcome as the core for every user (the
        // writes are ones that change nothing: re-enabling one's own account).
        let own_name = who.0.to_string();
        let number = all[0].external_number.clone().unwrap_or_default();
        let workflow: Vec<(&str, Result<Value, Value>, String)> = vec![
            (
                "overview",
                invoke(&w, "overview", json!({})),
                core_outcome(&rt.block_on(s.overview())),
            ),
            (
                "requests",
                invoke(&w, "requests", json!({ "filter": null })),
                core_outcome(&rt.block_on(s.requests(None))),
            ),
            (
                "request_candidates",
                invoke(
                    &w,
                    "request_candidates",
                    json!({ "details": { "number": number } }),
                ),
                core_outcome(&rt.block_on(s.draft_candidates(
                    callvault_core::requests::RequestDetails {
                        number: Some(number.clone()),
                        ..Default::default()
                    },
                ))),
            ),
            (
                "users",
                invoke(&w, "users", json!({})),
                core_outcome(&rt.block_on(s.list_users())),
            ),
            (
                "audit",
                invoke(&w, "audit", json!({ "filter": {} })),
                core_outcome(&rt.block_on(s.audit_list(&AuditFilter::default()))),
            ),
            (
                "verify_audit",
                invoke(&w, "verify_audit", json!({})),
                core_outcome(&rt.block_on(s.verify_audit())),
            ),
            (
                "holds",
                invoke(&w, "holds", json!({})),
                core_outcome(&rt.block_on(s.holds())),
            ),
            (
                "retention_due",
                invoke(&w, "retention_due", json!({})),
                core_outcome(&rt.block_on(s.retention_due())),
            ),
            (
                "settings",
                invoke(&w, "settings", json!({})),
                core_outcome(&rt.block_on(s.settings())),
            ),
            (
                "dnr_list",
                invoke(&w, "dnr_list", json!({})),
                core_outcome(&s.do_not_record_list()),
            ),
            (
                "breaches",
                invoke(&w, "breaches", json!({})),
                core_outcome(&rt.block_on(s.breaches())),
            ),
            (
                "check_completeness",
                invoke(
                    &w,
                    "check_completeness",
                    json!({ "query": { "cdr": cdr, "layout": null, "from": null, "to": null, "sound": false } }),
                ),
                core_outcome(&rt.block_on(s.check_completeness(&CompletenessQuery {
                    cdr: cdr.clone(),
                    ..Default::default()
                }))),
            ),
            ("verify_archive", invoke(&w, "verify_archive", json!({})), {
                let mut s2 = rt
                    .block_on(Session::logon_in(
                        &archive,
                        &direct_data,
                        who.0,
                        &Password::new(who.1),
                    ))
                    .unwrap();
                let r = rt.block_on(s2.verify());
                rt.block_on(s2.close());
                core_outcome(&r)
            }),
            (
                "update_user",
                invoke(
                    &w,
                    "update_user",
                    json!({ "name": own_name, "telephonyIds": null, "disabled": false }),
                ),
                {
                    let mut s2 = rt
                        .block_on(Session::logon_in(
                            &archive,
                            &direct_data,
                            who.0,
                            &Password::new(who.1),
                        ))
                        .unwrap();
                    let r = rt.block_on(s2.update_user(&own_name, None, Some(false)));
                    rt.block_on(s2.close());
                    core_outcome(&r)
                },
            ),
        ];
        for (cmd, ipc, core) in workflow {
            assert_eq!(outcome(&ipc), core, "{} {cmd}: app {ipc:?}", who.0);
            ipc_refusals += usize::from(ipc.is_err());
            cells += 1;
        }
        // The request list through the app is exactly the core's, and the candidates too.
        let ipc_ids = |v: &Value| -> Vec<String> {
            let mut ids: Vec<String> = v
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["id"].as_str().unwrap().to_string())
                .collect();
            ids.sort();
            ids
        };
        if let Ok(c) = invoke(
            &w,
            "request_candidates",
            json!({ "details": { "number": number } }),
        ) {
            let mut core: Vec<String> = rt
                .block_on(
                    s.draft_candidates(callvault_core::requests::RequestDetails {
                        number: Some(number.clone()),
                        ..Default::default()
                    }),
                )
                .unwrap()
                .into_iter()
                .map(|r| r.id)
                .collect();
            core.sort();
            assert_eq!(ipc_ids(&c), core, "{} candidates", who.0);
        }
        // Remembered criteria are the user's own, through the core.
        let saved = json!({ "number": "07700 900129" });
        assert_eq!(
            outcome(&invoke(
                &w,
                "save_search_filters",
                json!({ "query": saved })
            )),
            "ok"
        );
        let back = invoke(&w, "search_filters", json!({})).unwrap();
        assert_eq!(back["number"], "07700 900129");
        cells += 2;
        rt.block_on(s.close());
        assert_eq!(outcome(&invoke(&w, "logout", json!({}))), "ok");
        let r = invoke(&w, "show", json!({ "id": colleague }));
        assert_eq!(outcome(&r), "logged_off", "after logout: {r:?}");
    }
    assert!(cells >= 90, "only {cells} cells");

    // Every refusal the app met is in the audit trail, from the app's device.
    let app_device = callvault_core::device::open_in(&archive, &app_data)
        .unwrap()
        .1
        .id;
    let refused = rt
        .block_on(async {
            let s = Session::logon_in(
                &archive,
                &direct_data,
                "alex.morgan",
                &Password::new(&demo_users()[0].password),
            )
            .await?;
            let v = s.audit_list(&AuditFilter::default()).await;
            s.close().await;
            v
        })
        .unwrap()
        .into_iter()
        .filter(|e| e.device == app_device && e.outcome == "refused")
        .count();
    assert!(ipc_refusals > 0, "no refusal was tried");
    assert!(
        refused >= ipc_refusals,
        "{ipc_refusals} refusals through the app, {refused} in the audit trail"
    );
    eprintln!(
        "IPC matrix: {cells} cells over {} users; {ipc_refusals} refusals, {refused} audited from the app's device",
        demo_users().len()
    );
}
