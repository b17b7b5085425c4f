//! A demo archive of made-up users and calls (Ofcom drama-range numbers, invented names), with
//! speech-like audio synthesised in memory and encoded as the codecs telephony systems write:
//! 16-bit PCM, G.711 µ-law and A-law, and IMA ADPCM WAV. Nothing plaintext touches the disk.

use callvault_core::archive::journal::Direction;
use callvault_core::error::Result;
use callvault_core::ingest::CallSource;
use callvault_core::policy::Role;
use callvault_core::secret::Password;
use callvault_core::session::{self, KdfChoice, Session};
use chrono::{Datelike, Duration, TimeZone, Utc};
use serde::Serialize;
use std::path::Path;

/// A demo user (all invented).
#[derive(Clone, Debug, Serialize)]
pub struct DemoUser {
    pub name: String,
    pub roles: Vec<Role>,
    pub telephony_ids: Vec<String>,
    pub password: String,
    pub who: String,
}

#[derive(Debug, Serialize)]
pub struct DemoReport {
    pub users: Vec<DemoUser>,
    pub imported: usize,
    pub rejected: usize,
}

pub fn demo_users() -> Vec<DemoUser> {
    let u = |name: &str, roles: &[Role], tel: &[&str], password: &str, who: &str| DemoUser {
        name: name.into(),
        roles: roles.to_vec(),
        telephony_ids: tel.iter().map(|s| s.to_string()).collect(),
        password: password.into(),
        who: who.into(),
    };
    vec![
        u(
            "alex.morgan",
            &[Role::Admin, Role::DataController],
            &[],
            "alex-demo-2026",
            "IT lead and data controller",
        ),
        u(
            "jordan.reid",
            &[Role::Approver, Role::Supervisor],
            &["200"],
            "jordan-demo-2026",
            "Practice Business Manager",
        ),
        u(
            "dr.priya.shah",
            &[Role::Approver, Role::Clinician],
            &["201"],
            "priya-demo-2026",
            "GP Partner",
        ),
        u(
            "dr.tom.okafor",
            &[Role::Clinician],
            &["202"],
            "tom-demo-2026",
            "Salaried GP",
        ),
        u(
            "lee.carter",
            &[Role::Staff],
            &["101", "Reception 1"],
            "lee-demo-2026",
            "Receptionist",
        ),
    ]
}

const PATIENTS: &[&str] = &[
    "Harriet Vale",
    "Owen Pritchard",
    "Maisie Thorne",
    "Rafael Quint",
    "Bea Lockwood",
    "Idris Fenn",
    "Nora Ashdown",
    "Cyril Mottram",
    "Tamsin Greaves",
    "Felix Arbuthnot",
    "Ada Penhallow",
    "Gus Whitlock",
];

/// Create the demo archive at `root` and import `calls` made-up calls.
pub async fn create(root: &Path, calls: usize, kdf: KdfChoice) -> Result<DemoReport> {
    create_with(root, calls, kdf, None).await
}

/// A new archive at `root` whose first user (the admin) adds the others; returns the admin's
/// session.
pub(crate) async fn init_practice(
    root: &Path,
    users: &[DemoUser],
    kdf: KdfChoice,
) -> Result<Session> {
    let admin = &users[0];
    session::init(root, &admin.name, &Password::new(&admin.password), kdf).await?;
    let mut s = Session::logon(root, &admin.name, &Password::new(&admin.password)).await?;
    for u in &users[1..] {
        s.add_user(
            &u.name,
            &u.roles,
            &u.telephony_ids,
            &Password::new(&u.password),
        )
        .await?;
    }
    Ok(s)
}

/// As `create`; with `clip_secs`, every call's audio is that many seconds long (a large archive
/// for benchmarks: 100,000 one-second calls instead of 4–19 s each). Imported in batches.
pub async fn create_with(
    root: &Path,
    calls: usize,
    kdf: KdfChoice,
    clip_secs: Option<usize>,
) -> Result<DemoReport> {
    let users = demo_users();
    let mut s = init_practice(root, &users, kdf).await?;
    let (mut imported, mut rejected) = (0, 0);
    let mut start = 0;
    while start < calls {
        let n = (calls - start).min(5_000);
        let rep = s
            .import_sources(demo_calls_range(start, n, clip_secs))
            .await?;
        imported += rep.imported.len();
        rejected += rep.rejected.len();
        start += n;
    }
    s.close().await;
    Ok(DemoReport {
        users,
        imported,
        rejected,
    })
}

