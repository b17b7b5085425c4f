//! A phone system's call log, read for the completeness check: a FreePBX / Asterisk CDR export, a
//! 3CX call log, or the generic CSV documented in docs/FORMAT.md ("Call logs for the completeness
//! check"). The file is streamed row by row; only the calls within the range asked for are kept,
//! each as one [`LoggedCall`] (the rows of one call — a queue's ring attempts, say — merged by its
//! id). A row that cannot be read stops the check with an error naming the file, the line and the
//! field: a check that skipped rows would report calls missing that are not.

use crate::error::{Error, Result};
use crate::ingest::names::resolve_local;
use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;
use std::collections::HashMap;
use std::path::Path;

/// Which phone system wrote the call log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CdrLayout {
    /// FreePBX / Asterisk `cdr` table exported as CSV.
    FreePbx,
    /// 3CX's call log (Call History / call reports) exported as CSV.
    #[serde(rename = "3cx")]
    ThreeCx,
    /// The generic CSV: `id,start,answered,talk_seconds,from,to,recording`.
    Csv,
}

impl CdrLayout {
    pub fn parse(s: &str) -> Result<CdrLayout> {
        match s.trim().to_ascii_lowercase().as_str() {
            "freepbx" | "asterisk" => Ok(CdrLayout::FreePbx),
            "3cx" | "threecx" => Ok(CdrLayout::ThreeCx),
            "csv" | "generic" => Ok(CdrLayout::Csv),
            other => Err(Error::Invalid(format!(
                "call log layout '{other}': use freepbx, 3cx or csv"
            ))),
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            CdrLayout::FreePbx => "freepbx",
            CdrLayout::ThreeCx => "3cx",
            CdrLayout::Csv => "csv",
        }
    }

    fn what(&self) -> &'static str {
        match self {
            CdrLayout::FreePbx => "a FreePBX CDR export",
            CdrLayout::ThreeCx => "a 3CX call log",
            CdrLayout::Csv => "a generic call log CSV",
        }
    }

    /// The columns each layout needs, as [`key`] spells them: the call's id, its start, whether it
    /// was answered, its talk time.
    fn required(&self) -> &'static [&'static str] {
        match self {
            CdrLayout::FreePbx => &["uniqueid", "calldate", "disposition", "billsec"],
            CdrLayout::ThreeCx => &["callid", "calltime", "status", "talking"],
            CdrLayout::Csv => &["id", "start", "answered", "talkseconds"],
        }
    }

    /// The layout a header fits, if exactly one.
    fn detect(header: &[String]) -> Option<CdrLayout> {
        let fits: Vec<CdrLayout> = [CdrLayout::FreePbx, CdrLayout::ThreeCx, CdrLayout::Csv]
            .into_iter()
            .filter(|l| l.missing(header).is_empty())
            .collect();
        (fits.len() == 1).then(|| fits[0])
    }

    fn missing(&self, header: &[String]) -> Vec<&'static str> {
        self.required()
            .iter()
            .copied()
            .filter(|c| !header.iter().any(|h| h == c || alias(h) == Some(*c)))
            .collect()
    }
}

/// Other spellings of a column, as [`key`] gives them.
fn alias(h: &str) -> Option<&'static str> {
    Some(match h {
        "starttime" | "date" | "datetime" => "calltime",
        "talktime" | "talkingtime" => "talking",
        "callidentifier" => "callid",
        _ => return None,
    })
}

/// A header cell as compared: lower case, letters and digits only (`Call Time` is `calltime`).
fn key(h: &str) -> String {
    h.trim_start_matches('\u{feff}')
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// One call of the log (its rows merged by id).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct LoggedCall {
    /// The line of its first row in the file (the header is line 1).
    pub line: usize,
    /// Its id in the log: FreePBX's `uniqueid`, 3CX's Call ID, the generic `id`.
    pub id: String,
    /// When the call began (its first row), RFC 3339 UTC in reports.
    #[serde(serialize_with = "ser_time")]
    pub start: DateTime<Utc>,
    /// Did any of its rows say it was answered?
    pub answered: bool,
    /// The longest talk time of its answered rows, in seconds.
    pub talk_s: u64,
    pub from: Option<String>,
    pub to: Option<String>,
    /// The recording's file name the log gives (FreePBX `recordingfile`), without folders.
    pub recording: Option<String>,
}

