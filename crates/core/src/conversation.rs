//! Transferred and split calls: the legs of one conversation, joined.
//!
//! A phone system records a transferred call as several recordings (legs). They are joined here,
//! from what the index holds, by the best evidence there is:
//! - **The phone system's id** (`RecordingMeta::conversation`: FreePBX/Asterisk `linkedid`, 3CX's
//!   call id, a manifest's or sidecar's `conversation`). Legs sharing it are joined where the
//!   evidence agrees: the same outside number (or none, for an internal consultation leg) and
//!   times that follow on, each leg starting no more than [`GAP_KEYED_MS`] after the legs before
//!   it ended. A leg that claims the id but whose number or time disagrees is set aside with the
//!   reason, never joined: an importer cannot pull an unrelated call into a conversation (and so
//!   into an approval of it) by naming its id.
//! - **Otherwise, the number and the time**: calls with no id from the same outside number, each
//!   starting within [`GAP_UNKEYED_MS`] of the end of the one before (a call cut off and rung
//!   back, a transfer the phone system gave no id).
//!
//! Each leg stays its own recording: its own key, retention, erasure and audit.

/// A leg with a phone system's id may start this long after the legs before it ended (a caller
/// on hold while a colleague is found).
pub const GAP_KEYED_MS: i64 = 10 * 60 * 1000;
/// Calls with no id from the same number are one conversation if the next starts within this
/// long of the end of the one before.
pub const GAP_UNKEYED_MS: i64 = 60 * 1000;
/// Neighbours looked at on either side of a call with no id.
pub const WINDOW_MS: i64 = 4 * 3600 * 1000;
/// At most this many legs are joined (a linkedid shared by hundreds of calls is a fault).
pub const MAX_LEGS: usize = 20;
/// A conversation id is at most this long.
pub const MAX_KEY: usize = 128;

/// A phone system's conversation id as a source gives it: trimmed; printable ASCII with no spaces,
/// 1 to [`MAX_KEY`] characters. The reason names what is wrong.
pub fn check_key(raw: &str) -> std::result::Result<String, String> {
    let k = raw.trim();
    if k.is_empty() {
        return Err("it is empty".into());
    }
    if k.len() > MAX_KEY {
        return Err(format!("it is longer than {MAX_KEY} characters"));
    }
    if let Some(c) = k.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!(
            "it holds {c:?}: use letters, digits and punctuation, no spaces"
        ));
    }
    Ok(k.to_string())
}

/// A stored id as a reader takes it: one that fails [`check_key`] (only someone's own tool writes
/// one) joins nothing.
pub fn valid(stored: Option<String>) -> Option<String> {
    stored.filter(|k| check_key(k).as_deref() == Ok(k.as_str()))
}

/// What the index holds of one call, for joining.
#[derive(Clone, Debug, PartialEq)]
pub struct LegRow {
    pub id: String,
    pub rowid: i64,
    pub started_ms: i64,
    pub duration_ms: i64,
    /// The outside number, normalised (`phone::normalize`).
    pub digits: Option<String>,
    pub conversation: Option<String>,
}

impl LegRow {
    fn end_ms(&self) -> i64 {
        self.started_ms.saturating_add(self.duration_ms.max(0))
    }
}

/// How the legs were joined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JoinedBy {
    /// The phone system's conversation id.
    PhoneSystem,
    /// The same number, one call following on from the other.
    NumberAndTime,
}

/// One call's conversation: its legs in order (the call among them), and the calls that claimed
/// the same id but were set aside, with why.
#[derive(Clone, Debug, PartialEq)]
pub struct Joined {
    pub by: JoinedBy,
    pub legs: Vec<LegRow>,
    pub set_aside: Vec<(String, String)>,
}

