//! The local index: SQLite (through sqlx) encrypted at rest with SQLCipher, in this device's app-data
//! folder. It is a cache of the archive's journals — synchronised incrementally at each logon and
//! rebuilt from scratch by `index rebuild` — with indexes and a trigram FTS5 table so search stays
//! fast at a million recordings. Its key is derived from the archive's metadata secret and this
//! device's id, so only a logged-on user of this archive can open it, with no key stored anywhere.
//!
//! [`Index`]'s methods are spread by job:
//!
//! - `open`: the schema, the key, opening, resetting and closing the database;
//! - `sync`: applying the archive's journal segments ([`Index::sync`]);
//! - `recordings`: reading recordings back: [`Index::search`], lookups and counts;
//! - `legs`: the legs of transferred and split calls ([`Index::conversations`]);
//! - `entries`: the journal's other entries: requests, consent marks, tombstones, key wraps,
//!   holds and settings;
//! - `local`: this device's own state: audit heads and users' preferences;
//! - `trust`: what the signed journal says of trust: user checkpoints, upgrade runs, audit
//!   anchors, journal heads, and the entries refused while syncing.

mod apply;
mod entries;
mod legs;
mod local;
mod open;
mod recordings;
mod rows;
mod sync;
mod trust;

pub use apply::LINK_TIME_LIMIT_MS;
pub use open::{Index, Progress};
pub use recordings::Query;
pub use sync::{JournalReader, SignerRoles, SyncReport};
pub use trust::{decision_differences, DecisionRows};