fn ser_time<S: serde::Serializer>(t: &DateTime<Utc>, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&crate::time::rfc3339(*t))
}

/// The calls of a log within a range.
#[derive(Debug)]
pub struct CallLog {
    pub layout: CdrLayout,
    /// Data rows read (all of them, in range or not).
    pub rows: usize,
    /// The calls that began within the range, in the order of their first row.
    pub calls: Vec<LoggedCall>,
    /// The earliest and latest start of any row (in range or not).
    pub span: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// Read `path` as a call log of `layout` (or the one its header fits), keeping the calls that
/// began in `[from, to)`. Times without a zone are the phone system's wall clock in `tz`.
pub fn read(
    path: &Path,
    layout: Option<CdrLayout>,
    tz: Tz,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<CallLog> {
    let name = path.display().to_string();
    let file = std::fs::File::open(path).map_err(|e| Error::io(&name, e))?;
    read_from(&name, std::io::BufReader::new(file), layout, tz, from, to)
}

/// [`read`] from any reader; `name` names it in errors.
pub fn read_from<R: std::io::Read>(
    name: &str,
    input: R,
    layout: Option<CdrLayout>,
    tz: Tz,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> Result<CallLog> {
    // The csv reader's own line numbers skip blank lines and drift on CRLF files: the lines
    // are counted here, from the bytes as they are read.
    let newlines = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
    let input = Lines {
        inner: input,
        offset: 0,
        newlines: newlines.clone(),
        cr: false,
        buf: Vec::new(),
        since_lf: 0,
    };
    // A row's position is where the reader began it, before the blank lines it skipped.
    let line_at = |byte: u64| {
        let v = newlines.borrow();
        let (mut k, mut b) = (v.partition_point(|&o| o < byte), byte);
        while v.get(k) == Some(&b) {
            k += 1;
            b += 1;
        }
        k + 1
    };
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(false)
        .has_headers(true)
        .from_reader(input);
    let raw: Vec<String> = rdr
        .headers()
        .map_err(|e| Error::Invalid(format!("{name}: the header cannot be read: {e}")))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
        .collect();
    let header: Vec<String> = raw.iter().map(|h| key(h)).collect();
    let layout = match layout {
        Some(l) => {
            let missing = l.missing(&header);
            if !missing.is_empty() {
                let hint = CdrLayout::detect(&header)
                    .map(|d| format!(": it looks like {} (--layout {})", d.what(), d.as_str()))
                    .unwrap_or_default();
                return Err(Error::Invalid(format!(
                    "{name} is not {}: its header has no {} column{}{hint}",
                    l.what(),
                    missing.join(", "),
                    if missing.len() == 1 { "" } else { "s" },
                )));
            }
            l
        }
        None => CdrLayout::detect(&header).ok_or_else(|| {
            Error::Invalid(format!(
                "{name}: its header fits no call log this build reads (a FreePBX CDR export needs calldate, uniqueid, disposition and billsec; a 3CX call log Call ID, Call Time, Status and Talking; the generic CSV id, start, answered and talk_seconds)"
            ))
        })?,
    };
    let col = |c: &str| header.iter().position(|h| h == c || alias(h) == Some(c));
    let cols = Cols {
        id: col(layout.required()[0]),
        start: col(layout.required()[1]),
        answered: col(layout.required()[2]),
        talk: col(layout.required()[3]),
        from: match layout {
            CdrLayout::FreePbx => col("src"),
            _ => col("from"),
        },
        to: match layout {
            CdrLayout::FreePbx => col("dst"),
            _ => col("to"),
        },
        recording: match layout {
            CdrLayout::FreePbx => col("recordingfile"),
            _ => col("recording"),
        },
    };
    let names = &raw;
    let mut log = CallLog {
        layout,
        rows: 0,
        calls: vec![],
        span: None,
    };
    let mut by_id: HashMap<String, usize> = HashMap::new();
    // Calls whose first row is outside the range: their later rows are too.
    let mut outside: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut zoned: Option<(bool, usize)> = None;
    let mut rec = csv::StringRecord::new();
    loop {
        match rdr.read_record(&mut rec) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) if is_long_line(&e) => {
                let line = newlines.borrow().len() + 1;
                return Err(Error::Invalid(format!(
                    "{name} line {line}: longer than 1 MiB: not a call log's row"
                )));
            }
            Err(e) => {
                let line = e.position().map_or(log.rows + 2, |p| line_at(p.byte()));
                return Err(Error::Invalid(format!(
                    "{name} line {line}: the row cannot be read ({}); is the file cut short?",
                    short_csv_error(&e)
                )));
            }
        }
        log.rows += 1;
        // The line the row starts on (blank lines and quoted line breaks counted).
        let line = rec.position().map_or(log.rows + 1, |p| line_at(p.byte()));
        let field = |i: Option<usize>| i.and_then(|i| rec.get(i)).map(str::trim).unwrap_or("");
        let bad = |i: Option<usize>, why: &str| {
            let c = i.and_then(|i| names.get(i)).cloned().unwrap_or_default();
            Error::Invalid(format!("{name} line {line}: '{c}' {why}"))
        };
        let id = field(cols.id);
        if id.is_empty() {
            return Err(bad(cols.id, "is empty: every call needs its id"));
        }
        let (start, has_zone) = parse_time(field(cols.start), tz)
            .map_err(|why| bad(cols.start, &format!("is '{}': {why}", field(cols.start))))?;
        match zoned {
            None => zoned = Some((has_zone, line)),
            Some((z, first)) if z != has_zone => {
                return Err(bad(
                    cols.start,
                    &format!(
                        "has {} time zone but line {first}'s {}: mixed time zones, so the calls cannot be placed on one clock",
                        if has_zone { "a" } else { "no" },
                        if z { "had one" } else { "had none" },
                    ),
                ))
            }
            _ => {}
        }
        let answered = parse_answered(layout, field(cols.answered)).map_err(|why| {
            bad(
                cols.answered,
                &format!("is '{}': {why}", field(cols.answered)),
            )
        })?;
        let talk = parse_seconds(field(cols.talk))
            .map_err(|why| bad(cols.talk, &format!("is '{}': {why}", field(cols.talk))))?;
        log.span = Some(match log.span {
            None => (start, start),
            Some((a, b)) => (a.min(start), b.max(start)),
        });
        let opt = |i: Option<usize>| Some(field(i).to_string()).filter(|s| !s.is_empty());
        if outside.contains(id) {
            continue;
        }
        match by_id.get(id) {
            Some(&i) => {
                let c = &mut log.calls[i];
                if answered {
                    c.answered = true;
                    c.talk_s = c.talk_s.max(talk);
                }
                if c.recording.is_none() {
                    c.recording = opt(cols.recording).map(|r| base_name(&r));
                }
            }
            None => {
                if from.is_some_and(|f| start < f) || to.is_some_and(|t| start >= t) {
                    outside.insert(id.to_string());
                    continue;
                }
                by_id.insert(id.to_string(), log.calls.len());
                log.calls.push(LoggedCall {
                    line,
                    id: id.to_string(),
                    start,
                    answered,
                    talk_s: if answered { talk } else { 0 },
                    from: opt(cols.from),
                    to: opt(cols.to),
                    recording: opt(cols.recording).map(|r| base_name(&r)),
                });
            }
        }
    }
    if log.rows == 0 {
        return Err(Error::Invalid(format!(
            "{name}: no calls (a header and no rows)"
        )));
    }
    Ok(log)
}

/// A reader that turns CRLF into LF (the csv reader's positions drift on CRLF) and notes the
/// offset of every line feed it passes on, so that a row's line is counted from its first byte.
struct Lines<R> {
    inner: R,
    offset: u64,
    newlines: std::rc::Rc<std::cell::RefCell<Vec<u64>>>,
    /// A CR read last, not passed on yet (it is dropped if an LF follows).
    cr: bool,
    buf: Vec<u8>,
    /// Bytes since the last line feed: a line longer than [`MAX_LINE`] is refused, not held.
    since_lf: u64,
}

/// No call log's row is this long; a longer line (a damaged or hostile file) is refused before it
/// is held in memory whole.
pub const MAX_LINE: u64 = 1024 * 1024;
const LONG_LINE: &str = "a line longer than 1 MiB";

impl<R: std::io::Read> std::io::Read for Lines<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.len() < 2 {
            // Room for a held CR and one byte: the csv reader never asks for less.
            let mut two = [0u8; 2];
            let n = self.read(&mut two)?;
            let k = n.min(out.len());
            out[..k].copy_from_slice(&two[..k]);
            return Ok(k);
        }
        loop {
            let want = (out.len() - 1).min(64 * 1024);
            self.buf.resize(want, 0);
            let n = self.inner.read(&mut self.buf)?;
            let mut w = 0;
            if n == 0 {
                if std::mem::take(&mut self.cr) {
                    out[0] = b'\r';
                    self.offset += 1;
                    return Ok(1);
                }
                return Ok(0);
            }
            let mut v = self.newlines.borrow_mut();
            for &b in &self.buf[..n] {
                if std::mem::take(&mut self.cr) && b != b'\n' {
                    out[w] = b'\r';
                    w += 1;
                }
                if b == b'\r' {
                    self.cr = true;
                    continue;
                }
                if b == b'\n' {
                    v.push(self.offset + w as u64);
                    self.since_lf = 0;
                } else {
                    self.since_lf += 1;
                    if self.since_lf > MAX_LINE {
                        return Err(std::io::Error::new(
                            std::io::ErrorKind::InvalidData,
                            LONG_LINE,
                        ));
                    }
                }
                out[w] = b;
                w += 1;
            }
            self.offset += w as u64;
            if w > 0 {
                return Ok(w);
            }
        }
    }
}

