//! The completeness check through `Session` (issue 21, item 1): the phone system's call log set
//! against the calls of the archive, by a user who reaches every call, audited as one entry like a
//! search. The waveforms it opens to hear silence are opened with the keys the session holds (the
//! call key: an approver's or the data controller's); a supervisor's check says they were not.

use super::*;
use crate::completeness::{self as cc, cdr, FindingKind, StoredCall};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What to check, as a person gives it.
#[derive(Clone, Debug, Default)]
pub struct CompletenessQuery {
    /// The call log (CSV).
    pub cdr: PathBuf,
    /// `freepbx`, `3cx` or `csv`; None: the one its header fits.
    pub layout: Option<String>,
    /// The range, as search takes it (`YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`); None: the log's own.
    pub from: Option<String>,
    pub to: Option<String>,
    /// Also hear the recordings' stored waveforms for silence (needs the call key).
    pub sound: bool,
    /// The zone of the log's times that name none; None: the practice's.
    pub tz: Option<chrono_tz::Tz>,
    /// Instead of `from` and `to`: the last this many days, today included, on the practice's
    /// calendar (the app's Overview card).
    pub recent_days: Option<u32>,
}

/// What the check found.
#[derive(Clone, Debug, Serialize)]
pub struct CompletenessReport {
    /// The call log's file name.
    pub cdr: String,
    pub layout: cdr::CdrLayout,
    /// The range checked, RFC 3339 UTC.
    pub from: String,
    pub to: String,
    /// The first and last call of the whole log, RFC 3339 UTC.
    pub log_first: String,
    pub log_last: String,
    /// Set when the range asked for reaches past the log: what was not checked, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage_note: Option<String>,
    /// Rows of the log, and its calls in the range (rows merged by call id).
    pub log_rows: usize,
    pub log_calls: usize,
    /// Of those, answered with talk time.
    pub answered: usize,
    /// Recordings of the archive in the range, and how many the log names.
    pub recordings: usize,
    pub matched: usize,
    /// Findings of each kind (every kind listed, 0 included).
    pub counts: BTreeMap<&'static str, usize>,
    pub findings: Vec<cc::Finding>,
    /// Recordings whose waveform was heard for silence, and those that could not be.
    pub sound_checked: usize,
    pub sound_unchecked: usize,
    /// Why some were not, in words.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sound_note: Option<String>,
    /// Waveforms or audio objects that failed their checks (replaced or altered on the share),
    /// each naming the recording: the archive's `verify` says more.
    pub sound_problems: Vec<String>,
}

/// At most this many ids in one audit entry; more make more entries.
const AUDIT_BATCH: usize = 1000;

