//! Reading the response headers that pace calls: the platform's `X-RateLimit-*` headers,
//! `Retry-After`, and HTTP dates.
//!
//! A leaf module (it uses only [`crate::http::header`] and the civil-date arithmetic of
//! `time`): both [`crate::classify`] and [`crate::ratelimit`] read headers through it.

use crate::http::header;
use crate::time::civil_to_unix_ms;

/// The five `X-RateLimit-*` headers; `None` when absent or not a non-negative integer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RateLimitHeaders {
    /// `X-RateLimit-Max`: sends allowed per interval.
    pub max: Option<u64>,
    /// `X-RateLimit-Interval-Milliseconds`: the sliding interval.
    pub interval_ms: Option<u64>,
    /// `X-RateLimit-Remaining`: sends left in the current interval.
    pub remaining: Option<u64>,
    /// `X-RateLimit-Limit-Daily`: sends allowed per day.
    pub daily_limit: Option<u64>,
    /// `X-RateLimit-Daily-Remaining`: sends left today.
    pub daily_remaining: Option<u64>,
}

fn non_negative_int(v: &str) -> Option<u64> {
    let v = v.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// Read the rate-limit headers (names case-insensitive).
pub fn parse_rate_limit_headers(headers: &[(String, String)]) -> RateLimitHeaders {
    let get = |n: &str| header(headers, n).and_then(non_negative_int);
    RateLimitHeaders {
        max: get("x-ratelimit-max"),
        interval_ms: get("x-ratelimit-interval-milliseconds"),
        remaining: get("x-ratelimit-remaining"),
        daily_limit: get("x-ratelimit-limit-daily"),
        daily_remaining: get("x-ratelimit-daily-remaining"),
    }
}

/// `Retry-After`: delta seconds, or an HTTP date (needs `now_ms`). Result in ms from now.
pub fn parse_retry_after(value: &str, now_ms: Option<u64>) -> Option<u64> {
    let v = value.trim();
    if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
        return v.parse::<u64>().ok().map(|s| s.saturating_mul(1000));
    }
    let at = parse_http_date(v)?;
    let now = now_ms?;
    Some(at.saturating_sub(now))
}

/// IMF-fixdate (`Wed, 21 Oct 2015 07:28:00 GMT`), also RFC 850 and asctime forms; Unix ms.
/// `None` for a date before 1970 or one that does not exist (`31 Feb`, `29 Feb` of a
/// common year, `31 Apr`, hour 24); a leap second (`23:59:60`) is read as the next second.
pub fn parse_http_date(s: &str) -> Option<u64> {
    let s = s.trim();
    let parts: Vec<&str> = s.split([' ', ',', '-']).filter(|p| !p.is_empty()).collect();
    // IMF / RFC 850: [weekday, day, month, year, time, GMT]; asctime: [weekday, month, day, time, year]
    let (day, month, year, time) = match parts.as_slice() {
        [_, d, m, y, t, "GMT"] => (*d, *m, *y, *t),
        [_, m, d, t, y] => (*d, *m, *y, *t),
        _ => return None,
    };
    let day: u32 = day.parse().ok()?;
    let month = month_number(month)?;
    let mut year: i64 = year.parse().ok()?;
    if year < 100 {
        year += if year < 70 { 2000 } else { 1900 };
    }
    let mut hms = time.split(':');
    let h: u32 = hms.next()?.parse().ok()?;
    let mi: u32 = hms.next()?.parse().ok()?;
    let se: u32 = hms.next()?.parse().ok()?;
    if hms.next().is_some() {
        return None;
    }
    if year < 1970 {
        return None;
    }
    u64::try_from(civil_to_unix_ms(year, month, day, h, mi, se, 0)?).ok()
}

fn month_number(m: &str) -> Option<u32> {
    const MONTHS: [&str; 12] = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"];
    MONTHS.iter().position(|x| x.eq_ignore_ascii_case(m)).map(|i| i as u32 + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates() {
        let t = Some(1_445_412_480_000);
        assert_eq!(parse_http_date("Wed, 21 Oct 2015 07:28:00 GMT"), t);
        assert_eq!(parse_http_date("Wednesday, 21-Oct-15 07:28:00 GMT"), t);
        assert_eq!(parse_http_date("Wed Oct 21 07:28:00 2015"), t);
        assert_eq!(parse_http_date("Thu, 29 Feb 2024 00:00:00 GMT"), Some(1_709_164_800_000));
        assert_eq!(parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT"), parse_http_date("Sun, 01 Jan 2017 00:00:00 GMT"));
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
    }

    #[test]
    fn http_dates_that_do_not_exist() {
        assert_eq!(parse_http_date("Sat, 31 Feb 2015 07:28:00 GMT"), None);
        assert_eq!(parse_http_date("Wed, 29 Feb 2023 00:00:00 GMT"), None);
        assert_eq!(parse_http_date("Fri, 31 Apr 2015 00:00:00 GMT"), None);
        assert_eq!(parse_http_date("Wed, 21 Oct 2015 24:00:00 GMT"), None);
        assert_eq!(parse_http_date("Wed, 21 Oct 2015 07:28:61 GMT"), None);
        assert_eq!(parse_http_date("Wed, 32 Oct 2015 07:28:00 GMT"), None);
        assert_eq!(parse_http_date("Wed, 21 Foo 2015 07:28:00 GMT"), None);
        assert_eq!(parse_http_date("Wed, 31 Dec 1969 23:59:59 GMT"), None);
        assert_eq!(parse_http_date("Wed, 21 Oct 2015 07:28 GMT"), None);
        assert_eq!(parse_http_date("Wed, 21 Oct 2015 07:28:00:00 GMT"), None);
    }

    #[test]
    fn retry_after() {
        assert_eq!(parse_retry_after(" 7 ", None), Some(7_000));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", Some(1_445_412_480_000)), Some(10_000));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", None), None);
        assert_eq!(parse_retry_after("Sat, 31 Feb 2015 07:28:00 GMT", Some(0)), None);
        assert_eq!(parse_retry_after("-1", None), None);
    }
}
