//! Reading the audit trail through `Session` (admin and data controller): every entry, filtered
//! lists with names, and the CSV an inspector asks for.

use super::*;
use crate::audit::{self, AuditEntry};
use crate::error::Result;
use crate::policy::Action;
use crate::time;
use chrono::{DateTime, Utc};

/// Filters for `audit list`.
#[derive(Clone, Debug, Default)]
pub struct AuditFilter {
    pub user: Option<String>,
    pub recording: Option<String>,
    pub request: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// A number, name or words: only the searches made for it (the whole value, or part of it as
    /// a search could give it), found by their keyed criteria.
    pub searched_for: Option<String>,
}

/// CSV of audit entries (for the practice's DSP Toolkit evidence).
pub fn audit_csv(entries: &[AuditEntry], name_of: &dyn Fn(&str) -> Option<String>) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "at", "device", "user", "action", "outcome", "request", "targets", "detail",
    ])
    .expect("in memory");
    for e in entries {
        let user = e
            .actor
            .as_deref()
            .map(|a| name_of(a).unwrap_or_else(|| a.to_string()))
            .unwrap_or_default();
        w.write_record([
            e.at.as_str(),
            e.device.as_str(),
            user.as_str(),
            e.action.as_str(),
            e.outcome.as_str(),
            e.request.as_deref().unwrap_or(""),
            e.targets.join(";").as_str(),
            e.detail.as_deref().unwrap_or(""),
        ])
        .expect("in memory");
    }
    String::from_utf8(w.into_inner().expect("in memory")).expect("UTF-8")
}

impl Session {
    /// Every audit entry (for the data controller / admin).
    pub async fn audit_entries(&self) -> Result<Vec<AuditEntry>> {
        self.require(Action::VerifyAudit)?;
        let rep = audit::verify(
            &self.archive,
            &self.user.secrets.ring("audit")?,
            &self.signer_keys(),
        )?;
        Ok(rep.all_entries)
    }

    /// Audit entries, filtered (admin, data controller). Reading the audit trail is audited.
    pub async fn audit_list(&self, f: &AuditFilter) -> Result<Vec<AuditEntry>> {
        self.require(Action::ListAudit)?;
        let rep = audit::verify(
            &self.archive,
            &self.user.secrets.ring("audit")?,
            &self.signer_keys(),
        )?;
        let user = match &f.user {
            Some(n) => Some(crate::users::uid_for(&self.archive, n)?),
            None => None,
        };
        let from = f
            .from
            .as_deref()
            .map(|t| time::parse_bound(t, self.tz, false))
            .transpose()?;
        let to =
            f.to.as_deref()
                .map(|t| time::parse_bound(t, self.tz, true))
                .transpose()?;
        let wanted = f
            .searched_for
            .as_deref()
            .map(|v| {
                let c = audit::criteria::candidates(v);
                if c.is_empty() {
                    Err(Error::Invalid(format!(
                        "searched for: give a number, a name or words (at most {} words)",
                        audit::criteria::MAX_WORDS
                    )))
                } else {
                    Ok(c)
                }
            })
            .transpose()?;
        // Searches written by earlier builds were keyed from the `dedup` seed.
        let legacy = self
            .user
            .secrets
            .get("dedup")
            .map(audit::CriteriaKey::legacy);
        let keys = rep.criteria_keys;
        if keys.len() != rep.all_entries.len() {
            return Err(Error::Index(
                "audit entries and their files' keys differ in number".into(),
            ));
        }
        let mut out: Vec<AuditEntry> = rep
            .all_entries
            .into_iter()
            .zip(keys)
            .filter(|(e, k)| {
                let Some(c) = &wanted else { return true };
                let Some(d) = e.detail.as_deref().filter(|_| e.action == "search") else {
                    return false;
                };
                k.names_any(d, c) || legacy.as_ref().is_some_and(|l| l.names_any(d, c))
            })
            .map(|(e, _)| e)
            .filter(|e| {
                user.as_ref()
                    .is_none_or(|u| e.actor.as_deref() == Some(u.as_str()))
            })
            .filter(|e| {
                f.recording
                    .as_ref()
                    .is_none_or(|r| e.targets.iter().any(|t| t == r))
            })
            .filter(|e| {
                f.request
                    .as_ref()
                    .is_none_or(|r| e.request.as_deref() == Some(r.as_str()))
            })
            .filter(|e| {
                let at = DateTime::parse_from_rfc3339(&e.at)
                    .map(|t| t.with_timezone(&Utc))
                    .ok();
                from.is_none_or(|f| at.is_some_and(|a| a >= f))
                    && to.is_none_or(|t| at.is_some_and(|a| a < t))
            })
            .collect();
        out.sort_by(|a, b| a.at.cmp(&b.at));
        // Who looked up a value is audited with the value keyed, as a search's criteria are.
        let n = out.len();
        self.audit_keyed(Action::ListAudit, "allowed", vec![], &|k| {
            Some(match &f.searched_for {
                Some(v) => format!(
                    "{n} entries, searches for {}",
                    k.hash(
                        &phone::normalize(v)
                            .filter(|d| d.len() >= 4)
                            .unwrap_or_else(|| audit::criteria::words(v))
                    )
                ),
                None => format!("{n} entries"),
            })
        })?;
        Ok(out)
    }
}