/// Deterministic made-up calls over the last few weeks' surgery hours.
pub fn demo_calls(n: usize) -> Vec<CallSource> {
    demo_calls_range(0, n, None)
}

/// Calls `start..start + n` of the same sequence as `demo_calls`, optionally all `clip_secs` long.
pub fn demo_calls_range(start: usize, n: usize, clip_secs: Option<usize>) -> Vec<CallSource> {
    let mut rng = Lcg(0x5eed_ca11);
    for _ in 0..start * 3 {
        rng.next_u64();
    }
    let today = Utc::now().date_naive();
    let tz = chrono_tz::Europe::London;
    let staff = [
        ("101", "lee.carter"),
        ("201", "dr.priya.shah"),
        ("202", "dr.tom.okafor"),
        ("200", "jordan.reid"),
    ];
    let mut out = Vec::with_capacity(n);
    for i in start..start + n {
        let mut day = today - Duration::days(1 + (i as i64 * 37 % 40));
        while day.weekday().number_from_monday() > 5 {
            day -= Duration::days(1);
        }
        let minute = 8 * 60 + rng.next_u64() % (10 * 60 + 30);
        let local = day
            .and_hms_opt(
                (minute / 60) as u32,
                (minute % 60) as u32,
                (rng.next_u64() % 60) as u32,
            )
            .expect("valid");
        let started_at = tz
            .from_local_datetime(&local)
            .earliest()
            .expect("surgery hours exist")
            .with_timezone(&Utc);
        let (ext, staff_name) = staff[i % staff.len()];
        let patient_no = (i * 5 + 3) % PATIENTS.len();
        let patient = PATIENTS[patient_no];
        let external = if i % 3 == 0 {
            format!("01632 960{:03}", (i * 17) % 1000)
        } else {
            format!("07700 900{:03}", (i * 29 + 100) % 1000)
        };
        let direction = if i % 4 == 1 {
            Direction::Outbound
        } else {
            Direction::Inbound
        };
        let secs = 4 + (rng.next_u64() % 16) as usize;
        let secs = clip_secs.unwrap_or(secs);
        let pcm = speechlike(8000, secs, i as u32);
        let (bytes, ext_name) = match i % 4 {
            0 => (wav_pcm16(8000, &pcm), "pcm16"),
            1 => (wav_g711(8000, &pcm, true), "ulaw"),
            2 => (wav_g711(8000, &pcm, false), "alaw"),
            _ => (wav_ima_adpcm(8000, &pcm), "ima"),
        };
        let mut parties = vec![patient.to_string()];
        if i % 7 == 0 {
            parties.push(PATIENTS[(i + 1) % PATIENTS.len()].to_string());
        }
        if i % 9 == 4 {
            parties.push("dr.tom.okafor".into());
        }
        out.push(CallSource {
            name: format!("demo-{i:03}-{ext_name}.wav"),
            bytes,
            started_at,
            direction,
            staff: Some(staff_name.to_string()),
            extension: Some(ext.to_string()),
            external_number: Some(external),
            parties,
            notes: match i % 6 {
                0 => Some("prescription query".into()),
                3 => Some("appointment rebooked".into()),
                5 => Some("test results discussed".into()),
                _ => None,
            },
            // Half the calls came with the patient's NHS number (a 999 test number, never a
            // real patient's): the first dozen of every two dozen, so that each patient has calls
            // with it and without (found by number or name, or linked later).
            nhs_numbers: if (i / 12) % 2 == 0 {
                vec![nhs_number(patient_no as u32 + 1)]
            } else {
                vec![]
            },
            conversation: None,
        });
    }
    out
}

