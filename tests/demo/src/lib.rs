//! The end-to-end demo driver: authorize each location through the emulator's
//! authorization page, exchange the codes, then make paced API calls across the locations
//! with the core's [`Pool`] / [`Call`] loop over blocking HTTP (`ureq`), with tokens that
//! expire mid-run. The driver only does I/O, time, randomness and storage: every protocol
//! decision (pacing, refresh, retries) comes from the core.
//!
//! [`verdict`] holds the demo's pass/fail rules (used by this driver for its own run and by
//! [`runner`] for every driver); [`runner`] runs any driver command against a fresh emulator.

pub mod install;
pub mod install_driver;
pub mod runner;
pub mod verdict;

pub use verdict::ideal_ms;
use verdict::{judge, DriverLine, Evidence, Plan, Stats};

use hoopauth::{
    generate_state, parse_callback, parse_token_response, ApiRequest, AuthorizationParams, Call, CallOptions, Config,
    ConfigOptions, Event, Grant, Limits, Method, Pool, Request, Response, Secret, SessionOptions, Step,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// API calls in all, spread evenly over the locations.
    pub calls: usize,
    pub locations: Vec<String>,
    /// Threads per location sharing that location's session and limiter.
    pub workers_per_location: usize,
    /// The session's refresh leeway (refresh this long before expiry).
    pub refresh_leeway_ms: u64,
    /// The limits to pace by until the first answer's `X-RateLimit-*` headers arrive
    /// (`None`: the core's defaults, the platform's 100 per 10 s).
    pub max: Option<u32>,
    pub interval_ms: Option<u64>,
    /// Port in the redirect URI (nothing needs to listen there).
    pub redirect_port: u16,
    /// Print progress to stderr.
    pub verbose: bool,
}

impl Options {
    pub fn new(base_url: &str, client_id: &str, client_secret: &str) -> Self {
        Options {
            base_url: base_url.trim_end_matches('/').to_owned(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            calls: 1000,
            locations: vec!["loc_1".into(), "loc_2".into(), "loc_3".into()],
            workers_per_location: 2,
            refresh_leeway_ms: 1000,
            max: None,
            interval_ms: None,
            redirect_port: 8719,
            verbose: false,
        }
    }
}

/// Per-location results: what the driver saw and what the emulator counted.
#[derive(Clone, Debug, Default)]
pub struct LocationReport {
    pub calls: usize,
    pub ok: usize,
    pub failed: usize,
    pub failures: BTreeMap<String, usize>,
    /// Refresh requests the driver sent.
    pub refresh_sends: u64,
    /// Refreshed token sets the driver persisted.
    pub persists: u64,
    /// `expires_in` of the first token set, in ms.
    pub token_ttl_ms: u64,
    /// How many times the token's refresh point (expiry − leeway) could have been crossed
    /// in the run: the most refreshes a correct client may make ([`Plan::refresh_bound`]).
    pub expiries_crossed: u64,
    pub emu_requests: u64,
    pub emu_rate_limited: u64,
    pub emu_refreshes: u64,
    pub emu_invalid_grants: u64,
    pub ideal_ms: u64,
}

/// The whole run.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub calls: usize,
    pub ok: usize,
    pub failed: usize,
    /// 429 answers (the emulator's count).
    pub rate_limited: u64,
    /// Refused grants (the emulator's count, all resources).
    pub invalid_grants: u64,
    pub refreshes: u64,
    pub max: u64,
    pub interval_ms: u64,
    pub refresh_leeway_ms: u64,
    pub wall_ms: u64,
    /// The time the limits force: max over locations of `(ceil(n/max) − 1) · interval`.
    pub ideal_ms: u64,
    pub locations: BTreeMap<String, LocationReport>,
    /// Why the run failed; empty when it passed.
    pub problems: Vec<String>,
}

