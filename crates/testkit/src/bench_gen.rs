//! Realistic made-up archives for benchmarks (`callvault demo --realistic`, `scripts/bench`): up to a
//! million calls over three years of surgery hours (Monday to Friday, 08:00–18:30 Europe/London),
//! numbers from Ofcom's drama ranges (07700 900xxx, 01632 960xxx, 0113 496 0xxx, 020 7946 0xxx)
//! with some callers ringing far more often than others, a practice's staff on their extensions,
//! made-up patients' names, notes, inbound and outbound calls, and real speech-like audio in the
//! codecs phone systems write (16-bit PCM, G.711 µ-law and A-law, IMA ADPCM WAV).
//!
//! Every call is a pure function of (seed, total, index), so any batch is made without making the
//! ones before it, and the same seed and size always give the same archive. Calls are imported
//! through the real import path (`Session::import_sources`) in batches, so memory stays bounded
//! (one batch of audio at a time) however many calls are made.
//!
//! Two kinds of audio: `Audio::Speech`, clips of 2–40 s (a realistic mix of sizes, for import
//! throughput and export), and `Audio::Tiny`, clips of 0.2–1 s (metadata-heavy: a million calls
//! in a few GB, for search and index rebuild at scale).

use crate::demo::{self, DemoUser};
use callvault_core::archive::journal::Direction;
use callvault_core::error::{Error, Result};
use callvault_core::ingest::CallSource;
use callvault_core::policy::Role;
use callvault_core::session::{KdfChoice, SearchQuery, Session};
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use serde::Serialize;
use std::path::Path;
use std::sync::OnceLock;

/// How long each call's audio is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Audio {
    /// Speech-like clips of 2–40 s (skewed short), in the usual codecs.
    Speech,
    /// Speech-like clips of 0.2–1 s: metadata-heavy archives (a million calls).
    Tiny,
}

/// What to generate.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct GenOptions {
    pub calls: usize,
    pub seed: u64,
    pub audio: Audio,
}

impl GenOptions {
    /// Calls per `import_sources` batch: about 100 MB of audio at most.
    pub fn batch(&self) -> usize {
        match self.audio {
            Audio::Speech => 1_000,
            Audio::Tiny => 5_000,
        }
    }
}

/// What `create` made.
#[derive(Debug, Serialize)]
pub struct GenReport {
    pub users: Vec<DemoUser>,
    pub options: GenOptions,
    pub imported: usize,
    pub duplicates: usize,
    pub rejected: usize,
    /// Bytes of plain audio imported.
    pub audio_bytes: u64,
    /// Seconds spent making audio and metadata (not importing).
    pub generate_seconds: f64,
    /// Seconds spent in `Session::import_sources`.
    pub import_seconds: f64,
}

/// The first day of the three years of calls (a Monday) and the number of days.
const FIRST_DAY: (i32, u32, u32) = (2023, 1, 2);
const DAYS: i64 = 3 * 364;

/// The practice's staff: the demo users and more (all invented), each with an extension.
pub fn staff_users() -> Vec<DemoUser> {
    let mut users = demo::demo_users();
    let u = |name: &str, roles: &[Role], tel: &[&str], who: &str| DemoUser {
        name: name.into(),
        roles: roles.to_vec(),
        telephony_ids: tel.iter().map(|s| s.to_string()).collect(),
        password: format!("{}-bench-2026", name.split('.').next_back().unwrap_or(name)),
        who: who.into(),
    };
    users.extend([
        u("sam.ellis", &[Role::Staff], &["102"], "Receptionist"),
        u("kit.dunmore", &[Role::Staff], &["103"], "Receptionist"),
        u(
            "ros.tillett",
            &[Role::Staff],
            &["104"],
            "Prescriptions clerk",
        ),
        u("dr.anika.bose", &[Role::Clinician], &["203"], "Salaried GP"),
        u(
            "dr.hal.brennan",
            &[Role::Clinician],
            &["204"],
            "GP registrar",
        ),
        u(
            "nurse.gwen.ash",
            &[Role::Clinician],
            &["301"],
            "Practice nurse",
        ),
        u(
            "pat.oyelaran",
            &[Role::Clinician],
            &["401"],
            "Clinical pharmacist",
        ),
    ]);
    users
}

