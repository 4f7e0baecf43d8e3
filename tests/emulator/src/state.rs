//! The emulator's mutable world: codes, tokens, rate-limit windows, stats and run-time knobs.
//! Nothing here does I/O; `routes` maps these outcomes onto HTTP.

use crate::config::EmulatorConfig;
use crate::prng::Prng;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, VecDeque};
use tokio::time::{Duration, Instant};

pub const DAY_MS: u64 = 86_400_000;

/// The registered app and its company: fixed for the emulator's life.
pub struct App {
    pub client_id: String,
    pub client_secret: String,
    pub company_id: String,
    pub locations: Vec<String>,
    pub user_id: String,
    pub code_ttl_secs: u64,
    pub webhook_url: Option<String>,
}

impl App {
    /// The platform's appId: the part of client_id before its first `-`.
    pub fn app_id(&self) -> &str {
        self.client_id.split('-').next().unwrap_or(&self.client_id)
    }
}

/// Knobs that `POST /_emulator/control` can change at run time.
#[derive(Clone, Debug, Serialize)]
pub struct Knobs {
    pub paused_locations: Vec<String>,
    pub fail_rate: f64,
    pub drop_after_rotate: u64,
    pub latency_ms: u64,
    pub burst_delay_ms: u64,
    pub burst_delay_max_ms: u64,
    pub burst_delay_count: u64,
    pub burst_gap_ms: u64,
    pub deny: bool,
    pub max: u64,
    pub interval_ms: u64,
    pub daily_limit: u64,
    pub refresh_grace_ms: u64,
    /// `expires_in` of access tokens from code exchanges, refreshes and client credentials.
    pub token_ttl_secs: u64,
    /// `expires_in` of location tokens minted by `POST /oauth/locationToken` (0: `token_ttl_secs`).
    pub location_token_ttl_secs: u64,
}

/// Who a token speaks for.
#[derive(Clone, Debug, PartialEq)]
pub enum Class {
    Location(String),
    Company,
}

/// What an access or refresh token grants.
#[derive(Clone, Debug)]
pub struct Grant {
    pub client_id: String,
    pub company_id: String,
    pub class: Class,
    pub scopes: Vec<String>,
    pub user_id: String,
    pub approved_locations: Option<Vec<String>>,
    /// The company token of a bulk installation (`isBulkInstallation`).
    pub bulk: bool,
}

impl Grant {
    /// The rate-limit and stats resource: the location, or the company.
    pub fn resource(&self) -> &str {
        match &self.class {
            Class::Location(l) => l,
            Class::Company => &self.company_id,
        }
    }
    pub fn has_scope(&self, s: &str) -> bool {
        self.scopes.iter().any(|x| x == s)
    }
}

#[derive(Clone)]
struct CodeRec {
    client_id: String,
    redirect_uri: String,
    scopes: Vec<String>,
    location: String,
    company_id: String,
    user_id: String,
    /// The locations the install approved (a bulk install: several; else the one location).
    approved: Vec<String>,
    bulk: bool,
    expires_at: Instant,
    used: bool,
}

struct AccessRec {
    grant: Grant,
    expires_at: Instant,
}

struct RefreshRec {
    grant: Grant,
    /// When first used, and the answer that use got (returned again within the grace).
    spent: Option<(Instant, String)>,
}

#[derive(Default)]
struct Window {
    hits: VecDeque<Instant>,
    day_start: Option<Instant>,
    day_count: u64,
}

/// Where a location's current burst stands (arrival order, before any burst delay).
struct Burst {
    last_arrival: Instant,
    /// 0-based position of the last arrival in its burst.
    index: u64,
}

/// Admission times of one resource's API requests within the last interval, and the most
/// there ever were at once.
#[derive(Default)]
struct Peak {
    recent: VecDeque<Instant>,
    max: u64,
}

#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct Counters {
    pub requests: u64,
    pub ok: u64,
    pub rate_limited: u64,
    pub unauthorized: u64,
    pub server_errors: u64,
    pub refreshes: u64,
    pub invalid_grants: u64,
    pub token_exchanges: u64,
    /// API requests held back by the burst-delay knob before they were counted.
    pub burst_delayed: u64,
}

