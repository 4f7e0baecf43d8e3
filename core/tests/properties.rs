//! Property tests: pacing, the refresh lease, the stored form, call-loop bounds, and
//! garbage in → typed errors (never a panic).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::type_complexity)]

use hoopauth::*;
use proptest::prelude::*;

fn headers(pairs: &[(&str, String)]) -> Headers {
    pairs.iter().map(|(k, v)| (k.to_string(), v.clone())).collect()
}

#[derive(Clone, Debug)]
enum LimOp {
    Acquire { dt: i64 },
    Observe { dt: i64, status: u16, remaining: Option<u64>, retry_after: Option<u64>, daily_remaining: Option<u64>, learn: Option<(u64, u64)> },
}

fn lim_op(learn: bool) -> impl Strategy<Value = LimOp> {
    let acquire = prop_oneof![
        40 => -50i64..400,
        1 => 2_000_000_000i64..3_000_000_000,
    ]
    .prop_map(|dt| LimOp::Acquire { dt });
    let learn_s = if learn { proptest::option::of((1u64..8, 100u64..2000)).boxed() } else { Just(None).boxed() };
    let observe = (
        -50i64..400,
        prop_oneof![Just(200u16), Just(429u16), Just(503u16)],
        proptest::option::of(0u64..3),
        proptest::option::of(0u64..3),
        proptest::option::of(0u64..2),
        learn_s,
    )
        .prop_map(|(dt, status, remaining, retry_after, daily_remaining, learn)| LimOp::Observe {
            dt,
            status,
            remaining,
            retry_after,
            daily_remaining: daily_remaining.map(|d| d * 1000),
            learn,
        });
    prop_oneof![4 => acquire, 1 => observe]
}

