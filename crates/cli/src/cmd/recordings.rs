//! Finding and annotating recordings: `callvault search`, `show` and `waveform`, and two changes
//! to one recording — `assign` (a supervisor gives an unassigned call to its staff user),
//! `deliver-key` (an approver delivers the key of a call assigned without it) and `mark` (the
//! caller's consent), and `link-patient` (a call linked to a patient's NHS number).

use crate::args::{Cli, SearchArgs};
use crate::logon::logon;
use crate::print::{dir_str, print_json};
use crate::CliResult;
use callvault_core::conversation::JoinedBy;
use callvault_core::requests::{self, ConsentKind};
use callvault_core::session::SearchQuery;

pub async fn search(cli: &Cli, a: &SearchArgs) -> CliResult {
    let s = logon(cli).await?;
    let q = SearchQuery {
        from: a.from.clone(),
        to: a.to.clone(),
        number: a.number.clone(),
        staff: a.staff.clone(),
        party: a.party.clone(),
        direction: a.direction.clone(),
        min_duration_s: a.min_duration,
        max_duration_s: a.max_duration,
        text: a.text.clone(),
        nhs_number: a.nhs_number.clone(),
        limit: a.limit,
    };
    let r = s.search(&q).await;
    s.close().await;
    let rows = r?;
    if a.json {
        print_json(&rows);
    } else {
        for r in &rows {
            println!(
                "{}  {}  {:<8} {:<14} {:<16} {:>6.1}s  {}{}",
                r.id,
                r.started_at,
                dir_str(r.direction),
                r.staff.as_deref().unwrap_or("unassigned"),
                r.external_number.as_deref().unwrap_or("-"),
                r.duration_s,
                r.parties.join("; "),
                r.conversation
                    .as_ref()
                    .map(|c| format!("  [leg {} of {}]", c.leg, c.legs.len()))
                    .unwrap_or_default()
            );
        }
        eprintln!("{} recording(s)", rows.len());
    }
    Ok(())
}

pub async fn show(cli: &Cli, id: &str, json: bool) -> CliResult {
    let s = logon(cli).await?;
    let r = s.show(id).await;
    s.close().await;
    let v = r?;
    if json {
        print_json(&v);
    } else {
        println!("id:          {}", v.id);
        println!("started at:  {}", v.started_at);
        println!("direction:   {}", dir_str(v.direction));
        println!(
            "staff:       {}",
            v.staff.as_deref().unwrap_or("unassigned")
        );
        println!("extension:   {}", v.extension.as_deref().unwrap_or("-"));
        println!(
            "number:      {}",
            v.external_number.as_deref().unwrap_or("-")
        );
        println!("parties:     {}", v.parties.join("; "));
        println!("duration:    {:.1} s", v.duration_s);
        println!(
            "audio:       {} {} Hz, {} channel(s)",
            v.codec, v.sample_rate, v.channels
        );
        println!("notes:       {}", v.notes.as_deref().unwrap_or("-"));
        if let Some(c) = &v.conversation {
            let by = match c.joined_by {
                JoinedBy::PhoneSystem => "the phone system's conversation id",
                JoinedBy::NumberAndTime => "the same number, one call following on",
            };
            println!(
                "conversation: leg {} of {} (joined by {by}):",
                c.leg,
                c.legs.len()
            );
            for (i, l) in c.legs.iter().enumerate() {
                println!(
                    "  {}. {}  {}  {:>6.1}s  {}{}",
                    i + 1,
                    l.id,
                    l.started_at,
                    l.duration_s,
                    l.staff.as_deref().unwrap_or("unassigned"),
                    if l.id == v.id { "  (this call)" } else { "" }
                );
            }
        }
    }
    Ok(())
}

pub async fn waveform(cli: &Cli, id: &str) -> CliResult {
    let s = logon(cli).await?;
    let r = s.waveform(id).await;
    s.close().await;
    print_json(&r?);
    Ok(())
}

pub async fn assign(cli: &Cli, id: &str, staff: &str) -> CliResult {
    let mut s = logon(cli).await?;
    let r = s.assign(id, staff).await;
    s.close().await;
    r?;
    println!("Recording {id} assigned to {staff}.");
    Ok(())
}

/// Deliver an assigned call's key, or list the calls waiting for one.
pub async fn deliver_key(cli: &Cli, id: Option<&str>, json: bool) -> CliResult {
    let mut s = logon(cli).await?;
    match id {
        Some(id) => {
            // Bound to the assignment listed in this same session, and said.
            let r = match s.assignments_awaiting_key().await {
                Ok(waiting) => match waiting.iter().find(|w| w.recording == id.trim()) {
                    Some(w) => s
                        .deliver_assigned_key(id, Some((&w.assigned_to, &w.assigned_at)))
                        .await
                        .map(|to| (to, w.assigned_by.clone(), w.assigned_at.clone())),
                    None => s
                        .deliver_assigned_key(id, None)
                        .await
                        .map(|to| (to, String::new(), String::new())),
                },
                Err(e) => Err(e),
            };
            s.close().await;
            let (to, by, at) = r?;
            println!("The key of recording {id} was delivered to {to} (assigned by {by} at {at}).");
        }
        None => {
            let r = s.assignments_awaiting_key().await;
            s.close().await;
            let waiting = r?;
            if json {
                print_json(&waiting);
            } else if waiting.is_empty() {
                println!("No assigned call is waiting for a key.");
            } else {
                for w in &waiting {
                    println!(
                        "{}  call of {}  {}  assigned to {} by {} at {}",
                        w.recording,
                        w.started_at,
                        w.external_number.as_deref().unwrap_or("-"),
                        w.assigned_to,
                        w.assigned_by,
                        w.assigned_at
                    );
                }
            }
        }
    }
    Ok(())
}

pub async fn mark(
    cli: &Cli,
    id: &str,
    not_recorded: bool,
    at: &Option<String>,
    note: &Option<String>,
) -> CliResult {
    let mut s = logon(cli).await?;
    let kind = if not_recorded {
        ConsentKind::NotRecorded
    } else {
        ConsentKind::CallerObjected
    };
    let at = at.as_deref().map(requests::parse_mmss).transpose();
    let r = match at {
        Ok(at) => s.mark_consent(id, kind, at, note.as_deref()).await,
        Err(e) => Err(e),
    };
    s.close().await;
    r?;
    println!("Marked recording {id}.");
    Ok(())
}

pub async fn link_patient(cli: &Cli, id: &str, nhs: &str, unlink: bool) -> CliResult {
    let mut s = logon(cli).await?;
    let r = s.link_patient(id, nhs, unlink).await;
    s.close().await;
    r?;
    if unlink {
        println!("Recording {id} is no longer linked to that patient.");
    } else {
        println!("Linked recording {id} to the patient.");
    }
    Ok(())
}
