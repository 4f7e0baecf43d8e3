//! The one error type of hoopauth.
//!
//! Every failure carries an [`ErrorKind`] whose [`ErrorKind::as_str`] is a stable
//! snake_case string, identical in every language binding. Messages never contain
//! secrets (client secrets, access or refresh tokens).

use std::fmt;

/// Stable error kinds (SPEC "Error kinds").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    InvalidConfig,
    InvalidArgument,
    InvalidScope,
    AuthorizationDenied,
    StateMismatch,
    MissingCode,
    InvalidGrant,
    InvalidClient,
    InvalidRequest,
    LocationInactive,
    Unauthorized,
    InsufficientScope,
    TokenTypeMismatch,
    Forbidden,
    NotFound,
    RateLimited,
    ServerError,
    ClientError,
    MalformedResponse,
    UnexpectedStatus,
    InvalidKey,
    /// The application's token store failed (raised, timed out or was cancelled) while saving
    /// or loading a session. Tokens it could not save stay in memory, marked unsaved, and the
    /// next call saves them before anything else.
    StoreError,
    /// The coordinated store (Redis, SQLite, a Durable Object) cannot be reached: the call
    /// ends at once, holding nothing; calls succeed again once the store is back.
    StoreUnavailable,
}

impl ErrorKind {
    /// Every kind, in declaration order; bindings test that each one maps to a class.
    pub const ALL: [ErrorKind; 23] = [
        ErrorKind::InvalidConfig,
        ErrorKind::InvalidArgument,
        ErrorKind::InvalidScope,
        ErrorKind::AuthorizationDenied,
        ErrorKind::StateMismatch,
        ErrorKind::MissingCode,
        ErrorKind::InvalidGrant,
        ErrorKind::InvalidClient,
        ErrorKind::InvalidRequest,
        ErrorKind::LocationInactive,
        ErrorKind::Unauthorized,
        ErrorKind::InsufficientScope,
        ErrorKind::TokenTypeMismatch,
        ErrorKind::Forbidden,
        ErrorKind::NotFound,
        ErrorKind::RateLimited,
        ErrorKind::ServerError,
        ErrorKind::ClientError,
        ErrorKind::MalformedResponse,
        ErrorKind::UnexpectedStatus,
        ErrorKind::InvalidKey,
        ErrorKind::StoreError,
        ErrorKind::StoreUnavailable,
    ];

    /// The stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidConfig => "invalid_config",
            ErrorKind::InvalidArgument => "invalid_argument",
            ErrorKind::InvalidScope => "invalid_scope",
            ErrorKind::AuthorizationDenied => "authorization_denied",
            ErrorKind::StateMismatch => "state_mismatch",
            ErrorKind::MissingCode => "missing_code",
            ErrorKind::InvalidGrant => "invalid_grant",
            ErrorKind::InvalidClient => "invalid_client",
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::LocationInactive => "location_inactive",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::InsufficientScope => "insufficient_scope",
            ErrorKind::TokenTypeMismatch => "token_type_mismatch",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "not_found",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::ServerError => "server_error",
            ErrorKind::ClientError => "client_error",
            ErrorKind::MalformedResponse => "malformed_response",
            ErrorKind::UnexpectedStatus => "unexpected_status",
            ErrorKind::InvalidKey => "invalid_key",
            ErrorKind::StoreError => "store_error",
            ErrorKind::StoreUnavailable => "store_unavailable",
        }
    }

    /// Parse a snake_case name back into a kind.
    pub fn from_name(name: &str) -> Option<ErrorKind> {
        ErrorKind::ALL.iter().copied().find(|k| k.as_str() == name)
    }

    /// The family a binding may group exceptions by.
    pub fn family(self) -> ErrorFamily {
        use ErrorKind::*;
        match self {
            InvalidConfig | InvalidArgument | InvalidScope | InvalidKey => ErrorFamily::Input,
            AuthorizationDenied | StateMismatch | MissingCode => ErrorFamily::Authorization,
            InvalidGrant | InvalidClient | InvalidRequest | LocationInactive => ErrorFamily::Token,
            Unauthorized | InsufficientScope | TokenTypeMismatch | Forbidden | NotFound
            | ClientError | UnexpectedStatus | MalformedResponse => ErrorFamily::Api,
            RateLimited => ErrorFamily::RateLimit,
            ServerError => ErrorFamily::Server,
            StoreError | StoreUnavailable => ErrorFamily::Store,
        }
    }
}

/// Coarse grouping of kinds, for bindings that offer catch-by-family exception classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorFamily {
    /// Bad configuration or bad caller input (`invalid_config`, `invalid_argument`, `invalid_scope`, `invalid_key`).
    Input,
    /// The authorization redirect failed (`authorization_denied`, `state_mismatch`, `missing_code`).
    Authorization,
    /// The token endpoint refused (`invalid_grant`, `invalid_client`, `invalid_request`, `location_inactive`).
    Token,
    /// An API call failed for a reason a retry will not fix.
    Api,
    /// `rate_limited`.
    RateLimit,
    /// `server_error`.
    Server,
    /// `store_error`, `store_unavailable`: the application's token store failed.
    Store,
}

impl ErrorFamily {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorFamily::Input => "input",
            ErrorFamily::Authorization => "authorization",
            ErrorFamily::Token => "token",
            ErrorFamily::Api => "api",
            ErrorFamily::RateLimit => "rate_limit",
            ErrorFamily::Server => "server",
            ErrorFamily::Store => "store",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An error with a stable kind, a human message (never holding secrets) and, where
/// they apply, the HTTP status and a retry hint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    status: Option<u16>,
    retry_after_ms: Option<u64>,
}

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), status: None, retry_after_ms: None }
    }
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
    pub fn with_retry_after_ms(mut self, ms: Option<u64>) -> Self {
        self.retry_after_ms = ms;
        self
    }
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    pub fn message(&self) -> &str {
        &self.message
    }
    pub fn status(&self) -> Option<u16> {
        self.status
    }
    pub fn retry_after_ms(&self) -> Option<u64> {
        self.retry_after_ms
    }

    /// Replace every occurrence of the given secrets in the message with `[redacted]` (server
    /// text copied into a message may echo a token), including a secret's prefix of 8 or more
    /// characters where the message was cut short. Empty or very short secrets are skipped.
    pub fn scrub(mut self, secrets: &[&str]) -> Self {
        for secret in secrets.iter().filter(|s| s.len() >= 4) {
            if self.message.contains(secret) {
                self.message = self.message.replace(secret, "[redacted]");
            }
            // A message truncated in the middle of a secret keeps a prefix of it at its end.
            let max = secret.len().min(self.message.len());
            let cut = (8..max).rev().find(|&n| {
                secret.is_char_boundary(n)
                    && secret.get(..n).is_some_and(|p| self.message.ends_with(p))
            });
            if let Some(n) = cut {
                let keep = self.message.len() - n;
                if self.message.is_char_boundary(keep) {
                    self.message.truncate(keep);
                    self.message.push_str("[redacted]");
                }
            }
        }
        self
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidConfig, message)
    }
    pub(crate) fn argument(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::InvalidArgument, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.as_str(), self.message)
    }
}

impl std::error::Error for Error {}

/// Result alias used across the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
