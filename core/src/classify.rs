//! Classifying API responses, and reading the platform's error bodies.

use crate::error::{Error, ErrorKind};
use crate::http::header;
use crate::headers::parse_retry_after;
use crate::headers::parse_rate_limit_headers;
use serde_json::Value;

/// Declares [`ResponseKind`]: `Ok` plus the API subset of the error kinds, each named as
/// its [`ErrorKind`] variant, whose name ([`ErrorKind::as_str`]) and mapping it takes (a
/// name that is not an `ErrorKind` variant does not compile).
macro_rules! response_kinds {
    ($( $(#[doc = $doc:literal])* $variant:ident, )*) => {
        /// What an API response means for the caller: `Ok`, or the [`ErrorKind`] of the same
        /// name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ResponseKind {
            /// A 2xx.
            Ok,
            $( $(#[doc = $doc])* $variant, )*
        }

        impl ResponseKind {
            /// `"ok"`, or the error kind's snake_case name.
            pub fn as_str(self) -> &'static str {
                match self.error_kind() {
                    None => "ok",
                    Some(kind) => kind.as_str(),
                }
            }

            /// The error kind for a failure, `None` for `Ok`.
            pub fn error_kind(self) -> Option<ErrorKind> {
                match self {
                    ResponseKind::Ok => None,
                    $(ResponseKind::$variant => Some(ErrorKind::$variant),)*
                }
            }
        }
    };
}

response_kinds! {
    /// A 401 that is not one of the two below: the token expired or was revoked.
    Unauthorized,
    /// A 401: the token lacks the endpoint's scope.
    InsufficientScope,
    /// A 401: the wrong token class (location vs company).
    TokenTypeMismatch,
    /// A 403.
    Forbidden,
    /// A 404.
    NotFound,
    /// A 429 (see [`Classification::rate_limit_scope`]).
    RateLimited,
    /// A 5xx.
    ServerError,
    /// Another 4xx.
    ClientError,
    /// A status outside 2xx–5xx.
    UnexpectedStatus,
}

/// Serialises as [`ResponseKind::as_str`] (a unit variant), as the derived form did.
impl serde::Serialize for ResponseKind {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_unit_variant("ResponseKind", *self as u32, self.as_str())
    }
}

/// Which limit a 429 hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RateLimitScope {
    /// The per-interval (burst) limit: retry after the wait.
    Burst,
    /// The daily budget: no retry today.
    Daily,
}

impl RateLimitScope {
    /// `"burst"` or `"daily"`.
    pub fn as_str(self) -> &'static str {
        match self {
            RateLimitScope::Burst => "burst",
            RateLimitScope::Daily => "daily",
        }
    }
}

/// The verdict on one API response.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Classification {
    /// What the response means.
    pub kind: ResponseKind,
    /// The HTTP status.
    pub status: u16,
    /// True for a burst 429 and a 5xx only.
    pub retryable: bool,
    /// For a 429: which limit it hit.
    pub rate_limit_scope: Option<RateLimitScope>,
    /// How long to wait (ms): from `Retry-After`, else for a burst 429 the interval header.
    pub retry_after_ms: Option<u64>,
    /// The platform's message, when the body carried one.
    pub message: Option<String>,
}

impl Classification {
    /// The error this response amounts to, `None` when it is a success.
    pub fn to_error(&self) -> Option<Error> {
        let kind = self.kind.error_kind()?;
        let msg = match &self.message {
            Some(m) => format!("HTTP {}: {}", self.status, m),
            None => format!("HTTP {}", self.status),
        };
        Some(Error::new(kind, msg).with_status(self.status).with_retry_after_ms(self.retry_after_ms))
    }
}