impl Report {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }

    fn by_location(&self, f: impl Fn(&LocationReport) -> u64) -> BTreeMap<String, u64> {
        self.locations.iter().map(|(k, v)| (k.clone(), f(v))).collect()
    }

    fn failures(&self) -> BTreeMap<String, u64> {
        let mut all = BTreeMap::new();
        for l in self.locations.values() {
            for (k, n) in &l.failures {
                *all.entry(k.clone()).or_default() += *n as u64;
            }
        }
        all
    }

    /// What this driver says about its run, as the verdict reads it (the same fields as
    /// [`Report::to_json`]).
    pub fn driver_line(&self) -> DriverLine {
        DriverLine {
            calls: Some(self.calls as u64),
            ok: Some(self.ok as u64),
            failed: Some(self.failed as u64),
            failures: self.failures(),
            wall_ms: Some(self.wall_ms),
            refresh_sends: Some(self.by_location(|l| l.refresh_sends)),
            persists: Some(self.by_location(|l| l.persists)),
        }
    }

    /// One JSON line (no secrets).
    pub fn to_json(&self) -> String {
        let by = |f: &dyn Fn(&LocationReport) -> u64| -> Value {
            Value::Object(self.locations.iter().map(|(k, v)| (k.clone(), json!(f(v)))).collect())
        };
        json!({
            "driver": "rust",
            "calls": self.calls,
            "ok": self.ok,
            "failed": self.failed,
            "failures": self.failures(),
            "refresh_sends_by_location": by(&|l| l.refresh_sends),
            "persists_by_location": by(&|l| l.persists),
            "rate_limited": self.rate_limited,
            "invalid_grants": self.invalid_grants,
            "refreshes": self.refreshes,
            "refreshes_by_location": by(&|l| l.emu_refreshes),
            "expiries_by_location": by(&|l| l.expiries_crossed),
            "refresh_leeway_ms": self.refresh_leeway_ms,
            "token_ttl_ms": self.locations.values().map(|l| l.token_ttl_ms).max().unwrap_or(0),
            "max": self.max,
            "interval_ms": self.interval_ms,
            "wall_ms": self.wall_ms,
            "ideal_ms": self.ideal_ms,
            "pass": self.passed(),
            "problems": self.problems,
        })
        .to_string()
    }

    /// A few lines for people.
    pub fn human(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "hoopauth demo (Rust driver): {} calls over {} locations, limits {}/{} ms, refresh leeway {} ms\n",
            self.calls,
            self.locations.len(),
            self.max,
            self.interval_ms,
            self.refresh_leeway_ms
        ));
        for (id, l) in &self.locations {
            s.push_str(&format!(
                "  {id}: {} calls, {} ok, {} failed, token life {} s, refreshes {} (expiries crossed {}), 429s {}, ideal {:.2} s\n",
                l.calls,
                l.ok,
                l.failed,
                l.token_ttl_ms / 1000,
                l.emu_refreshes,
                l.expiries_crossed,
                l.emu_rate_limited,
                l.ideal_ms as f64 / 1000.0
            ));
        }
        s.push_str(&format!(
            "  total: {} ok / {} calls, 429s {}, refreshes {}, invalid grants {}, wall {:.2} s vs ideal {:.2} s (+{:.2} s)\n",
            self.ok,
            self.calls,
            self.rate_limited,
            self.refreshes,
            self.invalid_grants,
            self.wall_ms as f64 / 1000.0,
            self.ideal_ms as f64 / 1000.0,
            self.wall_ms.saturating_sub(self.ideal_ms) as f64 / 1000.0
        ));
        if self.passed() {
            s.push_str("  PASS\n");
        } else {
            for p in &self.problems {
                s.push_str(&format!("  FAIL: {p}\n"));
            }
        }
        s
    }
}

// ---- clock, randomness ---------------------------------------------------------------

/// Unix milliseconds that never go backwards (a monotonic clock anchored at start).
#[derive(Clone, Copy)]
struct Clock {
    base_unix_ms: u64,
    start: Instant,
}

impl Clock {
    fn new() -> Self {
        let base_unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        Clock { base_unix_ms, start: Instant::now() }
    }
    fn now_ms(&self) -> u64 {
        self.base_unix_ms + self.start.elapsed().as_millis() as u64
    }
}

/// xorshift64*, seeded from the OS (jitter and state bytes come from here; the core has no RNG).
struct Rng(u64);

impl Rng {
    fn new(salt: u64) -> Self {
        let mut seed = [0u8; 8];
        let os = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut seed)).is_ok();
        let mut s = u64::from_le_bytes(seed);
        if !os {
            s = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1);
        }
        s ^= salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Rng(if s == 0 { 0x2545_F491_4F6C_DD1D } else { s })
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() >> 56) as u8).collect()
    }
}

// ---- HTTP ----------------------------------------------------------------------------