impl Counters {
    fn add(&mut self, o: &Counters) {
        self.requests += o.requests;
        self.ok += o.ok;
        self.rate_limited += o.rate_limited;
        self.unauthorized += o.unauthorized;
        self.server_errors += o.server_errors;
        self.refreshes += o.refreshes;
        self.invalid_grants += o.invalid_grants;
        self.token_exchanges += o.token_exchanges;
        self.burst_delayed += o.burst_delayed;
    }
}

/// The answer of the rate limiter for one request.
pub struct Limit {
    pub allowed: bool,
    pub headers: [(&'static str, String); 5],
}

pub enum CodeOutcome {
    Issued {
        body: String,
        location: String,
        user_id: String,
    },
    NotFound {
        resource: String,
    },
}

pub enum RefreshOutcome {
    Rotated { body: String, drop: bool },
    Grace(String),
    Invalid,
    Paused,
}

pub struct State {
    pub prng: Prng,
    pub knobs: Knobs,
    codes: HashMap<String, CodeRec>,
    access: HashMap<String, AccessRec>,
    refresh: HashMap<String, RefreshRec>,
    windows: HashMap<(String, String), Window>,
    bursts: HashMap<String, Burst>,
    peaks: BTreeMap<String, Peak>,
    stats: BTreeMap<String, Counters>,
    timeline: Timeline,
    pub contacts: HashMap<String, Vec<Value>>,
    /// The approved locations of the last company install (code exchange with
    /// `user_type=Company`): the default locations of a bulk `INSTALL` webhook.
    pub company_install: Option<Vec<String>>,
}

/// Granularity at which API requests are kept for `GET /_emulator/timeline`.
pub const TIMELINE_GRAIN_MS: u64 = 10;

/// API requests and 429s per resource in `TIMELINE_GRAIN_MS` slots since the last reset.
struct Timeline {
    origin: Instant,
    origin_unix_ms: u64,
    /// slot → resource → [requests, rate_limited]
    slots: BTreeMap<u64, BTreeMap<String, [u64; 2]>>,
}

impl Timeline {
    fn new() -> Self {
        let origin_unix_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        Timeline {
            origin: Instant::now(),
            origin_unix_ms,
            slots: BTreeMap::new(),
        }
    }
}

/// Body of a successful token answer, field order as the platform sends it.
#[derive(Serialize)]
struct TokenBody<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    refresh_token: Option<&'a str>,
    scope: String,
    #[serde(rename = "userType")]
    user_type: &'static str,
    #[serde(rename = "locationId", skip_serializing_if = "Option::is_none")]
    location_id: Option<&'a str>,
    #[serde(rename = "companyId")]
    company_id: &'a str,
    #[serde(rename = "approvedLocations", skip_serializing_if = "Option::is_none")]
    approved_locations: Option<&'a [String]>,
    #[serde(rename = "isBulkInstallation")]
    is_bulk_installation: bool,
    #[serde(rename = "userId")]
    user_id: &'a str,
}

impl State {
    pub fn new(cfg: &EmulatorConfig, prng: Prng) -> Self {
        State {
            prng,
            knobs: Knobs {
                paused_locations: cfg.paused_locations.clone(),
                fail_rate: cfg.fail_rate,
                drop_after_rotate: cfg.drop_after_rotate,
                latency_ms: cfg.latency_ms,
                burst_delay_ms: cfg.burst_delay_ms,
                burst_delay_max_ms: cfg.burst_delay_max_ms,
                burst_delay_count: cfg.burst_delay_count,
                burst_gap_ms: cfg.burst_gap_ms,
                deny: cfg.deny,
                max: cfg.max,
                interval_ms: cfg.interval_ms,
                daily_limit: cfg.daily_limit,
                refresh_grace_ms: cfg.refresh_grace_ms,
                token_ttl_secs: cfg.token_ttl_secs,
                location_token_ttl_secs: cfg.location_token_ttl_secs,
            },
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            windows: HashMap::new(),
            bursts: HashMap::new(),
            peaks: BTreeMap::new(),
            stats: BTreeMap::new(),
            timeline: Timeline::new(),
            contacts: HashMap::new(),
            company_install: None,
        }
    }

