//! The one error of the IPC boundary: `{code, message}`. The code is an [`ErrorCode`], one of the
//! core's error kinds (an exhaustive match over `callvault_core::Error`, so a kind added in the core
//! fails to compile here until it has a code), plus `logged_off` for a call that finds no session
//! to ask. The message is the core's wording, or the shell's for the few things it checks itself
//! (no archive chosen, a file the user picked). None carries a key, a password or decrypted audio.

use serde::Serialize;
use ts_rs::TS;

/// The machine-readable code of an [`ApiError`], serialised as the core's `Error::code()` strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    BadLogon,
    Locked,
    Forbidden,
    NotFound,
    Invalid,
    Tampered,
    Archive,
    Io,
    Version,
    Index,
    Audio,
    Keychain,
    /// Nobody is logged on (any more): the web view goes back to the logon screen. The one code
    /// that is not a core error kind: there is no `Session` to fail.
    LoggedOff,
}

impl ErrorCode {
    /// The code of a core error: one arm per kind, no wildcard.
    pub fn of(e: &callvault_core::Error) -> Self {
        use callvault_core::Error as E;
        match e {
            E::BadLogon => ErrorCode::BadLogon,
            E::Locked { .. } => ErrorCode::Locked,
            E::Forbidden(_) => ErrorCode::Forbidden,
            E::NotFound(_) => ErrorCode::NotFound,
            E::Invalid(_) => ErrorCode::Invalid,
            E::Tampered { .. } => ErrorCode::Tampered,
            E::Archive { .. } => ErrorCode::Archive,
            E::Io { .. } => ErrorCode::Io,
            E::Version { .. } => ErrorCode::Version,
            E::Index(_) => ErrorCode::Index,
            E::Audio { .. } => ErrorCode::Audio,
            E::Keychain(_) => ErrorCode::Keychain,
        }
    }

    /// The code as it travels (`"bad_logon"`, `"logged_off"`, ...).
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorCode::BadLogon => "bad_logon",
            ErrorCode::Locked => "locked",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Invalid => "invalid",
            ErrorCode::Tampered => "tampered",
            ErrorCode::Archive => "archive",
            ErrorCode::Io => "io",
            ErrorCode::Version => "version",
            ErrorCode::Index => "index",
            ErrorCode::Audio => "audio",
            ErrorCode::Keychain => "keychain",
            ErrorCode::LoggedOff => "logged_off",
        }
    }
}

impl PartialEq<&str> for ErrorCode {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Every failure the web view sees: a stable code and a message.
#[derive(Clone, Debug, Serialize, TS, PartialEq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl From<callvault_core::Error> for ApiError {
    fn from(e: callvault_core::Error) -> Self {
        ApiError {
            code: ErrorCode::of(&e),
            message: e.to_string(),
        }
    }
}

impl ApiError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError {
            code,
            message: message.into(),
        }
    }

    /// Input the shell checks itself (a folder or file the user chose, an empty field).
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Invalid, message)
    }

    /// A file the user chose could not be read or written.
    pub fn io(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Io, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::NotFound, message)
    }

    pub fn logged_off(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::LoggedOff, message)
    }
}

/// The result type of every command.
pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::ErrorCode;

    #[test]
    fn every_core_error_travels_with_the_core_code() {
        let io = || std::io::Error::other("x");
        let all = [
            callvault_core::Error::BadLogon,
            callvault_core::Error::Locked { until: "x".into() },
            callvault_core::Error::Forbidden("x".into()),
            callvault_core::Error::NotFound("x".into()),
            callvault_core::Error::Invalid("x".into()),
            callvault_core::Error::Tampered {
                object: "x".into(),
                reason: "x".into(),
            },
            callvault_core::Error::Archive {
                path: "x".into(),
                reason: "x".into(),
            },
            callvault_core::Error::Io {
                path: "x".into(),
                source: io(),
            },
            callvault_core::Error::Version {
                path: "x".into(),
                found: 2,
                supported: 1,
            },
            callvault_core::Error::Index("x".into()),
            callvault_core::Error::Audio {
                file: "x".into(),
                reason: "x".into(),
            },
            callvault_core::Error::Keychain("x".into()),
        ];
        for e in &all {
            let code = ErrorCode::of(e);
            assert_eq!(code.as_str(), e.code());
            assert_eq!(serde_json::to_value(code).unwrap(), e.code());
        }
        assert_eq!(
            serde_json::to_value(ErrorCode::LoggedOff).unwrap(),
            "logged_off"
        );
    }
}
