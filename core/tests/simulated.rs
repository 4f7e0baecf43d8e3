//! Simulated-clock tests of the call loop (quinn-proto style): a small in-test platform with
//! sliding-window limits, single-use refresh tokens with the 30 s grace and expiring access
//! tokens; many concurrent calls driven by a discrete-event loop. No sleeping, no I/O.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::type_complexity, clippy::too_many_arguments)]

use hoopauth::*;
use std::collections::{BTreeMap, HashMap, VecDeque};

struct Platform {
    max: usize,
    interval: u64,
    ttl_ms: u64,
    windows: HashMap<String, VecDeque<u64>>,
    access: HashMap<String, u64>, // token -> expiry
    refresh: HashMap<String, (Option<(u64, String, String)>,)>, // rt -> used (at, new at, new rt)
    next: u32,
    drop_next_rotations: u32,
    fail_next_api: u32,
    // stats
    api_requests: u32,
    too_many: u32,
    refreshes: u32,
    invalid_grants: u32,
    server_errors: u32,
}

impl Platform {
    fn new(max: usize, interval: u64, ttl_ms: u64) -> Self {
        Platform {
            max,
            interval,
            ttl_ms,
            windows: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            next: 0,
            drop_next_rotations: 0,
            fail_next_api: 0,
            api_requests: 0,
            too_many: 0,
            refreshes: 0,
            invalid_grants: 0,
            server_errors: 0,
        }
    }

    fn mint(&mut self, now: u64) -> (String, String) {
        self.next += 1;
        let at = format!("at-{}", self.next);
        let rt = format!("rt-{}", self.next);
        self.access.insert(at.clone(), now + self.ttl_ms);
        self.refresh.insert(rt.clone(), (None,));
        (at, rt)
    }

    fn token_body(&self, at: &str, rt: &str) -> String {
        format!(
            "{{\"access_token\":\"{at}\",\"refresh_token\":\"{rt}\",\"expires_in\":{},\"token_type\":\"Bearer\",\"userType\":\"Location\",\"locationId\":\"loc_1\"}}",
            self.ttl_ms / 1000
        )
    }

    /// Answer `req` arriving at `now`; `None` = the connection drops without an answer.
    fn handle(&mut self, req: &Request, now: u64) -> Option<Response> {
        if req.url.ends_with("/oauth/token") {
            let form: HashMap<String, String> = url::form_urlencoded::parse(&req.body).into_owned().collect();
            let rt = form.get("refresh_token").cloned().unwrap_or_default();
            let entry = self.refresh.get(&rt).cloned();
            return Some(match entry {
                Some((None,)) => {
                    self.refreshes += 1;
                    let (at, new_rt) = self.mint(now);
                    self.refresh.insert(rt, (Some((now, at.clone(), new_rt.clone())),));
                    if self.drop_next_rotations > 0 {
                        self.drop_next_rotations -= 1;
                        return None;
                    }
                    Response::new(200, vec![], self.token_body(&at, &new_rt))
                }
                Some((Some((used_at, at, new_rt)),)) if now < used_at + 30_000 => {
                    Response::new(200, vec![], self.token_body(&at, &new_rt))
                }
                _ => {
                    self.invalid_grants += 1;
                    Response::new(400, vec![], "{\"statusCode\":400,\"message\":\"Invalid grant: refresh token is invalid\",\"error\":\"Bad Request\"}")
                }
            });
        }
        let token = req.header("authorization").unwrap_or("").trim_start_matches("Bearer ").to_owned();
        match self.access.get(&token) {
            Some(&exp) if now < exp => {}
            _ => return Some(Response::new(401, vec![], "{\"statusCode\":401,\"message\":\"Invalid JWT\"}")),
        }
        self.api_requests += 1;
        let w = self.windows.entry("loc_1".into()).or_default();
        while w.front().is_some_and(|&t| t + self.interval <= now) {
            w.pop_front();
        }
        let limited = w.len() >= self.max;
        if !limited {
            w.push_back(now);
        }
        let remaining = self.max - w.len();
        let headers = vec![
            ("X-RateLimit-Max".to_string(), self.max.to_string()),
            ("X-RateLimit-Interval-Milliseconds".to_string(), self.interval.to_string()),
            ("X-RateLimit-Remaining".to_string(), remaining.to_string()),
            ("X-RateLimit-Limit-Daily".to_string(), "200000".to_string()),
            ("X-RateLimit-Daily-Remaining".to_string(), "150000".to_string()),
        ];
        if limited {
            self.too_many += 1;
            return Some(Response::new(429, headers, "{\"statusCode\":429,\"message\":\"Too Many Requests\"}"));
        }
        if self.fail_next_api > 0 {
            self.fail_next_api -= 1;
            self.server_errors += 1;
            return Some(Response::new(503, headers, "{\"statusCode\":503}"));
        }
        Some(Response::new(200, headers, "{\"contacts\":[]}"))
    }
}

