//! Transferred and split calls through `Session`: a call's conversation as this user may see it
//! (on every view of a call), the legs an approval covers (checked against the signed journal),
//! and listening to a whole conversation as one timeline, each leg authorised and audited as the
//! recording it is.

use super::*;
use crate::audio::decode::{Decoder, Playable, Stitched};
use crate::conversation::{self, JoinedBy, LegRow};

/// One leg of a conversation, as a user who may see it is shown it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct LegView {
    pub id: String,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub duration_s: f64,
    /// The mapped staff user's name, or None when unassigned.
    pub staff: Option<String>,
}

/// The conversation a call is one leg of.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct ConversationView {
    /// By the phone system's id (`phone-system`) or by the same number following on
    /// (`number-and-time`).
    pub joined_by: JoinedBy,
    /// This call's place among `legs`, from 1.
    pub leg: usize,
    /// The legs this user may see, in order, this call among them.
    pub legs: Vec<LegView>,
}

/// A whole conversation opened for listening.
pub struct ConversationPlayback {
    pub audio: Stitched,
    /// Each leg's grant, in order.
    pub grants: Vec<Grant>,
    /// Where each leg after the first begins, in ms from the start.
    pub joins_ms: Vec<u64>,
}

impl Session {
    /// The conversations of these calls, as this user may see them: a clinician's are joined
    /// among the calls they are a party to only (a call they may not see neither joins nor
    /// bridges two of theirs).
    pub(super) async fn conversation_views(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, ConversationView>> {
        let joined = match self.scope() {
            Scope::All => self.index.conversations(ids, None).await?,
            Scope::PartyTo(uid) => self.index.conversations(ids, Some(&uid)).await?,
            Scope::Nothing => return Ok(HashMap::new()),
        };
        let mut staff: HashMap<String, Option<String>> = HashMap::new();
        let mut out = HashMap::new();
        for (id, j) in joined {
            let Some(at) = j.legs.iter().position(|l| l.id == id) else {
                continue;
            };
            let mut views = Vec::new();
            for l in &j.legs {
                let name = match staff.get(&l.id) {
                    Some(n) => n.clone(),
                    None => {
                        let n = self
                            .index
                            .staff_of(&l.id)
                            .await?
                            .and_then(|u| self.name_of(&u));
                        staff.insert(l.id.clone(), n.clone());
                        n
                    }
                };
                views.push(LegView {
                    id: l.id.clone(),
                    started_at: chrono::DateTime::from_timestamp_millis(l.started_ms)
                        .map(time::rfc3339)
                        .unwrap_or_default(),
                    duration_s: l.duration_ms as f64 / 1000.0,
                    staff: name,
                });
            }
            out.insert(
                id,
                ConversationView {
                    joined_by: j.by,
                    leg: at + 1,
                    legs: views,
                },
            );
        }
        Ok(out)
    }

    /// A leg as the signed journal records it (not this computer's index, which any user of the
    /// computer could change), and who imported it.
    async fn signed_leg(&self, id: &str) -> Result<(LegRow, String)> {
        let m = self.recording_from_journal(id).await?;
        let started = chrono::DateTime::parse_from_rfc3339(&m.started_at)
            .map_err(|e| Error::Invalid(format!("recording {id}: started_at: {e}")))?;
        Ok((
            LegRow {
                id: m.id,
                rowid: 0,
                started_ms: started.timestamp_millis(),
                duration_ms: i64::try_from(m.duration_ms).unwrap_or(i64::MAX),
                digits: m.external_number.as_deref().and_then(phone::normalize),
                conversation: conversation::valid(m.conversation),
            },
            m.imported_by,
        ))
    }

    /// The other legs an approval of `id` covers, in order. Only a conversation the phone system
    /// named (never one joined by number and time alone: a shared number, a care home's or a
    /// switchboard's, would chain other patients' calls), only legs the same importer wrote (an
    /// importer cannot pull in a call another wrote), only a call with an outside number, and
    /// only as the signed journal entries join them: the index proposes, the signed entries
    /// decide, so a changed index can leave a leg out but not add one. A conversation at the
    /// limit of legs is not widened (which legs are "nearest" would be the index's choice). A
    /// proposed leg whose signed entry cannot be read is left out and reported.
    pub(super) async fn approval_legs(&mut self, id: &str) -> Result<Vec<String>> {
        let proposed = self.index.conversations(&[id.to_string()], None).await?;
        let Some(j) = proposed.get(id).filter(|j| j.by == JoinedBy::PhoneSystem) else {
            return Ok(vec![]);
        };
        let (anchor, importer) = self.signed_leg(id).await?;
        if anchor.digits.is_none() || anchor.conversation.is_none() {
            return Ok(vec![]);
        }
        let mut signed = Vec::new();
        for l in j.legs.iter().filter(|l| l.id != id) {
            match self.signed_leg(&l.id).await {
                Ok((leg, by)) if by == importer => signed.push(leg),
                Ok(_) => {}
                Err(e) => self.warnings.push(format!(
                    "recording {} was not added to the approval as a leg of {id}: {e}",
                    l.id
                )),
            }
        }
        signed.push(anchor.clone());
        match conversation::join(&anchor, &signed) {
            Some(j) if j.by == JoinedBy::PhoneSystem && j.legs.len() < conversation::MAX_LEGS => {
                Ok(j.legs
                    .into_iter()
                    .map(|l| l.id)
                    .filter(|l| l != id)
                    .collect())
            }
            _ => Ok(vec![]),
        }
    }

    /// Listen to the whole conversation recording `id` is one leg of, as one timeline: every leg
    /// is authorised (the same request, or for a party to every leg a stated reason) and audited
    /// as its own recording; if one is refused, nothing plays and the refusal names that leg.
    pub async fn open_conversation_for_listening(
        &self,
        id: &str,
        request: Option<&str>,
        reason: Option<&str>,
    ) -> Result<ConversationPlayback> {
        let id = id.trim().to_ascii_lowercase();
        let view = self.show(&id).await?;
        let legs = self
            .conversation_views(std::slice::from_ref(&view.id))
            .await?
            .remove(&view.id)
            .ok_or_else(|| conversation::alone(&view.id))?
            .legs;
        let n = legs.len();
        // Legs that cannot play as one (rates differ) are refused before any is authorised.
        let mut formats = Vec::new();
        for leg in &legs {
            if let Some((m, _)) = self.index.get(&leg.id).await? {
                formats.push((leg.id.clone(), m.sample_rate, m.channels));
            }
        }
        if let Some((first, rate, _)) = formats.first() {
            if let Some((other, r, _)) = formats.iter().find(|f| f.1 != *rate) {
                return Err(Error::Audio {
                    file: format!("conversation of {n} legs"),
                    reason: format!(
                        "its legs have different sample rates (recording {first} {rate} Hz, recording {other} {r} Hz): play the legs one by one"
                    ),
                });
            }
        }
        let mut opened = Vec::new();
        let mut grants = Vec::new();
        for (i, leg) in legs.iter().enumerate() {
            let (dec, grant): (Decoder, Grant) = self
                .open_for_listening(&leg.id, request, reason)
                .await
                .map_err(|e| match e {
                    Error::Forbidden(why) => Error::Forbidden(format!(
                        "leg {} of {n} (recording {}): {why}",
                        i + 1,
                        leg.id
                    )),
                    e => e,
                })?;
            opened.push((dec, (leg.duration_s * 1000.0).round() as u64));
            grants.push(grant);
        }
        let audio = Stitched::new(opened)?;
        let rate = u64::from(audio.sample_rate().max(1));
        let joins_ms = audio.joins().iter().map(|f| f * 1000 / rate).collect();
        Ok(ConversationPlayback {
            audio,
            grants,
            joins_ms,
        })
    }
}