/// A valid NHS number whose first nine digits are `999` followed by `n` (six digits; the next
/// one whose check digit is not 10): the 999-range numbers never issued to a patient.
pub fn nhs_number(n: u32) -> String {
    let mut k = n % 1_000_000;
    loop {
        let nine: Vec<u32> = format!("999{k:06}")
            .chars()
            .map(|c| c.to_digit(10).expect("a digit"))
            .collect();
        if let Some(c) = callvault_core::patient::check_digit(&nine) {
            return format!("999{k:06}{c}");
        }
        k = (k + 1) % 1_000_000;
    }
}

/// The NHS number with its last digit changed, as a slip of the finger would: it fails the check.
pub fn mistyped_nhs(n: &str) -> String {
    let (head, last) = n.split_at(n.len() - 1);
    let d = last.parse::<u32>().expect("a digit");
    format!("{head}{}", (d + 1) % 10)
}

/// A small deterministic generator (no need for cryptographic randomness in made-up data).
pub struct Lcg(pub u64);

impl Lcg {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Speech-like audio: a voiced tone with a wandering pitch and harmonics, shaped into syllables
/// and pauses. `seed` varies the voice.
pub fn speechlike(rate: u32, secs: usize, seed: u32) -> Vec<i16> {
    let n = rate as usize * secs;
    let mut out = Vec::with_capacity(n);
    let base = 100.0 + (seed % 7) as f64 * 18.0;
    let mut phase = 0.0f64;
    let mut noise = Lcg(seed as u64 + 1);
    for i in 0..n {
        let t = i as f64 / rate as f64;
        let f0 = base * (1.0 + 0.12 * (t * 1.3 + seed as f64).sin());
        phase += 2.0 * std::f64::consts::PI * f0 / rate as f64;
        let syllable = (t * 4.0 * std::f64::consts::PI).sin().abs();
        let phrase = if (t * 0.7 + seed as f64 * 0.1).sin() > -0.4 {
            1.0
        } else {
            0.05
        };
        let voiced = phase.sin()
            + 0.5 * (2.0 * phase).sin()
            + 0.3 * (3.0 * phase).sin()
            + 0.15 * (5.0 * phase).sin();
        let hiss = (noise.next_u64() % 2001) as f64 / 1000.0 - 1.0;
        let v = (voiced * 0.8 + hiss * 0.05) * syllable * phrase * 7000.0;
        out.push(v.clamp(-32768.0, 32767.0) as i16);
    }
    out
}

fn riff(fmt: &[u8], extra_chunks: &[(&[u8; 4], Vec<u8>)], data: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(b"WAVE");
    let mut chunk = |id: &[u8; 4], payload: &[u8]| {
        body.extend_from_slice(id);
        body.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        body.extend_from_slice(payload);
        if payload.len() % 2 == 1 {
            body.push(0);
        }
    };
    chunk(b"fmt ", fmt);
    for (id, p) in extra_chunks {
        chunk(id, p);
    }
    chunk(b"data", data);
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

fn fmt_chunk(
    tag: u16,
    channels: u16,
    rate: u32,
    byte_rate: u32,
    align: u16,
    bits: u16,
    extra: Option<&[u8]>,
) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&tag.to_le_bytes());
    f.extend_from_slice(&channels.to_le_bytes());
    f.extend_from_slice(&rate.to_le_bytes());
    f.extend_from_slice(&byte_rate.to_le_bytes());
    f.extend_from_slice(&align.to_le_bytes());
    f.extend_from_slice(&bits.to_le_bytes());
    if let Some(e) = extra {
        f.extend_from_slice(&(e.len() as u16).to_le_bytes());
        f.extend_from_slice(e);
    }
    f
}

/// 16-bit PCM mono WAV.
pub fn wav_pcm16(rate: u32, pcm: &[i16]) -> Vec<u8> {
    let data: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
    riff(&fmt_chunk(1, 1, rate, rate * 2, 2, 16, None), &[], &data)
}

/// 16-bit PCM WAV of `channels` interleaved channels.
pub fn wav_pcm16_channels(rate: u32, channels: u16, pcm: &[i16]) -> Vec<u8> {
    let data: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
    let block = 2 * channels;
    riff(
        &fmt_chunk(1, channels, rate, rate * u32::from(block), block, 16, None),
        &[],
        &data,
    )
}

