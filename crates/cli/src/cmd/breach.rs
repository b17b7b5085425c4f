//! `callvault breach`: staff breach self-reports — report one, list and show those you may see,
//! and (the data controller) assess and close them. The core decides who may do what.

use crate::args::{BreachCmd, Cli};
use crate::logon::logon;
use crate::print::print_json;
use crate::{CliResult, Failure};
use callvault_core::session::BreachView;

fn print_one(b: &BreachView) {
    println!("Breach report {}", b.id);
    println!("  reported by {} at {}", b.reporter, b.reported_at);
    if let Some(t) = &b.happened_at {
        println!("  happened at {t}");
    }
    println!("  what: {}", b.what);
    if !b.calls.is_empty() {
        println!("  calls: {}", b.calls.join(", "));
    }
    println!(
        "  state: {}{}",
        b.state.as_str(),
        if b.overdue {
            " (OVERDUE: the ICO decision was due within 72 hours)"
        } else {
            ""
        }
    );
    if let Some(d) = &b.due {
        println!("  ICO decision due by {d}");
    }
    if let (Some(r), Some(why)) = (b.reportable, &b.assessment) {
        println!(
            "  assessed by {} at {}: {} ({why})",
            b.assessed_by.as_deref().unwrap_or("?"),
            b.assessed_at.as_deref().unwrap_or("?"),
            if r {
                "reportable to the ICO"
            } else {
                "not reportable to the ICO"
            }
        );
    }
    if let Some(n) = &b.note {
        println!("  closed at {}: {n}", b.closed_at.as_deref().unwrap_or("?"));
    }
}

pub async fn run(cli: &Cli, bc: &BreachCmd) -> CliResult {
    let mut s = logon(cli).await?;
    let r = match bc {
        BreachCmd::Report { what, when, calls } => s
            .report_breach(what, when.as_deref(), calls)
            .await
            .map(|id| {
                println!("Breach report {id} sent to your line manager and the data controller.")
            }),
        BreachCmd::List { json } => s.breaches().await.map(|list| {
            if *json {
                print_json(&list);
            } else if list.is_empty() {
                println!("No breach reports.");
            } else {
                for b in &list {
                    println!(
                        "{}  {:<8}  {}  {}{}",
                        b.id,
                        b.state.as_str(),
                        b.reported_at.get(..16).unwrap_or(&b.reported_at),
                        b.reporter,
                        if b.overdue { "  OVERDUE" } else { "" }
                    );
                }
            }
        }),
        BreachCmd::Show { id, json } => s.breach(id).await.map(|b| {
            if *json {
                print_json(&b);
            } else {
                print_one(&b);
            }
        }),
        BreachCmd::Assess {
            id,
            reportable,
            reason,
        } => {
            let r = match reportable.trim().to_ascii_lowercase().as_str() {
                "yes" => true,
                "no" => false,
                other => {
                    s.close().await;
                    return Err(Failure::Usage(format!(
                        "--reportable '{other}': use yes or no"
                    )));
                }
            };
            s.assess_breach(id, r, reason)
                .await
                .map(|_| println!("Breach report {id} assessed."))
        }
        BreachCmd::Close { id, note } => s
            .close_breach(id, note)
            .await
            .map(|_| println!("Breach report {id} closed.")),
    };
    s.close().await;
    Ok(r?)
}
