//! FreePBX / Asterisk MixMonitor recordings:
//! `YYYY/MM/DD/<type>-<to>-<from>-<YYYYMMDD>-<HHMMSS>-<uniqueid>.<ext>`, as FreePBX's
//! `sub-record-check` names them (`${type}-${to}-${FROMEXTEN}-${TIMESTR}-${UNIQUEID}.${MON_FMT}`).
//!
//! - `<type>`: `in` (an inbound route: `<to>` is the DID dialled, `<from>` the caller's number, or
//!   `unknown`), `out` (an outbound route: `<to>` the number dialled, `<from>` the extension),
//!   `internal` (extension `<from>` called extension `<to>`), `external` (an outside call reaching
//!   extension `<to>`), `q` / `rg` (a call into queue / ring group `<to>`), and `force`, `generic`,
//!   `parked` and any other `sub-record-check` type, read by the shape of the numbers: an
//!   extension calling out is outbound, an outside number calling an extension inbound, two
//!   extensions internal, two outside numbers inbound (assumed, and said in the notes).
//! - An `in`, `q` or `rg` call whose `<from>` is an extension is an internal call.
//! - The date and time are the PBX's wall clock. `<uniqueid>` is `[system-]<epoch>.<sequence>`:
//!   the channel's creation in epoch seconds, which the recording cannot precede; in the autumn's
//!   repeated hour it settles which of the two instants the name means.
//! - `<ext>`: `wav` (PCM or G.711), upper-case `WAV` = WAV49 (GSM 06.10 in a WAV header, which
//!   FreePBX writes for `wav49`), `gsm` (raw GSM), or any other audio the probe recognises. A `.wav`
//!   and a `.WAV` of the same name are two different files and both are imported.
//! - The answering extension of an inbound call is not in the name: it comes from a joined FreePBX
//!   CDR export (`--cdr`, matched by `recordingfile`, else by `uniqueid`): `dstchannel`
//!   `PJSIP/201-0000002a` (or `SIP/…`, `Local/201@from-queue-…`) gives 201. The CDR's `clid`
//!   (`"Jane Doe" <07700900123>`) gives an inbound caller's name, and `disposition`, `duration`
//!   and `billsec` are kept in the notes. Without a CDR such a call is imported unassigned.
//! - The CDR's `linkedid` (Asterisk's id of the conversation, shared by a transferred call's legs)
//!   is kept as the call's conversation `freepbx:<linkedid>` ([`crate::conversation`]).

use crate::ingest::names::{is_extension, naive, number_field, resolve_local};
use crate::ingest::understand::{
    Call, Columns, Ctx, Fit, Layout, Metadata, MetadataCsv, MetadataRow,
};
use crate::ingest::source::Rejected;
use crate::archive::journal::Direction;
use crate::error::{Error, Result};
use chrono::{DateTime, NaiveDateTime};
use std::collections::{BTreeMap, HashMap};

/// The layout's name.
pub const NAME: &str = "freepbx";

/// The FreePBX / Asterisk MixMonitor layout.
pub struct FreePbx;

impl Layout for FreePbx {
    fn name(&self) -> &'static str {
        NAME
    }
    fn aliases(&self) -> &'static [&'static str] {
        &["asterisk"]
    }
    fn description(&self) -> &'static str {
        "FreePBX / Asterisk (year/month/day folders, names like in-…-….wav)"
    }
    fn shape(&self) -> Option<&'static str> {
        Some("FreePBX <type>-<to>-<from>-<YYYYMMDD>-<HHMMSS>-<uniqueid>.<ext>")
    }
    fn looks_like(&self, file: &Ctx) -> Fit {
        if looks_like(file.file_name) {
            Fit::Name
        } else {
            Fit::No
        }
    }
    fn understand(&self, file: &Ctx, meta: Option<&Metadata>) -> std::result::Result<Call, String> {
        understand(file, meta.and_then(Metadata::get::<Cdr>))
    }
    fn metadata(&self) -> Option<&'static MetadataCsv> {
        Some(&CDR)
    }
}

