//! Every call accounted for (issue 21, item 1): the phone system's call log set against the
//! archive. Answered calls with no recording (`missing`), recordings much shorter than the talk
//! time the log gives (`short`), recordings that are silent throughout (`silent`) or over one half
//! of the call (`one-sided`: the other party's audio, or the rest of a transferred call, never
//! reached the file), and recordings of the range the log does not know (`no-cdr`).
//!
//! This module decides; `Session::check_completeness` reads the index, the waveforms and the
//! audit trail. Nothing here touches the share.

pub mod cdr;

use crate::ingest::freepbx;
use cdr::LoggedCall;
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

/// What a finding says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindingKind {
    /// The log says the call was answered and talked; the archive holds no recording of it.
    Missing,
    /// The recording is much shorter than the talk time the log gives.
    Short,
    /// One half of the recording (the first or the second), or one channel of a two-channel
    /// recording, is silent, the other not.
    OneSided,
    /// Nothing audible in the whole recording.
    Silent,
    /// A recording of the range that no row of the log names.
    NoCdr,
}

impl FindingKind {
    pub fn as_str(&self) -> &'static str {
        match self {
            FindingKind::Missing => "missing",
            FindingKind::Short => "short",
            FindingKind::OneSided => "one-sided",
            FindingKind::Silent => "silent",
            FindingKind::NoCdr => "no-cdr",
        }
    }
}

/// A recording of the archive as the check sees it.
#[derive(Clone, Debug)]
pub struct StoredCall {
    pub id: String,
    pub start: DateTime<Utc>,
    pub duration_ms: u64,
    /// The file name it was imported from.
    pub source_name: String,
    /// The external number, normalised (`phone::normalize`).
    pub number: Option<String>,
    pub extension: Option<String>,
}

/// One finding, with the log's row beside it where there is one.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Finding {
    pub kind: FindingKind,
    /// The recording (none for `missing`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recording: Option<String>,
    /// The call in the log (none for `no-cdr`), its `id` being FreePBX's `uniqueid`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cdr: Option<LoggedCall>,
    /// When the call began (the log's time, else the recording's), RFC 3339 UTC.
    pub at: String,
    /// In words, e.g. "answered, 80 s of talk; the recording lasts 12 s".
    pub detail: String,
}

/// How a log call was matched to its recordings.
#[derive(Default, Debug)]
pub struct Matching {
    /// For each log call (by index), the stored calls (by index) that record it.
    pub recordings_of: HashMap<usize, Vec<usize>>,
    /// For each stored call, the log call it records (the first, when several rows name one
    /// file: the legs of a transferred call).
    pub call_of: HashMap<usize, usize>,
}

impl Matching {
    fn link(&mut self, c: usize, s: usize) {
        self.call_of.entry(s).or_insert(c);
        let v = self.recordings_of.entry(c).or_default();
        if !v.contains(&s) {
            v.push(s);
        }
    }
}

/// A recording may begin this long before the log's start (clocks a little apart)…
const EARLY: i64 = 60;
/// …or this long after it (ringing, a queue) when matched by time and number alone.
pub const LATE: i64 = 15 * 60;
/// A recording named by the log (its file name or uniqueid) is believed within a day of it: a
/// name a phone system reuses does not join a call to a recording of another day.
const NAMED: i64 = 24 * 3600;