/// Extensions and how many calls in 100 each takes (the receptionists most). "600" is the queue's
/// overflow, mapped to no user (an unassigned call).
const EXTENSIONS: &[(&str, u32)] = &[
    ("101", 20),
    ("102", 18),
    ("103", 14),
    ("104", 8),
    ("200", 4),
    ("201", 7),
    ("202", 7),
    ("203", 6),
    ("204", 5),
    ("301", 6),
    ("401", 3),
    ("600", 2),
];

const FIRST: &[&str] = &[
    "Harriet", "Owen", "Maisie", "Rafael", "Bea", "Idris", "Nora", "Cyril", "Tamsin", "Felix",
    "Ada", "Gus", "Wilf", "Esme", "Jago", "Lowri", "Priya", "Kofi", "Ines", "Dermot", "Sunita",
    "Ludo", "Marnie", "Bram", "Cerys", "Tobias", "Yusuf", "Elspeth", "Ravi", "Orla", "Hamish",
    "Delphine", "Zainab", "Percy", "Agnes", "Nico", "Imogen", "Seren", "Lachlan", "Winifred",
];

const SURNAMES: &[&str] = &[
    "Vale",
    "Pritchard",
    "Thorne",
    "Quint",
    "Lockwood",
    "Fenn",
    "Ashdown",
    "Mottram",
    "Greaves",
    "Arbuthnot",
    "Penhallow",
    "Whitlock",
    "Ormerod",
    "Haverstock",
    "Kilbride",
    "Tregarthen",
    "Blackmore",
    "Featherstone",
    "Nwachukwu",
    "Castellano",
    "Radcliffe",
    "Oyinlola",
    "Marchbank",
    "Sowerby",
    "Dunstable",
    "Iqbal",
    "Pemberton",
    "Lindqvist",
    "Abernethy",
    "Holloway",
    "Cartwright",
    "Mbeki",
    "Fairweather",
    "Throssell",
    "Kowalczyk",
    "Entwistle",
    "Hargreaves",
    "Villiers",
    "Okonkwo",
    "Bramwell",
    "Duckworth",
    "Yardley",
    "Galbraith",
    "Ramsbottom",
    "Quayle",
    "Stirling",
    "Tennant",
    "Rowntree",
    "Culpepper",
    "Wexford",
];

const NOTES: &[&str] = &[
    "prescription query",
    "appointment rebooked",
    "test results discussed",
    "repeat medication request",
    "fit note requested",
    "home visit requested",
    "referral follow-up",
    "caller asked for a call back",
    "complaint about waiting time",
    "blood test booked",
];

/// Distinct external numbers: 1,000 in each of the four drama ranges.
pub const NUMBERS: usize = 4_000;

