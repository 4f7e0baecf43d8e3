//! Response classification and the header parsers it uses: `parse_rate_limit_headers`,
//! `parse_retry_after`, `parse_http_date`, `classify_response`.
#![no_main]
use hoopauth::{classify_response, parse_http_date, parse_rate_limit_headers, parse_retry_after, RateLimitScope, ResponseKind};
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

mod common;
use common::{http_date, Body, Header, Status};

#[derive(Arbitrary, Debug)]
struct Input {
    status: Status,
    headers: Vec<Header>,
    body: Body,
    now_ms: Option<u64>,
    retry_after: String,
    date: String,
    /// Seconds for a well-formed HTTP date that must parse back.
    date_secs: u64,
    date_form: u8,
}

/// What `non_negative_int` in the core accepts: ASCII digits after trimming, fitting u64.
fn expected_int(v: Option<&str>) -> Option<u64> {
    let v = v?.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

fn first<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fuzz_target!(|input: Input| {
    let now = input.now_ms;
    let status = input.status.code();
    let h = common::headers(&input.headers, now.unwrap_or(common::T0));
    let body = input.body.bytes();

    let rl = parse_rate_limit_headers(&h);
    assert_eq!(rl.max, expected_int(first(&h, "x-ratelimit-max")));
    assert_eq!(rl.interval_ms, expected_int(first(&h, "x-ratelimit-interval-milliseconds")));
    assert_eq!(rl.remaining, expected_int(first(&h, "x-ratelimit-remaining")));
    assert_eq!(rl.daily_limit, expected_int(first(&h, "x-ratelimit-limit-daily")));
    assert_eq!(rl.daily_remaining, expected_int(first(&h, "x-ratelimit-daily-remaining")));

    let c = classify_response(status, &h, &body, now);
    assert_eq!(c.status, status);
    let expected_kind = match status {
        200..=299 => Some(ResponseKind::Ok),
        403 => Some(ResponseKind::Forbidden),
        404 => Some(ResponseKind::NotFound),
        429 => Some(ResponseKind::RateLimited),
        500..=599 => Some(ResponseKind::ServerError),
        401 => None,
        400..=499 => Some(ResponseKind::ClientError),
        _ => Some(ResponseKind::UnexpectedStatus),
    };
    if let Some(k) = expected_kind {
        assert_eq!(c.kind, k, "status {status}");
    } else {
        assert!(matches!(
            c.kind,
            ResponseKind::Unauthorized | ResponseKind::InsufficientScope | ResponseKind::TokenTypeMismatch
        ));
    }
    assert_eq!(c.rate_limit_scope.is_some(), status == 429);
    if c.rate_limit_scope == Some(RateLimitScope::Daily) {
        assert_eq!(rl.daily_remaining, Some(0));
    }
    match c.to_error() {
        None => assert_eq!(c.kind, ResponseKind::Ok),
        Some(e) => {
            assert_ne!(c.kind, ResponseKind::Ok);
            assert_eq!(e.status(), Some(status));
            assert_eq!(Some(e.kind()), c.kind.error_kind());
        }
    }
    if let Some(m) = &c.message {
        // A summary stays short whatever the body holds.
        assert!(m.len() <= 300, "message of {} bytes", m.len());
    }

    let _ = parse_retry_after(&input.retry_after, now);
    let _ = parse_http_date(&input.date);
    if let Some(v) = first(&h, "retry-after") {
        let _ = parse_retry_after(v, now);
    }
    if !input.retry_after.is_empty() && input.retry_after.bytes().all(|b| b.is_ascii_digit()) {
        let secs: Option<u64> = input.retry_after.parse().ok();
        if let Some(secs) = secs {
            assert_eq!(parse_retry_after(&input.retry_after, now), Some(secs.saturating_mul(1000)));
        }
    }

    // A well-formed date parses back to itself (RFC 850's two-digit year: 1970..=2069).
    let secs = input.date_secs % 253_402_300_800; // before year 10000
    let text = http_date(secs, input.date_form);
    let parsed = parse_http_date(&text);
    let two_digit = input.date_form % 3 == 1;
    if !two_digit || secs < 3_155_760_000 {
        assert_eq!(parsed, Some(secs * 1000), "{text:?}");
    } else {
        return;
    }
    if let Some(now) = now {
        if let Some(ms) = parse_retry_after(&text, Some(now)) {
            assert_eq!(ms, (secs * 1000).saturating_sub(now), "{text:?}");
        }
    }
});