/// A FreePBX CDR export, joined by `recordingfile` (else `uniqueid`).
static CDR: MetadataCsv = MetadataCsv {
    what: "a FreePBX CDR export ('uniqueid', 'recordingfile' columns)",
    not_one: "not a FreePBX CDR export (its header has neither 'uniqueid' nor 'recordingfile')",
    recognises: |h| h.iter().any(|c| c == "uniqueid" || c == "recordingfile"),
    read: |source, headers, rdr| {
        let cdr = Cdr::read(source, headers, rdr)?;
        let problems = cdr.problems.clone();
        Ok(Metadata::new(cdr, problems))
    },
};

/// The `<type>`s `sub-record-check` writes.
pub const TYPES: &[&str] = &[
    "in", "out", "internal", "external", "q", "rg", "force", "generic", "parked",
];

const EXPECTED: &str = "expected <type>-<to>-<from>-<YYYYMMDD>-<HHMMSS>-<uniqueid>.<ext>";

/// A MixMonitor file name, parsed.
#[derive(Clone, Debug, PartialEq)]
pub struct Name {
    pub kind: String,
    pub to: String,
    pub from: String,
    /// The wall-clock time in the name.
    pub local: NaiveDateTime,
    /// As written, e.g. `1743067517.12206` or `pbx1-1743067517.12206`.
    pub uniqueid: String,
    /// The uniqueid's epoch seconds (when the call's channel was created).
    pub epoch: i64,
    /// As written (case kept: `WAV` is not `wav`).
    pub ext: String,
}

/// Does the name start like a MixMonitor recording (`<type>-`)?
pub fn looks_like(file_name: &str) -> bool {
    file_name
        .split_once('-')
        .is_some_and(|(t, _)| TYPES.contains(&t))
}

/// Parse a MixMonitor file name strictly. The error says what is wrong with it.
pub fn parse_name(file_name: &str) -> std::result::Result<Name, String> {
    let bad = |what: String| format!("not a FreePBX recording name: {what} ({EXPECTED})");
    let (stem, ext) = file_name
        .rsplit_once('.')
        .ok_or_else(|| bad("no extension".into()))?;
    if ext.is_empty() || !ext.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(bad(format!("'.{ext}' is not a file extension")));
    }
    let t: Vec<&str> = stem.split('-').collect();
    if t.len() < 6 {
        return Err(bad(format!(
            "{} dash-separated fields where at least 6 are needed",
            t.len()
        )));
    }
    if !TYPES.contains(&t[0]) {
        return Err(bad(format!(
            "'{}' is not a recording type ({})",
            t[0],
            TYPES.join(", ")
        )));
    }
    let local = naive(t[3], t[4]).map_err(bad)?;
    let uniqueid = t[5..].join("-");
    let tail = uniqueid.rsplit('-').next().unwrap_or_default();
    let epoch = match tail.split_once('.') {
        Some((secs, seq))
            if (1..=12).contains(&secs.len())
                && !seq.is_empty()
                && secs.bytes().chain(seq.bytes()).all(|b| b.is_ascii_digit()) =>
        {
            secs.parse::<i64>().map_err(|e| bad(e.to_string()))?
        }
        _ => {
            return Err(bad(format!(
                "uniqueid '{uniqueid}' is not <epoch>.<sequence>"
            )))
        }
    };
    Ok(Name {
        kind: t[0].to_string(),
        to: t[1].to_string(),
        from: t[2].to_string(),
        local,
        uniqueid,
        epoch,
        ext: ext.to_string(),
    })
}

/// The extension a channel name belongs to: `PJSIP/201-0000002a`, `SIP/201-…`, `IAX2/201-…`,
/// `Local/201@from-queue-…;1` give `201`; a trunk (`PJSIP/bt_trunk-…`) gives None.
pub fn channel_extension(channel: &str) -> Option<String> {
    let (_, rest) = channel.split_once('/')?;
    let end = rest.find(['-', '@', ';', '/']).unwrap_or(rest.len());
    let x = &rest[..end];
    is_extension(x).then(|| x.to_string())
}