struct Http {
    agent: ureq::Agent,
}

impl Http {
    fn new() -> Self {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(30)))
            .max_idle_connections_per_host(64)
            .build()
            .into();
        Http { agent }
    }

    /// Send a core request; the error is a short description (never a secret).
    fn send(&self, req: &Request) -> Result<Response, String> {
        let mut b = ureq::http::Request::builder().method(req.method.as_str()).uri(&req.url);
        for (k, v) in &req.headers {
            b = b.header(k.as_str(), v.as_str());
        }
        let result = if req.body.is_empty() && !req.method.has_body() {
            let r = b.body(()).map_err(|_| "cannot build the request".to_owned())?;
            self.agent.run(r)
        } else {
            let r = b.body(req.body.clone()).map_err(|_| "cannot build the request".to_owned())?;
            self.agent.run(r)
        };
        let mut resp = result.map_err(|e| format!("transport error: {}", transport_kind(&e)))?;
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let body = resp.body_mut().read_to_vec().map_err(|e| format!("transport error: {}", transport_kind(&e)))?;
        Ok(Response { status, headers, body })
    }

    fn get(&self, url: &str) -> Result<Response, String> {
        self.send(&Request { method: Method::Get, url: url.to_owned(), headers: Vec::new(), body: Vec::new() })
    }

    fn get_json(&self, url: &str) -> Result<Value, String> {
        let r = self.get(url)?;
        if r.status != 200 {
            return Err(format!("GET {url}: status {}", r.status));
        }
        serde_json::from_slice(&r.body).map_err(|_| format!("GET {url}: not JSON"))
    }
}

/// The error's variant only: ureq's messages may quote URLs, never bodies, but keep it short.
fn transport_kind(e: &ureq::Error) -> String {
    let s = format!("{e:?}");
    s.split(['(', ' ', '{']).next().unwrap_or("error").to_owned()
}

// ---- the journey -----------------------------------------------------------------------

struct Shared<'a> {
    pool: Mutex<Pool>,
    store: Mutex<HashMap<String, String>>,
    http: &'a Http,
    clock: Clock,
    verbose: bool,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[derive(Default)]
struct CallResult {
    ok: bool,
    failure: Option<String>,
    refresh_sends: u64,
    persists: u64,
}

impl Shared<'_> {
    fn step(&self, call: &mut Call, resource: &str, event: Event, rng: &mut Rng) -> Step {
        let now = self.clock.now_ms();
        lock(&self.pool).step(call, resource, event, now, rng.next())
    }

    /// One API call driven to completion; the pool lock is never held across I/O or sleeps.
    fn run_call(&self, resource: &str, rng: &mut Rng) -> CallResult {
        let request = ApiRequest::new(Method::Get, "/contacts/").query("locationId", resource);
        let mut call = Call::new(request, CallOptions::default());
        let mut out = CallResult::default();
        let mut step = self.step(&mut call, resource, Event::Start, rng);
        loop {
            step = match step {
                Step::Send(req) => {
                    let ev = match self.http.send(&req) {
                        Ok(resp) => Event::Response(resp),
                        Err(_) => Event::TransportError,
                    };
                    self.step(&mut call, resource, ev, rng)
                }
                Step::SendRefresh(req) => {
                    out.refresh_sends += 1;
                    if self.verbose {
                        eprintln!("[{}] {resource}: refreshing the token", self.clock.now_ms() % 100_000);
                    }
                    let ev = match self.http.send(&req) {
                        Ok(resp) => Event::Response(resp),
                        Err(_) => Event::TransportError,
                    };
                    self.step(&mut call, resource, ev, rng)
                }
                Step::Persist(stored) => {
                    out.persists += 1;
                    match serde_json::to_string(&stored) {
                        Ok(json) => {
                            lock(&self.store).insert(resource.to_owned(), json);
                        }
                        Err(_) => {
                            out.failure = Some("persist: cannot serialise the session".into());
                            return out;
                        }
                    }
                    self.step(&mut call, resource, Event::Resume, rng)
                }
                Step::Wait { wait_ms, .. } => {
                    std::thread::sleep(Duration::from_millis(wait_ms));
                    self.step(&mut call, resource, Event::Resume, rng)
                }
                Step::Done(_) => {
                    out.ok = true;
                    return out;
                }
                Step::Fail(e) | Step::Reauthorize(e) => {
                    out.failure = Some(e.kind().as_str().to_owned());
                    return out;
                }
                Step::Mint { .. } => {
                    // The demo's locations hold their own OAuth tokens: none is minted.
                    out.failure = Some("mint: no minted location in this scene".into());
                    return out;
                }
            }
        }
    }
}

