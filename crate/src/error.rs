//! [`PeerError`]: what the JS API rejects with. Each error has a stable [`ErrorCode`] (the JS
//! `Error`'s `code` property, which pages match on) and a message for people (which may change).

use std::fmt;

/// The kind of a [`PeerError`]; [`ErrorCode::as_str`] is the JS `code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// No reachable peer had the resource for the download's patience (`timeoutMs`).
    NotFound,
    /// The download was cancelled: aborted by its signal, removed, or the peer closed.
    Cancelled,
    /// Storing would pass the tab's storage quota.
    QuotaFull,
    /// A `Peer.join`, `share` or `download` option is invalid.
    InvalidOptions,
    /// An argument is invalid (a peer id, a content id, a `fetch` input).
    InvalidArgument,
    /// No server of the network could be reached or attached to.
    Unreachable,
    /// The page is not a secure context (https or localhost), so it has no OPFS or WebCrypto.
    InsecureContext,
    /// A connection or stream to another tab could not be made.
    ConnectFailed,
    /// The tab has no storage (no OPFS, or it did not open): sharing and downloading are off.
    NoStorage,
    /// Storage failed (reading, writing, a damaged piece).
    Storage,
    /// The peer is closed.
    Closed,
    /// The content is sealed and no key was given (the link's `k=` is missing).
    KeyNeeded,
    /// The key given does not open the sealed content.
    WrongKey,
    /// A failure that is peerfetch's own (please report it).
    Internal,
}

impl ErrorCode {
    /// Every code, for documentation and tests.
    pub const ALL: [ErrorCode; 14] = [
        ErrorCode::NotFound,
        ErrorCode::Cancelled,
        ErrorCode::QuotaFull,
        ErrorCode::InvalidOptions,
        ErrorCode::InvalidArgument,
        ErrorCode::Unreachable,
        ErrorCode::InsecureContext,
        ErrorCode::ConnectFailed,
        ErrorCode::NoStorage,
        ErrorCode::Storage,
        ErrorCode::Closed,
        ErrorCode::KeyNeeded,
        ErrorCode::WrongKey,
        ErrorCode::Internal,
    ];

    /// The JS `code`: stable across releases.
    pub const fn as_str(self) -> &'static str {
        match self {
            ErrorCode::NotFound => "ERR_NOT_FOUND",
            ErrorCode::Cancelled => "ERR_CANCELLED",
            ErrorCode::QuotaFull => "ERR_QUOTA_FULL",
            ErrorCode::InvalidOptions => "ERR_INVALID_OPTIONS",
            ErrorCode::InvalidArgument => "ERR_INVALID_ARGUMENT",
            ErrorCode::Unreachable => "ERR_UNREACHABLE",
            ErrorCode::InsecureContext => "ERR_INSECURE_CONTEXT",
            ErrorCode::ConnectFailed => "ERR_CONNECT_FAILED",
            ErrorCode::NoStorage => "ERR_NO_STORAGE",
            ErrorCode::Storage => "ERR_STORAGE",
            ErrorCode::Closed => "ERR_CLOSED",
            ErrorCode::KeyNeeded => "ERR_KEY_NEEDED",
            ErrorCode::WrongKey => "ERR_WRONG_KEY",
            ErrorCode::Internal => "ERR_INTERNAL",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error the JS API reports: a code to match on and a message to read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct PeerError {
    /// What kind of failure.
    pub code: ErrorCode,
    /// What happened, for people.
    pub message: String,
}

impl PeerError {
    /// An error of kind `code`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// The peer is closed.
    pub fn closed() -> Self {
        Self::new(ErrorCode::Closed, "the peer is closed")
    }
}

#[cfg(test)]
mod tests {
    use super::{ErrorCode, PeerError};
    use std::collections::HashSet;

    #[test]
    fn codes_are_distinct_and_look_like_node_codes() {
        let codes: HashSet<&str> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(codes.len(), ErrorCode::ALL.len());
        for code in codes {
            assert!(code.starts_with("ERR_"), "{code}");
            assert!(
                code.chars().all(|c| c.is_ascii_uppercase() || c == '_'),
                "{code}"
            );
        }
    }

    #[test]
    fn the_message_is_what_people_read() {
        let error = PeerError::new(ErrorCode::QuotaFull, "storage quota full: 3 of 2 bytes");
        assert_eq!(error.to_string(), "storage quota full: 3 of 2 bytes");
        assert_eq!(error.code.to_string(), "ERR_QUOTA_FULL");
    }
}