/// Classify an API response (SPEC §7). `now_ms` is needed only for a `Retry-After` date.
pub fn classify_response(status: u16, headers: &[(String, String)], body: &[u8], now_ms: Option<u64>) -> Classification {
    let mut c = Classification {
        kind: ResponseKind::UnexpectedStatus,
        status,
        retryable: false,
        rate_limit_scope: None,
        retry_after_ms: None,
        message: None,
    };
    match status {
        200..=299 => c.kind = ResponseKind::Ok,
        401 => {
            let parsed = ErrorBody::parse(body);
            c.kind = if message_matches(&parsed, &["not authorized for this scope"]) {
                ResponseKind::InsufficientScope
            } else if message_matches(&parsed, &["user type mismatch", "authclass type is not allowed"]) {
                ResponseKind::TokenTypeMismatch
            } else {
                ResponseKind::Unauthorized
            };
            c.message = parsed.message_opt();
        }
        403 => c.kind = ResponseKind::Forbidden,
        404 => c.kind = ResponseKind::NotFound,
        429 => {
            c.kind = ResponseKind::RateLimited;
            let rl = parse_rate_limit_headers(headers);
            let retry_after = header(headers, "retry-after").and_then(|v| parse_retry_after(v, now_ms));
            if rl.daily_remaining == Some(0) {
                c.rate_limit_scope = Some(RateLimitScope::Daily);
                c.retry_after_ms = retry_after;
            } else {
                c.rate_limit_scope = Some(RateLimitScope::Burst);
                c.retry_after_ms = retry_after.or(rl.interval_ms);
                c.retryable = true;
            }
        }
        500..=599 => {
            c.kind = ResponseKind::ServerError;
            c.retryable = true;
        }
        400..=499 => c.kind = ResponseKind::ClientError,
        _ => {}
    }
    if c.message.is_none() && c.kind != ResponseKind::Ok && status != 429 && !body.is_empty() {
        c.message = ErrorBody::parse(body).message_opt();
    }
    c
}

/// The parts of an error body that decide a kind: NestJS `{"statusCode","message","error"}`
/// (`message` may be an array) or RFC 6749 `{"error","error_description"}`.
#[derive(Debug, Default)]
pub(crate) struct ErrorBody {
    pub error: Option<String>,
    pub messages: Vec<String>,
    pub error_description: Option<String>,
}

impl ErrorBody {
    pub fn parse(body: &[u8]) -> ErrorBody {
        let mut out = ErrorBody::default();
        let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) else {
            return out;
        };
        for (k, v) in map {
            match (k.as_str(), v) {
                ("error", Value::String(s)) => out.error = Some(s),
                ("error_description", Value::String(s)) => out.error_description = Some(s),
                ("message", Value::String(s)) => out.messages.push(s),
                ("message", Value::Array(items)) => {
                    out.messages.extend(items.into_iter().filter_map(|i| match i {
                        Value::String(s) => Some(s),
                        _ => None,
                    }))
                }
                _ => {}
            }
        }
        out
    }

    /// A short human summary (messages and description), at most ~300 bytes.
    pub fn summary(&self) -> String {
        let mut parts: Vec<&str> = self.messages.iter().map(String::as_str).collect();
        if let Some(d) = &self.error_description {
            parts.push(d);
        }
        if parts.is_empty() {
            if let Some(e) = &self.error {
                parts.push(e);
            }
        }
        let mut s = parts.join("; ");
        if s.len() > 300 {
            let mut end = 300;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            s.truncate(end);
        }
        s
    }

    pub fn message_opt(&self) -> Option<String> {
        let s = self.summary();
        (!s.is_empty()).then_some(s)
    }
}

/// Case-insensitive substring match on `message` (string or array items) or `error_description`.
pub(crate) fn message_matches(body: &ErrorBody, needles: &[&str]) -> bool {
    let hay = body.messages.iter().chain(body.error_description.iter());
    for h in hay {
        let lower = h.to_ascii_lowercase();
        if needles.iter().any(|n| lower.contains(n)) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_kinds_name_their_error_kinds() {
        let all = [
            ResponseKind::Ok,
            ResponseKind::Unauthorized,
            ResponseKind::InsufficientScope,
            ResponseKind::TokenTypeMismatch,
            ResponseKind::Forbidden,
            ResponseKind::NotFound,
            ResponseKind::RateLimited,
            ResponseKind::ServerError,
            ResponseKind::ClientError,
            ResponseKind::UnexpectedStatus,
        ];
        let names: Vec<&str> = all.iter().map(|k| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "ok", "unauthorized", "insufficient_scope", "token_type_mismatch", "forbidden", "not_found",
                "rate_limited", "server_error", "client_error", "unexpected_status",
            ]
        );
        for kind in all {
            assert_eq!(serde_json::to_value(kind).ok(), Some(serde_json::Value::from(kind.as_str())));
            match kind.error_kind() {
                None => assert_eq!(kind, ResponseKind::Ok),
                Some(e) => assert_eq!(e.as_str(), kind.as_str()),
            }
        }
    }
}