/// G.711 µ-law (`mulaw`) or A-law mono WAV.
pub fn wav_g711(rate: u32, pcm: &[i16], mulaw: bool) -> Vec<u8> {
    let data: Vec<u8> = pcm
        .iter()
        .map(|&s| {
            if mulaw {
                linear_to_ulaw(s)
            } else {
                linear_to_alaw(s)
            }
        })
        .collect();
    let tag = if mulaw { 7 } else { 6 };
    let fact = (pcm.len() as u32).to_le_bytes().to_vec();
    riff(
        &fmt_chunk(tag, 1, rate, rate, 1, 8, Some(&[])),
        &[(b"fact", fact)],
        &data,
    )
}

/// G.711 µ-law encoder (ITU-T G.711).
pub fn linear_to_ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32635;
    let mut s = sample as i32;
    let sign = if s < 0 { 0x80 } else { 0 };
    if s < 0 {
        s = -s;
    }
    s = s.min(CLIP) + BIAS;
    let mut exp = 7;
    let mut mask = 0x4000;
    while exp > 0 && s & mask == 0 {
        exp -= 1;
        mask >>= 1;
    }
    let mantissa = (s >> (exp + 3)) & 0x0f;
    !(sign | (exp << 4) | mantissa) as u8
}

/// G.711 A-law encoder (ITU-T G.711).
pub fn linear_to_alaw(sample: i16) -> u8 {
    let mut s = (sample as i32) >> 3; // 13-bit
    let sign = if s >= 0 {
        0x80
    } else {
        s = -s - 1;
        0x00
    };
    let s = s.min(0xfff);
    let (exp, mant) = if s < 32 {
        (0, s >> 1)
    } else {
        let mut e = 1;
        while e < 7 && s >= (32 << e) {
            e += 1;
        }
        (e, (s >> e) & 0x0f)
    };
    ((sign | (exp << 4) | mant) ^ 0x55) as u8
}

const IMA_STEPS: [i32; 89] = [
    7, 8, 9, 10, 11, 12, 13, 14, 16, 17, 19, 21, 23, 25, 28, 31, 34, 37, 41, 45, 50, 55, 60, 66,
    73, 80, 88, 97, 107, 118, 130, 143, 157, 173, 190, 209, 230, 253, 279, 307, 337, 371, 408, 449,
    494, 544, 598, 658, 724, 796, 876, 963, 1060, 1166, 1282, 1411, 1552, 1707, 1878, 2066, 2272,
    2499, 2749, 3024, 3327, 3660, 4026, 4428, 4871, 5358, 5894, 6484, 7132, 7845, 8630, 9493,
    10442, 11487, 12635, 13899, 15289, 16818, 18500, 20350, 22385, 24623, 27086, 29794, 32767,
];
const IMA_INDEX: [i32; 8] = [-1, -1, -1, -1, 2, 4, 6, 8];

/// IMA ADPCM mono WAV (format 0x11), 256-byte blocks of 505 samples.
pub fn wav_ima_adpcm(rate: u32, pcm: &[i16]) -> Vec<u8> {
    const BLOCK: usize = 256;
    const SPB: usize = (BLOCK - 4) * 2 + 1;
    let mut data = Vec::new();
    let mut index = 0i32;
    for block in pcm.chunks(SPB) {
        let mut pred = block[0] as i32;
        data.extend_from_slice(&(pred as i16).to_le_bytes());
        data.push(index as u8);
        data.push(0);
        let mut nibbles = Vec::with_capacity(SPB - 1);
        for i in 1..SPB {
            let s = *block.get(i).unwrap_or(&0) as i32;
            let step = IMA_STEPS[index as usize];
            let mut diff = s - pred;
            let mut code = 0;
            if diff < 0 {
                code = 8;
                diff = -diff;
            }
            let mut delta = step >> 3;
            if diff >= step {
                code |= 4;
                diff -= step;
                delta += step;
            }
            if diff >= step >> 1 {
                code |= 2;
                diff -= step >> 1;
                delta += step >> 1;
            }
            if diff >= step >> 2 {
                code |= 1;
                delta += step >> 2;
            }
            pred = if code & 8 != 0 {
                pred - delta
            } else {
                pred + delta
            }
            .clamp(-32768, 32767);
            index = (index + IMA_INDEX[(code & 7) as usize]).clamp(0, 88);
            nibbles.push(code as u8);
        }
        for pair in nibbles.chunks(2) {
            data.push(pair[0] | (pair.get(1).copied().unwrap_or(0) << 4));
        }
    }
    let byte_rate = (rate as usize * BLOCK / SPB) as u32;
    let fact = (pcm.len() as u32).to_le_bytes().to_vec();
    riff(
        &fmt_chunk(
            0x11,
            1,
            rate,
            byte_rate,
            BLOCK as u16,
            4,
            Some(&(SPB as u16).to_le_bytes()),
        ),
        &[(b"fact", fact)],
        &data,
    )
}