struct Outcome {
    finished_at: u64,
    results: Vec<std::result::Result<u16, ErrorKind>>,
    persists: u32,
}

/// Run `n` calls, at most `parallel` in flight, one-way latency `latency` ms.
fn simulate(p: &mut Platform, pool: &mut Pool, n: usize, parallel: usize, latency: u64, method: Method, start: u64) -> Outcome {
    let mut calls: Vec<Call> = (0..n).map(|_| Call::new(ApiRequest::new(method, "/contacts/?locationId=loc_1"), CallOptions::default())).collect();
    // event queue: (time, seq) -> (call index, event)
    let mut queue: BTreeMap<(u64, u64), (usize, Event)> = BTreeMap::new();
    let mut seq = 0u64;
    let mut started = 0usize;
    let mut results = Vec::new();
    let mut persists = 0;
    let mut now = start;
    for _ in 0..parallel.min(n) {
        queue.insert((now, seq), (started, Event::Start));
        seq += 1;
        started += 1;
    }
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    while let Some(((t, _), (i, event))) = queue.pop_first() {
        now = now.max(t);
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        let step = pool.step(&mut calls[i], "loc_1", event, now, rng);
        let next = match step {
            Step::Send(req) | Step::SendRefresh(req) => {
                let arrive = now + latency;
                let answer = p.handle(&req, arrive);
                Some((arrive + latency, match answer {
                    Some(r) => Event::Response(r),
                    None => Event::TransportError,
                }))
            }
            Step::Persist(stored) => {
                persists += 1;
                assert!(matches!(stored.credential, Credential::Oauth { .. }));
                Some((now, Event::Resume))
            }
            Step::Wait { wait_ms, .. } => Some((now + wait_ms, Event::Resume)),
            Step::Done(r) => {
                results.push(Ok(r.status));
                None
            }
            Step::Fail(e) | Step::Reauthorize(e) => {
                results.push(Err(e.kind()));
                None
            }
            Step::Mint { .. } => panic!("no minted sessions here"),
        };
        match next {
            Some((at, ev)) => {
                queue.insert((at, seq), (i, ev));
                seq += 1;
            }
            None if started < n => {
                queue.insert((now, seq), (started, Event::Start));
                seq += 1;
                started += 1;
            }
            None => {}
        }
    }
    Outcome { finished_at: now, results, persists }
}

fn pool(limits: Limits, leeway: u64) -> Pool {
    let config = Config::new(ConfigOptions {
        client_id: "65f1c0ffee-sim".into(),
        client_secret: Some("sim-secret".into()),
        redirect_uri: Some("https://app.example/cb".into()),
        ..Default::default()
    })
    .unwrap();
    Pool::new(config, SessionOptions { refresh_leeway_ms: leeway, lease_ms: 30_000 }, limits)
}

fn login(p: &mut Platform, pool: &mut Pool, now: u64) {
    let (at, rt) = p.mint(now);
    let body = p.token_body(&at, &rt);
    let tokens = parse_token_response(200, &[], body.as_bytes(), now).unwrap();
    assert_eq!(pool.load_tokens(None, tokens).unwrap(), "loc_1");
}

const T0: u64 = 1_767_225_600_000;

#[test]
fn thousand_calls_no_429_near_ideal_time() {
    let mut p = Platform::new(100, 10_000, 86_399_000);
    let mut pool = pool(Limits::default(), 300_000);
    login(&mut p, &mut pool, T0);
    let out = simulate(&mut p, &mut pool, 1000, 20, 15, Method::Get, T0);
    assert_eq!(out.results.len(), 1000);
    assert!(out.results.iter().all(|r| *r == Ok(200)), "every call succeeds");
    assert_eq!(p.too_many, 0, "no 429");
    assert_eq!(p.api_requests, 1000, "no request wasted");
    let ideal = 9 * 10_000;
    let took = out.finished_at - T0;
    eprintln!("1000 calls: {took} ms simulated, ideal {ideal} ms, ratio {:.4}", took as f64 / ideal as f64);
    // Each window costs the burst time plus one round trip (the spec blocks on `Remaining: 0` from
    // the moment the answer is seen) plus the margin.
    assert!((took as f64) <= 1.025 * ideal as f64, "took {took} ms against an ideal of {ideal} ms");
}

#[test]
fn expiry_mid_run_refreshes_once_per_expiry() {
    // Tokens live 30 s, refreshed 1 s early; 1000 calls at 100/10 s take ~90 s: 3 expiries.
    let mut p = Platform::new(100, 10_000, 30_000);
    let mut pool = pool(Limits::default(), 1_000);
    login(&mut p, &mut pool, T0);
    let out = simulate(&mut p, &mut pool, 1000, 50, 15, Method::Get, T0);
    assert!(out.results.iter().all(|r| *r == Ok(200)));
    assert_eq!(p.too_many, 0);
    assert_eq!(p.invalid_grants, 0);
    let took = out.finished_at - T0;
    let expiries = took / 29_000;
    assert_eq!(u64::from(p.refreshes), expiries, "one refresh per expiry ({took} ms run)");
    assert_eq!(out.persists, p.refreshes, "every new token set persisted before use");
}