/// SplitMix64: a good, cheap hash of (seed, call, purpose) for per-call choices.
fn mix(seed: u64, i: u64, k: u64) -> u64 {
    let mut z = seed
        .wrapping_add(i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .wrapping_add(k.wrapping_mul(0xd1b5_4a32_d192_ed03));
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A uniform float in [0, 1).
fn unit(seed: u64, i: u64, k: u64) -> f64 {
    (mix(seed, i, k) >> 11) as f64 / (1u64 << 53) as f64
}

/// External number `n` (0..NUMBERS) as the phone system might write it.
pub fn number(n: usize, international: bool) -> String {
    let x = n % 1000;
    match (n / 1000, international) {
        (0, false) => format!("07700 900{x:03}"),
        (0, true) => format!("+447700900{x:03}"),
        (1, false) => format!("01632 960{x:03}"),
        (1, true) => format!("+441632960{x:03}"),
        (2, false) => format!("0113 496 0{x:03}"),
        (2, true) => format!("+441134960{x:03}"),
        (_, false) => format!("020 7946 0{x:03}"),
        (_, true) => format!("+442079460{x:03}"),
    }
}

/// The made-up patient who rings from number `n`.
pub fn patient(seed: u64, n: usize) -> String {
    let h = mix(seed, n as u64, 99);
    format!(
        "{} {}",
        FIRST[(h % FIRST.len() as u64) as usize],
        SURNAMES[((h >> 20) % SURNAMES.len() as u64) as usize]
    )
}

/// Seconds of speech-like audio in the shared pool each voice has.
const POOL_SECS: usize = 64;
const VOICES: usize = 8;

/// Eight voices of speech-like 8 kHz audio, made once; calls take windows of them.
fn pool() -> &'static Vec<Vec<i16>> {
    static POOL: OnceLock<Vec<Vec<i16>>> = OnceLock::new();
    POOL.get_or_init(|| {
        (0..VOICES)
            .map(|v| demo::speechlike(8000, POOL_SECS, 11 + v as u32 * 5))
            .collect()
    })
}

/// The call's audio: a window of one voice, dithered with the call's own noise so that every
/// call's audio differs (imports refuse the same audio twice), then encoded.
fn audio(seed: u64, i: u64, ms: u64) -> (Vec<u8>, &'static str) {
    let voice = &pool()[(mix(seed, i, 20) % VOICES as u64) as usize];
    let n = (ms as usize * 8).min(voice.len());
    let start = (mix(seed, i, 21) % (voice.len() - n + 1) as u64) as usize;
    let mut noise = demo::Lcg(mix(seed, i, 22));
    let pcm: Vec<i16> = voice[start..start + n]
        .iter()
        .map(|&s| s.saturating_add((noise.next_u64() % 61) as i16 - 30))
        .collect();
    match mix(seed, i, 23) % 100 {
        0..=34 => (demo::wav_pcm16(8000, &pcm), "pcm16"),
        35..=69 => (demo::wav_g711(8000, &pcm, true), "ulaw"),
        70..=84 => (demo::wav_g711(8000, &pcm, false), "alaw"),
        _ => (demo::wav_ima_adpcm(8000, &pcm), "ima"),
    }
}

fn working_days() -> &'static Vec<NaiveDate> {
    static DAYS_: OnceLock<Vec<NaiveDate>> = OnceLock::new();
    DAYS_.get_or_init(|| {
        let (y, m, d) = FIRST_DAY;
        let first = NaiveDate::from_ymd_opt(y, m, d).expect("valid");
        (0..DAYS)
            .map(|k| first + Duration::days(k))
            .filter(|d| d.weekday().number_from_monday() <= 5)
            .collect()
    })
}

/// Start of call `i` of `total`: calls spread evenly over the working days in order, at a time of
/// day in surgery hours (08:00–18:30 local), busiest in the morning.
fn started_at(seed: u64, total: usize, i: usize) -> DateTime<Utc> {
    let days = working_days();
    let day = days[(i as u128 * days.len() as u128 / total.max(1) as u128) as usize];
    // The earlier of two uniform times: more calls at 08:00 than at 18:00.
    let a = unit(seed, i as u64, 1);
    let b = unit(seed, i as u64, 2);
    let secs = (a.min(b) * (10.5 * 3600.0)) as u32;
    let local = day
        .and_hms_opt(8 + secs / 3600, (secs / 60) % 60, secs % 60)
        .expect("valid");
    chrono_tz::Europe::London
        .from_local_datetime(&local)
        .earliest()
        .expect("surgery hours exist every day")
        .with_timezone(&Utc)
}

/// Calls `start..start + n` of the archive `opts` describes.
pub fn calls_range(opts: &GenOptions, start: usize, n: usize) -> Vec<CallSource> {
    let seed = opts.seed;
    let staff = staff_users();
    let ext_total: u32 = EXTENSIONS.iter().map(|(_, w)| w).sum();
    (start..(start + n).min(opts.calls))
        .map(|i| {
            let iu = i as u64;
            let mut pick = (mix(seed, iu, 3) % ext_total as u64) as u32;
            let ext = EXTENSIONS
                .iter()
                .find(|(_, w)| {
                    if pick < *w {
                        true
                    } else {
                        pick -= w;
                        false
                    }
                })
                .map_or("101", |(e, _)| e);
            let staff_name = staff
                .iter()
                .find(|u| u.telephony_ids.iter().any(|t| t == ext))
                .map(|u| u.name.clone());
            // Some callers ring far more often than others.
            let caller = (unit(seed, iu, 4).powi(2) * NUMBERS as f64) as usize;
            let direction = if unit(seed, iu, 5) < 0.3 {
                Direction::Outbound
            } else {
                Direction::Inbound
            };
            let mut parties = vec![patient(seed, caller)];
            let extra = unit(seed, iu, 6);
            if extra < 0.06 {
                // A relative or carer on the line.
                parties.push(patient(seed, (caller * 7 + 13) % NUMBERS));
            } else if extra < 0.09 {
                // A GP joined the call.
                parties.push(
                    ["dr.priya.shah", "dr.tom.okafor", "dr.anika.bose"]
                        [(extra * 1000.0) as usize % 3]
                        .into(),
                );
            }
            let notes = (unit(seed, iu, 7) < 0.35)
                .then(|| NOTES[(mix(seed, iu, 8) % NOTES.len() as u64) as usize].to_string());
            let ms = match opts.audio {
                // 2–40 s, skewed short (most calls to a reception are brief).
                Audio::Speech => 2_000 + (unit(seed, iu, 9).powi(2) * 38_000.0) as u64,
                Audio::Tiny => 200 + (mix(seed, iu, 9) % 9) * 100,
            };
            let (bytes, codec) = audio(seed, iu, ms);
            CallSource {
                name: format!("{:03}/call-{i:07}-{codec}.wav", i / 10_000),
                bytes,
                started_at: started_at(seed, opts.calls, i),
                direction,
                staff: staff_name,
                extension: Some(ext.to_string()),
                external_number: Some(number(caller, unit(seed, iu, 10) < 0.2)),
                parties,
                notes,
                nhs_numbers: vec![],
                conversation: None,
            }
        })
        .collect()
}

