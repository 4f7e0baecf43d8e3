//! The ISO-8601 time a webhook carries: is the body's `timestamp` within the age limit of
//! `now`? (The date arithmetic itself lives in the crate's `time` module.)

use serde_json::{Map, Value};

use super::{Verification, VerifyReason};
use crate::time::parse_iso8601_ms;

/// The body's `timestamp` as Unix ms: an ISO-8601 string or a number of milliseconds.
fn body_timestamp_ms(obj: Option<&Map<String, Value>>) -> Option<i64> {
    match obj?.get("timestamp")? {
        Value::String(s) => parse_iso8601_ms(s),
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite() && f.abs() < 9.0e15).map(|f| f as i64)),
        _ => None,
    }
}

pub(super) fn is_fresh(obj: Option<&Map<String, Value>>, now_ms: u64, max_age_ms: u64) -> bool {
    let Some(ts) = body_timestamp_ms(obj) else { return false };
    let diff = (i128::from(now_ms) - i128::from(ts)).unsigned_abs();
    diff <= u128::from(max_age_ms)
}

pub(super) fn parse_object(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

pub(super) fn check_freshness(body: &[u8], now_ms: Option<u64>, max_age_ms: u64) -> Verification {
    if let Some(now) = now_ms {
        let obj = parse_object(body);
        if !is_fresh(obj.as_ref(), now, max_age_ms) {
            return Verification::from_reason(VerifyReason::Stale);
        }
    }
    Verification::from_reason(VerifyReason::Ok)
}