#[test]
fn expired_token_with_many_waiters_refreshes_once() {
    let mut p = Platform::new(1000, 10_000, 60_000);
    let mut pool = pool(Limits { max: 1000, ..Limits::default() }, 1_000);
    login(&mut p, &mut pool, T0);
    // 100 calls start together two minutes later: the token has expired.
    let out = simulate(&mut p, &mut pool, 100, 100, 10, Method::Get, T0 + 120_000);
    assert!(out.results.iter().all(|r| *r == Ok(200)));
    assert_eq!(p.refreshes, 1);
    assert_eq!(p.api_requests, 100, "no request went out with the expired token");
}

#[test]
fn lost_refresh_answer_recovers_within_grace() {
    let mut p = Platform::new(100, 10_000, 60_000);
    p.drop_next_rotations = 1;
    let mut pool = pool(Limits::default(), 1_000);
    login(&mut p, &mut pool, T0);
    let out = simulate(&mut p, &mut pool, 10, 5, 10, Method::Get, T0 + 120_000);
    assert!(out.results.iter().all(|r| *r == Ok(200)), "{:?}", out.results);
    assert_eq!(p.refreshes, 1, "the repeat inside the grace got the same pair, no second rotation");
    assert_eq!(p.invalid_grants, 0);
}

#[test]
fn server_errors_retried_for_get_not_for_post() {
    let mut p = Platform::new(100, 10_000, 86_399_000);
    p.fail_next_api = 1;
    let mut pl = pool(Limits::default(), 300_000);
    login(&mut p, &mut pl, T0);
    let out = simulate(&mut p, &mut pl, 1, 1, 10, Method::Get, T0);
    assert_eq!(out.results, vec![Ok(200)]);
    assert_eq!(p.api_requests, 2);

    let mut p = Platform::new(100, 10_000, 86_399_000);
    p.fail_next_api = 1;
    let mut pl = pool(Limits::default(), 300_000);
    login(&mut p, &mut pl, T0);
    let out = simulate(&mut p, &mut pl, 1, 1, 10, Method::Post, T0);
    assert_eq!(out.results, vec![Err(ErrorKind::ServerError)]);
    assert_eq!(p.api_requests, 1, "a POST is not repeated");
}

#[test]
fn unknown_resource_asks_for_authorization() {
    let mut p = Platform::new(100, 10_000, 86_399_000);
    let mut pl = pool(Limits::default(), 300_000);
    let out = simulate(&mut p, &mut pl, 1, 1, 10, Method::Get, T0);
    assert_eq!(out.results, vec![Err(ErrorKind::Unauthorized)]);
    assert_eq!(p.api_requests, 0);
}

/// Two processes (two pools) share one store with compare-and-set on `version`; both find the
/// token expired at the same moment. Exactly one refresh reaches the platform.
#[test]
fn two_processes_sharing_a_store_refresh_once() {
    let mut p = Platform::new(1000, 10_000, 60_000);
    let mut pools = [pool(Limits { max: 1000, ..Limits::default() }, 1_000), pool(Limits { max: 1000, ..Limits::default() }, 1_000)];
    login(&mut p, &mut pools[0], T0);
    let mut store: String = pools[0].stored_json("loc_1").unwrap();
    pools[1].load_stored("loc_1", &store).unwrap();
    let options = CallOptions { coordinate_refresh: true, ..CallOptions::default() };
    let mut calls: Vec<(usize, Call)> =
        (0..20).map(|i| (i % 2, Call::new(ApiRequest::new(Method::Get, "/contacts/?locationId=loc_1"), options))).collect();
    let mut queue: BTreeMap<(u64, u64), (usize, Event)> = BTreeMap::new();
    let start = T0 + 120_000;
    for i in 0..calls.len() {
        queue.insert((start, i as u64), (i, Event::Start));
    }
    let mut seq = 100u64;
    let mut done = 0;
    let mut conflicts = 0;
    while let Some(((now, _), (i, event))) = queue.pop_first() {
        let (proc_, call) = &mut calls[i];
        let pool = &mut pools[*proc_];
        let step = pool.step(call, "loc_1", event, now, 7);
        let next = match step {
            Step::Send(req) | Step::SendRefresh(req) => {
                let answer = p.handle(&req, now + 5);
                Some((now + 10, answer.map_or(Event::TransportError, Event::Response)))
            }
            Step::Persist(stored) => {
                let held: StoredSession = serde_json::from_str(&store).unwrap();
                if stored.version > held.version {
                    store = serde_json::to_string(&*stored).unwrap();
                    Some((now, Event::Resume))
                } else {
                    conflicts += 1;
                    pool.load_stored("loc_1", &store).unwrap();
                    Some((now, Event::Conflict))
                }
            }
            Step::Wait { wait_ms, .. } => {
                // A waiting process looks at the store again (another process may have refreshed).
                pool.load_stored("loc_1", &store).unwrap();
                Some((now + wait_ms, Event::Resume))
            }
            Step::Done(r) => {
                assert_eq!(r.status, 200);
                done += 1;
                None
            }
            Step::Fail(e) | Step::Reauthorize(e) => panic!("call failed: {e}"),
            Step::Mint { .. } => panic!("no minted sessions here"),
        };
        if let Some((at, ev)) = next {
            queue.insert((at, seq), (i, ev));
            seq += 1;
        }
    }
    assert_eq!(done, 20);
    assert_eq!(p.refreshes, 1, "one refresh across both processes");
    assert_eq!(p.invalid_grants, 0);
    assert!(conflicts >= 1, "the second process lost the lease race");
}