struct Cols {
    id: Option<usize>,
    start: Option<usize>,
    answered: Option<usize>,
    talk: Option<usize>,
    from: Option<usize>,
    to: Option<usize>,
    recording: Option<usize>,
}

fn is_long_line(e: &csv::Error) -> bool {
    matches!(e.kind(), csv::ErrorKind::Io(io) if io.to_string() == LONG_LINE)
}

fn short_csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "not UTF-8 text".into(),
        csv::ErrorKind::Io(io) if io.to_string() == LONG_LINE => LONG_LINE.into(),
        _ => e.to_string(),
    }
}

fn base_name(p: &str) -> String {
    p.rsplit(['/', '\\']).next().unwrap_or(p).to_string()
}

/// A time as call logs write it: RFC 3339 with a zone, or a wall-clock time in `tz` as
/// `YYYY-MM-DD HH:MM[:SS]`, `YYYY-MM-DDTHH:MM[:SS]` or `DD/MM/YYYY HH:MM[:SS]` (UK order).
/// Returns the instant and whether the text gave its own zone.
pub fn parse_time(s: &str, tz: Tz) -> std::result::Result<(DateTime<Utc>, bool), String> {
    if s.is_empty() {
        return Err("no time given".into());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok((t.with_timezone(&Utc), true));
    }
    const FORMATS: &[&str] = &[
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
        "%d/%m/%Y %H:%M:%S",
        "%d/%m/%Y %H:%M",
    ];
    let naive = FORMATS
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .ok_or("not a date and time (use YYYY-MM-DD HH:MM:SS, DD/MM/YYYY HH:MM:SS or RFC 3339)")?;
    let t = resolve_local(naive, tz, None)?;
    Ok((t.utc, false))
}