/// Match the log's calls to the stored ones: first by the file name the log gives
/// (`recordingfile`), then by the FreePBX `uniqueid` in the recording's file name — a recording so
/// named may record several rows (the legs of one call) — then, for the answered calls left, by
/// number (or extension) and start: every pair within a minute before and fifteen after the log's
/// start, nearest first, each recording to one call. So a call-back answered three minutes after
/// an unanswered call keeps its own recording.
pub fn match_calls(log: &[LoggedCall], stored: &[StoredCall]) -> Matching {
    let mut m = Matching::default();
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_uid: HashMap<String, Vec<usize>> = HashMap::new();
    let mut by_number: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut by_ext: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, s) in stored.iter().enumerate() {
        // The file's own name: an import keeps the folders it came from (`2026/11/30/in-…`).
        let file = s
            .source_name
            .rsplit(['/', '\\'])
            .next()
            .unwrap_or(&s.source_name);
        by_name.entry(file).or_default().push(i);
        if let Ok(n) = freepbx::parse_name(file) {
            by_uid.entry(n.uniqueid).or_default().push(i);
        }
        if let Some(n) = &s.number {
            by_number.entry(n.as_str()).or_default().push(i);
        }
        if let Some(x) = &s.extension {
            by_ext.entry(x.as_str()).or_default().push(i);
        }
    }
    // Each number's recordings by start, for a window's search.
    for v in by_number.values_mut().chain(by_ext.values_mut()) {
        v.sort_by_key(|&i| (stored[i].start, i));
        v.dedup();
    }
    for (c, call) in log.iter().enumerate() {
        let near = |s: &&usize| (stored[**s].start - call.start).num_seconds().abs() <= NAMED;
        let named = call.recording.as_deref().and_then(|r| by_name.get(r));
        let ids = named.or_else(|| by_uid.get(&call.id));
        for &s in ids.into_iter().flatten().filter(near) {
            m.link(c, s);
        }
    }
    // (1 for an extension alone, gap in ms, call, recording): the caller's number first.
    let mut pairs: Vec<(u8, i64, usize, usize)> = Vec::new();
    for (c, call) in log.iter().enumerate() {
        if !call.answered || call.talk_s == 0 || m.recordings_of.contains_key(&c) {
            continue;
        }
        let lo = call.start - Duration::seconds(EARLY);
        let hi = call.start + Duration::seconds(LATE);
        let mut keys: Vec<String> = [&call.from, &call.to]
            .into_iter()
            .flatten()
            .filter_map(|n| crate::phone::normalize(n))
            .collect();
        keys.dedup();
        // An extension alone joins only a call with no outside number (an internal or withheld
        // call): an outside caller's call is never given another caller's recording.
        let outside = keys.iter().any(|k| !crate::ingest::names::is_extension(k));
        for k in &keys {
            for (rank, index) in [(0u8, &by_number), (1, &by_ext)] {
                if rank == 1 && outside {
                    continue;
                }
                let Some(v) = index.get(k.as_str()) else {
                    continue;
                };
                let first = v.partition_point(|&i| stored[i].start < lo);
                for &s in v[first..].iter().take_while(|&&i| stored[i].start <= hi) {
                    if !m.call_of.contains_key(&s) {
                        let gap = (stored[s].start - call.start).num_milliseconds().abs();
                        pairs.push((rank, gap, c, s));
                    }
                }
            }
        }
    }
    pairs.sort_unstable();
    for (_, _, c, s) in pairs {
        if !m.recordings_of.contains_key(&c) && !m.call_of.contains_key(&s) {
            m.link(c, s);
        }
    }
    m
}

/// A recording this much shorter than the talk time (and at least 5 s) is `short`.
pub fn short_by(talk_s: u64) -> u64 {
    (talk_s / 10).max(5)
}

/// The findings of the matching: `missing`, `short` and `no-cdr`, in time order.
pub fn findings(log: &[LoggedCall], stored: &[StoredCall], m: &Matching) -> Vec<Finding> {
    let mut out = Vec::new();
    for (c, call) in log.iter().enumerate() {
        if !call.answered || call.talk_s == 0 {
            continue;
        }
        match m.recordings_of.get(&c) {
            None => out.push(Finding {
                kind: FindingKind::Missing,
                recording: None,
                cdr: Some(call.clone()),
                at: crate::time::rfc3339(call.start),
                detail: format!(
                    "answered, {} of talk; no recording in the archive",
                    seconds(call.talk_s)
                ),
            }),
            Some(recs) => {
                let ms: u64 = recs.iter().map(|&s| stored[s].duration_ms).sum();
                let have = ms / 1000;
                if have + short_by(call.talk_s) <= call.talk_s {
                    out.push(Finding {
                        kind: FindingKind::Short,
                        recording: Some(stored[recs[0]].id.clone()),
                        cdr: Some(call.clone()),
                        at: crate::time::rfc3339(call.start),
                        detail: format!(
                            "answered, {} of talk; the recording lasts {}",
                            seconds(call.talk_s),
                            seconds(have)
                        ),
                    })
                }
            }
        }
    }
    for (s, rec) in stored.iter().enumerate() {
        if !m.call_of.contains_key(&s) {
            out.push(Finding {
                kind: FindingKind::NoCdr,
                recording: Some(rec.id.clone()),
                cdr: None,
                at: crate::time::rfc3339(rec.start),
                detail: format!(
                    "recording of {} ({}) that no row of the call log names",
                    seconds(rec.duration_ms / 1000),
                    rec.source_name
                ),
            });
        }
    }
    out
}

