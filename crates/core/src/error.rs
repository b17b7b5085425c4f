//! The core's one error type. Every variant has a stable `code()` and a message that names the
//! file, recording, user or field concerned, and never carries a key, password or decrypted data.

/// Result alias used throughout the core.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Deliberately does not say whether the user name or the password was wrong.
    #[error("logon failed: wrong user name or password")]
    BadLogon,
    #[error("account is locked after repeated failed logons; try again after {until}")]
    Locked { until: String },
    #[error("not permitted: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid input: {0}")]
    Invalid(String),
    #[error("{object}: failed verification: {reason}")]
    Tampered { object: String, reason: String },
    #[error("{path}: {reason}")]
    Archive { path: String, reason: String },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: archive format version {found} is newer than this build understands (up to {supported}); update Callvault")]
    Version {
        path: String,
        found: u32,
        supported: u32,
    },
    #[error("local index: {0}")]
    Index(String),
    #[error("audio {file}: {reason}")]
    Audio { file: String, reason: String },
    /// The OS keychain (Secret Service, Windows Credential Manager, macOS Keychain) failed.
    #[error("system keychain: {0}")]
    Keychain(String),
}

/// How [`Error::unseen`] ends.
const UNSEEN: &str = "or not one you may see";

impl Error {
    /// A stable machine-readable code, for the CLI's exit handling and the app's `{code, message}`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::BadLogon => "bad_logon",
            Error::Locked { .. } => "locked",
            Error::Forbidden(_) => "forbidden",
            Error::NotFound(_) => "not_found",
            Error::Invalid(_) => "invalid",
            Error::Tampered { .. } => "tampered",
            Error::Archive { .. } => "archive",
            Error::Io { .. } => "io",
            Error::Version { .. } => "version",
            Error::Index(_) => "index",
            Error::Audio { .. } => "audio",
            Error::Keychain(_) => "keychain",
        }
    }

    /// A recording or request this user may not see, or that does not exist: the two are one
    /// answer (a clinician's or a receptionist's index holds only what is addressed to them, so
    /// for them there is no telling which). `kind`: "recording" or "request".
    pub fn unseen(kind: &str, id: &str) -> Self {
        Error::NotFound(format!("{kind} {id}: no such {kind}, {UNSEEN}"))
    }

    /// Is this a refusal: forbidden, or a recording or request the user may not see
    /// ([`Error::unseen`])? The command line exits with "not permitted" for both.
    pub fn is_refusal(&self) -> bool {
        match self {
            Error::Forbidden(_) => true,
            Error::NotFound(m) => m.ends_with(UNSEEN),
            _ => false,
        }
    }

    pub(crate) fn io(path: impl std::fmt::Display, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_string(),
            source,
        }
    }

    pub(crate) fn tampered(object: impl std::fmt::Display, reason: impl Into<String>) -> Self {
        Error::Tampered {
            object: object.to_string(),
            reason: reason.into(),
        }
    }

    pub(crate) fn archive(path: impl std::fmt::Display, reason: impl Into<String>) -> Self {
        Error::Archive {
            path: path.to_string(),
            reason: reason.into(),
        }
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        // SQLite's messages name tables and columns, never bound values.
        Error::Index(e.to_string())
    }
}