/// Create an archive at `root` (users: `staff_users`, admin `alex.morgan`) and import the calls of
/// `opts` in batches through `Session::import_sources`; `progress(done, total)` after each batch.
pub async fn create(
    root: &Path,
    opts: GenOptions,
    kdf: KdfChoice,
    mut progress: impl FnMut(usize, usize),
) -> Result<GenReport> {
    let users = staff_users();
    let mut s = crate::demo::init_practice(root, &users, kdf).await?;
    let mut rep = GenReport {
        users,
        options: opts,
        imported: 0,
        duplicates: 0,
        rejected: 0,
        audio_bytes: 0,
        generate_seconds: 0.0,
        import_seconds: 0.0,
    };
    let mut start = 0;
    while start < opts.calls {
        let n = (opts.calls - start).min(opts.batch());
        let t = std::time::Instant::now();
        let calls = calls_range(&opts, start, n);
        rep.audio_bytes += calls.iter().map(|c| c.bytes.len() as u64).sum::<u64>();
        rep.generate_seconds += t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let r = s.import_sources(calls).await?;
        rep.import_seconds += t.elapsed().as_secs_f64();
        rep.imported += r.imported.len();
        rep.duplicates += r.duplicates.len();
        rep.rejected += r.rejected.len();
        start += n;
        progress(start, opts.calls);
    }
    s.close().await;
    Ok(rep)
}

/// Write the calls of `opts` as plain files and a `manifest.csv` into `dir` (what a phone system's
/// export would give `callvault import`, and what `cp -r` is compared with). Returns the bytes of
/// audio written.
pub fn write_files(dir: &Path, opts: &GenOptions) -> Result<u64> {
    let io = |p: &Path, e: std::io::Error| Error::Io {
        path: p.display().to_string(),
        source: e,
    };
    std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
    let mut manifest =
        String::from("file,started_at,direction,staff,extension,external_number,parties,notes\n");
    let mut bytes = 0u64;
    let mut start = 0;
    while start < opts.calls {
        let n = (opts.calls - start).min(opts.batch());
        for c in calls_range(opts, start, n) {
            let path = dir.join(&c.name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
            }
            std::fs::write(&path, &c.bytes).map_err(|e| io(&path, e))?;
            bytes += c.bytes.len() as u64;
            let field = |s: &str| {
                if s.contains([',', '"']) {
                    format!("\"{}\"", s.replace('"', "\"\""))
                } else {
                    s.to_string()
                }
            };
            manifest.push_str(&format!(
                "{},{},{},{},{},{},{},{}\n",
                field(&c.name),
                callvault_core::time::rfc3339(c.started_at),
                c.direction.as_str(),
                field(c.staff.as_deref().unwrap_or("")),
                field(c.extension.as_deref().unwrap_or("")),
                field(c.external_number.as_deref().unwrap_or("")),
                field(&c.parties.join("; ")),
                field(c.notes.as_deref().unwrap_or("")),
            ));
        }
        start += n;
    }
    let m = dir.join("manifest.csv");
    std::fs::write(&m, manifest).map_err(|e| io(&m, e))?;
    Ok(bytes)
}