/// `83 s` or `1 min 23 s`.
pub fn seconds(s: u64) -> String {
    if s < 60 {
        format!("{s} s")
    } else {
        format!("{} min {} s", s / 60, s % 60)
    }
}

/// A waveform window is quiet when its peaks stay within this (of 127): about −36 dBFS.
pub const QUIET: i8 = 2;

/// What the stored waveform says about a recording's sound: `silent` when at least 98% of its
/// windows are quiet; `one-sided` when it lasts 20 s or more and one half (the first or the
/// second) is at least 98% quiet while the other is not. None when it sounds like a call.
pub fn sound(peaks: &[(i8, i8)], window_ms: u32) -> Option<(FindingKind, String)> {
    if peaks.is_empty() {
        return None;
    }
    let quiet = |w: &[(i8, i8)]| {
        let q = w
            .iter()
            .filter(|(lo, hi)| lo.unsigned_abs() <= QUIET as u8 && hi.unsigned_abs() <= QUIET as u8)
            .count();
        q as f64 / w.len().max(1) as f64
    };
    if quiet(peaks) >= 0.98 {
        return Some((
            FindingKind::Silent,
            "nothing audible in the whole recording".into(),
        ));
    }
    let secs = peaks.len() as u64 * window_ms as u64 / 1000;
    if secs < 20 {
        return None;
    }
    let (a, b) = peaks.split_at(peaks.len() / 2);
    let (qa, qb) = (quiet(a), quiet(b));
    let half = seconds(secs / 2);
    if qa >= 0.98 && qb < 0.9 {
        return Some((
            FindingKind::OneSided,
            format!("the first half ({half}) is silent"),
        ));
    }
    if qb >= 0.98 && qa < 0.9 {
        return Some((
            FindingKind::OneSided,
            format!("the second half ({half}) is silent"),
        ));
    }
    None
}

/// Per-channel loudness of a two-channel recording, block by block (the stored waveform mixes the
/// channels, so a call whose caller's channel is empty sounds like a call there): `one-sided`
/// when it lasts 20 s or more and one channel is at least 98% quiet (windows of 100 ms, quiet as
/// a waveform window is) while another is less than 90% quiet.
pub struct ChannelQuiet {
    channels: usize,
    window: usize,
    /// Frames into the current window, and each channel's loudest sample in it.
    filled: usize,
    peak: Vec<f32>,
    /// Per channel: (quiet windows, windows).
    counts: Vec<(u64, u64)>,
}

impl ChannelQuiet {
    pub fn new(rate: u32, channels: u16) -> ChannelQuiet {
        let ch = usize::from(channels.max(1));
        ChannelQuiet {
            channels: ch,
            window: (rate as usize / 10).max(1),
            filled: 0,
            peak: vec![0.0; ch],
            counts: vec![(0, 0); ch],
        }
    }

    /// Interleaved samples, as the decoder gives them.
    pub fn push(&mut self, block: &[f32]) {
        for frame in block.chunks_exact(self.channels) {
            for (p, s) in self.peak.iter_mut().zip(frame) {
                *p = p.max(s.abs());
            }
            self.filled += 1;
            if self.filled == self.window {
                self.close_window();
            }
        }
    }

    fn close_window(&mut self) {
        // As quiet as a waveform window: its peaks (the sample's top byte) within ±QUIET.
        let quiet = f32::from(QUIET as u8 + 1) * 256.0 / 32768.0;
        for (c, p) in self.counts.iter_mut().zip(self.peak.iter_mut()) {
            c.1 += 1;
            if *p < quiet {
                c.0 += 1;
            }
            *p = 0.0;
        }
        self.filled = 0;
    }