/// Authorization page → callback → code exchange for one location: the token set.
fn authorize(
    config: &Config,
    http: &Http,
    clock: &Clock,
    rng: &mut Rng,
    location: &str,
) -> Result<hoopauth::TokenSet, String> {
    let mut state_bytes = [0u8; 32];
    if std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut state_bytes)).is_err() {
        state_bytes.copy_from_slice(&rng.bytes(32));
    }
    let state = generate_state(&state_bytes).map_err(|e| e.to_string())?;
    let params = AuthorizationParams {
        scopes: vec!["contacts.readonly".into(), "locations.readonly".into()],
        state: Some(state.clone()),
        ..Default::default()
    };
    let mut url = config.authorization_url(&params).map_err(|e| e.to_string())?;
    // Emulator-only: which location the (auto-consenting) user installs the app on.
    url.push_str("&location_id=");
    url.push_str(location);
    let page = http.get(&url)?;
    if page.status != 302 {
        return Err(format!("authorization page answered {} (expected a 302 redirect)", page.status));
    }
    let redirect = page.header("location").ok_or("the authorization page sent no Location header")?;
    let callback = parse_callback(redirect, Some(&state)).map_err(|e| e.to_string())?;
    let req = config
        .token_request(&Grant::AuthorizationCode { code: callback.code }, None)
        .map_err(|e| e.to_string())?;
    let sent_at = clock.now_ms();
    let resp = http.send(&req)?;
    let tokens = parse_token_response(resp.status, &resp.headers, &resp.body, sent_at).map_err(|e| e.to_string())?;
    Ok(tokens)
}

/// `GET {base_url}/_emulator/stats`.
pub fn emulator_stats(base_url: &str) -> Result<Value, String> {
    Http::new().get_json(&format!("{}/_emulator/stats", base_url.trim_end_matches('/')))
}

