//! Webhook bodies: `parse_webhook_event` on raw bytes and on JSON objects of the
//! platform's shapes, and the ISO 8601 timestamp reader used by the freshness check.
#![no_main]
use arbitrary::Arbitrary;
use hoopauth::ErrorKind;
use hoopauth::parse_iso8601_ms;
use hoopauth::{parse_webhook_event, WebhookEvent};
use libfuzzer_sys::fuzz_target;

mod common;
use common::Json;

#[derive(Arbitrary, Debug)]
enum EventType {
    Install,
    Uninstall,
    Lower(bool),
    Other(String),
    NotAString(Json),
    Missing,
}

#[derive(Arbitrary, Debug)]
enum Input {
    Raw(Vec<u8>),
    Object { event_type: EventType, fields: Vec<(u8, Json)>, extra: Vec<(String, Json)> },
    Timestamp(String),
    /// Unix ms and a format choice: must read back.
    Time { ms: u64, offset_min: i16, form: u8 },
}

const FIELDS: [&str; 10] =
    ["appId", "versionId", "installType", "locationId", "companyId", "userId", "companyName", "planId", "timestamp", "webhookId"];

fn check(body: &[u8]) {
    let parsed: Option<serde_json::Value> = serde_json::from_slice(body).ok();
    let expect_ok = matches!(&parsed, Some(serde_json::Value::Object(o)) if matches!(o.get("type"), Some(serde_json::Value::String(_))));
    match parse_webhook_event(body) {
        Ok(ev) => {
            assert!(expect_ok);
            let t = ev.event_type().to_owned();
            let json = serde_json::to_string(&ev).unwrap_or_default();
            assert!(!json.is_empty());
            match &ev {
                WebhookEvent::Install(_) => assert!(t.eq_ignore_ascii_case("INSTALL")),
                WebhookEvent::Uninstall(_) => assert!(t.eq_ignore_ascii_case("UNINSTALL")),
                WebhookEvent::Other { .. } => {}
            }
        }
        Err(e) => {
            assert!(!expect_ok, "{e}");
            assert_eq!(e.kind(), ErrorKind::MalformedResponse);
        }
    }
}

fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fuzz_target!(|input: Input| {
    match input {
        Input::Raw(bytes) => {
            check(&bytes);
            if let Ok(s) = std::str::from_utf8(&bytes) {
                let _ = parse_iso8601_ms(s);
            }
        }
        Input::Object { event_type, fields, extra } => {
            let mut m = serde_json::Map::new();
            for (k, v) in extra {
                m.insert(k, v.value());
            }
            for (i, v) in fields {
                m.insert(FIELDS[usize::from(i) % FIELDS.len()].to_owned(), v.value());
            }
            match event_type {
                EventType::Install => {
                    m.insert("type".into(), "INSTALL".into());
                }
                EventType::Uninstall => {
                    m.insert("type".into(), "UNINSTALL".into());
                }
                EventType::Lower(install) => {
                    m.insert("type".into(), if install { "install" } else { "Uninstall" }.into());
                }
                EventType::Other(s) => {
                    m.insert("type".into(), s.into());
                }
                EventType::NotAString(j) => {
                    m.insert("type".into(), j.value());
                }
                EventType::Missing => {
                    m.remove("type");
                }
            }
            let body = serde_json::to_vec(&serde_json::Value::Object(m)).unwrap_or_default();
            check(&body);
        }
        Input::Timestamp(s) => {
            let _ = parse_iso8601_ms(&s);
        }
        Input::Time { ms, offset_min, form } => {
            // Years 1970..=9999, offsets within ±23:59.
            let ms = (ms % 253_402_300_800_000) as i64;
            let off = i64::from(offset_min % (24 * 60));
            let local = ms + off * 60_000;
            if !(0..253_402_300_800_000).contains(&local) {
                return;
            }
            let (secs, frac) = (local.div_euclid(1000), local.rem_euclid(1000));
            let (y, mo, d) = civil(secs.div_euclid(86_400));
            let r = secs.rem_euclid(86_400);
            let (h, mi, s) = (r / 3600, r % 3600 / 60, r % 60);
            let zone = if off == 0 && form % 2 == 0 {
                "Z".to_owned()
            } else {
                let sign = if off < 0 { '-' } else { '+' };
                let a = off.abs();
                if form % 4 < 2 { format!("{sign}{:02}:{:02}", a / 60, a % 60) } else { format!("{sign}{:02}{:02}", a / 60, a % 60) }
            };
            let text = if form & 4 == 0 {
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{frac:03}{zone}")
            } else if frac == 0 {
                format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{zone}")
            } else {
                return;
            };
            assert_eq!(parse_iso8601_ms(&text), Some(ms), "{text}");
        }
    }
});