#[test]
fn aborted_refresh_frees_the_lease() {
    let mut p = Platform::new(100, 10_000, 60_000);
    let mut pl = pool(Limits::default(), 1_000);
    login(&mut p, &mut pl, T0);
    let now = T0 + 120_000;
    let mut first = Call::new(ApiRequest::new(Method::Get, "/contacts/"), CallOptions::default());
    assert!(matches!(pl.step(&mut first, "loc_1", Event::Start, now, 0), Step::SendRefresh(_)));
    let mut second = Call::new(ApiRequest::new(Method::Get, "/contacts/"), CallOptions::default());
    assert!(matches!(pl.step(&mut second, "loc_1", Event::Start, now, 0), Step::Wait { reason: WaitReason::Refresh, .. }));
    pl.abort(&mut first, "loc_1", 0);
    assert!(first.is_finished());
    assert!(matches!(pl.step(&mut second, "loc_1", Event::Resume, now + 1, 0), Step::SendRefresh(_)), "the lease is free at once");
}

/// Drive one call until it asks to persist (answering sends from the platform at `now`).
fn run_until_persist(p: &mut Platform, pl: &mut Pool, call: &mut Call, now: u64) -> Box<StoredSession> {
    let mut step = pl.step(call, "loc_1", Event::Start, now, 0);
    loop {
        step = match step {
            Step::Send(req) | Step::SendRefresh(req) => {
                let r = p.handle(&req, now).unwrap();
                pl.step(call, "loc_1", Event::Response(r), now, 0)
            }
            Step::Persist(stored) => return stored,
            other => panic!("unexpected step {other:?}"),
        };
    }
}

fn get_call() -> Call {
    Call::new(ApiRequest::new(Method::Get, "/contacts/"), CallOptions::default())
}

#[test]
fn failed_save_keeps_the_tokens_and_the_next_call_saves_first() {
    let mut p = Platform::new(100, 10_000, 60_000);
    let mut pl = pool(Limits::default(), 1_000);
    login(&mut p, &mut pl, T0);
    let now = T0 + 120_000;
    let mut first = get_call();
    let stored = run_until_persist(&mut p, &mut pl, &mut first, now);
    assert_eq!(p.refreshes, 1);
    // Another call arrives while the save is under way: it waits (nobody uses unsaved tokens).
    let mut waiter = get_call();
    assert!(matches!(pl.step(&mut waiter, "loc_1", Event::Start, now, 0), Step::Wait { reason: WaitReason::Refresh, .. }));
    // The store raises.
    match pl.step(&mut first, "loc_1", Event::PersistFailed, now, 0) {
        Step::Fail(e) => assert_eq!(e.kind(), ErrorKind::StoreError),
        other => panic!("{other:?}"),
    }
    assert!(first.is_finished());
    assert!(pl.is_unsaved("loc_1"));
    // The waiter is not wedged: it saves first, then sends with the new token, no new refresh.
    let again = pl.step(&mut waiter, "loc_1", Event::Resume, now + 10, 0);
    let Step::Persist(resaved) = again else { panic!("{again:?}: the next call saves first") };
    assert_eq!(resaved.credential, stored.credential, "the same (newest) tokens are saved");
    let send = pl.step(&mut waiter, "loc_1", Event::Resume, now + 10, 0);
    let Step::Send(req) = send else { panic!("{send:?}") };
    let r = p.handle(&req, now + 10).unwrap();
    assert!(matches!(pl.step(&mut waiter, "loc_1", Event::Response(r), now + 10, 0), Step::Done(_)));
    assert!(!pl.is_unsaved("loc_1"));
    assert_eq!(p.refreshes, 1, "no second refresh");
    assert_eq!(p.invalid_grants, 0);
}

