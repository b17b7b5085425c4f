//! Finding calls through `Session`: the search over the local index within the user's scope (every
//! call, or only their own), one call's details, and how a call is shown. Every search is audited
//! with its criteria as keyed hashes.

use super::*;

/// A recording as shown to a user who may see it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct RecordingView {
    pub id: String,
    pub started_at: String,
    pub direction: Direction,
    /// The mapped staff user's name, or None when unassigned.
    pub staff: Option<String>,
    pub extension: Option<String>,
    pub external_number: Option<String>,
    pub parties: Vec<String>,
    pub duration_s: f64,
    pub notes: Option<String>,
    pub codec: String,
    pub sample_rate: u32,
    pub channels: u16,
    pub source_name: String,
    /// The patients' NHS numbers the call is linked to (by its import or a supervisor).
    pub nhs_numbers: Vec<String>,
    /// A consent mark, e.g. "caller objected; recording stopped at 01:12".
    pub consent: Option<String>,
    /// The transferred or split call this is one leg of (the legs this user may see).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conversation: Option<ConversationView>,
}

/// Search criteria as a person gives them.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SearchQuery {
    pub from: Option<String>,
    pub to: Option<String>,
    pub number: Option<String>,
    pub staff: Option<String>,
    pub party: Option<String>,
    pub direction: Option<String>,
    pub min_duration_s: Option<f64>,
    pub max_duration_s: Option<f64>,
    pub text: Option<String>,
    /// Calls linked to this NHS number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nhs_number: Option<String>,
    pub limit: Option<i64>,
}

impl Session {
    /// How these recordings are shown: each with its consent mark, linked NHS numbers and the
    /// conversation it is one leg of.
    pub(super) async fn views(&self, rows: Vec<RecordingMeta>) -> Result<Vec<RecordingView>> {
        let ids: Vec<String> = rows.iter().map(|m| m.id.clone()).collect();
        let marks = self.index.consent_marks(&ids).await?;
        let mut nhs = self.index.nhs_links(&ids).await?;
        let mut convs = self.conversation_views(&ids).await?;
        Ok(rows
            .into_iter()
            .map(|m| {
                let n = nhs.remove(&m.id).unwrap_or_default();
                let c = marks.get(&m.id);
                let conv = convs.remove(&m.id);
                let mut v = self.view(m, c, n);
                v.conversation = conv;
                v
            })
            .collect())
    }

    fn view(
        &self,
        m: RecordingMeta,
        consent: Option<&crate::requests::ConsentMark>,
        nhs_numbers: Vec<String>,
    ) -> RecordingView {
        RecordingView {
            nhs_numbers,
            consent: consent.map(|c| c.describe()),
            conversation: None,
            staff: m.staff_uid.as_deref().and_then(|u| self.name_of(u)),
            id: m.id,
            started_at: m.started_at,
            direction: m.direction,
            extension: m.extension,
            external_number: m.external_number,
            parties: m.parties,
            duration_s: m.duration_ms as f64 / 1000.0,
            notes: m.notes,
            codec: m.codec,
            sample_rate: m.sample_rate,
            channels: m.channels,
            source_name: m.source_name,
        }
    }

    pub(super) fn scope(&self) -> Scope {
        policy::recording_scope(&self.user.uid, &self.user.profile.roles)
    }

    /// Search criteria as the audit trail keeps them: personal values (number, party, text) as keyed
    /// hashes, so the trail proves who searched for what without keeping a patient's details past
    /// their erasure. The key is the audit file's criteria key, which only the audit key's holders
    /// can derive: the data controller finds who searched for a number with
    /// `AuditFilter::searched_for`; nobody else can try numbers against the trail.
    /// A request draft (`draft`) gives its parties, and its numbers, joined by commas: each is
    /// hashed on its own.
    pub(super) fn criteria_for_audit(
        &self,
        q: &SearchQuery,
        key: &audit::CriteriaKey,
        draft: bool,
    ) -> String {
        let h = |v: &Option<String>, norm: &dyn Fn(&str) -> String| {
            v.as_ref().map(|v| key.hash(&norm(v)))
        };
        let mut c = q.clone();
        c.number = q.number.as_ref().map(|n| {
            let one = |v: &str| key.hash(&phone::normalize(v).unwrap_or_default());
            match draft {
                true => n.split(',').map(one).collect::<Vec<_>>().join(","),
                false => one(n),
            }
        });
        c.party = q.party.as_ref().map(|p| match draft {
            true => p
                .split(',')
                .map(|x| key.hash(&audit::criteria::words(x)))
                .collect::<Vec<_>>()
                .join(","),
            false => key.hash(&audit::criteria::words(p)),
        });
        c.text = h(&q.text, &|v| audit::criteria::words(v));
        c.nhs_number = h(&q.nhs_number, &|v| {
            crate::patient::parse(v).unwrap_or_else(|_| v.trim().to_string())
        });
        serde_json::to_string(&c).expect("serialisable")
    }