/// The conversation of `anchor` among `candidates` (its neighbours from the index: for a call
/// with an id, every call with that id; otherwise calls from its number within [`WINDOW_MS`]).
/// None if it stands alone.
pub fn join(anchor: &LegRow, candidates: &[LegRow]) -> Option<Joined> {
    let mut set_aside = Vec::new();
    let (by, gap, mut pool): (JoinedBy, i64, Vec<&LegRow>) = match &anchor.conversation {
        Some(k) => {
            let keyed: Vec<&LegRow> = candidates
                .iter()
                .filter(|c| c.conversation.as_ref() == Some(k))
                .collect();
            // The conversation's outside number: the call's own, or (for an internal leg) the one
            // its legs agree on; where they disagree, an internal leg cannot tell and stands alone.
            let mut numbers: Vec<&String> =
                keyed.iter().filter_map(|c| c.digits.as_ref()).collect();
            numbers.sort();
            numbers.dedup();
            let number = match (&anchor.digits, numbers.as_slice()) {
                (Some(d), _) => Some(d),
                (None, []) => None,
                (None, [one]) => Some(*one),
                (None, _) => return None,
            };
            let mut pool = vec![];
            for c in keyed {
                match (number, &c.digits) {
                    (Some(a), Some(b)) if a != b => set_aside.push((
                        c.id.clone(),
                        "it names the same conversation id but another outside number".to_string(),
                    )),
                    _ => pool.push(c),
                }
            }
            (JoinedBy::PhoneSystem, GAP_KEYED_MS, pool)
        }
        None => {
            let pool = match &anchor.digits {
                Some(d) => candidates
                    .iter()
                    .filter(|c| c.conversation.is_none() && c.digits.as_ref() == Some(d))
                    .collect(),
                None => vec![],
            };
            (JoinedBy::NumberAndTime, GAP_UNKEYED_MS, pool)
        }
    };
    if !pool.iter().any(|c| c.id == anchor.id) {
        pool.push(anchor);
    }
    pool.sort_by(|a, b| (a.started_ms, &a.id).cmp(&(b.started_ms, &b.id)));
    // Runs of calls that follow on; the anchor's run is its conversation.
    let mut runs: Vec<Vec<&LegRow>> = vec![];
    let mut end = i64::MIN;
    for c in pool {
        match runs.last_mut() {
            Some(run) if c.started_ms <= end.saturating_add(gap) => run.push(c),
            _ => runs.push(vec![c]),
        }
        end = if runs.last().map_or(0, Vec::len) == 1 {
            c.end_ms()
        } else {
            end.max(c.end_ms())
        };
    }
    let mut legs = vec![];
    for run in runs {
        if run.iter().any(|c| c.id == anchor.id) {
            legs = run.into_iter().cloned().collect();
        } else if by == JoinedBy::PhoneSystem {
            for c in run {
                set_aside.push((
                    c.id.clone(),
                    "it names the same conversation id but does not follow on in time".to_string(),
                ));
            }
        }
    }
    if legs.len() > MAX_LEGS {
        // Keep the MAX_LEGS legs nearest the anchor in order.
        let at = legs.iter().position(|c| c.id == anchor.id).unwrap_or(0);
        let from = at.saturating_sub(MAX_LEGS / 2).min(legs.len() - MAX_LEGS);
        for c in legs
            .iter()
            .take(from)
            .chain(legs.iter().skip(from + MAX_LEGS))
        {
            set_aside.push((
                c.id.clone(),
                format!("the conversation has more than {MAX_LEGS} legs"),
            ));
        }
        legs = legs.into_iter().skip(from).take(MAX_LEGS).collect();
    }
    (legs.len() > 1).then_some(Joined {
        by,
        legs,
        set_aside,
    })
}