fn run_limiter(limits: Limits, ops: &[LimOp]) -> Result<(), TestCaseError> {
    let mut l = RateLimiter::new(limits);
    let mut t: i64 = 1_000_000;
    let mut clock: u64 = 0; // the limiter's effective clock: time never goes back
    let mut sends: Vec<u64> = Vec::new();
    for op in ops {
        match op {
            LimOp::Acquire { dt } => {
                t = (t + dt).max(0);
                clock = clock.max(t as u64);
                if let Decision::Allow { send_id } = l.acquire(t as u64) {
                    l.answered(send_id, t as u64);
                    sends.push(clock);
                    let cur = l.limits();
                    let window = cur.interval_ms + cur.margin_ms;
                    let in_window = sends.iter().filter(|&&s| s + window > clock).count();
                    prop_assert!(
                        in_window <= cur.max as usize,
                        "{in_window} sends within {window} ms at {clock}, max {}",
                        cur.max
                    );
                }
            }
            LimOp::Observe { dt, status, remaining, retry_after, daily_remaining, learn } => {
                t = (t + dt).max(0);
                clock = clock.max(t as u64);
                let mut h: Vec<(&str, String)> = Vec::new();
                if let Some(r) = remaining {
                    h.push(("X-RateLimit-Remaining", r.to_string()));
                }
                if let Some(r) = retry_after {
                    h.push(("Retry-After", r.to_string()));
                }
                if let Some(d) = daily_remaining {
                    h.push(("X-RateLimit-Daily-Remaining", d.to_string()));
                }
                if let Some((max, interval)) = learn {
                    h.push(("X-RateLimit-Max", max.to_string()));
                    h.push(("X-RateLimit-Interval-Milliseconds", interval.to_string()));
                }
                l.observe(t as u64, *status, &headers(&h));
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn limiter_never_exceeds_max_in_any_window(
        max in 1u32..12, interval in 50u64..2000, margin in 0u64..100,
        ops in proptest::collection::vec(lim_op(false), 1..300),
    ) {
        run_limiter(Limits { max, interval_ms: interval, margin_ms: margin, daily_max: 1_000_000, ..Limits::default() }, &ops)?;
    }

    #[test]
    fn limiter_respects_learned_limits(
        ops in proptest::collection::vec(lim_op(true), 1..300),
    ) {
        run_limiter(Limits { max: 5, interval_ms: 1000, margin_ms: 10, daily_max: 1_000_000, ..Limits::default() }, &ops)?;
    }

    #[test]
    fn limiter_daily_budget_holds(daily in 1u64..20, ops in proptest::collection::vec(0i64..5000, 1..200)) {
        let mut l = RateLimiter::new(Limits { max: 1000, interval_ms: 10, margin_ms: 0, daily_max: daily, ..Limits::default() });
        let mut t = 0u64;
        let mut allowed = 0u64;
        for dt in ops {
            t += dt as u64;
            if t >= 86_400_000 { break; }
            if l.acquire(t).is_allowed() { allowed += 1; }
        }
        prop_assert!(allowed <= daily);
    }
}

// ---- session ---------------------------------------------------------------------------

fn cfg() -> Config {
    Config::new(ConfigOptions {
        client_id: "65f1c0ffee-lx2k9".into(),
        client_secret: Some("s3cr3t".into()),
        redirect_uri: Some("https://myapp.com/cb".into()),
        ..Default::default()
    })
    .unwrap()
}

fn tokens(n: u32, ttl_s: u64, now: u64, refresh: bool) -> TokenSet {
    let rt = if refresh { format!(",\"refresh_token\":\"rt-{n}\"") } else { String::new() };
    let body = format!("{{\"access_token\":\"at-{n}\",\"expires_in\":{ttl_s}{rt},\"userType\":\"Location\",\"locationId\":\"loc_1\"}}");
    parse_token_response(200, &[], body.as_bytes(), now).unwrap()
}

#[derive(Clone, Debug)]
enum SessOp {
    Acquire { dt: u64 },
    RefreshOk { dt: u64 },
    RefreshFail { dt: u64, status: u16, body: &'static str },
    RefreshLost { dt: u64 },
    Api401 { dt: u64, current: bool, body: &'static str },
    Load { dt: u64, refresh: bool },
    Roundtrip,
}

fn sess_op() -> impl Strategy<Value = SessOp> {
    prop_oneof![
        6 => (0u64..40_000).prop_map(|dt| SessOp::Acquire { dt }),
        1 => (0u64..5_000).prop_map(|dt| SessOp::RefreshOk { dt }),
        1 => (0u64..5_000, prop_oneof![Just(400u16), Just(401), Just(503), Just(429)],
              prop_oneof![Just("{\"error\":\"invalid_grant\"}"), Just(""), Just("{\"message\":\"Location is not active\"}")])
            .prop_map(|(dt, status, body)| SessOp::RefreshFail { dt, status, body }),
        1 => (0u64..5_000).prop_map(|dt| SessOp::RefreshLost { dt }),
        1 => (0u64..5_000, any::<bool>(), prop_oneof![Just(""), Just("{\"message\":\"Invalid JWT\"}"), Just("{\"message\":\"The token is not authorized for this scope.\"}")])
            .prop_map(|(dt, current, body)| SessOp::Api401 { dt, current, body }),
        1 => (0u64..5_000, any::<bool>()).prop_map(|(dt, refresh)| SessOp::Load { dt, refresh }),
        1 => Just(SessOp::Roundtrip),
    ]
}

fn action_name(a: &Action) -> String {
    match a {
        Action::Use { access_token } => format!("use {}", access_token.expose()),
        Action::Refresh { request } => format!("refresh {}", request.body_text()),
        Action::Wait { wait_ms } => format!("wait {wait_ms}"),
        Action::Mint { company_id, location_id } => format!("mint {company_id} {location_id}"),
        Action::Reauthorize => "reauthorize".into(),
        Action::Save => "save".into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    /// No second `Refresh` while a lease is live; stored form round-trips to identical behaviour.
    #[test]
    fn session_single_refresh_and_roundtrip(ops in proptest::collection::vec(sess_op(), 1..120), lease in 1_000u64..60_000) {
        let options = SessionOptions { refresh_leeway_ms: 60_000, lease_ms: lease };
        let mut now = 1_767_225_600_000u64;
        let mut s = TokenSession::new(cfg(), options);
        s.load(tokens(0, 120, now, true));
        let mut twin = TokenSession::from_json(cfg(), options, &s.stored_json()).unwrap();
        let mut lease_until: Option<u64> = None;
        let mut n = 1;
        for op in ops {
            match op {
                SessOp::Acquire { dt } => {
                    now += dt;
                    let a = s.acquire(now).unwrap();
                    let b = twin.acquire(now).unwrap();
                    prop_assert_eq!(action_name(&a), action_name(&b));
                    if let Action::Refresh { .. } = a {
                        if let Some(until) = lease_until {
                            prop_assert!(now >= until, "second refresh at {now} while the lease runs to {until}");
                        }
                        lease_until = Some(now + lease);
                    }
                }
                SessOp::RefreshOk { dt } => {
                    now += dt;
                    let body = format!("{{\"access_token\":\"at-{n}\",\"refresh_token\":\"rt-{n}\",\"expires_in\":120}}");
                    n += 1;
                    let _ = s.refresh_response(200, &[], body.as_bytes(), now);
                    let _ = twin.refresh_response(200, &[], body.as_bytes(), now);
                    lease_until = None;
                }
                SessOp::RefreshFail { dt, status, body } => {
                    now += dt;
                    let a = s.refresh_response(status, &[], body.as_bytes(), now).map(|_| ()).map_err(|e| e.kind());
                    let b = twin.refresh_response(status, &[], body.as_bytes(), now).map(|_| ()).map_err(|e| e.kind());
                    prop_assert_eq!(a, b);
                    lease_until = None;
                }
                SessOp::RefreshLost { dt } => {
                    now += dt;
                    s.refresh_lost();
                    twin.refresh_lost();
                    lease_until = None;
                }
                SessOp::Api401 { dt, current, body } => {
                    now += dt;
                    let token = if current { s.access_token().map(|t| t.expose().to_owned()).unwrap_or_default() } else { "old".into() };
                    prop_assert_eq!(s.api_response(401, body.as_bytes(), &token), twin.api_response(401, body.as_bytes(), &token));
                }
                SessOp::Load { dt, refresh } => {
                    now += dt;
                    s.load(tokens(n, 120, now, refresh));
                    twin.load(tokens(n, 120, now, refresh));
                    n += 1;
                    lease_until = None;
                }
                SessOp::Roundtrip => {
                    twin = TokenSession::from_json(cfg(), options, &twin.stored_json()).unwrap();
                }
            }
            prop_assert_eq!(s.stored(), twin.stored());
        }
    }
}

// ---- call loop -------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Reply {
    Status(u16, &'static str),
    Lost,
}

fn reply() -> impl Strategy<Value = Reply> {
    prop_oneof![
        Just(Reply::Status(200, "{}")),
        Just(Reply::Status(401, "{\"message\":\"Invalid JWT\"}")),
        Just(Reply::Status(401, "{\"message\":\"The token is not authorized for this scope.\"}")),
        Just(Reply::Status(429, "")),
        Just(Reply::Status(503, "")),
        Just(Reply::Status(400, "{\"error\":\"invalid_grant\"}")),
        Just(Reply::Status(404, "")),
        Just(Reply::Lost),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 500, .. ProptestConfig::default() })]

    #[test]
    fn call_loop_stays_within_bounds(
        replies in proptest::collection::vec(reply(), 0..64),
        post in any::<bool>(),
        expired in any::<bool>(),
        random in any::<u64>(),
    ) {
        let options = CallOptions::default();
        let mut now = 1_767_225_600_000u64;
        let mut s = TokenSession::new(cfg(), SessionOptions::default());
        s.load(tokens(0, if expired { 1 } else { 86_399 }, now - if expired { 10_000 } else { 0 }, true));
        let mut l = RateLimiter::new(Limits { max: 1000, interval_ms: 10_000, margin_ms: 0, daily_max: 1_000_000, ..Limits::default() });
        let method = if post { Method::Post } else { Method::Get };
        let mut call = Call::new(ApiRequest::new(method, "/contacts/"), options);
        let mut step = call.step(&mut s, &mut l, Event::Start, now, random);
        let mut replies = replies.into_iter();
        let mut steps = 0;
        let (mut api_sends, mut refresh_sends) = (0u32, 0u32);
        loop {
            steps += 1;
            prop_assert!(steps < 200, "the call loop did not finish");
            let event = match &step {
                Step::Send(_) | Step::SendRefresh(_) => {
                    if matches!(step, Step::Send(_)) { api_sends += 1 } else { refresh_sends += 1 }
                    match replies.next() {
                        Some(Reply::Status(code, body)) => {
                            let body = if matches!(step, Step::SendRefresh(_)) && code == 200 {
                                "{\"access_token\":\"at-new\",\"refresh_token\":\"rt-new\",\"expires_in\":86399}"
                            } else { body };
                            Event::Response(Response::new(code, vec![], body))
                        }
                        Some(Reply::Lost) => Event::TransportError,
                        None => Event::Response(Response::new(200, vec![], if matches!(step, Step::SendRefresh(_)) { "{\"access_token\":\"at-x\",\"refresh_token\":\"rt-x\",\"expires_in\":86399}" } else { "{}" })),
                    }
                }
                Step::Persist(_) => Event::Resume,
                Step::Wait { wait_ms, .. } => { now += wait_ms; Event::Resume }
                _ => break,
            };
            now += 5;
            step = call.step(&mut s, &mut l, event, now, random);
        }
        let st = call.stats();
        prop_assert!(st.auth_retries <= options.max_auth_retries);
        prop_assert!(st.rate_limit_retries <= options.max_rate_limit_retries);
        prop_assert!(st.server_retries <= options.max_server_retries);
        prop_assert!(refresh_sends <= options.max_refresh_attempts);
        prop_assert!(api_sends <= 1 + options.max_auth_retries + options.max_rate_limit_retries + options.max_server_retries);
        if post { prop_assert_eq!(st.server_retries, 0, "POST is never retried after a server error"); }
        prop_assert!(call.is_finished());
    }
}

// ---- garbage in ------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256), status in 0u16..1000, text in ".{0,200}") {
        let h: Headers = vec![("Retry-After".into(), text.clone()), ("X-RateLimit-Remaining".into(), text.clone())];
        let _ = parse_token_response(status, &h, &bytes, u64::MAX - 5);
        let c = classify_response(status, &h, &bytes, Some(0));
        prop_assert_eq!(c.status, status);
        let _ = parse_rate_limit_headers(&h);
        let _ = parse_callback(&text, Some(&text));
        let _ = parse_callback(&String::from_utf8_lossy(&bytes), None);
        let _ = parse_http_date(&text);
        let _ = parse_retry_after(&text, Some(1));
        let _ = Config::from_json(&String::from_utf8_lossy(&bytes));
        let _ = TokenSession::from_json(cfg(), SessionOptions::default(), &String::from_utf8_lossy(&bytes));
        let _ = WebhookKey::parse(&text);
        let _ = parse_webhook_event(&bytes);
        let _ = verify_webhook(&WebhookKey::platform(), &bytes, Some(&text), Some(0), 1);
        let _ = Method::parse(&text);
        let _ = UserType::parse(&text);
        let r = cfg().api_request(&ApiRequest::new(Method::Get, text.clone()), "tok");
        if let Ok(req) = r {
            prop_assert!(req.url.starts_with("https://services.leadconnectorhq.com/"), "token sent to {}", req.url);
        }
    }

    #[test]
    fn token_json_shapes_never_panic(v in json_value()) {
        let body = v.to_string();
        for status in [200u16, 201, 400, 401, 429, 503] {
            let _ = parse_token_response(status, &[], body.as_bytes(), 0);
            let _ = classify_response(status, &[], body.as_bytes(), None);
        }
        let _ = parse_webhook_event(body.as_bytes());
    }

    #[test]
    fn header_values_never_carry_control_characters(token in ".{1,40}", id in ".{1,20}") {
        let c = cfg();
        for req in [c.api_request(&ApiRequest::new(Method::Get, "/contacts/"), &token), c.location_token_request(&token, &id, &id)].into_iter().flatten() {
            for (_, v) in &req.headers {
                prop_assert!(!v.bytes().any(|b| b < 0x20 || b == 0x7f));
            }
        }
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    use serde_json::Value;
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
        ".{0,20}".prop_map(Value::String),
        prop_oneof![Just("access_token"), Just("expires_in"), Just("message"), Just("error"), Just("type")].prop_map(|s| Value::String(s.into())),
    ];
    leaf.prop_recursive(3, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            proptest::collection::vec((prop_oneof![Just("access_token".to_string()), Just("accessToken".to_string()), Just("expires_in".to_string()), Just("refresh_token".to_string()), Just("scope".to_string()), Just("message".to_string()), Just("error".to_string()), Just("isBulkInstallation".to_string()), Just("approvedLocations".to_string()), Just("type".to_string()), ".{0,8}".prop_map(|s| s)], inner), 0..6)
                .prop_map(|kv| serde_json::Value::Object(kv.into_iter().collect())),
        ]
    })
}