    /// Search the recordings this user may see.
    pub async fn search(&self, q: &SearchQuery) -> Result<Vec<RecordingView>> {
        self.require(Action::Search)?;
        let party_to = match self.scope() {
            Scope::All => None,
            Scope::PartyTo(uid) => Some(uid),
            Scope::Nothing => {
                return self.refuse(
                    Action::Search,
                    vec![],
                    Error::Forbidden(
                        "your roles reach no recordings (admin alone does not)".into(),
                    ),
                )
            }
        };
        let mut used = Vec::new();
        let mut iq = index::Query {
            limit: q.limit.unwrap_or(100).clamp(1, 100_000),
            party_to,
            ..Default::default()
        };
        if let Some(f) = &q.from {
            iq.from_ms = Some(time::parse_bound(f, self.tz, false)?.timestamp_millis());
            used.push("from");
        }
        if let Some(t) = &q.to {
            iq.to_ms = Some(time::parse_bound(t, self.tz, true)?.timestamp_millis());
            used.push("to");
        }
        if let Some(n) = &q.number {
            iq.number = Some(
                phone::normalize(n)
                    .ok_or_else(|| Error::Invalid(format!("number '{n}' has no digits")))?,
            );
            used.push("number");
        }
        if let Some(s) = &q.staff {
            iq.staff_uids = Some(self.staff_uids(s));
            used.push("staff");
        }
        if let Some(p) = &q.party {
            iq.party = Some(p.trim().to_string());
            used.push("party");
        }
        if let Some(d) = &q.direction {
            let d = Direction::parse(d).ok_or_else(|| {
                Error::Invalid(format!(
                    "direction '{d}': use inbound, outbound or internal"
                ))
            })?;
            iq.direction = Some(d.as_str().to_string());
            used.push("direction");
        }
        for (v, slot, name) in [
            (q.min_duration_s, &mut iq.min_ms, "min-duration"),
            (q.max_duration_s, &mut iq.max_ms, "max-duration"),
        ] {
            if let Some(s) = v {
                if !(s >= 0.0 && s.is_finite()) {
                    return Err(Error::Invalid(format!(
                        "{name} must be a number of seconds"
                    )));
                }
                *slot = Some((s * 1000.0) as i64);
                used.push(name);
            }
        }
        if let Some(t) = &q.text {
            iq.text = Some(t.trim().to_string());
            used.push("text");
        }
        if let Some(n) = q.nhs_number.as_deref().filter(|n| !n.trim().is_empty()) {
            iq.nhs = Some(crate::patient::parse(n).map_err(Error::Invalid)?);
            used.push("nhs-number");
        }
        let rows = self.index.search(&iq).await?;
        let ids: Vec<String> = rows.iter().take(1000).map(|m| m.id.clone()).collect();
        self.audit_keyed(Action::Search, "allowed", ids, &|k| {
            Some(format!(
                "fields [{}], criteria {}, {} results",
                used.join(","),
                self.criteria_for_audit(q, k, false),
                rows.len()
            ))
        })?;
        self.views(rows).await
    }

    /// One recording's details, if this user may see it.
    pub async fn show(&self, id: &str) -> Result<RecordingView> {
        self.require(Action::ShowRecording)?;
        let id = id.trim().to_ascii_lowercase();
        let not_yours = || Error::unseen("recording", &id);
        if !archive::is_id(&id) {
            return Err(Error::Invalid(format!(
                "'{id}' is not a recording id (32 hex digits)"
            )));
        }
        let Some((meta, rowid)) = self.index.get(&id).await? else {
            return self.refuse(Action::ShowRecording, vec![id.clone()], not_yours());
        };
        let allowed = match self.scope() {
            Scope::All => true,
            Scope::PartyTo(uid) => self.index.is_party(&uid, rowid).await?,
            Scope::Nothing => false,
        };
        if !allowed {
            return self.refuse(Action::ShowRecording, vec![id.clone()], not_yours());
        }
        self.audit(Action::ShowRecording, "allowed", vec![id], None)?;
        Ok(self.views(vec![meta]).await?.remove(0))
    }
}
