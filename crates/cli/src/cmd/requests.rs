//! Access requests: `callvault request new|list|show|approve|reject|agree|extend|complete`, each
//! run in one logged-on session that is closed whatever the outcome.

use crate::args::{Cli, RequestCmd};
use crate::logon::logon;
use crate::print::{print_json, print_request_line};
use crate::{CliResult, Failure};
use callvault_core::requests::{Purpose, RequestDetails, Right, State};
use callvault_core::session::Session;
use callvault_core::Error;

pub async fn run(cli: &Cli, rc: &RequestCmd) -> CliResult {
    let mut s = logon(cli).await?;
    let r = run_in_session(&mut s, rc).await;
    s.close().await;
    r
}

/// One request command in an open session.
async fn run_in_session(s: &mut Session, rc: &RequestCmd) -> CliResult {
    match rc {
        RequestCmd::New {
            purpose,
            reason,
            call_time,
            staff,
            numbers,
            nhs_number,
            parties,
            info,
            received,
            identity,
            json,
        } => {
            let received = received
                .as_deref()
                .map(|d| {
                    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .map_err(|_| Failure::Usage(format!("--received {d}: use YYYY-MM-DD")))
                })
                .transpose()?;
            let d = RequestDetails {
                purpose: Some(Purpose::parse(purpose)?),
                reason: reason.clone(),
                call_time: call_time.clone(),
                staff: staff.clone(),
                number: numbers.first().cloned(),
                other_numbers: numbers.iter().skip(1).cloned().collect(),
                nhs_number: nhs_number.clone(),
                parties: parties.clone(),
                info: info.clone(),
                received,
                identity: identity.clone(),
            };
            let id = s.raise_request(d).await?;
            if *json {
                print_json(&serde_json::json!({ "id": id }));
            } else {
                println!("{id}");
            }
            Ok(())
        }
        RequestCmd::List { state, json } => {
            let state = state.as_deref().map(State::parse).transpose()?;
            let list = s.requests(state).await?;
            if *json {
                print_json(&list);
            } else {
                for r in &list {
                    print_request_line(r);
                }
                eprintln!("{} request(s)", list.len());
            }
            Ok(())
        }
        RequestCmd::Show { id, json } => {
            let r = s.request(id).await?;
            if *json {
                print_json(&r);
            } else {
                print_request_line(&r);
                println!("reason:      {}", r.reason);
                if let Some(n) = &r.nhs_number {
                    println!("NHS number:  {}", callvault_core::patient::display(n));
                }
                let numbers: Vec<&str> = r
                    .number
                    .iter()
                    .chain(&r.other_numbers)
                    .map(String::as_str)
                    .collect();
                if !numbers.is_empty() {
                    println!("numbers:     {}", numbers.join(", "));
                }
                if let Some(d) = r.due_date {
                    println!(
                        "received:    {}   due: {d} ({} days left)",
                        r.received.map(|d| d.to_string()).unwrap_or_default(),
                        r.days_left.unwrap_or(0)
                    );
                }
                if let Some(a) = &r.approved_by {
                    let allow: Vec<&str> = r.allow.iter().map(|x| x.as_str()).collect();
                    println!(
                        "approved by: {a} ({}) until {}",
                        allow.join(","),
                        r.expires_at.clone().unwrap_or_default()
                    );
                }
                if let Some(a) = &r.agreement {
                    println!(
                        "agreement:   {a} ({})",
                        r.agreement_by.clone().unwrap_or_default()
                    );
                }
                for i in &r.ignored {
                    println!("ignored:     {i}");
                }
                println!("candidates:");
                for c in &r.candidates {
                    println!(
                        "  {}  {}  {:<8} {:<14} {:<16} {}",
                        c.id,
                        c.started_at,
                        c.direction.as_str(),
                        c.staff.as_deref().unwrap_or("unassigned"),
                        c.external_number.as_deref().unwrap_or("-"),
                        c.parties.join("; ")
                    );
                    if !c.nhs_numbers.is_empty() {
                        let n: Vec<String> = c
                            .nhs_numbers
                            .iter()
                            .map(|n| callvault_core::patient::display(n))
                            .collect();
                        println!("      NHS number: {}", n.join(", "));
                    }
                }
            }
            Ok(())
        }
        RequestCmd::Approve {
            id,
            recordings,
            expires_days,
            allow,
        } => {
            if *expires_days == 0 {
                return Err(Failure::Usage("--expires-days must be at least 1".into()));
            }
            let allow = Right::parse_list(allow)?;
            let expires = chrono::Utc::now() + chrono::Duration::days(*expires_days as i64);
            s.approve(id, recordings, expires, &allow).await?;
            println!(
                "Approved {} recording(s) of request {id} until {}.",
                recordings.len(),
                expires.format("%Y-%m-%d %H:%M UTC")
            );
            Ok(())
        }
        RequestCmd::Reject { id, reason } => {
            s.reject(id, reason).await?;
            println!("Rejected request {id}.");
            Ok(())
        }
        RequestCmd::Agree { id, text, scan } => {
            let scan = match scan {
                Some(p) => Some(std::path::absolute(p).map_err(|e| Error::Io {
                    path: p.display().to_string(),
                    source: e,
                })?),
                None => None,
            };
            s.agree(id, text, scan.as_deref()).await?;
            println!("Written agreement recorded for request {id}.");
            Ok(())
        }
        RequestCmd::Extend { id, days, reason } => {
            let due = s.extend(id, *days, reason).await?;
            println!("Request {id} now due {due}.");
            Ok(())
        }
        RequestCmd::Complete { id, note } => {
            s.complete(id, note.as_deref()).await?;
            println!("Request {id} completed.");
            Ok(())
        }
    }
}