impl Session {
    /// Check the archive against a phone system's call log: answered calls with no recording,
    /// recordings much shorter than the call, silent or half-silent recordings, and recordings the
    /// log does not know. A supervisor, an approver or the data controller; audited (allowed or
    /// refused) as `completeness.check`, with the counts and the recordings concerned but no
    /// number of the log. A log that cannot be read is refused naming its line and column, and
    /// nothing is written but the audit entry.
    pub async fn check_completeness(&self, q: &CompletenessQuery) -> Result<CompletenessReport> {
        self.require(Action::CheckCompleteness)?;
        if self.scope() != Scope::All {
            return self.refuse(
                Action::CheckCompleteness,
                vec![],
                Error::Forbidden("the completeness check needs every call in your reach".into()),
            );
        }
        let name = q
            .cdr
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| q.cdr.display().to_string());
        let layout = q.layout.as_deref().map(cdr::CdrLayout::parse).transpose()?;
        let (from, to) = match q.recent_days {
            Some(n) => {
                let today = chrono::Utc::now().with_timezone(&self.tz).date_naive();
                let first = today - chrono::Duration::days(i64::from(n.clamp(1, 366)) - 1);
                (
                    Some(time::parse_bound(&first.to_string(), self.tz, false)?),
                    Some(time::parse_bound(&today.to_string(), self.tz, true)?),
                )
            }
            None => (
                q.from
                    .as_deref()
                    .map(|f| time::parse_bound(f, self.tz, false))
                    .transpose()?,
                q.to.as_deref()
                    .map(|t| time::parse_bound(t, self.tz, true))
                    .transpose()?,
            ),
        };
        if let (Some(f), Some(t)) = (from, to) {
            if t <= f {
                return Err(Error::Invalid(format!(
                    "the range ends ({}) before it begins ({})",
                    time::rfc3339(t),
                    time::rfc3339(f)
                )));
            }
        }
        // A call just before the range may have its recording just inside it, and the reverse:
        // both sides are read a little wider than reported.
        let early = chrono::Duration::seconds(60);
        let late = chrono::Duration::minutes(15);
        let log = cdr::read(
            &q.cdr,
            layout,
            q.tz.unwrap_or(self.tz),
            from.map(|f| f - late),
            to.map(|t| t + early),
        )
        .map_err(|e| match e {
            Error::Io { path, source } => {
                Error::Invalid(format!("the call log {path} cannot be read: {source}"))
            }
            e => e,
        })?;
        let Some((first, last)) = log.span else {
            return Err(Error::Invalid(format!("{name}: no calls")));
        };
        let end = last + chrono::Duration::seconds(1);
        let (lo, hi) = (from.unwrap_or(first), to.unwrap_or(end));
        // Only where the log has calls can a recording be "not in the log", or a call missing.
        let (clo, chi) = (lo.max(first), hi.min(end));
        if chi <= clo {
            return Err(Error::Invalid(format!(
                "the call log {name} has calls from {} to {}, none in the range asked ({} to {}): export the log of that time",
                time::rfc3339(first),
                time::rfc3339(last),
                time::rfc3339(lo),
                time::rfc3339(hi)
            )));
        }
        let hour = chrono::Duration::hours(1);
        let coverage_note = match (first - lo > hour, hi - end > hour) {
            (false, false) => None,
            (true, false) => Some(format!(
                "the call log begins at {}: calls before it were not checked",
                time::rfc3339(first)
            )),
            (false, true) => Some(format!(
                "the call log ends at {}: calls after it were not checked",
                time::rfc3339(last)
            )),
            (true, true) => Some(format!(
                "the call log covers only {} to {}: calls outside it were not checked",
                time::rfc3339(first),
                time::rfc3339(last)
            )),
        };
        let rows = self
            .index
            .calls_between(
                (lo - early).timestamp_millis(),
                (hi + late).timestamp_millis(),
            )
            .await?;
        let stored: Vec<StoredCall> = rows
            .iter()
            .map(|r| StoredCall {
                id: r.id.clone(),
                start: chrono::DateTime::from_timestamp_millis(r.started_ms).unwrap_or_default(),
                duration_ms: r.duration_ms,
                source_name: r.source_name.clone(),
                number: r.number.clone(),
                extension: r.extension.clone(),
            })
            .collect();
        let m = cc::match_calls(&log.calls, &stored);
        let in_range = |t: chrono::DateTime<chrono::Utc>| t >= clo && t < chi;
        let by_id: std::collections::HashMap<&str, usize> = stored
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.as_str(), i))
            .collect();
        let mut findings: Vec<cc::Finding> = cc::findings(&log.calls, &stored, &m)
            .into_iter()
            .filter(|f| match (&f.cdr, f.kind) {
                (Some(c), _) => in_range(c.start),
                (None, _) => f
                    .recording
                    .as_ref()
                    .and_then(|id| by_id.get(id.as_str()))
                    .is_some_and(|&i| in_range(stored[i].start)),
            })
            .collect();
        let reported: Vec<usize> = (0..stored.len())
            .filter(|&i| in_range(stored[i].start))
            .collect();
        let log_calls: Vec<usize> = (0..log.calls.len())
            .filter(|&i| in_range(log.calls[i].start))
            .collect();
        // Silence, from the stored waveforms this session can open: with the call key only (no
        // object is read without it). The decision is audited, naming every recording, first.
        let (mut checked, mut unchecked) = (0, 0);
        let mut why_not: Option<String> = None;
        let mut problems = Vec::new();
        if q.sound && !reported.is_empty() {
            let (with, without): (Vec<usize>, Vec<usize>) =
                reported.iter().partition(|&&i| rows[i].has_peaks);
            if !without.is_empty() {
                unchecked += without.len();
                why_not = Some(
                    "a recording whose audio could not be decoded at import has no waveform".into(),
                );
            }
            if self.user.secrets.get("custodian").is_none() {
                unchecked += with.len();
                why_not = Some(
                    "the waveforms open with the call key, which a GP partner (an approver) or the data controller holds".into(),
                );
            } else if !with.is_empty() {
                let ids: Vec<String> = with.iter().map(|&i| stored[i].id.clone()).collect();
                self.audit_batches(
                    &ids,
                    &format!(
                        "call log {name}: the waveforms of {} recordings opened to hear silence",
                        ids.len()
                    ),
                )?;
                // What each finding says of a recording, with the log's row beside it.
                let finding = |i: usize, (kind, detail): (cc::FindingKind, String)| {
                    let s = &stored[i];
                    let cdr = m.call_of.get(&i).map(|&c| log.calls[c].clone());
                    cc::Finding {
                        kind,
                        recording: Some(s.id.clone()),
                        at: time::rfc3339(cdr.as_ref().map(|c| c.start).unwrap_or(s.start)),
                        cdr,
                        detail,
                    }
                };
                // The waveform mixes a two-channel call's channels: those that sound like a call
                // there have their audio decoded too (in memory), to hear one channel silent.
                let mut stereo = Vec::new();
                for &i in &with {
                    let s = &stored[i];
                    match self.stored_waveform(&s.id).await {
                        Ok(w) => {
                            checked += 1;
                            match cc::sound(&w.peaks, w.window_ms) {
                                Some(h) => findings.push(finding(i, h)),
                                None if rows[i].channels == 2 => stereo.push(i),
                                None => {}
                            }
                        }
                        Err(Error::Forbidden(_)) => {
                            unchecked += 1;
                            why_not.get_or_insert_with(|| {
                                "this session holds no key that opens some of them".into()
                            });
                        }
                        Err(e) => {
                            unchecked += 1;
                            problems.push(format!("recording {}: {e}", s.id));
                        }
                    }
                }
                if !stereo.is_empty() {
                    let ids: Vec<String> = stereo.iter().map(|&i| stored[i].id.clone()).collect();
                    // Audited first, naming exactly the recordings decoded.
                    self.audit_batches(
                        &ids,
                        &format!(
                            "call log {name}: the audio of {} two-channel recordings decoded to hear a silent channel",
                            ids.len()
                        ),
                    )?;
                    for &i in &stereo {
                        match self.channel_silence(&stored[i].id).await {
                            Ok(Some(h)) => findings.push(finding(i, h)),
                            Ok(None) => {}
                            // The decoder's errors name the recording already.
                            Err(e @ Error::Audio { .. }) => problems.push(e.to_string()),
                            Err(e) => problems.push(format!("recording {}: {e}", stored[i].id)),
                        }
                    }
                }
            }
        }
        findings.sort_by(|a, b| (&a.at, a.kind).cmp(&(&b.at, b.kind)));
        let mut counts: BTreeMap<&'static str, usize> = [
            FindingKind::Missing,
            FindingKind::Short,
            FindingKind::OneSided,
            FindingKind::Silent,
            FindingKind::NoCdr,
        ]
        .iter()
        .map(|k| (k.as_str(), 0))
        .collect();
        for f in &findings {
            *counts.entry(f.kind.as_str()).or_default() += 1;
        }
        let report = CompletenessReport {
            cdr: name.clone(),
            layout: log.layout,
            log_first: time::rfc3339(first),
            log_last: time::rfc3339(last),
            coverage_note,
            from: time::rfc3339(lo),
            to: time::rfc3339(hi),
            log_rows: log.rows,
            log_calls: log_calls.len(),
            answered: log_calls
                .iter()
                .filter(|&&i| log.calls[i].answered && log.calls[i].talk_s > 0)
                .count(),
            recordings: reported.len(),
            matched: reported
                .iter()
                .filter(|&i| m.call_of.contains_key(i))
                .count(),
            counts,
            findings,
            sound_checked: checked,
            sound_unchecked: unchecked,
            sound_note: why_not.filter(|_| unchecked > 0),
            sound_problems: problems,
        };
        let mut found: Vec<String> = report
            .findings
            .iter()
            .filter_map(|f| f.recording.clone())
            .collect();
        found.sort();
        found.dedup();
        let counts: Vec<String> = report
            .counts
            .iter()
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        self.audit_batches(
            &found,
            &format!(
                "call log of {} rows ({}), {} to {}: {} calls, {} recordings, {}; waveforms heard {}, failed {}",
                report.log_rows,
                report.layout.as_str(),
                report.from,
                report.to,
                report.log_calls,
                report.recordings,
                counts.join(", "),
                report.sound_checked,
                report.sound_problems.len()
            ),
        )?;
        Ok(report)
    }

    /// Whether one channel of a two-channel recording is silent, from its decoded audio (in
    /// memory only).
    async fn channel_silence(&self, id: &str) -> Result<Option<(cc::FindingKind, String)>> {
        let reader = self.open_reader(id).await?;
        let meta = self.recording_from_journal(id).await?;
        let ext = std::path::Path::new(&meta.source_name)
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        let mut d = crate::audio::decode::Decoder::open(
            reader,
            ext.as_deref(),
            &format!("recording {id}"),
        )?;
        let mut q = cc::ChannelQuiet::new(d.sample_rate(), d.channels());
        while let Some(b) = d.next_block()? {
            q.push(&b);
        }
        Ok(q.finish())
    }

    /// Audit an allowed completeness check naming `ids`, in entries of at most [`AUDIT_BATCH`]
    /// (one entry when there are none).
    fn audit_batches(&self, ids: &[String], detail: &str) -> Result<()> {
        let batches: Vec<&[String]> = if ids.is_empty() {
            vec![&[]]
        } else {
            ids.chunks(AUDIT_BATCH).collect()
        };
        let n = batches.len();
        for (i, b) in batches.into_iter().enumerate() {
            let part = if n > 1 {
                format!(" (part {} of {n})", i + 1)
            } else {
                String::new()
            };
            self.audit(
                Action::CheckCompleteness,
                "allowed",
                b.to_vec(),
                Some(format!("{detail}{part}")),
            )?;
        }
        Ok(())
    }
}