#[test]
fn cancelled_save_is_released_and_redone_by_the_next_call() {
    let mut p = Platform::new(100, 10_000, 60_000);
    let mut pl = pool(Limits::default(), 1_000);
    login(&mut p, &mut pl, T0);
    let now = T0 + 120_000;
    let mut first = get_call();
    run_until_persist(&mut p, &mut pl, &mut first, now);
    pl.abort(&mut first, "loc_1", now);
    pl.abort(&mut first, "loc_1", now); // twice is harmless
    assert!(pl.is_unsaved("loc_1"));
    // An explicit flush saves the tokens outside any call.
    let json = pl.begin_save("loc_1").expect("something to save");
    assert!(json.contains("\"version\""));
    assert!(pl.begin_save("loc_1").is_none(), "one save at a time");
    pl.end_save("loc_1", false);
    assert!(pl.is_unsaved("loc_1"), "a failed flush keeps them unsaved");
    let mut next = get_call();
    assert!(matches!(pl.step(&mut next, "loc_1", Event::Start, now + 5, 0), Step::Persist(_)));
    assert!(matches!(pl.step(&mut next, "loc_1", Event::Resume, now + 5, 0), Step::Send(_)));
    assert_eq!(p.refreshes, 1);
}

#[test]
fn aborted_send_frees_its_rate_limit_slot() {
    let mut p = Platform::new(1, 10_000, 86_399_000);
    let mut pl = pool(Limits { max: 1, interval_ms: 1_000, margin_ms: 0, ..Limits::default() }, 300_000);
    login(&mut p, &mut pl, T0);
    let mut first = get_call();
    assert!(matches!(pl.step(&mut first, "loc_1", Event::Start, T0, 0), Step::Send(_)));
    // In flight: the slot is held (the wait is cut into the recheck interval).
    let mut second = get_call();
    let w = pl.step(&mut second, "loc_1", Event::Start, T0 + 5_000, 0);
    assert!(matches!(w, Step::Wait { reason: WaitReason::InFlight, wait_ms: 1_000 }), "{w:?}");
    pl.abort(&mut first, "loc_1", T0 + 5_000);
    assert!(matches!(pl.step(&mut second, "loc_1", Event::Resume, T0 + 6_000, 0), Step::Send(_)));
}

#[test]
fn token_shorter_than_the_leeway_is_used_and_refreshed_at_half_life() {
    let mut p = Platform::new(100, 10_000, 8_000);
    let mut pl = pool(Limits::default(), 300_000);
    login(&mut p, &mut pl, T0);
    let mut c = get_call();
    assert!(matches!(pl.step(&mut c, "loc_1", Event::Start, T0 + 3_900, 0), Step::Send(_)), "used before half its life");
    let mut c = get_call();
    assert!(matches!(pl.step(&mut c, "loc_1", Event::Start, T0 + 4_000, 0), Step::SendRefresh(_)), "refreshed at half its life");
    // 1000 calls over ~90 s with 8 s tokens: one refresh per due point (every 4 s), 0 failures.
    let mut p = Platform::new(100, 10_000, 8_000);
    let mut pl = pool(Limits::default(), 300_000);
    login(&mut p, &mut pl, T0);
    let out = simulate(&mut p, &mut pl, 1000, 20, 15, Method::Get, T0);
    assert!(out.results.iter().all(|r| *r == Ok(200)), "{:?}", out.results.iter().find(|r| r.is_err()));
    let took = out.finished_at - T0;
    assert_eq!(p.invalid_grants, 0);
    assert!(u64::from(p.refreshes) <= took / 4_000 + 1, "{} refreshes in {took} ms", p.refreshes);
    assert!(u64::from(p.refreshes) >= took / 4_100, "{} refreshes in {took} ms", p.refreshes);
}