    /// The finding, if one channel is silent and another is not.
    pub fn finish(mut self) -> Option<(FindingKind, String)> {
        if self.filled > 0 {
            self.close_window();
        }
        let frac: Vec<f64> = self
            .counts
            .iter()
            .map(|(q, n)| *q as f64 / (*n).max(1) as f64)
            .collect();
        // As for one silent half: a call of 20 s or more (200 windows).
        let windows = self.counts.first().map_or(0, |c| c.1);
        if frac.len() < 2 || windows < 200 || frac.iter().all(|&f| f >= 0.98) {
            return None;
        }
        let silent = frac.iter().position(|&f| f >= 0.98)?;
        frac.iter().any(|&f| f < 0.9).then(|| {
            let which = match silent {
                0 => "the first (left)".to_string(),
                1 => "the second (right)".to_string(),
                n => format!("channel {}", n + 1),
            };
            (
                FindingKind::OneSided,
                format!("one channel, {which}, is silent throughout"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn a_two_channel_call_with_one_channel_silent_is_one_sided() {
        let rate = 8000;
        let tone = |i: usize| ((i as f32) * 0.05).sin() * 0.3;
        let stereo = |left: bool, right: bool| -> Vec<f32> {
            (0..rate * 30)
                .flat_map(|i| {
                    [
                        if left { tone(i) } else { 0.0 },
                        if right { tone(i) } else { 0.0 },
                    ]
                })
                .collect()
        };
        let run = |s: &[f32]| {
            let mut q = ChannelQuiet::new(rate as u32, 2);
            for b in s.chunks(1234 * 2) {
                q.push(b);
            }
            q.finish()
        };
        let (k, d) = run(&stereo(true, false)).unwrap();
        assert_eq!(k, FindingKind::OneSided);
        assert!(d.contains("second (right)"), "{d}");
        assert!(run(&stereo(false, true))
            .unwrap()
            .1
            .contains("first (left)"));
        assert_eq!(run(&stereo(true, true)), None);
        // Both silent is the waveform's `silent`, not this.
        assert_eq!(run(&stereo(false, false)), None);
        // Under 20 s: too short to say.
        let short: Vec<f32> = stereo(true, false)[..2 * 8000 * 15].to_vec();
        assert_eq!(run(&short), None);
    }

    fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, h, m, s).unwrap()
    }
    fn call(
        id: &str,
        start: DateTime<Utc>,
        talk: u64,
        from: &str,
        rec: Option<&str>,
    ) -> LoggedCall {
        LoggedCall {
            line: 2,
            id: id.into(),
            start,
            answered: talk > 0,
            talk_s: talk,
            from: Some(from.into()),
            to: Some("600".into()),
            recording: rec.map(String::from),
        }
    }
    fn stored(id: &str, start: DateTime<Utc>, secs: u64, name: &str, number: &str) -> StoredCall {
        StoredCall {
            id: id.into(),
            start,
            duration_ms: secs * 1000,
            source_name: name.into(),
            number: crate::phone::normalize(number),
            extension: None,
        }
    }

    #[test]
    fn matched_by_file_by_uniqueid_and_by_number_and_time() {
        let log = vec![
            call("1.1", at(10, 0, 0), 60, "07700900101", Some("a.wav")),
            call("1764496800.2", at(10, 5, 0), 60, "07700900102", None),
            call("x", at(10, 10, 0), 60, "+447700900103", None),
            call("y", at(10, 20, 0), 60, "07700900104", None),
            call("z", at(10, 30, 0), 0, "07700900105", None),
        ];
        let st = vec![
            stored("r1", at(10, 0, 5), 60, "a.wav", "07700900101"),
            stored(
                "r2",
                at(10, 5, 3),
                20,
                "in-600-07700900102-20261130-100503-1764496800.2.wav",
                "07700900102",
            ),
            stored("r3", at(10, 10, 20), 60, "c.wav", "07700 900103"),
            stored("r4", at(11, 0, 0), 60, "d.wav", "07700900104"),
        ];
        let m = match_calls(&log, &st);
        assert_eq!(m.recordings_of[&0], vec![0]);
        assert_eq!(m.recordings_of[&1], vec![1]);
        assert_eq!(m.recordings_of[&2], vec![2]);
        assert!(
            !m.recordings_of.contains_key(&3),
            "40 minutes late is another call"
        );
        let f = findings(&log, &st, &m);
        let kinds: Vec<(FindingKind, Option<&str>)> =
            f.iter().map(|f| (f.kind, f.recording.as_deref())).collect();
        assert_eq!(
            kinds,
            vec![
                (FindingKind::Short, Some("r2")),
                (FindingKind::Missing, None),
                (FindingKind::NoCdr, Some("r4")),
            ]
        );
        assert_eq!(
            f[0].detail,
            "answered, 1 min 0 s of talk; the recording lasts 20 s"
        );
    }

    #[test]
    fn a_missed_call_keeps_off_the_call_backs_recording_and_legs_share_a_file() {
        // Not answered at 08:00:05; the patient rings back and is answered at 08:03.
        let log = vec![
            call("a", at(8, 0, 5), 0, "07700900111", None),
            call("b", at(8, 3, 0), 60, "07700900111", None),
        ];
        let st = vec![stored("r", at(8, 3, 2), 60, "x.wav", "07700900111")];
        let m = match_calls(&log, &st);
        assert_eq!(m.recordings_of.get(&1), Some(&vec![0]));
        assert_eq!(findings(&log, &st, &m), vec![]);
        // Two rows (the legs of a transferred call) naming one file: neither is missing.
        let log = vec![
            call("l1", at(9, 0, 0), 30, "07700900112", Some("t.wav")),
            call("l2", at(9, 0, 40), 30, "07700900112", Some("t.wav")),
        ];
        let st = vec![stored("t", at(9, 0, 1), 75, "t.wav", "07700900112")];
        assert_eq!(findings(&log, &st, &match_calls(&log, &st)), vec![]);
        // A caller whose recording is missing is not given another caller's on the same extension.
        let log = vec![call("p", at(10, 0, 0), 60, "07700900114", None)];
        let mut st = vec![stored("s", at(10, 0, 33), 60, "s.wav", "07700900115")];
        st[0].extension = Some("600".into());
        let f = findings(&log, &st, &match_calls(&log, &st));
        let kinds: Vec<FindingKind> = f.iter().map(|f| f.kind).collect();
        assert_eq!(kinds, vec![FindingKind::Missing, FindingKind::NoCdr]);
        // An internal call (extensions only) is matched by extension.
        let log = vec![call("i", at(11, 0, 0), 60, "202", None)];
        let mut st = vec![stored("t", at(11, 0, 2), 60, "t2.wav", "")];
        st[0].extension = Some("202".into());
        assert_eq!(findings(&log, &st, &match_calls(&log, &st)), vec![]);
        // A file name reused a week later is another call's.
        let log = vec![call("w", at(9, 0, 0), 30, "07700900113", Some("t.wav"))];
        let mut st = vec![stored("t", at(9, 0, 1), 30, "t.wav", "07700900199")];
        st[0].start += Duration::days(7);
        let f = findings(&log, &st, &match_calls(&log, &st));
        assert_eq!(f.len(), 2, "{f:?}");
    }

    #[test]
    fn silence_and_half_silence() {
        let loud = (-60i8, 70i8);
        let quiet = (-1i8, 2i8);
        // 40 s of 10 ms windows.
        let mut p = vec![quiet; 4000];
        assert_eq!(sound(&p, 10).unwrap().0, FindingKind::Silent);
        for w in p.iter_mut().take(2000) {
            *w = loud;
        }
        let (k, why) = sound(&p, 10).unwrap();
        assert_eq!(
            (k, why.as_str()),
            (FindingKind::OneSided, "the second half (20 s) is silent")
        );
        // A conversation: speech and pauses in both halves.
        let conv: Vec<(i8, i8)> = (0..4000)
            .map(|i| if i % 7 < 4 { loud } else { quiet })
            .collect();
        assert_eq!(sound(&conv, 10), None);
        // Too short to judge halves.
        assert_eq!(sound(&p[1000..2500], 10), None);
    }
}
