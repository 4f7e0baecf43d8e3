//! Civil dates, written once: proleptic-Gregorian arithmetic in UTC with the month-length
//! check (leap years), and the ISO-8601 parser.
//!
//! Both date formats the core reads go through [`civil_to_unix_ms`]: HTTP dates
//! (`Retry-After`, in [`crate::headers`]) and webhook `timestamp`s (ISO-8601, in
//! [`crate::webhook`]). A leaf module: it uses nothing else of the crate.

/// Whether `year` is a Gregorian leap year.
pub(crate) fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// The number of days of `month` (1..=12) in `year`; 0 for a month out of range.
pub(crate) fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`);
/// the date is not validated.
pub(crate) fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (i64::from(month) + 9) % 12;
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Unix ms of a UTC civil time, negative before 1970; `None` when the year is outside
/// 0..=9999, the month outside 1..=12, the day past the month's length (so 31 Feb, 29 Feb
/// of a common year and 31 Apr are refused), the hour over 23, the minute over 59, the
/// second over 60 (a leap second counts as the next second) or `ms` over 999.
pub(crate) fn civil_to_unix_ms(year: i64, month: u32, day: u32, h: u32, mi: u32, s: u32, ms: u32) -> Option<i64> {
    if !(0..=9999).contains(&year)
        || !(1..=12).contains(&month)
        || day < 1
        || day > days_in_month(year, month)
        || h > 23
        || mi > 59
        || s > 60
        || ms > 999
    {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400 + i64::from(h) * 3_600 + i64::from(mi) * 60 + i64::from(s);
    Some(secs * 1_000 + i64::from(ms))
}

/// A tiny byte cursor for the ISO-8601 parser.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    /// Exactly `n` ASCII digits as a number.
    fn digits(&mut self, n: usize) -> Option<u32> {
        let mut value = 0u32;
        for _ in 0..n {
            let b = self.peek().filter(u8::is_ascii_digit)?;
            value = value * 10 + u32::from(b - b'0');
            self.pos += 1;
        }
        Some(value)
    }
    fn at_end(&self) -> bool {
        self.pos >= self.bytes.len()
    }
}

/// Parse an ISO-8601 / RFC 3339 date-time with a zone into Unix milliseconds:
/// `YYYY-MM-DDTHH:MM:SS[.fff…](Z|±HH:MM|±HHMM|±HH)`; `t`/space for `T` and `z` for `Z`
/// are accepted; `HH:MM` without seconds too. A time without a zone is rejected
/// (ambiguous). Fractions beyond milliseconds are truncated. Dates past the month's length
/// (`2023-02-29`), month 13 and hour 24 are rejected; second 60 (a leap second) is read as
/// the next second.
pub fn parse_iso8601_ms(text: &str) -> Option<i64> {
    let mut c = Cursor { bytes: text.trim().as_bytes(), pos: 0 };
    let year = c.digits(4)?;
    if !c.eat(b'-') {
        return None;
    }
    let month = c.digits(2)?;
    if !c.eat(b'-') {
        return None;
    }
    let day = c.digits(2)?;
    if !(c.eat(b'T') || c.eat(b't') || c.eat(b' ')) {
        return None;
    }
    let hour = c.digits(2)?;
    if !c.eat(b':') {
        return None;
    }
    let minute = c.digits(2)?;
    let mut second = 0;
    let mut millis = 0;
    if c.eat(b':') {
        second = c.digits(2)?;
        if c.eat(b'.') || c.eat(b',') {
            let mut count = 0usize;
            while let Some(b) = c.peek().filter(u8::is_ascii_digit) {
                if count < 3 {
                    millis = millis * 10 + u32::from(b - b'0');
                }
                count += 1;
                c.pos += 1;
            }
            if count == 0 {
                return None;
            }
            for _ in count..3 {
                millis *= 10;
            }
        }
    }
    let local = civil_to_unix_ms(i64::from(year), month, day, hour, minute, second, millis)?;
    let offset_minutes = if c.eat(b'Z') || c.eat(b'z') {
        0
    } else {
        let sign = if c.eat(b'+') {
            1
        } else if c.eat(b'-') {
            -1
        } else {
            return None;
        };
        let oh = c.digits(2)?;
        let om = if c.at_end() {
            0
        } else {
            c.eat(b':');
            c.digits(2)?
        };
        if oh > 23 || om > 59 {
            return None;
        }
        sign * i64::from(oh * 60 + om)
    };
    if !c.at_end() {
        return None;
    }
    Some(local - offset_minutes * 60_000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(0, 1, 1), -719_528);
    }

    #[test]
    fn month_lengths() {
        assert!(is_leap_year(2024) && is_leap_year(2000) && !is_leap_year(1900) && !is_leap_year(2023));
        assert_eq!(days_in_month(2024, 2), 29);
        assert_eq!(days_in_month(2023, 2), 28);
        assert_eq!(days_in_month(2023, 4), 30);
        assert_eq!(days_in_month(2023, 12), 31);
        assert_eq!(days_in_month(2023, 13), 0);
        assert_eq!(days_in_month(2023, 0), 0);
    }

    #[test]
    fn civil_rejects_impossible_dates() {
        assert_eq!(civil_to_unix_ms(2015, 2, 31, 0, 0, 0, 0), None, "31 Feb");
        assert_eq!(civil_to_unix_ms(2023, 2, 29, 0, 0, 0, 0), None, "29 Feb of a common year");
        assert_eq!(civil_to_unix_ms(1900, 2, 29, 0, 0, 0, 0), None, "29 Feb 1900");
        assert_eq!(civil_to_unix_ms(2015, 4, 31, 0, 0, 0, 0), None, "31 Apr");
        assert_eq!(civil_to_unix_ms(2015, 13, 1, 0, 0, 0, 0), None, "month 13");
        assert_eq!(civil_to_unix_ms(2015, 0, 1, 0, 0, 0, 0), None, "month 0");
        assert_eq!(civil_to_unix_ms(2015, 1, 0, 0, 0, 0, 0), None, "day 0");
        assert_eq!(civil_to_unix_ms(2015, 1, 1, 24, 0, 0, 0), None, "24:00");
        assert_eq!(civil_to_unix_ms(2015, 1, 1, 23, 60, 0, 0), None, "minute 60");
        assert_eq!(civil_to_unix_ms(2015, 1, 1, 23, 59, 61, 0), None, "second 61");
        assert_eq!(civil_to_unix_ms(2015, 1, 1, 0, 0, 0, 1000), None, "ms 1000");
        assert_eq!(civil_to_unix_ms(10_000, 1, 1, 0, 0, 0, 0), None, "year 10000");
        assert_eq!(civil_to_unix_ms(-1, 1, 1, 0, 0, 0, 0), None, "year -1");
    }

    #[test]
    fn civil_accepts_real_dates() {
        assert_eq!(civil_to_unix_ms(1970, 1, 1, 0, 0, 0, 0), Some(0));
        assert_eq!(civil_to_unix_ms(2024, 2, 29, 0, 0, 0, 0), Some(1_709_164_800_000), "29 Feb 2024");
        assert_eq!(civil_to_unix_ms(2000, 2, 29, 12, 0, 0, 0), Some(951_825_600_000), "29 Feb 2000");
        assert_eq!(civil_to_unix_ms(2015, 10, 21, 7, 28, 0, 0), Some(1_445_412_480_000));
        assert_eq!(civil_to_unix_ms(2015, 4, 30, 0, 0, 0, 0), Some(1_430_352_000_000), "30 Apr");
        // A leap second is read as the first second of the next minute.
        assert_eq!(civil_to_unix_ms(2016, 12, 31, 23, 59, 60, 0), civil_to_unix_ms(2017, 1, 1, 0, 0, 0, 0));
        assert_eq!(civil_to_unix_ms(1969, 12, 31, 23, 59, 59, 999), Some(-1));
        assert_eq!(civil_to_unix_ms(9999, 12, 31, 23, 59, 59, 999), Some(253_402_300_799_999));
    }

    #[test]
    fn iso8601() {
        assert_eq!(parse_iso8601_ms("2026-11-22T10:00:00.000Z"), Some(1_795_341_600_000));
        assert_eq!(parse_iso8601_ms("2026-11-22T12:00:00+02:00"), Some(1_795_341_600_000));
        assert_eq!(parse_iso8601_ms("2026-11-22T05:30:00-0430"), Some(1_795_341_600_000));
        assert_eq!(parse_iso8601_ms("2026-11-22T10:00:00.5Z"), Some(1_795_341_600_500));
        assert_eq!(parse_iso8601_ms("2026-11-22T10:00:00.123456Z"), Some(1_795_341_600_123));
        assert_eq!(parse_iso8601_ms("2026-11-22t10:00z"), Some(1_795_341_600_000));
        assert_eq!(parse_iso8601_ms("2026-11-22 10:00:00+10"), Some(1_795_305_600_000));
        assert_eq!(parse_iso8601_ms("2024-02-29T00:00:00Z"), Some(1_709_164_800_000));
        assert_eq!(parse_iso8601_ms("2016-12-31T23:59:60Z"), parse_iso8601_ms("2017-01-01T00:00:00Z"));
        assert_eq!(parse_iso8601_ms("1969-12-31T23:59:59.999Z"), Some(-1));
        assert_eq!(parse_iso8601_ms("2023-02-29T00:00:00Z"), None);
        assert_eq!(parse_iso8601_ms("2026-02-31T00:00:00Z"), None);
        assert_eq!(parse_iso8601_ms("2026-04-31T00:00:00Z"), None);
        assert_eq!(parse_iso8601_ms("2026-11-22T10:00:00"), None);
        assert_eq!(parse_iso8601_ms("2026-11-22T10:00:00.Z"), None);
        assert_eq!(parse_iso8601_ms("2026-13-22T10:00:00Z"), None);
        assert_eq!(parse_iso8601_ms("2026-11-22T24:00:00Z"), None);
        assert_eq!(parse_iso8601_ms("2026-11-22T10:00:61Z"), None);
        assert_eq!(parse_iso8601_ms("2026-11-22T10:00:00+24:00"), None);
        assert_eq!(parse_iso8601_ms("2026-11-22T10:00:00Zjunk"), None);
        assert_eq!(parse_iso8601_ms(""), None);
        assert_eq!(parse_iso8601_ms("２０２６-11-22T10:00:00Z"), None);
    }
}