/// One kind of search, timed.
#[derive(Debug, Serialize)]
pub struct SearchTiming {
    pub name: String,
    pub criteria: SearchQuery,
    pub results: usize,
    pub runs: usize,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

/// Time `runs` of each kind of search a practice makes, through `Session::search` (policy check,
/// index query, audit entry, views) as the app and CLI call it, taking the values from the archive
/// itself (a recent call's number, staff member and a piece of its caller's surname). The kinds
/// run in turn, so load from elsewhere falls on all of them alike.
pub async fn search_bench(s: &Session, runs: usize, limit: i64) -> Result<Vec<SearchTiming>> {
    let runs = runs.max(1);
    let recent = s
        .search(&SearchQuery {
            limit: Some(2_000),
            ..Default::default()
        })
        .await?;
    let call = recent
        .iter()
        .find(|r| r.staff.is_some() && r.external_number.is_some() && !r.parties.is_empty())
        .ok_or_else(|| Error::Invalid("no call with a staff member, number and party".into()))?;
    let tz = chrono_tz::Europe::London;
    let day = DateTime::parse_from_rfc3339(&call.started_at)
        .map_err(|_| Error::Invalid("bad start time".into()))?
        .with_timezone(&tz)
        .date_naive();
    let date = |back: i64| (day - Duration::days(back)).format("%Y-%m-%d").to_string();
    let number = call.external_number.clone();
    let digits = number
        .as_deref()
        .and_then(callvault_core::phone::normalize)
        .unwrap_or_default();
    let surname: Vec<char> = call.parties[0]
        .rsplit(' ')
        .next()
        .unwrap_or("")
        .chars()
        .collect();
    let party: String = surname[1.min(surname.len())..6.min(surname.len())]
        .iter()
        .collect();
    let q = |f: &dyn Fn(&mut SearchQuery)| {
        let mut q = SearchQuery {
            limit: Some(limit),
            ..Default::default()
        };
        f(&mut q);
        q
    };
    let kinds: Vec<(&str, SearchQuery)> = vec![
        (
            "date range (one week)",
            q(&|q| {
                q.from = Some(date(7));
                q.to = Some(date(0));
            }),
        ),
        ("number (whole)", q(&|q| q.number = number.clone())),
        (
            "number (last 6 digits)",
            q(&|q| q.number = Some(digits[digits.len().saturating_sub(6)..].to_string())),
        ),
        ("staff member", q(&|q| q.staff = call.staff.clone())),
        (
            "party-name substring",
            q(&|q| q.party = Some(party.clone())),
        ),
        (
            "all combined (quarter, number, staff, party)",
            q(&|q| {
                q.from = Some(date(90));
                q.to = Some(date(0));
                q.number = number.clone();
                q.staff = call.staff.clone();
                q.party = Some(party.clone());
            }),
        ),
    ];
    let mut times: Vec<Vec<f64>> = vec![Vec::with_capacity(runs); kinds.len()];
    let mut results = vec![0; kinds.len()];
    // One untimed pass first (the first query of each kind reads its index pages from disk).
    for (k, (_, query)) in kinds.iter().enumerate() {
        results[k] = s.search(query).await?.len();
    }
    for _ in 0..runs {
        for (k, (_, query)) in kinds.iter().enumerate() {
            let t = std::time::Instant::now();
            let r = s.search(query).await?;
            times[k].push(t.elapsed().as_secs_f64() * 1000.0);
            results[k] = r.len();
        }
    }
    Ok(kinds
        .into_iter()
        .zip(times)
        .zip(results)
        .map(|(((name, criteria), mut t), results)| {
            t.sort_by(f64::total_cmp);
            let pct = |p: f64| t[((p * t.len() as f64).ceil() as usize).clamp(1, t.len()) - 1];
            SearchTiming {
                name: name.to_string(),
                criteria,
                results,
                runs: t.len(),
                p50_ms: pct(0.50),
                p95_ms: pct(0.95),
                p99_ms: pct(0.99),
                max_ms: t.last().copied().unwrap_or(0.0),
            }
        })
        .collect())
}

/// What part of a search is its audit entry: `runs` appends of an entry like a search's (1,000
/// result ids and its criteria) to a scratch audit trail in a new folder under `dir` (give one on
/// the archive's disk), signed and encrypted with the fuzz API's fixed test keys. The folder is
/// removed afterwards.
pub fn audit_append_bench(dir: &Path, runs: usize) -> Result<SearchTiming> {
    use crate::fuzz_api::{keys, DEVICE, SIGNER};
    use callvault_core::archive::{Archive, Signer};
    let runs = runs.max(1);
    let k = keys();
    let root = dir.join(format!(
        ".callvault-bench-audit-{}",
        callvault_core::crypto::new_id()
    ));
    let io = |e: std::io::Error| Error::Io {
        path: root.display().to_string(),
        source: e,
    };
    std::fs::create_dir_all(&root).map_err(io)?;
    let archive = Archive::from_bytes(
        &root,
        serde_json::to_vec(&k.archive.config).expect("serialisable"),
    )?;
    let signer = Signer {
        uid: SIGNER,
        seed: &k.signer,
    };
    let entry = callvault_core::audit::AuditEntry {
        at: "2026-01-05T09:00:00.000Z".into(),
        device: DEVICE.into(),
        actor: Some(SIGNER.into()),
        action: "search".into(),
        outcome: "allowed".into(),
        targets: (0..1000)
            .map(|_| callvault_core::crypto::new_id())
            .collect(),
        detail: Some(format!(
            "fields [from,to], criteria {}, 1000 results",
            "x".repeat(200)
        )),
        request: None,
        witness: Vec::new(),
    };
    let mut t = Vec::with_capacity(runs);
    let res = (|| {
        for _ in 0..runs {
            let t0 = std::time::Instant::now();
            callvault_core::audit::append(
                &archive,
                DEVICE,
                std::slice::from_ref(&entry),
                Some(&signer),
            )?;
            t.push(t0.elapsed().as_secs_f64() * 1000.0);
        }
        Ok::<_, Error>(())
    })();
    let _ = std::fs::remove_dir_all(&root);
    res?;
    t.sort_by(f64::total_cmp);
    let pct = |p: f64| t[((p * t.len() as f64).ceil() as usize).clamp(1, t.len()) - 1];
    Ok(SearchTiming {
        name: "audit entry alone (every search writes one)".into(),
        criteria: SearchQuery::default(),
        results: 0,
        runs,
        p50_ms: pct(0.50),
        p95_ms: pct(0.95),
        p99_ms: pct(0.99),
        max_ms: t.last().copied().unwrap_or(0.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;
    use std::sync::Arc;

    fn opts(calls: usize, audio: Audio) -> GenOptions {
        GenOptions {
            calls,
            seed: 7,
            audio,
        }
    }

    #[test]
    fn calls_are_plausible_unique_and_the_same_in_any_batch() {
        let o = opts(3_000, Audio::Tiny);
        let all = calls_range(&o, 0, 3_000);
        let tz = chrono_tz::Europe::London;
        let mut seen = HashSet::new();
        for c in &all {
            let local = c.started_at.with_timezone(&tz);
            assert!(local.weekday().number_from_monday() <= 5, "{local}");
            let hm = local.format("%H:%M").to_string();
            assert!(("08:00".."18:30").contains(&hm.as_str()), "{local}");
            assert!(
                seen.insert(callvault_core::crypto::sha256(&c.bytes)),
                "same audio twice"
            );
            let digits =
                callvault_core::phone::normalize(c.external_number.as_deref().unwrap()).unwrap();
            assert!(
                ["07700900", "01632960", "01134960", "02079460"]
                    .iter()
                    .any(|p| digits.starts_with(p)),
                "{digits}"
            );
        }
        let years: HashSet<i32> = all.iter().map(|c| c.started_at.year()).collect();
        assert_eq!(years.len(), 3, "{years:?}");
        // A later batch on its own is the same as the same calls made with the rest.
        let later = calls_range(&o, 2_000, 10);
        for (a, b) in later.iter().zip(&all[2_000..]) {
            assert_eq!(
                (&a.name, &a.bytes, a.started_at),
                (&b.name, &b.bytes, b.started_at)
            );
        }
    }

    #[test]
    fn speech_clips_probe_with_their_durations() {
        for c in calls_range(&opts(40, Audio::Speech), 0, 8) {
            let info =
                callvault_core::ingest::probe::probe(Arc::from(c.bytes), Some("wav")).unwrap();
            assert!(
                (1_990..=40_100).contains(&info.duration_ms),
                "{}: {}",
                c.name,
                info.duration_ms
            );
        }
    }
}