    // ---- authorization codes -------------------------------------------------------

    /// `approved`: the locations of a bulk install (None: the one installing location).
    pub fn issue_code(
        &mut self,
        app: &App,
        redirect_uri: &str,
        scopes: Vec<String>,
        location: &str,
        approved: Option<Vec<String>>,
        now: Instant,
    ) -> String {
        let bulk = approved.is_some();
        let approved = approved.unwrap_or_else(|| vec![location.to_string()]);
        let code = self.prng.hex(40);
        self.codes.insert(
            code.clone(),
            CodeRec {
                client_id: app.client_id.clone(),
                redirect_uri: redirect_uri.to_string(),
                scopes,
                location: location.to_string(),
                company_id: app.company_id.clone(),
                user_id: app.user_id.clone(),
                approved,
                bulk,
                expires_at: now + Duration::from_secs(app.code_ttl_secs),
                used: false,
            },
        );
        code
    }

    /// Single use; bound to client and redirect_uri; `company` picks a company token.
    pub fn exchange_code(
        &mut self,
        client_id: &str,
        code: &str,
        redirect_uri: Option<&str>,
        company: bool,
        now: Instant,
    ) -> CodeOutcome {
        let c = match self.codes.get_mut(code) {
            None => {
                return CodeOutcome::NotFound {
                    resource: "unknown".into(),
                }
            }
            Some(c) => c,
        };
        if c.used
            || c.client_id != client_id
            || redirect_uri != Some(c.redirect_uri.as_str())
            || now >= c.expires_at
        {
            return CodeOutcome::NotFound {
                resource: c.location.clone(),
            };
        }
        c.used = true;
        let c = c.clone();
        let grant = Grant {
            client_id: c.client_id,
            company_id: c.company_id,
            class: if company {
                Class::Company
            } else {
                Class::Location(c.location.clone())
            },
            scopes: c.scopes,
            user_id: c.user_id.clone(),
            approved_locations: company.then(|| c.approved.clone()),
            bulk: company && c.bulk,
        };
        if company {
            self.company_install = Some(c.approved.clone());
        }
        // Counted under the token's resource: the company for a company token.
        let resource = grant.resource().to_string();
        let body = self.mint(grant, now);
        self.stat(&resource, |s| s.token_exchanges += 1);
        CodeOutcome::Issued {
            body,
            location: c.location,
            user_id: c.user_id,
        }
    }

    // ---- tokens --------------------------------------------------------------------

    /// Creates an access + refresh pair for `grant`; returns the token answer body.
    pub fn mint(&mut self, grant: Grant, now: Instant) -> String {
        let ttl = self.knobs.token_ttl_secs;
        self.issue(grant, now, ttl, true)
    }

    /// A location token minted from a company token (`POST /oauth/locationToken`): an access
    /// token only, as the platform answers (no refresh token: it is minted again when due),
    /// living `location_token_ttl_secs` (0: `token_ttl_secs`).
    pub fn mint_location(&mut self, grant: Grant, now: Instant) -> String {
        let ttl = match self.knobs.location_token_ttl_secs {
            0 => self.knobs.token_ttl_secs,
            n => n,
        };
        self.issue(grant, now, ttl, false)
    }

