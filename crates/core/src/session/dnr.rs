//! The do-not-record list through `Session` ([`crate::dnr`]): the data controller lists, adds
//! and removes entries, each audited (by the entry's id and kind, never its number or label);
//! every import reads the list as this session believes it and drops the calls it names.

use super::*;
use crate::dnr::{self, Believed, Entry, Keys, Kind, WriteError};

/// One listed number or extension as the data controller sees it (no number: only its label).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DoNotRecordEntry {
    pub id: String,
    pub kind: Kind,
    pub label: String,
    /// The name of who added it.
    pub added_by: String,
    pub added_at: String,
}

/// The list as the data controller sees it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct DoNotRecordList {
    pub entries: Vec<DoNotRecordEntry>,
    /// The version believed (0: none yet).
    pub version: u64,
    /// Versions on the share that are not believed, named with why.
    pub problems: Vec<String>,
}

/// How many times a change is tried again when its version number was taken (another data
/// controller saved one at once, or a file was planted there).
const RETRIES: usize = 64;

impl Session {
    fn dnr_keys(&self) -> Result<Keys> {
        Ok(Keys::from_dedup(self.user.secrets.require("dedup")?))
    }

    /// The list as this session reads it: versions signed by a user who is, by this computer's
    /// account, an enabled data controller. Not yet checked against the newest this computer saw.
    fn dnr_read(&self) -> Result<(Keys, Believed)> {
        let keys = self.dnr_keys()?;
        let author = |uid: &str| match self.users.iter().find(|u| u.uid == uid) {
            None => Err("an unknown user".to_string()),
            Some(u) => dnr::vouch(&u.name, u.disabled, &u.roles, u.signing_key),
        };
        let believed = dnr::read(&self.archive, &keys, &author)?;
        Ok((keys, believed))
    }

    /// The list as imports use it: refused if older than the newest this computer saw
    /// (`dnr::check_seen`), remembered as seen when `remember` (an import; not a dry run).
    pub(super) fn dnr_believed(&self, remember: bool) -> Result<(Keys, Believed)> {
        let (keys, believed) = self.dnr_read()?;
        dnr::check_seen(&self.archive, &self.device, &believed, remember)?;
        Ok((keys, believed))
    }

    /// The do-not-record list (data controller; audited).
    pub fn do_not_record_list(&self) -> Result<DoNotRecordList> {
        self.require(Action::ListDoNotRecord)?;
        let (_, mut b) = self.dnr_read()?;
        // What stops imports on this computer is hers to see (saving the list again resumes them).
        if let Err(e) = dnr::check_seen(&self.archive, &self.device, &b, false) {
            b.problems.insert(0, e.to_string());
        }
        self.audit(
            Action::ListDoNotRecord,
            "allowed",
            vec![],
            Some(format!("{} entries", b.list.entries.len())),
        )?;
        Ok(DoNotRecordList {
            entries: b
                .list
                .entries
                .iter()
                .map(|e| DoNotRecordEntry {
                    id: e.id.clone(),
                    kind: e.kind,
                    label: e.label.clone(),
                    added_by: self.name_of(&e.by).unwrap_or_else(|| e.by.clone()),
                    added_at: e.at.clone(),
                })
                .collect(),
            version: b.list.seq,
            problems: b.problems,
        })
    }

    /// Add an outside number or an extension to the list (data controller; audited). Returns
    /// the new entry's id. The number itself is never written: only its keyed hash and `label`.
    pub fn do_not_record_add(&mut self, kind: Kind, value: &str, label: &str) -> Result<String> {
        self.require(Action::ChangeDoNotRecord)?;
        let label = dnr::check_label(label)?;
        let keys = self.dnr_keys()?;
        let Some(hash) = keys.hash(kind, value) else {
            return Err(Error::Invalid(match kind {
                Kind::Number => "field 'number': no digits in it".to_string(),
                Kind::Extension => "field 'extension': empty".to_string(),
            }));
        };
        let id = crypto::new_id()[..10].to_string();
        let entry = Entry {
            id: id.clone(),
            kind,
            hash: hash.clone(),
            label,
            by: self.user.uid.clone(),
            at: time::rfc3339(Utc::now()),
        };
        self.dnr_change(|entries| {
            if let Some(e) = entries.iter().find(|e| e.hash == hash) {
                return Err(Error::Invalid(format!(
                    "this {} is already on the do-not-record list (entry {}, \"{}\")",
                    kind.as_str(),
                    e.id,
                    e.label
                )));
            }
            entries.push(entry.clone());
            Ok(())
        })?;
        self.audit(
            Action::ChangeDoNotRecord,
            "allowed",
            vec![],
            Some(format!("added {} entry {id}", kind.as_str())),
        )?;
        Ok(id)
    }

    /// Remove an entry, named by its id or by the number or extension itself (data controller;
    /// audited). Returns the removed entry's id.
    pub fn do_not_record_remove(&mut self, what: &str) -> Result<String> {
        self.require(Action::ChangeDoNotRecord)?;
        let keys = self.dnr_keys()?;
        let hashes: Vec<String> = [Kind::Number, Kind::Extension]
            .into_iter()
            .filter_map(|k| keys.hash(k, what))
            .collect();
        let wanted = what.trim().to_string();
        let mut removed = String::new();
        self.dnr_change(|entries| {
            let Some(i) = entries
                .iter()
                .position(|e| e.id == wanted || hashes.contains(&e.hash))
            else {
                return Err(Error::NotFound(
                    "that is not on the do-not-record list (give an entry's id from 'dnr list', or the number or extension)".into(),
                ));
            };
            removed = entries.remove(i).id;
            Ok(())
        })?;
        self.audit(
            Action::ChangeDoNotRecord,
            "allowed",
            vec![],
            Some(format!("removed entry {removed}")),
        )?;
        Ok(removed)
    }

    /// Apply `change` to the list as believed and write the next version, again from a fresh
    /// read if another data controller's version took the number meanwhile. Not refused when
    /// this computer saw a newer version that is gone or no longer believed: the data controller
    /// saving the list (as `dnr list` shows it) is what resumes imports.
    fn dnr_change(&mut self, mut change: impl FnMut(&mut Vec<Entry>) -> Result<()>) -> Result<()> {
        // Above the newest version believed and the newest this computer saw, never reusing a
        // number; a number taken by a file nobody believes is stepped over.
        let mut seq = 0;
        for _ in 0..RETRIES {
            let (keys, believed) = self.dnr_read()?;
            seq = seq.max(believed.list.seq.max(dnr::seen_seq(&self.device)) + 1);
            let mut entries = believed.list.entries.clone();
            change(&mut entries)?;
            match dnr::write(
                &self.archive,
                &keys,
                &self.signer(),
                &believed,
                seq,
                entries,
            ) {
                Ok(list) => {
                    dnr::check_seen(
                        &self.archive,
                        &self.device,
                        &Believed {
                            highest: list.seq,
                            list,
                            problems: vec![],
                        },
                        true,
                    )?;
                    return Ok(());
                }
                Err(WriteError::Taken) => {
                    seq += 1;
                    continue;
                }
                Err(WriteError::Other(e)) => return Err(e),
            }
        }
        Err(Error::archive(
            dnr::DIR,
            "another version of the do-not-record list was saved at the same moment, again and again: try again",
        ))
    }
}