/// Run the whole journey. `Err` only when the run could not be made at all; a run that
/// saw 429s, refused grants or repeated refreshes returns a report with `problems`.
pub fn run(opts: &Options) -> Result<Report, String> {
    if opts.locations.is_empty() {
        return Err("no locations".into());
    }
    let clock = Clock::new();
    let started = Instant::now();
    let http = Http::new();
    let config = Config::new(ConfigOptions {
        client_id: opts.client_id.clone(),
        client_secret: Some(Secret::new(opts.client_secret.clone())),
        redirect_uri: Some(format!("http://127.0.0.1:{}/callback", opts.redirect_port)),
        marketplace: Some(opts.base_url.clone()),
        api_base: Some(opts.base_url.clone()),
        api_version: None,
    })
    .map_err(|e| e.to_string())?;
    let session_options = SessionOptions { refresh_leeway_ms: opts.refresh_leeway_ms, ..Default::default() };
    let defaults = Limits::default();
    let limits = Limits {
        max: opts.max.unwrap_or(defaults.max),
        interval_ms: opts.interval_ms.unwrap_or(defaults.interval_ms),
        ..defaults
    };
    let mut pool = Pool::new(config.clone(), session_options, limits);
    let mut store = HashMap::new();
    let mut rng = Rng::new(0);
    let mut issued: HashMap<String, u64> = HashMap::new(); // resource → the token's life (ms)
    for loc in &opts.locations {
        let tokens = authorize(&config, &http, &clock, &mut rng, loc).map_err(|e| format!("{loc}: {e}"))?;
        let ttl_ms = tokens.expires_in.unwrap_or(0).saturating_mul(1000);
        let resource = pool.load_tokens(None, tokens).map_err(|e| e.to_string())?;
        if &resource != loc {
            return Err(format!("authorized for {loc} but the token set names {resource}"));
        }
        if let Some(json) = pool.stored_json(&resource) {
            store.insert(resource.clone(), json);
        }
        issued.insert(resource, ttl_ms);
    }
    if opts.verbose {
        eprintln!("authorized {} locations in {} ms", opts.locations.len(), started.elapsed().as_millis());
    }

    let shared = Shared { pool: Mutex::new(pool), store: Mutex::new(store), http: &http, clock, verbose: opts.verbose };
    let n_loc = opts.locations.len();
    let per_loc: Vec<usize> = (0..n_loc).map(|i| opts.calls / n_loc + usize::from(i < opts.calls % n_loc)).collect();
    let next: Vec<AtomicUsize> = (0..n_loc).map(|_| AtomicUsize::new(0)).collect();
    let results: Mutex<HashMap<String, LocationReport>> = Mutex::new(HashMap::new());
    let workers = opts.workers_per_location.max(1);
    std::thread::scope(|scope| {
        for (i, loc) in opts.locations.iter().enumerate() {
            for w in 0..workers {
                let (shared, next, per_loc, results) = (&shared, &next, &per_loc, &results);
                scope.spawn(move || {
                    let mut rng = Rng::new((i * 1000 + w + 1) as u64);
                    let mut mine = LocationReport::default();
                    let total = per_loc.get(i).copied().unwrap_or(0);
                    let Some(counter) = next.get(i) else { return };
                    while counter.fetch_add(1, Ordering::SeqCst) < total {
                        let r = shared.run_call(loc, &mut rng);
                        mine.calls += 1;
                        mine.refresh_sends += r.refresh_sends;
                        mine.persists += r.persists;
                        if r.ok {
                            mine.ok += 1;
                        } else {
                            mine.failed += 1;
                            *mine.failures.entry(r.failure.unwrap_or_default()).or_default() += 1;
                        }
                    }
                    let mut res = lock(results);
                    let agg = res.entry(loc.clone()).or_default();
                    agg.calls += mine.calls;
                    agg.ok += mine.ok;
                    agg.failed += mine.failed;
                    agg.refresh_sends += mine.refresh_sends;
                    agg.persists += mine.persists;
                    for (k, v) in mine.failures {
                        *agg.failures.entry(k).or_default() += v;
                    }
                });
            }
        }
    });
    let wall_ms = started.elapsed().as_millis() as u64;

    // The limits the platform announced (learned by the limiters from the headers).
    let pool = shared.pool.into_inner().unwrap_or_else(|e| e.into_inner());
    let learned = opts.locations.iter().find_map(|l| pool.limiters().get(l)).map(|l| l.limits()).unwrap_or_default();
    let (max, interval_ms) = (u64::from(learned.max), learned.interval_ms);
    let stats = Stats::from_json(&http.get_json(&format!("{}/_emulator/stats", opts.base_url))?);

    let mut report = Report {
        max,
        interval_ms,
        refresh_leeway_ms: opts.refresh_leeway_ms,
        wall_ms,
        rate_limited: stats.totals.rate_limited,
        invalid_grants: stats.totals.invalid_grants,
        refreshes: stats.totals.refreshes,
        ..Default::default()
    };
    let plan = Plan {
        calls: opts.calls,
        locations: opts.locations.clone(),
        max,
        interval_ms,
        token_ttl_ms: issued.values().copied().max().unwrap_or(0),
        refresh_leeway_ms: opts.refresh_leeway_ms,
    };
    let bound = plan.refresh_bound(wall_ms).unwrap_or(0);
    let mut results = results.into_inner().unwrap_or_else(|e| e.into_inner());
    for (i, loc) in opts.locations.iter().enumerate() {
        let mut l = results.remove(loc).unwrap_or_default();
        let emu = stats.resource(loc);
        l.token_ttl_ms = issued.get(loc).copied().unwrap_or(0);
        l.expiries_crossed = bound;
        l.emu_requests = emu.requests;
        l.emu_rate_limited = emu.rate_limited;
        l.emu_refreshes = emu.refreshes;
        l.emu_invalid_grants = emu.invalid_grants;
        l.ideal_ms = ideal_ms(per_loc.get(i).copied().unwrap_or(0) as u64, max, interval_ms);
        report.calls += l.calls;
        report.ok += l.ok;
        report.failed += l.failed;
        report.ideal_ms = report.ideal_ms.max(l.ideal_ms);
        report.locations.insert(loc.clone(), l);
    }

    // The same verdict the runner gives every driver.
    let evidence = Evidence { exit_failure: None, line: Some(report.driver_line()), measured_wall_ms: wall_ms, stats };
    report.problems = judge("rust", &plan, &evidence).problems;
    Ok(report)
}