    fn issue(&mut self, grant: Grant, now: Instant, ttl: u64, with_refresh: bool) -> String {
        let access = self.prng.token(48);
        let refresh = with_refresh.then(|| self.prng.token(48));
        let body = TokenBody {
            access_token: &access,
            token_type: "Bearer",
            expires_in: ttl,
            refresh_token: refresh.as_deref(),
            scope: grant.scopes.join(" "),
            user_type: match grant.class {
                Class::Location(_) => "Location",
                Class::Company => "Company",
            },
            location_id: match &grant.class {
                Class::Location(l) => Some(l),
                Class::Company => None,
            },
            company_id: &grant.company_id,
            approved_locations: grant.approved_locations.as_deref(),
            is_bulk_installation: grant.bulk,
            user_id: &grant.user_id,
        };
        let body = serde_json::to_string(&body).unwrap_or_default();
        self.access.insert(
            access,
            AccessRec {
                grant: grant.clone(),
                expires_at: now + Duration::from_secs(ttl),
            },
        );
        if let Some(refresh) = refresh {
            self.refresh
                .insert(refresh, RefreshRec { grant, spent: None });
        }
        body
    }

    /// The platform's side of an uninstall: every token of `location` stops working, and
    /// company tokens no longer list it among their approved locations.
    pub fn revoke_location(&mut self, location: &str) {
        let is_loc = |g: &Grant| matches!(&g.class, Class::Location(l) if l == location);
        self.access.retain(|_, a| !is_loc(&a.grant));
        self.refresh.retain(|_, r| !is_loc(&r.grant));
        let drop_it = |g: &mut Grant| {
            if let Some(list) = g.approved_locations.as_mut() {
                list.retain(|l| l != location);
            }
        };
        self.access.values_mut().for_each(|a| drop_it(&mut a.grant));
        self.refresh
            .values_mut()
            .for_each(|r| drop_it(&mut r.grant));
        if let Some(list) = self.company_install.as_mut() {
            list.retain(|l| l != location);
        }
    }

    /// A live access token's grant.
    pub fn lookup_access(&self, token: &str, now: Instant) -> Option<Grant> {
        self.access
            .get(token)
            .filter(|a| now < a.expires_at)
            .map(|a| a.grant.clone())
    }

    /// Single-use rotation with the platform's grace for repeats of the same token.
    pub fn refresh(&mut self, client_id: &str, token: &str, now: Instant) -> RefreshOutcome {
        let grace = Duration::from_millis(self.knobs.refresh_grace_ms);
        let Some(rec) = self.refresh.get(token) else {
            self.stat("unknown", |s| s.invalid_grants += 1);
            return RefreshOutcome::Invalid;
        };
        let resource = rec.grant.resource().to_string();
        if rec.grant.client_id != client_id {
            self.stat(&resource, |s| s.invalid_grants += 1);
            return RefreshOutcome::Invalid;
        }
        if let Some((at, body)) = &rec.spent {
            if now.saturating_duration_since(*at) <= grace {
                let body = body.clone();
                self.stat(&resource, |s| s.refreshes += 1);
                return RefreshOutcome::Grace(body);
            }
            self.stat(&resource, |s| s.invalid_grants += 1);
            return RefreshOutcome::Invalid;
        }
        if let Class::Location(l) = &rec.grant.class {
            if self.knobs.paused_locations.iter().any(|p| p == l) {
                return RefreshOutcome::Paused;
            }
        }
        let grant = rec.grant.clone();
        let body = self.mint(grant, now);
        if let Some(rec) = self.refresh.get_mut(token) {
            rec.spent = Some((now, body.clone()));
        }
        self.stat(&resource, |s| s.refreshes += 1);
        let drop = self.knobs.drop_after_rotate > 0;
        if drop {
            self.knobs.drop_after_rotate -= 1;
        }
        RefreshOutcome::Rotated { body, drop }
    }

    // ---- rate limits ---------------------------------------------------------------