/// For the errors of callers that need a conversation.
pub fn alone(id: &str) -> crate::error::Error {
    crate::error::Error::NotFound(format!(
        "a conversation of recording {id}: it is not one leg of a transferred or split call"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leg(id: &str, start_s: i64, dur_s: i64, digits: Option<&str>, k: Option<&str>) -> LegRow {
        LegRow {
            id: id.into(),
            rowid: 0,
            started_ms: start_s * 1000,
            duration_ms: dur_s * 1000,
            digits: digits.map(String::from),
            conversation: k.map(String::from),
        }
    }

    fn ids(j: &Joined) -> Vec<&str> {
        j.legs.iter().map(|l| l.id.as_str()).collect()
    }

    #[test]
    fn legs_with_one_id_join_in_order_and_an_impostor_is_set_aside_with_the_reason() {
        let a = leg("a", 0, 60, Some("7700900123"), Some("k"));
        let b = leg("b", 65, 120, None, Some("k")); // internal consultation: no outside number
        let c = leg("c", 190, 30, Some("7700900123"), Some("k"));
        let other_number = leg("x", 70, 30, Some("7700900999"), Some("k"));
        let next_day = leg("y", 86_400, 30, Some("7700900123"), Some("k"));
        let all = [c.clone(), other_number, a.clone(), next_day, b.clone()];
        for anchor in [&a, &c] {
            let j = join(anchor, &all).unwrap();
            assert_eq!(ids(&j), ["a", "b", "c"]);
            assert_eq!(j.by, JoinedBy::PhoneSystem);
        }
        let honest = [a.clone(), b.clone(), c.clone()];
        assert_eq!(ids(&join(&b, &honest).unwrap()), ["a", "b", "c"]);
        // An internal leg whose conversation's legs name two outside numbers stands alone.
        let d = leg("d", 70, 30, Some("7700900555"), Some("k"));
        assert_eq!(join(&b, &[a.clone(), b.clone(), d]), None);
        let j = join(&a, &all).unwrap();
        let aside: Vec<&str> = j.set_aside.iter().map(|(i, _)| i.as_str()).collect();
        assert_eq!(aside, ["x", "y"]);
        assert!(j.set_aside[0].1.contains("another outside number"));
        assert!(j.set_aside[1].1.contains("does not follow on"));
    }

    #[test]
    fn without_an_id_only_the_same_number_following_within_a_minute_joins() {
        let a = leg("a", 0, 60, Some("1632960001"), None);
        let b = leg("b", 100, 60, Some("1632960001"), None); // 40 s after a ended
        let late = leg("c", 400, 60, Some("1632960001"), None); // 4 min after b ended
        let other = leg("d", 90, 60, Some("1632960002"), None);
        let keyed = leg("e", 30, 60, Some("1632960001"), Some("k"));
        let all = [a.clone(), b.clone(), late.clone(), other.clone(), keyed];
        assert_eq!(ids(&join(&a, &all).unwrap()), ["a", "b"]);
        assert_eq!(ids(&join(&b, &all).unwrap()), ["a", "b"]);
        assert_eq!(join(&late, &all), None);
        assert_eq!(join(&other, &all), None);
        // A withheld number joins nothing.
        let w = leg("w", 0, 60, None, None);
        assert_eq!(join(&w, &[w.clone(), leg("v", 5, 5, None, None)]), None);
    }

    #[test]
    fn a_linkedid_shared_by_hundreds_of_calls_joins_at_most_the_limit() {
        let all: Vec<LegRow> = (0..300)
            .map(|i| leg(&format!("{i:03}"), i * 10, 5, Some("7700900123"), Some("k")))
            .collect();
        let j = join(&all[150], &all).unwrap();
        assert_eq!(j.legs.len(), MAX_LEGS);
        assert!(j.legs.iter().any(|l| l.id == "150"));
        assert_eq!(j.set_aside.len(), 300 - MAX_LEGS);
    }

    #[test]
    fn conversation_ids_are_checked() {
        assert_eq!(check_key(" 1701432000.17 ").unwrap(), "1701432000.17");
        assert!(check_key("").unwrap_err().contains("empty"));
        assert!(check_key("a b").unwrap_err().contains("no spaces"));
        assert!(check_key(&"9".repeat(129)).unwrap_err().contains("longer"));
    }
}