fn parse_answered(layout: CdrLayout, s: &str) -> std::result::Result<bool, String> {
    let v = s.to_ascii_lowercase();
    match layout {
        // Asterisk's dispositions.
        CdrLayout::FreePbx => match v.as_str() {
            "answered" => Ok(true),
            "no answer" | "busy" | "failed" | "congestion" | "cancel" | "" => Ok(false),
            _ => Err(
                "not an Asterisk disposition (ANSWERED, NO ANSWER, BUSY, FAILED, CONGESTION)"
                    .into(),
            ),
        },
        CdrLayout::ThreeCx => Ok(v == "answered"),
        CdrLayout::Csv => match v.as_str() {
            "yes" | "true" | "1" | "answered" => Ok(true),
            "no" | "false" | "0" | "" => Ok(false),
            _ => Err("use yes or no".into()),
        },
    }
}

/// Seconds as a whole number (`83`, `83.4`) or `[HH:]MM:SS`.
fn parse_seconds(s: &str) -> std::result::Result<u64, String> {
    if s.is_empty() {
        return Ok(0);
    }
    if let Ok(n) = s.parse::<u64>() {
        return Ok(n);
    }
    if let Ok(f) = s.parse::<f64>() {
        if f.is_finite() && f >= 0.0 {
            return Ok(f.round() as u64);
        }
    }
    let parts: Vec<&str> = s.split(':').collect();
    if (2..=3).contains(&parts.len()) {
        let mut total = 0u64;
        for p in &parts {
            let n: u64 = p
                .parse()
                .map_err(|_| "not a number of seconds nor HH:MM:SS".to_string())?;
            total = total * 60 + n;
        }
        return Ok(total);
    }
    Err("not a number of seconds nor HH:MM:SS".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TZ: Tz = chrono_tz::Europe::London;

    #[test]
    fn a_line_longer_than_a_mebibyte_is_refused_naming_it() {
        let mut csv = String::from("id,start,answered,talk_seconds\n1,2026-11-30 10:00,yes,30\n");
        csv.push_str(&"9".repeat(MAX_LINE as usize + 10));
        csv.push('\n');
        match read_from("g.csv", csv.as_bytes(), None, TZ, None, None) {
            Err(Error::Invalid(m)) => {
                assert_eq!(m, "g.csv line 3: longer than 1 MiB: not a call log's row")
            }
            other => panic!("expected a refusal, got {:?}", other.map(|l| l.rows)),
        }
        // The header itself.
        let huge = "x".repeat(MAX_LINE as usize + 1);
        let e = read_from("h.csv", huge.as_bytes(), None, TZ, None, None).unwrap_err();
        assert!(e.to_string().contains("longer than 1 MiB"), "{e}");
        // A line just under the limit is read as a row (and refused for what it holds).
        let mut ok = String::from("id,start,answered,talk_seconds\n");
        ok.push_str(&format!("{},2026-11-30 10:00,yes,30\n", "7".repeat(1000)));
        assert!(read_from("k.csv", ok.as_bytes(), None, TZ, None, None).is_ok());
    }

    #[test]
    fn seconds_and_times() {
        assert_eq!(parse_seconds("83"), Ok(83));
        assert_eq!(parse_seconds("00:01:23"), Ok(83));
        assert_eq!(parse_seconds("1:23"), Ok(83));
        assert!(parse_seconds("a minute").is_err());
        let (t, z) = parse_time("30/11/2026 10:15:00", TZ).unwrap();
        assert_eq!(crate::time::rfc3339(t), "2026-11-30T10:15:00Z");
        assert!(!z);
        // British Summer Time: the wall clock is an hour ahead of UTC.
        let (t, _) = parse_time("2026-07-01 10:15:00", TZ).unwrap();
        assert_eq!(crate::time::rfc3339(t), "2026-07-01T09:15:00Z");
        let (_, z) = parse_time("2026-07-01T10:15:00+01:00", TZ).unwrap();
        assert!(z);
        assert!(parse_time("31/02/2026 10:00", TZ).is_err());
    }

    #[test]
    fn rows_of_one_call_are_merged_and_the_range_applies() {
        let csv = "calldate,src,dst,disposition,duration,billsec,uniqueid,recordingfile\n\
            2026-11-30 10:00:00,07700900123,600,NO ANSWER,20,0,1764496800.1,\n\
            2026-11-30 10:00:00,07700900123,600,ANSWERED,95,80,1764496800.1,in-600-07700900123-20261130-100000-1764496800.1.wav\n\
            2026-11-29 09:00:00,07700900124,600,ANSWERED,30,25,1764406800.2,\n";
        let from = Some(parse_time("2026-11-30 00:00", TZ).unwrap().0);
        let log = read_from("cdr.csv", csv.as_bytes(), None, TZ, from, None).unwrap();
        assert_eq!(log.layout, CdrLayout::FreePbx);
        assert_eq!(log.rows, 3);
        assert_eq!(log.calls.len(), 1);
        let c = &log.calls[0];
        assert!(c.answered);
        assert_eq!(c.talk_s, 80);
        assert_eq!(c.line, 2);
        assert_eq!(
            c.recording.as_deref(),
            Some("in-600-07700900123-20261130-100000-1764496800.1.wav")
        );
    }

    #[test]
    fn a_bom_crlf_quoted_fields_and_blank_lines_are_read_and_lines_counted() {
        let csv = "\u{feff}\"Call ID\",Call Time,From,To,Status,Talking\r\n\
            1,30/11/2026 10:00:00,\"Doe, Jane (07700900123)\",201,Answered,00:01:00\r\n\
            \r\n\
            2,30/11/2026 10:05:00,\"line\nbreak\",201,Answered,00:00:30\r\n\
            3,30/11/2026 10:0X:00,07700900125,201,Answered,00:00:30\r\n";
        let e = read_from("3cx.csv", csv.as_bytes(), None, TZ, None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("3cx.csv line 6: 'Call Time'"), "{e}");
        let ok = csv.rsplit_once("3,").unwrap().0;
        let log = read_from("3cx.csv", ok.as_bytes(), None, TZ, None, None).unwrap();
        assert_eq!(log.layout, CdrLayout::ThreeCx);
        assert_eq!(log.calls.len(), 2);
        assert_eq!(
            log.calls[0].from.as_deref(),
            Some("Doe, Jane (07700900123)")
        );
        assert_eq!((log.calls[0].talk_s, log.calls[1].line), (60, 4));
    }

    #[test]
    fn a_calls_later_rows_follow_its_first_out_of_the_range() {
        let csv = "id,start,answered,talk_seconds\n\
            q,2026-11-29T23:59:00Z,no,0\n\
            q,2026-11-30T00:00:30Z,yes,40\n";
        let from = Some(parse_time("2026-11-30T00:00:00Z", TZ).unwrap().0);
        let log = read_from("g.csv", csv.as_bytes(), None, TZ, from, None).unwrap();
        assert_eq!(log.calls, vec![], "one call, begun before the range");
    }

    #[test]
    fn bad_logs_are_named() {
        let err = |csv: &str, l: Option<CdrLayout>| {
            read_from("log.csv", csv.as_bytes(), l, TZ, None, None)
                .unwrap_err()
                .to_string()
        };
        let e = err("a,b\n1,2\n", None);
        assert!(e.contains("fits no call log"), "{e}");
        let e = err(
            "calldate,uniqueid,disposition,billsec\n2026-11-30 10:00:00,1.1,ANSWERED,3\n",
            Some(CdrLayout::ThreeCx),
        );
        assert!(
            e.contains("is not a 3CX call log") && e.contains("--layout freepbx"),
            "{e}"
        );
        let e = err("calldate,uniqueid,disposition,billsec\n2026-11-30 10:00:00,1.1,ANSWERED,3\n2026-11-30 10:0", None);
        assert!(e.contains("line 3") && e.contains("cut short"), "{e}");
        let e = err("id,start,answered,talk_seconds\n1,2026-11-30T10:00:00Z,yes,3\n2,2026-11-30 10:00:00,yes,3\n", None);
        assert!(
            e.contains("line 3") && e.contains("mixed time zones"),
            "{e}"
        );
        let e = err(
            "id,start,answered,talk_seconds\n1,2026-11-30 25:00,yes,3\n",
            None,
        );
        assert!(e.contains("line 2: 'start'"), "{e}");
        let e = err("Call ID,Call Time,From,To,Status,Talking\n", None);
        assert!(e.contains("no calls"), "{e}");
    }
}