#[test]
fn memory_per_tracked_resource_stays_under_1_kb() {
    let mut many = RateLimiters::new(Limits::default());
    let n = 100_000u64;
    for i in 0..n {
        let key = format!("loc_{i:020}");
        for k in 0..100 {
            let Decision::Allow { send_id } = many.acquire(&key, 1_000 + k) else { panic!("denied") };
            many.answered(&key, send_id, 1_000 + k);
        }
    }
    assert_eq!(many.len() as u64, n);
    let per = many.memory_bytes() as u64 / n;
    eprintln!("rate limiter memory per tracked resource (100 sends in the window): {per} bytes");
    assert!(per <= 1024, "{per} bytes per resource");
    // Idle resources go away.
    assert_eq!(many.evict_idle(1_000 + 100 + 10_050), n as usize);
    assert!(many.is_empty());
}

/// A window longer than 4-byte mark offsets can span (learned from a server, here ~93 days)
/// holds marks further apart than `u32::MAX` ms: none is shifted or lost (found by the
/// `limiter_seq` fuzz target near `u64::MAX / 2`).
#[test]
fn marks_further_apart_than_u32_stay_exact() {
    for start in [1_000u64, 8_508_730_251_278_659_737] {
        let mut l = RateLimiter::new(Limits { max: 50, interval_ms: 10_000, margin_ms: 0, daily_max: 1_000_000, answer_timeout_ms: 1_000 });
        let huge = 8_000_000_000u64; // > u32::MAX ms
        let headers = vec![
            ("X-RateLimit-Max".to_string(), "3".to_string()),
            ("X-RateLimit-Interval-Milliseconds".to_string(), huge.to_string()),
        ];
        l.observe(start, 200, &headers);
        assert_eq!(l.limits().interval_ms, huge);
        let mut t = start;
        for _ in 0..3 {
            let Decision::Allow { send_id } = l.acquire(t) else { panic!("denied at {t}") };
            l.answered(send_id, t);
            t += 3_000_000_000; // marks 3e9 ms apart: 6e9 span
        }
        let _ = t;
        let st = l.to_state();
        assert_eq!(st.marks, vec![start, start + 3_000_000_000, start + 6_000_000_000]);
        // The oldest of three marks leaves the window at start + huge + 0 margin.
        let now = start + 6_000_000_001;
        match l.check(now) {
            Decision::Wait { wait_ms, .. } => assert_eq!(now + wait_ms, start + huge),
            d => panic!("{d:?}"),
        }
        assert!(l.check(start + huge).is_allowed());
        let back = RateLimiter::from_state(&st);
        assert_eq!(back.to_state().marks, st.marks);
    }
}