/// A CDR `clid`: `"Jane Doe" <07700900123>` gives the name and the number.
pub fn parse_clid(clid: &str) -> (Option<String>, Option<String>) {
    let clid = clid.trim();
    let (name, number) = match (clid.rfind('<'), clid.ends_with('>')) {
        (Some(i), true) => (&clid[..i], Some(&clid[i + 1..clid.len() - 1])),
        _ => (clid, None),
    };
    let name = name.trim().trim_matches('"').trim();
    let number = number.map(str::trim).filter(|n| !n.is_empty());
    let is_number = |s: &str| {
        s.trim_start_matches('+')
            .bytes()
            .all(|b| b.is_ascii_digit())
    };
    let name = (!name.is_empty()
        && !is_number(name)
        && !matches!(
            name.to_ascii_lowercase().as_str(),
            "unknown" | "anonymous" | "withheld" | "private" | "restricted" | "unavailable"
        ))
    .then(|| name.to_string());
    let number = match number {
        Some(n) => Some(n.to_string()),
        None if is_number(clid) && !clid.is_empty() => Some(clid.to_string()),
        None => None,
    };
    (name, number)
}

/// A FreePBX CDR CSV export, indexed by `recordingfile` and `uniqueid`.
pub struct Cdr {
    source: String,
    cols: Columns,
    rows: Vec<(usize, csv::StringRecord)>,
    by_file: HashMap<String, Vec<usize>>,
    by_uid: HashMap<String, Vec<usize>>,
    by_linked: HashMap<String, Vec<usize>>,
    /// Rows that could not be read.
    pub problems: Vec<Rejected>,
}

/// The CDR columns kept in the understood record.
const SHOWN: &[&str] = &[
    "calldate",
    "clid",
    "src",
    "dst",
    "channel",
    "dstchannel",
    "disposition",
    "duration",
    "billsec",
    "uniqueid",
    "linkedid",
    "recordingfile",
];

impl Cdr {
    pub(crate) fn read<R: std::io::Read>(
        source: &str,
        headers: Vec<String>,
        mut rdr: csv::Reader<R>,
    ) -> Result<Cdr> {
        let cols = Columns(headers);
        let mut cdr = Cdr {
            source: source.to_string(),
            cols,
            rows: vec![],
            by_file: HashMap::new(),
            by_uid: HashMap::new(),
            by_linked: HashMap::new(),
            problems: vec![],
        };
        for (n, rec) in rdr.records().enumerate() {
            let line = n + 2;
            let rec = match rec {
                Ok(r) => r,
                Err(e) => {
                    cdr.problems.push(Rejected {
                        file: format!("{source} line {line}"),
                        reason: format!("unreadable CDR row: {e}"),
                    });
                    continue;
                }
            };
            let i = cdr.rows.len();
            if let Some(f) = cdr.cols.get(&rec, "recordingfile") {
                let base = f.rsplit('/').next().unwrap_or(f).to_string();
                cdr.by_file.entry(base).or_default().push(i);
            }
            if let Some(u) = cdr.cols.get(&rec, "uniqueid") {
                cdr.by_uid.entry(u.to_string()).or_default().push(i);
            }
            if let Some(l) = cdr.cols.get(&rec, "linkedid") {
                cdr.by_linked.entry(l.to_string()).or_default().push(i);
            }
            cdr.rows.push((line, rec));
        }
        if cdr.rows.is_empty() && cdr.problems.is_empty() {
            return Err(Error::Invalid(format!("--cdr {source}: no rows")));
        }
        Ok(cdr)
    }

    fn get<'r>(&self, rec: &'r csv::StringRecord, c: &str) -> Option<&'r str> {
        self.cols.get(rec, c)
    }

    /// The row for a recording: by `recordingfile` (exact, case kept), else by `uniqueid`; among
    /// several, the answered one with an extension in `dstchannel` and the longest `billsec`.
    fn find(
        &self,
        file_name: &str,
        uniqueid: &str,
    ) -> Option<(&(usize, csv::StringRecord), &'static str)> {
        let (ids, by) = match self.by_file.get(file_name) {
            Some(v) => (v, "recordingfile"),
            None => (self.by_uid.get(uniqueid)?, "uniqueid"),
        };
        let best = ids.iter().max_by_key(|&&i| {
            let rec = &self.rows[i].1;
            let answered = self
                .get(rec, "disposition")
                .is_some_and(|d| d.eq_ignore_ascii_case("ANSWERED"));
            let ext = self
                .get(rec, "dstchannel")
                .and_then(channel_extension)
                .is_some();
            let billsec: u64 = self
                .get(rec, "billsec")
                .and_then(|b| b.parse().ok())
                .unwrap_or(0);
            (answered, ext, billsec, std::cmp::Reverse(i))
        })?;
        Some((&self.rows[*best], by))
    }
}