    /// How long an API request of `resource` arriving at `arrival` waits before it reaches
    /// the rate limiter: the first `burst_delay_count` requests after `burst_gap_ms` without
    /// requests wait `burst_delay_ms` up to `burst_delay_max_ms`, spread evenly by their
    /// position in the burst (arrival order). Call once per request, in arrival order.
    pub fn burst_delay(&mut self, resource: &str, arrival: Instant) -> Duration {
        let gap = Duration::from_millis(self.knobs.burst_gap_ms);
        let index = match self.bursts.get_mut(resource) {
            Some(b) => {
                b.index = if arrival.saturating_duration_since(b.last_arrival) >= gap {
                    0
                } else {
                    b.index.saturating_add(1)
                };
                b.last_arrival = arrival;
                b.index
            }
            None => {
                self.bursts.insert(
                    resource.to_string(),
                    Burst {
                        last_arrival: arrival,
                        index: 0,
                    },
                );
                0
            }
        };
        let Knobs {
            burst_delay_ms: lo,
            burst_delay_max_ms: hi,
            burst_delay_count: count,
            ..
        } = self.knobs;
        let hi = hi.max(lo);
        if hi == 0 || index >= count {
            return Duration::ZERO;
        }
        let spread_us = (hi - lo).saturating_mul(1000);
        let extra_us = match count {
            1 => 0,
            n => spread_us.saturating_mul(index) / (n - 1),
        };
        self.stat(resource, |s| s.burst_delayed += 1);
        Duration::from_millis(lo) + Duration::from_micros(extra_us)
    }

    /// Sliding window of `max` per `interval_ms` plus the daily cap; counts only allowed
    /// requests. Headers carry the numbers after this request. `now` is the request's
    /// admission time: the caller takes it while holding the state, so admission times
    /// never go backwards. Every request (429s included) also counts towards the most
    /// requests of its resource in any `interval_ms` (`max_in_interval` in the stats).
    pub fn rate(&mut self, client_id: &str, resource: &str, now: Instant) -> Limit {
        let Knobs {
            max,
            interval_ms,
            daily_limit,
            ..
        } = self.knobs;
        let w = self
            .windows
            .entry((client_id.to_string(), resource.to_string()))
            .or_default();
        let interval = Duration::from_millis(interval_ms);
        while w
            .hits
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= interval)
        {
            w.hits.pop_front();
        }
        match w.day_start {
            Some(s) if now.saturating_duration_since(s) < Duration::from_millis(DAY_MS) => {}
            _ => {
                w.day_start = Some(now);
                w.day_count = 0;
            }
        }
        let allowed = (w.hits.len() as u64) < max && w.day_count < daily_limit;
        if allowed {
            w.hits.push_back(now);
            w.day_count += 1;
        }
        let remaining = max.saturating_sub(w.hits.len() as u64);
        let daily_remaining = daily_limit.saturating_sub(w.day_count);
        self.admit(resource, now, interval);
        Limit {
            allowed,
            headers: [
                ("X-RateLimit-Limit-Daily", daily_limit.to_string()),
                ("X-RateLimit-Daily-Remaining", daily_remaining.to_string()),
                ("X-RateLimit-Interval-Milliseconds", interval_ms.to_string()),
                ("X-RateLimit-Max", max.to_string()),
                ("X-RateLimit-Remaining", remaining.to_string()),
            ],
        }
    }

