//! Callvault's whole domain as a library: the encrypted multi-writer archive, keys and users, the
//! `Session` through which every action passes (and where every rule about who may do what is
//! decided), the audit trail, the local encrypted index, import and search. No UI, no Tauri.

pub mod archive;
pub mod audio;
pub mod audit;
pub mod breach;
pub mod calendar;
pub mod completeness;
pub mod conversation;
pub mod credentials;
pub mod crypto;
pub mod device;
pub mod dnr;
pub mod error;
pub mod export;
pub mod index;
pub mod ingest;
pub mod patient;
pub mod phone;
pub mod policy;
pub mod requests;
pub mod retention;
pub mod secret;
pub mod session;
pub mod time;
pub mod users;

pub use error::{Error, Result};
pub use policy::Role;
pub use session::Session;
