//! Classifying API responses, and reading the platform's error bodies.

use crate::error::{Error, ErrorKind};
use crate::http::header;
pub use crate::headers::{parse_http_date, parse_retry_after};
use crate::headers::parse_rate_limit_headers;
use serde_json::Value;

/// What an API response means for the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseKind {
    Ok,
    Unauthorized,
    InsufficientScope,
    TokenTypeMismatch,
    Forbidden,
    NotFound,
    RateLimited,
    ServerError,
    ClientError,
    UnexpectedStatus,
}

impl ResponseKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ResponseKind::Ok => "ok",
            ResponseKind::Unauthorized => "unauthorized",
            ResponseKind::InsufficientScope => "insufficient_scope",
            ResponseKind::TokenTypeMismatch => "token_type_mismatch",
            ResponseKind::Forbidden => "forbidden",
            ResponseKind::NotFound => "not_found",
            ResponseKind::RateLimited => "rate_limited",
            ResponseKind::ServerError => "server_error",
            ResponseKind::ClientError => "client_error",
            ResponseKind::UnexpectedStatus => "unexpected_status",
        }
    }
    /// The error kind for a failure, `None` for `Ok`.
    pub fn error_kind(self) -> Option<ErrorKind> {
        Some(match self {
            ResponseKind::Ok => return None,
            ResponseKind::Unauthorized => ErrorKind::Unauthorized,
            ResponseKind::InsufficientScope => ErrorKind::InsufficientScope,
            ResponseKind::TokenTypeMismatch => ErrorKind::TokenTypeMismatch,
            ResponseKind::Forbidden => ErrorKind::Forbidden,
            ResponseKind::NotFound => ErrorKind::NotFound,
            ResponseKind::RateLimited => ErrorKind::RateLimited,
            ResponseKind::ServerError => ErrorKind::ServerError,
            ResponseKind::ClientError => ErrorKind::ClientError,
            ResponseKind::UnexpectedStatus => ErrorKind::UnexpectedStatus,
        })
    }
}

/// Which limit a 429 hit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RateLimitScope {
    Burst,
    Daily,
}

impl RateLimitScope {
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
    pub kind: ResponseKind,
    pub status: u16,
    pub retryable: bool,
    pub rate_limit_scope: Option<RateLimitScope>,
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