    /// Records one admission of `resource` at `now` (non-decreasing per resource) and
    /// updates its most admissions within any half-open interval `(t - interval, t]`. Such
    /// a maximum is always reached at an admission, so counting the admissions of the last
    /// interval after each one is exact; each time enters and leaves the queue once.
    fn admit(&mut self, resource: &str, now: Instant, interval: Duration) {
        if !self.peaks.contains_key(resource) {
            self.peaks.insert(resource.to_string(), Peak::default());
        }
        let Some(p) = self.peaks.get_mut(resource) else {
            return;
        };
        while p
            .recent
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= interval)
        {
            p.recent.pop_front();
        }
        p.recent.push_back(now);
        p.max = p.max.max(p.recent.len() as u64);
    }

    // ---- stats ---------------------------------------------------------------------

    pub fn stat(&mut self, resource: &str, f: impl FnOnce(&mut Counters)) {
        f(self.stats.entry(resource.to_string()).or_default());
    }

    pub fn stats_json(&self) -> Value {
        let mut totals = Counters::default();
        for c in self.stats.values() {
            totals.add(c);
        }
        let by_location: BTreeMap<&str, u64> = self
            .peaks
            .iter()
            .map(|(k, p)| (k.as_str(), p.max))
            .collect();
        serde_json::json!({
            "resources": self.stats,
            "totals": totals,
            "max_in_interval": by_location.values().copied().max().unwrap_or(0),
            "max_in_interval_by_location": by_location,
        })
    }

    /// Counts one API request (and whether it was a 429) in the timeline.
    pub fn record(&mut self, resource: &str, status: u16, now: Instant) {
        let t = &mut self.timeline;
        let slot = now.saturating_duration_since(t.origin).as_millis() as u64 / TIMELINE_GRAIN_MS;
        let c = t
            .slots
            .entry(slot)
            .or_default()
            .entry(resource.to_string())
            .or_default();
        c[0] += 1;
        if status == 429 {
            c[1] += 1;
        }
    }

    /// API requests and 429s per `bucket_ms` (a multiple of the grain) from the last reset
    /// to the last request, empty buckets included, per resource and in total.
    pub fn timeline_json(&self, bucket_ms: u64) -> Value {
        let per = (bucket_ms / TIMELINE_GRAIN_MS).max(1);
        let bucket_ms = per * TIMELINE_GRAIN_MS;
        let t = &self.timeline;
        let last = t.slots.keys().next_back().map_or(0, |s| s / per + 1);
        type Bucket<'a> = (u64, u64, BTreeMap<&'a str, [u64; 2]>);
        let mut buckets: Vec<Bucket> = (0..last).map(|_| (0, 0, BTreeMap::new())).collect();
        for (slot, res) in &t.slots {
            let b = &mut buckets[(slot / per) as usize];
            for (name, c) in res {
                b.0 += c[0];
                b.1 += c[1];
                let e = b.2.entry(name.as_str()).or_default();
                e[0] += c[0];
                e[1] += c[1];
            }
        }
        let buckets: Vec<Value> = buckets
            .into_iter()
            .enumerate()
            .map(|(i, (requests, limited, res))| {
                let start = i as u64 * bucket_ms;
                let resources: serde_json::Map<String, Value> = res
                    .into_iter()
                    .map(|(k, c)| {
                        (
                            k.to_string(),
                            serde_json::json!({"requests": c[0], "rate_limited": c[1]}),
                        )
                    })
                    .collect();
                serde_json::json!({
                    "start_ms": start,
                    "start_unix_ms": t.origin_unix_ms + start,
                    "requests": requests,
                    "rate_limited": limited,
                    "resources": resources,
                })
            })
            .collect();
        serde_json::json!({
            "bucket_ms": bucket_ms,
            "started_unix_ms": t.origin_unix_ms,
            "buckets": buckets,
        })
    }

    /// Clears stats (with the most requests in an interval), the timeline, rate-limit
    /// windows and bursts (tokens and codes stay).
    pub fn reset(&mut self) {
        self.stats.clear();
        self.windows.clear();
        self.bursts.clear();
        self.peaks.clear();
        self.timeline = Timeline::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(cfg: EmulatorConfig) -> State {
        State::new(&cfg, Prng::new(1))
    }

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    fn peaks(st: &State) -> (u64, Value) {
        let j = st.stats_json();
        (
            j["max_in_interval"].as_u64().unwrap(),
            j["max_in_interval_by_location"].clone(),
        )
    }

    #[test]
    fn max_in_interval_is_exact_at_the_edges() {
        let mut st = state(EmulatorConfig {
            max: 3,
            interval_ms: 1000,
            ..Default::default()
        });
        let t0 = Instant::now();
        assert_eq!(peaks(&st), (0, serde_json::json!({})));
        let mut allowed = Vec::new();
        // (t-1000, t] windows: 0,0,100,200,999 -> 5; at 1000 both 0s have left -> 4.
        for at in [0, 0, 100, 200, 999, 1000, 1100, 1999] {
            allowed.push(st.rate("c", "loc_1", t0 + ms(at)).allowed);
        }
        assert_eq!(
            allowed,
            [true, true, true, false, false, true, true, true],
            "429s count towards the interval maximum but not the limiter's window"
        );
        st.rate("c", "loc_2", t0 + ms(5));
        assert_eq!(peaks(&st), (5, serde_json::json!({"loc_1": 5, "loc_2": 1})));
        // Requests exactly one interval apart never share an interval.
        let mut st = state(EmulatorConfig {
            interval_ms: 1000,
            ..Default::default()
        });
        for k in 0..10 {
            st.rate("c", "loc_1", t0 + ms(k * 1000));
        }
        assert_eq!(peaks(&st).0, 1);
        st.reset();
        assert_eq!(peaks(&st), (0, serde_json::json!({})));
    }

    #[test]
    fn max_in_interval_matches_brute_force() {
        let interval = 250;
        let mut st = state(EmulatorConfig {
            max: 40,
            interval_ms: interval,
            ..Default::default()
        });
        let mut rng = Prng::new(42);
        let t0 = Instant::now();
        let (mut at, mut times) = (0u64, Vec::new());
        for _ in 0..3000 {
            // Bursts and pauses: mostly 0-3 ms apart, sometimes 0-400 ms.
            at += if rng.next_u64().is_multiple_of(20) {
                rng.next_u64() % 400
            } else {
                rng.next_u64() % 4
            };
            times.push(at);
            st.rate("c", "loc_1", t0 + ms(at));
        }
        let brute = times
            .iter()
            .map(|&end| {
                times
                    .iter()
                    .filter(|&&t| t <= end && t + interval > end)
                    .count()
            })
            .max()
            .unwrap() as u64;
        assert!(brute > 40, "the pattern overruns the limit ({brute})");
        assert_eq!(peaks(&st).0, brute);
    }

    #[test]
    fn burst_delay_spreads_over_the_first_requests_of_each_burst() {
        let mut st = state(EmulatorConfig {
            burst_delay_ms: 70,
            burst_delay_max_ms: 190,
            burst_delay_count: 10,
            burst_gap_ms: 500,
            ..Default::default()
        });
        let t0 = Instant::now();
        let us = |d: Duration| d.as_micros() as u64;
        let first: Vec<u64> = (0..14)
            .map(|k| us(st.burst_delay("loc_1", t0 + ms(k * 40))))
            .collect();
        let want: Vec<u64> = (0..10)
            .map(|k| 70_000 + 120_000 * k / 9)
            .chain([0; 4])
            .collect();
        assert_eq!(first, want);
        assert_eq!(first[9], 190_000);
        // Another location has its own burst; 499 ms of quiet is still the same burst.
        assert_eq!(us(st.burst_delay("loc_2", t0 + ms(100))), 70_000);
        assert_eq!(us(st.burst_delay("loc_1", t0 + ms(13 * 40 + 499))), 0);
        // 500 ms of quiet starts a new burst.
        let next = t0 + ms(13 * 40 + 499 + 500);
        assert_eq!(us(st.burst_delay("loc_1", next)), 70_000);
        assert_eq!(us(st.burst_delay("loc_1", next + ms(1))), 83_333);
        assert_eq!(st.stats_json()["totals"]["burst_delayed"], 13);
        // A max below the min is one fixed delay; one request per burst; off.
        st.knobs.burst_delay_max_ms = 0;
        assert_eq!(us(st.burst_delay("loc_1", next + ms(2))), 70_000);
        st.knobs.burst_delay_count = 1;
        let later = next + ms(2000);
        assert_eq!(us(st.burst_delay("loc_1", later)), 70_000);
        assert_eq!(us(st.burst_delay("loc_1", later + ms(1))), 0);
        st.knobs.burst_delay_ms = 0;
        assert_eq!(us(st.burst_delay("loc_1", later + ms(5000))), 0);
        // Reset forgets bursts: the next request starts one.
        st.knobs.burst_delay_ms = 10;
        st.burst_delay("loc_3", later);
        st.reset();
        assert_eq!(us(st.burst_delay("loc_3", later + ms(1))), 10_000);
    }
}
