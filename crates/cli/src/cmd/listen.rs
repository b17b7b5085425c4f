//! Listening: `callvault authorize` checks (and audits) whether you may listen to or export a
//! recording now; `callvault play` plays one on this machine, authorised and audited, showing its
//! position; `callvault devices` lists the audio outputs.

use crate::args::{Cli, PlayArgs};
use crate::logon::logon;
use crate::print::print_json;
use crate::{CliResult, Failure};
use callvault_core::audio::decode::{mmss, Playable};
use callvault_core::requests::Right;
use callvault_core::Error;
use callvault_player::{Player, PlayerEvent};

pub async fn authorize(
    cli: &Cli,
    id: &str,
    right: &str,
    request: &Option<String>,
    reason: &Option<String>,
    json: bool,
) -> CliResult {
    let s = logon(cli).await?;
    let right = match right {
        "listen" => Right::Listen,
        "export" => Right::Export,
        other => {
            return Err(Failure::Usage(format!(
                "--for {other}: use listen or export"
            )))
        }
    };
    let r = s
        .authorize(id, right, request.as_deref(), reason.as_deref())
        .await;
    s.close().await;
    let g = r?;
    if json {
        print_json(&g);
    } else {
        println!(
            "allowed: {} recording {}{}",
            g.right.as_str(),
            g.recording,
            g.request
                .map(|r| format!(" under request {r}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

pub async fn play(cli: &Cli, a: &PlayArgs) -> CliResult {
    let PlayArgs {
        id,
        request,
        reason,
        start,
        end,
        speed,
        device,
        normalize,
        conversation,
    } = a;
    let s = logon(cli).await?;
    let (mut audio, what): (Box<dyn Playable>, String) = if *conversation {
        let r = s
            .open_conversation_for_listening(id, request.as_deref(), reason.as_deref())
            .await;
        s.close().await;
        let c = r?;
        let legs: Vec<&str> = c.grants.iter().map(|g| g.recording.as_str()).collect();
        let joins: Vec<String> = c.joins_ms.iter().map(|&m| mmss(m, 1000)).collect();
        let what = format!(
            "the conversation of {} legs ({}), joins at {}{}",
            legs.len(),
            legs.join(", "),
            joins.join(", "),
            under(c.grants.first().and_then(|g| g.request.as_deref()))
        );
        (Box::new(c.audio), what)
    } else {
        let r = s
            .open_for_listening(id, request.as_deref(), reason.as_deref())
            .await;
        s.close().await;
        let (decoder, grant) = r?;
        let what = format!(
            "recording {}{}",
            grant.recording,
            under(grant.request.as_deref())
        );
        (Box::new(decoder), what)
    };
    if let Some(st) = start {
        // Start there: nothing from 0:00 is heard first.
        audio.seek((st.max(0.0) * audio.sample_rate() as f64) as u64)?;
    }
    let player = Player::new(device.as_deref())?;
    if let Some(x) = speed {
        player.set_speed(*x)?;
    }
    player.set_normalize(*normalize);
    let rx = player.play(audio)?;
    eprintln!("playing {what} on {}", player.device_name());
    let total = player.duration().map(|d| d.as_secs_f64()).unwrap_or(0.0);
    loop {
        match rx.recv_timeout(std::time::Duration::from_secs(30)) {
            Ok(PlayerEvent::Position { ms }) => {
                let t = ms as f64 / 1000.0;
                eprint!(
                    "\r{:02}:{:02} / {:02}:{:02}",
                    (t as u64) / 60,
                    (t as u64) % 60,
                    (total as u64) / 60,
                    (total as u64) % 60
                );
                if end.is_some_and(|e| t >= e) {
                    player.stop();
                    eprintln!();
                    break Ok(());
                }
            }
            Ok(PlayerEvent::Ended) => {
                eprintln!();
                break Ok(());
            }
            Ok(PlayerEvent::Error { message }) => {
                eprintln!();
                break Err(Failure::Core(Error::Audio {
                    file: what,
                    reason: message,
                }));
            }
            Err(_) => {
                break Err(Failure::Usage(
                    "playback stalled (no progress for 30 s)".into(),
                ))
            }
        }
    }
}

pub fn devices() -> CliResult {
    for d in Player::output_devices()? {
        println!("{d}");
    }
    Ok(())
}

fn under(request: Option<&str>) -> String {
    request
        .map(|r| format!(" under request {r}"))
        .unwrap_or_default()
}