/// Understand one file of the FreePBX layout.
// Public only for callvault-testkit's fuzz entry points (fuzz_api.rs); not an API.
#[doc(hidden)]
pub fn understand(ctx: &Ctx, cdr: Option<&Cdr>) -> std::result::Result<Call, String> {
    let n = parse_name(ctx.file_name)?;
    ctx.check_date_folders(n.local, false)?;
    let channel_created = DateTime::from_timestamp(n.epoch, 0);
    let time = resolve_local(n.local, ctx.tz, channel_created)?;
    let to = number_field(&n.to, "<to>")?;
    let from = number_field(&n.from, "<from>")?;
    let is_ext = |x: &Option<String>| x.as_deref().is_some_and(is_extension);
    let (to_ext, from_ext) = (is_ext(&to), is_ext(&from));
    let withheld = || {
        if n.from.is_empty() {
            "caller's number not given".to_string()
        } else {
            format!("caller's number not given ({})", n.from)
        }
    };
    let mut c = Call::new(time, Direction::Inbound);
    c.from = (!n.from.is_empty()).then(|| n.from.clone());
    c.to = (!n.to.is_empty()).then(|| n.to.clone());
    match n.kind.as_str() {
        "in" => {
            if from_ext {
                c.direction = Direction::Internal;
                c.extension = from.clone();
            } else {
                c.external_number = from.clone();
                if from.is_none() {
                    c.notes.push(withheld());
                }
            }
            if let Some(t) = &to {
                c.notes.push(format!("dialled {t}"));
            }
        }
        "out" => {
            // Whatever its length, the number an outbound route dialled is outside (999, 111, ...).
            c.direction = Direction::Outbound;
            c.external_number = to.clone();
            if from_ext {
                c.extension = from.clone();
            } else {
                c.remarks.push(format!(
                    "<from> '{}' is not an extension: the caller's extension comes from the CDR, else the call is unassigned",
                    n.from
                ));
            }
        }
        "internal" => {
            c.direction = Direction::Internal;
            if from_ext {
                c.extension = from.clone();
            }
            if to_ext {
                c.parties.extend(to.clone());
            }
        }
        "external" => {
            if from_ext {
                c.direction = Direction::Internal;
                c.extension = to.clone().filter(|_| to_ext);
                c.parties.extend(from.clone());
            } else {
                c.extension = to.clone().filter(|_| to_ext);
                c.external_number = from.clone();
                if from.is_none() {
                    c.notes.push(withheld());
                }
            }
        }
        "q" | "rg" => {
            let what = if n.kind == "q" { "queue" } else { "ring group" };
            if let Some(t) = &to {
                c.notes.push(format!("via {what} {t}"));
            }
            if from_ext {
                c.direction = Direction::Internal;
                c.extension = from.clone();
            } else {
                c.external_number = from.clone();
                if from.is_none() {
                    c.notes.push(withheld());
                }
            }
        }
        kind => match (from_ext, to_ext) {
            (true, false) => {
                c.direction = Direction::Outbound;
                c.extension = from.clone();
                c.external_number = to.clone();
            }
            (false, true) => {
                c.extension = to.clone();
                c.external_number = from.clone();
            }
            (true, true) => {
                c.direction = Direction::Internal;
                c.extension = from.clone();
                c.parties.extend(to.clone());
            }
            (false, false) => {
                c.direction_assumed = true;
                c.external_number = from.clone();
                c.notes.push(format!(
                    "direction not in the name ('{kind}' recording between two outside numbers): recorded as inbound"
                ));
            }
        },
    }
    if let Some(created) = channel_created {
        let ahead = (created - c.time.utc).num_seconds();
        let behind = (c.time.utc - created).num_seconds();
        if ahead > 120 || behind > 12 * 3600 {
            c.notes.push(format!(
                "the time in the name ({}) does not fit the call's uniqueid ({}): the phone system's clock or the time zone given may be wrong",
                crate::time::rfc3339(c.time.utc),
                crate::time::rfc3339(created)
            ));
        }
    }
    c.format_hint = match n.ext.as_str() {
        "WAV" => Some("WAV49 (GSM 06.10 in WAV): FreePBX's upper-case .WAV".into()),
        e if e.eq_ignore_ascii_case("gsm") => Some("raw GSM 06.10".into()),
        _ => None,
    };
    if let Some(cdr) = cdr {
        join_cdr(&mut c, cdr, ctx.file_name, &n);
    }
    Ok(c)
}