/// A few things in progress, so that the demo's overview is not empty: reception has raised a
/// complaint request and logged a subject access request received 18 days ago (awaiting their
/// deciders), the Practice Business Manager asks for a call for training, and the data controller
/// holds a call. Made through the core, by each demo user, like everything else. `calls` is the
/// number of demo calls the archive was made with (on the same day).
pub async fn sample_workflow(root: &Path, calls: usize) -> Result<()> {
    use callvault_core::requests::{Purpose, RequestDetails};
    let users = demo_users();
    let calls = demo_calls(calls);
    // The first call taken on one of this user's extensions.
    let of = |name: &str| {
        let u = users.iter().find(|u| u.name == name).expect("demo user");
        calls
            .iter()
            .find(|c| {
                c.extension
                    .as_ref()
                    .is_some_and(|e| u.telephony_ids.contains(e))
                    && c.external_number.is_some()
            })
            .cloned()
    };
    let mut lee = demo_logon(root, "lee.carter").await?;
    if let Some(c) = of("lee.carter") {
        lee.raise_request(RequestDetails {
            purpose: Some(Purpose::Complaint),
            reason: "The caller says she was told the surgery could not book her a same-day \
                     appointment; she has complained in writing"
                .into(),
            call_time: Some(
                c.started_at
                    .with_timezone(&chrono_tz::Europe::London)
                    .date_naive()
                    .to_string(),
            ),
            staff: Some("lee.carter".into()),
            number: c.external_number.clone(),
            ..Default::default()
        })
        .await?;
    }
    if let Some(c) = of("dr.tom.okafor") {
        lee.raise_request(RequestDetails {
            purpose: Some(Purpose::Sar),
            reason: "Written subject access request for recordings of the requester's calls".into(),
            number: c.external_number.clone(),
            parties: c.parties.iter().take(1).cloned().collect(),
            received: Some(Utc::now().date_naive() - Duration::days(18)),
            identity: Some("photo ID and a recent utility bill seen at reception".into()),
            ..Default::default()
        })
        .await?;
    }
    lee.close().await;
    let mut jordan = demo_logon(root, "jordan.reid").await?;
    if let Some(c) = of("dr.priya.shah") {
        jordan
            .raise_request(RequestDetails {
                purpose: Some(Purpose::Training),
                reason: "A good example of explaining test results by phone, for the new \
                         receptionists' training"
                    .into(),
                staff: Some("dr.priya.shah".into()),
                number: c.external_number.clone(),
                ..Default::default()
            })
            .await?;
    }
    jordan.close().await;
    let mut alex = demo_logon(root, "alex.morgan").await?;
    let ids: Vec<String> = alex
        .search(&callvault_core::session::SearchQuery {
            limit: Some(1),
            ..Default::default()
        })
        .await?
        .into_iter()
        .map(|r| r.id)
        .collect();
    if !ids.is_empty() {
        alex.add_hold(
            &ids,
            "Possible insurance claim: keep until the practice's solicitor replies",
            None,
        )
        .await?;
    }
    alex.close().await;
    Ok(())
}

/// The number of the demo's transferred call: no other demo call rings from it (in a demo of
/// fewer than 1,647 calls).
pub const TRANSFER_NUMBER: &str = "01632 960999";
/// Its legs' lengths, in seconds.
pub const TRANSFER_LEGS_SECS: [usize; 3] = [8, 6, 5];