#[test]
fn server_text_echoing_a_secret_is_scrubbed_from_errors() {
    let mut pl = pool(Limits::default(), 300_000);
    let body = "{\"access_token\":\"at-0123456789abcdef\",\"refresh_token\":\"rt-0123456789abcdef\",\"expires_in\":86399,\"locationId\":\"loc_1\"}";
    pl.load_tokens(None, parse_token_response(200, &[], body.as_bytes(), T0).unwrap()).unwrap();
    let token = "at-0123456789abcdef".to_string();
    let refresh = "rt-0123456789abcdef".to_string();
    for body in [
        format!("{{\"message\":\"token {token} may not see this location\"}}"),
        format!("{{\"message\":\"{}{}\"}}", "x".repeat(290), refresh), // cut at 300 bytes mid-secret
        "{\"message\":\"sim-secret is the client secret\"}".to_string(),
    ] {
        let mut c = get_call();
        assert!(matches!(pl.step(&mut c, "loc_1", Event::Start, T0, 0), Step::Send(_)));
        let step = pl.step(&mut c, "loc_1", Event::Response(Response::new(403, vec![], body)), T0 + 1, 0);
        let Step::Fail(e) = step else { panic!("{step:?}") };
        assert_eq!(e.kind(), ErrorKind::Forbidden);
        let shown = format!("{e} {e:?}");
        for secret in [token.as_str(), refresh.get(..8).unwrap(), "sim-secret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(shown.contains("[redacted]"), "{shown}");
    }
}

// ---- coordinated mode: several processes (pools) share one record per resource -------------

/// A shared store: one record with a revision, compare-and-set.
#[derive(Default)]
struct SharedStore {
    rev: u64,
    data: Option<String>,
    writes: u32,
    lost_races: u32,
}

struct FleetOutcome {
    finished_at: u64,
    results: Vec<std::result::Result<u16, ErrorKind>>,
}

/// `n` calls spread over the processes round-robin, each process at most `parallel` in flight.
/// Each step runs as a transaction on the shared record (see `hoopauth::shared`). With
/// `kill_at_refresh_answer`, the process that receives the first refresh answer dies before
/// it can save (its calls vanish).
fn simulate_fleet(
    p: &mut Platform,
    pools: &mut [Pool],
    store: &mut SharedStore,
    n: usize,
    parallel: usize,
    latency: u64,
    start: u64,
    kill_at_refresh_answer: bool,
) -> FleetOutcome {
    let procs = pools.len();
    let mut calls: Vec<Call> = (0..n).map(|_| get_call()).collect();
    let owner = |i: usize| i % procs;
    let mut queue: BTreeMap<(u64, u64), (usize, Event)> = BTreeMap::new();
    let mut seq = 0u64;
    let mut next_call = 0usize;
    let mut results = Vec::new();
    let mut now = start;
    let mut dead: Option<usize> = None;
    let mut refresh_in_flight: Vec<bool> = vec![false; n];
    for _ in 0..(parallel * procs).min(n) {
        queue.insert((now, seq), (next_call, Event::Start));
        seq += 1;
        next_call += 1;
    }
    while let Some(((t, _), (i, event))) = queue.pop_first() {
        now = now.max(t);
        let proc_ = owner(i);
        if dead == Some(proc_) {
            continue;
        }
        if kill_at_refresh_answer && dead.is_none() && refresh_in_flight[i] && matches!(event, Event::Response(_)) {
            eprintln!("process {proc_} dies at {} with the refresh answer", now - start);
            dead = Some(proc_);
            continue;
        }
        let pool = &mut pools[proc_];
        // The transaction: read, step, compare-and-set; a lost race steps again.
        let step = loop {
            let rev = store.rev;
            pool.load_shared("loc_1", store.data.as_deref()).unwrap();
            let before = calls[i].clone();
            let step = pool.step(&mut calls[i], "loc_1", event.clone(), now, 7);
            match pool.export_shared("loc_1", &[9u8; 24]).unwrap() {
                None => break step,
                Some(rec) if store.rev == rev => {
                    store.rev += 1;
                    store.data = Some(rec);
                    store.writes += 1;
                    break step;
                }
                Some(_) => {
                    store.lost_races += 1;
                    calls[i] = before;
                }
            }
        };
        refresh_in_flight[i] = matches!(step, Step::SendRefresh(_));
        let next = match step {
            Step::Send(req) | Step::SendRefresh(req) => {
                let arrive = now + latency;
                let answer = p.handle(&req, arrive);
                Some((arrive + latency, answer.map_or(Event::TransportError, Event::Response)))
            }
            Step::Persist(_) => Some((now, Event::Resume)), // saved by the write above
            Step::Wait { wait_ms, .. } => Some((now + wait_ms, Event::Resume)),
            Step::Done(r) => {
                results.push(Ok(r.status));
                None
            }
            Step::Fail(e) | Step::Reauthorize(e) => {
                results.push(Err(e.kind()));
                None
            }
            Step::Mint { .. } => panic!("no minted sessions here"),
        };
        match next {
            Some((at, ev)) => {
                queue.insert((at, seq), (i, ev));
                seq += 1;
            }
            None if next_call < n => {
                // The next call goes to a live process.
                while next_call < n && dead == Some(owner(next_call)) {
                    next_call += 1;
                }
                if next_call < n {
                    queue.insert((now, seq), (next_call, Event::Start));
                    seq += 1;
                    next_call += 1;
                }
            }
            None => {}
        }
    }
    FleetOutcome { finished_at: now, results }
}

fn fleet(procs: usize, leeway: u64, store: &mut SharedStore, p: &mut Platform) -> Vec<Pool> {
    let pools: Vec<Pool> = (0..procs).map(|_| pool(Limits::default(), leeway)).collect();
    // One process logs in and writes the record; the others find it there.
    let mut first = pool(Limits::default(), leeway);
    first.load_shared("loc_1", None).unwrap();
    login(p, &mut first, T0);
    store.data = first.export_shared("loc_1", &[0u8; 24]).unwrap();
    store.rev = 1;
    pools
}

#[test]
fn fleet_of_four_paces_as_one_client() {
    let mut p = Platform::new(100, 10_000, 86_399_000);
    let mut store = SharedStore::default();
    let mut pools = fleet(4, 300_000, &mut store, &mut p);
    let out = simulate_fleet(&mut p, &mut pools, &mut store, 1000, 8, 15, T0, false);
    assert_eq!(out.results.len(), 1000);
    assert!(out.results.iter().all(|r| *r == Ok(200)));
    assert_eq!(p.too_many, 0, "no 429 across the fleet");
    let took = out.finished_at - T0;
    eprintln!("fleet of 4: 1000 calls in {took} ms ({:.4} x ideal), {} writes, {} lost races", took as f64 / 90_000.0, store.writes, store.lost_races);
    assert!((took as f64) <= 1.05 * 90_000.0, "took {took} ms");
}

#[test]
fn fleet_refreshes_once_per_due_point() {
    // 30 s tokens refreshed 1 s early over a ~90 s run: one refresh per due point across 4 processes.
    let mut p = Platform::new(100, 10_000, 30_000);
    let mut store = SharedStore::default();
    let mut pools = fleet(4, 1_000, &mut store, &mut p);
    let out = simulate_fleet(&mut p, &mut pools, &mut store, 1000, 8, 15, T0, false);
    assert!(out.results.iter().all(|r| *r == Ok(200)), "{:?}", out.results.iter().find(|r| r.is_err()));
    assert_eq!(p.invalid_grants, 0);
    assert_eq!(p.too_many, 0);
    let took = out.finished_at - T0;
    assert_eq!(u64::from(p.refreshes), took / 29_000, "one refresh per expiry ({took} ms run)");
}

#[test]
fn fleet_recovers_when_the_refreshing_process_dies_after_the_answer() {
    let mut p = Platform::new(100, 10_000, 60_000);
    let mut store = SharedStore::default();
    let mut pools = fleet(3, 1_000, &mut store, &mut p);
    // Two minutes later every token has expired: the first refresher dies with the answer.
    let out = simulate_fleet(&mut p, &mut pools, &mut store, 60, 4, 15, T0 + 120_000, true);
    assert!(out.results.len() >= 40, "the live processes' calls finish: {}", out.results.len());
    assert!(out.results.iter().all(|r| *r == Ok(200)), "{:?}", out.results);
    let took = out.finished_at - (T0 + 120_000);
    assert!(took < 30_000, "recovered inside the grace: {took} ms");
    assert_eq!(p.invalid_grants, 0, "the replay inside the grace got the same pair");
    assert_eq!(p.refreshes, 1, "one rotation");
}

#[test]
fn sealed_records_open_only_with_a_key_and_rotate() {
    let mut p = Platform::new(100, 10_000, 86_399_000);
    let (old, new) = ([1u8; 32], [2u8; 32]);
    let mut a = pool(Limits::default(), 300_000);
    a.set_sealer(Some(Sealer::new(&[&old]).unwrap()));
    a.load_shared("loc_1", None).unwrap();
    login(&mut p, &mut a, T0);
    let sealed = a.export_shared("loc_1", &[3u8; 24]).unwrap().unwrap();
    assert!(sealed.starts_with("hs1.") && !sealed.contains("at-1") && !sealed.contains("rt-1"));
    let mut b = pool(Limits::default(), 300_000);
    assert_eq!(b.load_shared("loc_1", Some(&sealed)).unwrap_err().kind(), ErrorKind::InvalidConfig);
    b.set_sealer(Some(Sealer::new(&[&[9u8; 32]]).unwrap()));
    assert_eq!(b.load_shared("loc_1", Some(&sealed)).unwrap_err().kind(), ErrorKind::StoreError);
    // Rotation: the new key seals, the old one still opens.
    b.set_sealer(Some(Sealer::new(&[&new, &old]).unwrap()));
    b.load_shared("loc_1", Some(&sealed)).unwrap();
    assert!(b.has_session("loc_1"));
    let mut c = get_call();
    assert!(matches!(b.step(&mut c, "loc_1", Event::Start, T0 + 1, 0), Step::Send(_)));
    let resealed = b.export_shared("loc_1", &[4u8; 24]).unwrap().unwrap();
    let mut only_new = pool(Limits::default(), 300_000);
    only_new.set_sealer(Some(Sealer::new(&[&new]).unwrap()));
    only_new.load_shared("loc_1", Some(&resealed)).unwrap();
    assert!(only_new.has_session("loc_1"));
    // A tampered record is refused.
    let mut bad = resealed.clone().into_bytes();
    let last = bad.len() - 2;
    bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
    assert_eq!(only_new.load_shared("loc_1", Some(std::str::from_utf8(&bad).unwrap())).unwrap_err().kind(), ErrorKind::StoreError);
}

#[test]
fn unsaved_tokens_survive_a_reload_of_an_older_record() {
    let mut p = Platform::new(100, 10_000, 60_000);
    let mut store = SharedStore::default();
    let mut pools = fleet(1, 1_000, &mut store, &mut p);
    let pl = &mut pools[0];
    let now = T0 + 120_000;
    pl.load_shared("loc_1", store.data.as_deref()).unwrap();
    let mut c = get_call();
    let Step::SendRefresh(req) = pl.step(&mut c, "loc_1", Event::Start, now, 0) else { panic!() };
    let r = p.handle(&req, now).unwrap();
    assert!(matches!(pl.step(&mut c, "loc_1", Event::Response(r), now, 0), Step::Persist(_)));
    // The store is down: the write fails, the call ends, the tokens stay unsaved.
    assert!(matches!(pl.step(&mut c, "loc_1", Event::PersistFailed, now, 0), Step::Fail(_)));
    // The store is back with the old record: the newer local tokens are kept and saved first.
    pl.load_shared("loc_1", store.data.as_deref()).unwrap();
    let mut d = get_call();
    assert!(matches!(pl.step(&mut d, "loc_1", Event::Start, now + 5_000, 0), Step::Persist(_)));
    let rec = pl.export_shared("loc_1", &[0u8; 24]).unwrap().unwrap();
    assert!(rec.contains("at-2"), "the refreshed token set is written");
    assert_eq!(p.refreshes, 1);
}

#[test]
fn a_lost_race_steps_again_on_the_winner_state() {
    let mut p = Platform::new(1, 10_000, 86_399_000);
    let mut store = SharedStore::default();
    let mut a = pool(Limits { max: 1, ..Limits::default() }, 300_000);
    a.load_shared("loc_1", None).unwrap();
    login(&mut p, &mut a, T0);
    store.data = a.export_shared("loc_1", &[0u8; 24]).unwrap();
    store.rev = 1;
    let mut b = pool(Limits { max: 1, ..Limits::default() }, 300_000);
    // Both read revision 1 and both would send the one request the window allows.
    a.load_shared("loc_1", store.data.as_deref()).unwrap();
    b.load_shared("loc_1", store.data.as_deref()).unwrap();
    let (mut ca, mut cb) = (get_call(), get_call());
    assert!(matches!(a.step(&mut ca, "loc_1", Event::Start, T0, 0), Step::Send(_)));
    let before = cb.clone();
    assert!(matches!(b.step(&mut cb, "loc_1", Event::Start, T0, 0), Step::Send(_)));
    // A writes first; B's compare-and-set on revision 1 fails: B puts its call back and steps
    // again on A's state, where the slot is taken.
    store.data = a.export_shared("loc_1", &[1u8; 24]).unwrap();
    store.rev = 2;
    assert!(b.export_shared("loc_1", &[2u8; 24]).unwrap().is_some(), "B has a change to write (and loses)");
    cb = before;
    b.load_shared("loc_1", store.data.as_deref()).unwrap();
    assert!(matches!(b.step(&mut cb, "loc_1", Event::Start, T0 + 1, 0), Step::Wait { reason: WaitReason::InFlight, .. }));
}

#[test]
fn a_lost_record_is_written_back_not_forgotten() {
    let mut p = Platform::new(100, 10_000, 86_399_000);
    let mut store = SharedStore::default();
    let mut pools = fleet(1, 300_000, &mut store, &mut p);
    let pl = &mut pools[0];
    pl.load_shared("loc_1", store.data.as_deref()).unwrap();
    let mut c = get_call();
    assert!(matches!(pl.step(&mut c, "loc_1", Event::Start, T0, 0), Step::Send(_)));
    // The store restarts empty: the process keeps its tokens and its pacing, and writes them back.
    pl.load_shared("loc_1", None).unwrap();
    assert!(pl.has_session("loc_1"));
    let mut d = get_call();
    assert!(matches!(pl.step(&mut d, "loc_1", Event::Start, T0 + 1, 0), Step::Persist(_)));
    let rec = pl.export_shared("loc_1", &[0u8; 24]).unwrap().expect("written back");
    assert!(rec.contains("at-1") && rec.contains("\"in_flight\":[[0,"), "{rec}");
    assert!(matches!(pl.step(&mut d, "loc_1", Event::Resume, T0 + 1, 0), Step::Send(_)), "saved by that write");
    // An empty record (forget) is not a lost one: the tokens go.
    pl.load_shared("loc_1", Some("{\"format\":1}")).unwrap();
    assert!(!pl.has_session("loc_1"));
}