/// A `linkedid` this row shares with a row whose outside caller is another number (a fault in the
/// log, or an attempt to pull an unrelated call into a conversation): said, naming both lines.
/// Readers never join such calls ([`crate::conversation`]).
fn linked_elsewhere(
    cdr: &Cdr,
    rec: &csv::StringRecord,
    line: usize,
    number: Option<&str>,
) -> Option<String> {
    let linked = cdr.get(rec, "linkedid")?;
    // The caller's number as the log gives it for each row (both sides read alike), else the
    // file name's.
    let caller = |r: &csv::StringRecord| {
        cdr.get(r, "src")
            .filter(|s| !is_extension(s))
            .and_then(crate::phone::normalize)
    };
    let mine = caller(rec).or_else(|| number.and_then(crate::phone::normalize))?;
    let other = cdr.by_linked.get(linked)?.iter().find_map(|&i| {
        let (l, r) = &cdr.rows[i];
        if *l == line {
            return None;
        }
        (caller(r)? != mine).then_some(*l)
    })?;
    Some(format!(
        "{} line {line}: field 'linkedid': shared with line {other}, a call from another number; \
         the two will not be joined as one conversation",
        cdr.source
    ))
}

fn join_cdr(c: &mut Call, cdr: &Cdr, file_name: &str, n: &Name) {
    let Some(((line, rec), by)) = cdr.find(file_name, &n.uniqueid) else {
        c.remarks.push(format!(
            "no row in {} for this recording (recordingfile {file_name}, uniqueid {})",
            cdr.source, n.uniqueid
        ));
        return;
    };
    let get = |col: &str| cdr.get(rec, col);
    let dst_ext = get("dstchannel").and_then(channel_extension);
    let src_ext = get("channel")
        .and_then(channel_extension)
        .or_else(|| get("cnum").filter(|s| is_extension(s)).map(String::from))
        .or_else(|| get("src").filter(|s| is_extension(s)).map(String::from));
    match c.direction {
        Direction::Inbound => {
            if c.extension.is_none() {
                c.extension = dst_ext;
            }
            if let Some(clid) = get("clid") {
                let (name, number) = parse_clid(clid);
                let same_caller = match (&number, &c.external_number) {
                    (Some(a), Some(b)) => crate::phone::normalize(a) == crate::phone::normalize(b),
                    _ => true,
                };
                if let Some(name) = name.filter(|_| same_caller) {
                    c.parties.push(name);
                }
            }
        }
        Direction::Outbound => {
            if c.extension.is_none() {
                c.extension = src_ext;
            }
        }
        Direction::Internal => {
            if c.extension.is_none() {
                c.extension = src_ext;
            }
            if let Some(d) = dst_ext {
                if c.extension.as_deref() != Some(d.as_str()) {
                    c.parties.push(d);
                }
            }
        }
    }
    // Asterisk's `linkedid`: the uniqueid of the first channel of the conversation, shared by
    // every leg of a transferred call.
    match get("linkedid").map(|k| crate::conversation::check_key(&format!("freepbx:{}", k.trim()))) {
        Some(Ok(k)) => {
            c.conversation = Some(k);
            if let Some(r) = linked_elsewhere(cdr, rec, *line, c.external_number.as_deref()) {
                c.remarks.push(r);
            }
        }
        Some(Err(e)) => c
            .remarks
            .push(format!("{} line {line}: field 'linkedid': {e}; not joined to other legs", cdr.source)),
        None => {}
    }
    let mut parts = Vec::new();
    if let Some(d) = get("disposition") {
        parts.push(d.to_string());
    }
    if let Some(d) = get("duration") {
        parts.push(format!("duration {d} s"));
    }
    if let Some(b) = get("billsec") {
        parts.push(format!("billed {b} s"));
    }
    if !parts.is_empty() {
        c.notes.push(format!("CDR: {}", parts.join(", ")));
    }
    let fields: BTreeMap<String, String> = SHOWN
        .iter()
        .filter_map(|&k| get(k).map(|v| (k.to_string(), v.to_string())))
        .collect();
    c.metadata = Some(MetadataRow {
        source: cdr.source.clone(),
        line: *line,
        matched_by: by.to_string(),
        fields,
    });
}