/// A transferred call, imported by the admin: a patient rang reception (lee.carter, 101), was put
/// through to dr.priya.shah (201), who brought in dr.tom.okafor (202); the phone system gave the
/// three legs one conversation id. dr.priya.shah is a party to every leg (she is named on the
/// first and third), so she may hear the whole conversation with a reason. Returns the legs' ids
/// in order.
pub async fn transferred_call(root: &Path) -> Result<Vec<String>> {
    let users = demo_users();
    let admin = &users[0];
    let mut s = Session::logon(root, &admin.name, &Password::new(&admin.password)).await?;
    let tz = chrono_tz::Europe::London;
    let mut day = Utc::now().date_naive() - Duration::days(1);
    while day.weekday().number_from_monday() > 5 {
        day -= Duration::days(1);
    }
    let mut at = tz
        .from_local_datetime(&day.and_hms_opt(11, 5, 0).expect("valid"))
        .earliest()
        .expect("surgery hours exist")
        .with_timezone(&Utc);
    let legs = [
        ("lee.carter", "101"),
        ("dr.priya.shah", "201"),
        ("dr.tom.okafor", "202"),
    ];
    let mut sources = Vec::new();
    for (k, ((staff, ext), secs)) in legs.iter().zip(TRANSFER_LEGS_SECS).enumerate() {
        let mut parties = vec![PATIENTS[0].to_string()];
        if *staff != "dr.priya.shah" {
            parties.push("dr.priya.shah".into());
        }
        sources.push(CallSource {
            name: format!("transfer-leg-{}.wav", k + 1),
            bytes: wav_pcm16(8000, &speechlike(8000, secs, 90_000 + k as u32)),
            started_at: at,
            direction: Direction::Inbound,
            staff: Some(staff.to_string()),
            extension: Some(ext.to_string()),
            external_number: Some(TRANSFER_NUMBER.into()),
            parties,
            notes: Some(format!("transferred call, leg {} of 3", k + 1)),
            nhs_numbers: vec![],
            conversation: Some("demo:transfer-0001".into()),
        });
        at += Duration::seconds(secs as i64 + 3);
    }
    let rep = s.import_sources(sources).await;
    s.close().await;
    let rep = rep?;
    if rep.imported.len() != 3 {
        return Err(callvault_core::Error::Invalid(format!(
            "the demo's transferred call: {} of its 3 legs imported ({:?})",
            rep.imported.len(),
            rep.rejected
        )));
    }
    let mut ids: Vec<(String, String)> = rep.imported.into_iter().map(|i| (i.file, i.id)).collect();
    ids.sort();
    Ok(ids.into_iter().map(|(_, id)| id).collect())
}

async fn demo_logon(root: &Path, name: &str) -> Result<Session> {
    let u = demo_users()
        .into_iter()
        .find(|u| u.name == name)
        .expect("demo user");
    Session::logon(root, &u.name, &Password::new(&u.password)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn every_demo_codec_probes_with_the_right_duration() {
        let pcm = speechlike(8000, 3, 1);
        for (bytes, codec) in [
            (wav_pcm16(8000, &pcm), "pcm_s16le"),
            (wav_g711(8000, &pcm, true), "pcm_mulaw"),
            (wav_g711(8000, &pcm, false), "pcm_alaw"),
            (wav_ima_adpcm(8000, &pcm), "adpcm_ima_wav"),
        ] {
            let info = callvault_core::ingest::probe::probe(Arc::from(bytes), Some("wav")).unwrap();
            assert_eq!(info.codec, codec);
            assert_eq!(info.sample_rate, 8000);
            // ADPCM pads its last block (505 samples, 63 ms).
            assert!(
                (2990..=3070).contains(&info.duration_ms),
                "{codec}: {}",
                info.duration_ms
            );
        }
    }

    #[test]
    fn g711_matches_reference_points() {
        assert_eq!(linear_to_ulaw(0), 0xff);
        assert_eq!(linear_to_ulaw(-1), 0x7f);
        assert_eq!(linear_to_ulaw(32767), 0x80);
        assert_eq!(linear_to_alaw(0), 0xd5);
        assert_eq!(linear_to_alaw(-8), 0x55);
        assert_eq!(linear_to_alaw(32767), 0xaa);
    }
}
