//! The one error type of hoopauth.
//!
//! Every failure carries an [`ErrorKind`] whose [`ErrorKind::as_str`] is a stable
//! snake_case string, identical in every language binding. Messages never contain
//! secrets (client secrets, access or refresh tokens).

use std::fmt;

/// The one list of error kinds: each row is `Variant => "snake_case_name", Family`, with
/// the variant's doc comment. [`ErrorKind`], [`ErrorKind::ALL`], [`ErrorKind::as_str`],
/// [`ErrorKind::from_name`], [`ErrorKind::family`] and the serde names all come from it;
/// `classify::ResponseKind` takes its API subset by variant name; every binding reads
/// its class list from [`ErrorKind::ALL`].
macro_rules! error_kinds {
    ($( $(#[doc = $doc:literal])* $variant:ident => $name:literal, $family:ident; )*) => {
        /// Stable error kinds (SPEC "Error kinds"): [`ErrorKind::as_str`] is the snake_case
        /// name every binding shows. New kinds may be added, so a `match` outside this crate
        /// needs a wildcard arm.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[non_exhaustive]
        pub enum ErrorKind {
            $( $(#[doc = $doc])* #[serde(rename = $name)] $variant, )*
        }

        /// How many kinds there are.
        const KIND_COUNT: usize = [$($name),*].len();

        impl ErrorKind {
            /// Every kind, in declaration order; bindings test that each one maps to a class.
            pub const ALL: [ErrorKind; KIND_COUNT] = [$(ErrorKind::$variant),*];

            /// The stable snake_case name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(ErrorKind::$variant => $name,)*
                }
            }

            /// Parse a snake_case name back into a kind.
            pub fn from_name(name: &str) -> Option<ErrorKind> {
                match name {
                    $($name => Some(ErrorKind::$variant),)*
                    _ => None,
                }
            }

            /// The family a binding may group exceptions by.
            pub fn family(self) -> ErrorFamily {
                match self {
                    $(ErrorKind::$variant => ErrorFamily::$family,)*
                }
            }
        }
    };
}

error_kinds! {
    /// A configuration value is missing or malformed (client id, secret, redirect URI, base URL).
    InvalidConfig => "invalid_config", Input;
    /// A caller-supplied argument is malformed, or an event does not fit the call's state.
    InvalidArgument => "invalid_argument", Input;
    /// A scope list is empty or holds an empty or whitespace-carrying scope.
    InvalidScope => "invalid_scope", Input;
    /// The authorization redirect carried an `error` (the user declined).
    AuthorizationDenied => "authorization_denied", Authorization;
    /// The redirect's `state` differs from the one sent.
    StateMismatch => "state_mismatch", Authorization;
    /// The redirect carried no `code`.
    MissingCode => "missing_code", Authorization;
    /// The token endpoint refused the code or refresh token: the user must authorize again.
    InvalidGrant => "invalid_grant", Token;
    /// The token endpoint refused the client credentials.
    InvalidClient => "invalid_client", Token;
    /// The token endpoint refused the request as malformed.
    InvalidRequest => "invalid_request", Token;
    /// The location is not active (the platform's answer for a suspended sub-account).
    LocationInactive => "location_inactive", Token;
    /// An API 401 that a refresh did not fix (or no usable token).
    Unauthorized => "unauthorized", Api;
    /// An API 401: the token lacks the scope this endpoint needs.
    InsufficientScope => "insufficient_scope", Api;
    /// An API 401: a location token where a company token is needed, or the reverse.
    TokenTypeMismatch => "token_type_mismatch", Api;
    /// An API 403.
    Forbidden => "forbidden", Api;
    /// An API 404.
    NotFound => "not_found", Api;
    /// A 429, the daily budget used up, or a pacing wait longer than allowed.
    RateLimited => "rate_limited", RateLimit;
    /// A 5xx, or a request that got no answer, after the retries allowed.
    ServerError => "server_error", Server;
    /// Another 4xx.
    ClientError => "client_error", Api;
    /// A response (or webhook body) that does not have the documented shape.
    MalformedResponse => "malformed_response", Api;
    /// A status outside 2xx–5xx.
    UnexpectedStatus => "unexpected_status", Api;
    /// A webhook key that cannot be read (bad PEM, wrong length, weak point, short RSA key).
    InvalidKey => "invalid_key", Input;
    /// The application's token store failed (raised, timed out or was cancelled) while saving
    /// or loading a session. Tokens it could not save stay in memory, marked unsaved, and the
    /// next call saves them before anything else.
    StoreError => "store_error", Store;
    /// The coordinated store (Redis, SQLite, a Durable Object) cannot be reached: the call
    /// ends at once, holding nothing; calls succeed again once the store is back.
    StoreUnavailable => "store_unavailable", Store;
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
    /// The family's snake_case name.
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
    /// An error of `kind` with `message` (which must not hold a secret).
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), status: None, retry_after_ms: None }
    }
    /// The same error, with the HTTP status that caused it.
    pub fn with_status(mut self, status: u16) -> Self {
        self.status = Some(status);
        self
    }
    /// The same error, with how long to wait before trying again (ms), when known.
    pub fn with_retry_after_ms(mut self, ms: Option<u64>) -> Self {
        self.retry_after_ms = ms;
        self
    }
    /// The stable kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }
    /// The human message (never holding a secret).
    pub fn message(&self) -> &str {
        &self.message
    }
    /// The HTTP status, when the error came from a response.
    pub fn status(&self) -> Option<u16> {
        self.status
    }
    /// How long to wait before trying again (ms), when the server or the limiter said.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_listed_once_and_round_trip() {
        let names: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "invalid_config", "invalid_argument", "invalid_scope", "authorization_denied",
                "state_mismatch", "missing_code", "invalid_grant", "invalid_client",
                "invalid_request", "location_inactive", "unauthorized", "insufficient_scope",
                "token_type_mismatch", "forbidden", "not_found", "rate_limited", "server_error",
                "client_error", "malformed_response", "unexpected_status", "invalid_key",
                "store_error", "store_unavailable",
            ]
        );
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_name(kind.as_str()), Some(kind));
            assert_eq!(kind.to_string(), kind.as_str());
            let json = serde_json::to_string(&kind).ok();
            assert_eq!(json, Some(format!("\"{}\"", kind.as_str())));
            let back: Option<ErrorKind> = serde_json::from_str(&format!("\"{}\"", kind.as_str())).ok();
            assert_eq!(back, Some(kind));
        }
        assert_eq!(ErrorKind::from_name("InvalidGrant"), None);
        assert_eq!(ErrorKind::from_name(""), None);
    }

    #[test]
    fn families() {
        use ErrorKind::*;
        let of = |f: ErrorFamily| -> Vec<ErrorKind> { ErrorKind::ALL.into_iter().filter(|k| k.family() == f).collect() };
        assert_eq!(of(ErrorFamily::Input), [InvalidConfig, InvalidArgument, InvalidScope, InvalidKey]);
        assert_eq!(of(ErrorFamily::Authorization), [AuthorizationDenied, StateMismatch, MissingCode]);
        assert_eq!(of(ErrorFamily::Token), [InvalidGrant, InvalidClient, InvalidRequest, LocationInactive]);
        assert_eq!(
            of(ErrorFamily::Api),
            [Unauthorized, InsufficientScope, TokenTypeMismatch, Forbidden, NotFound, ClientError, MalformedResponse, UnexpectedStatus]
        );
        assert_eq!(of(ErrorFamily::RateLimit), [RateLimited]);
        assert_eq!(of(ErrorFamily::Server), [ServerError]);
        assert_eq!(of(ErrorFamily::Store), [StoreError, StoreUnavailable]);
    }
}
