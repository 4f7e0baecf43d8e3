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
    pub token_ttl_secs: u64,
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
    pub deny: bool,
    pub max: u64,
    pub interval_ms: u64,
    pub daily_limit: u64,
    pub refresh_grace_ms: u64,
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
    stats: BTreeMap<String, Counters>,
    pub contacts: HashMap<String, Vec<Value>>,
}

/// Body of a successful token answer, field order as the platform sends it.
#[derive(Serialize)]
struct TokenBody<'a> {
    access_token: &'a str,
    token_type: &'static str,
    expires_in: u64,
    refresh_token: &'a str,
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
                deny: cfg.deny,
                max: cfg.max,
                interval_ms: cfg.interval_ms,
                daily_limit: cfg.daily_limit,
                refresh_grace_ms: cfg.refresh_grace_ms,
            },
            codes: HashMap::new(),
            access: HashMap::new(),
            refresh: HashMap::new(),
            windows: HashMap::new(),
            stats: BTreeMap::new(),
            contacts: HashMap::new(),
        }
    }

    // ---- authorization codes -------------------------------------------------------

    pub fn issue_code(
        &mut self,
        app: &App,
        redirect_uri: &str,
        scopes: Vec<String>,
        location: &str,
        now: Instant,
    ) -> String {
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
                expires_at: now + Duration::from_secs(app.code_ttl_secs),
                used: false,
            },
        );
        code
    }

    /// Single use; bound to client and redirect_uri; `company` picks a company token.
    pub fn exchange_code(
        &mut self,
        app: &App,
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
            approved_locations: company.then(|| vec![c.location.clone()]),
        };
        let body = self.mint(app, grant, now);
        self.stat(&c.location, |s| s.token_exchanges += 1);
        CodeOutcome::Issued {
            body,
            location: c.location,
            user_id: c.user_id,
        }
    }

    // ---- tokens --------------------------------------------------------------------

    /// Creates an access + refresh pair for `grant`; returns the token answer body.
    pub fn mint(&mut self, app: &App, grant: Grant, now: Instant) -> String {
        let access = self.prng.token(48);
        let refresh = self.prng.token(48);
        let body = TokenBody {
            access_token: &access,
            token_type: "Bearer",
            expires_in: app.token_ttl_secs,
            refresh_token: &refresh,
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
            is_bulk_installation: false,
            user_id: &grant.user_id,
        };
        let body = serde_json::to_string(&body).unwrap_or_default();
        self.access.insert(
            access,
            AccessRec {
                grant: grant.clone(),
                expires_at: now + Duration::from_secs(app.token_ttl_secs),
            },
        );
        self.refresh
            .insert(refresh, RefreshRec { grant, spent: None });
        body
    }

    /// A live access token's grant.
    pub fn lookup_access(&self, token: &str, now: Instant) -> Option<Grant> {
        self.access
            .get(token)
            .filter(|a| now < a.expires_at)
            .map(|a| a.grant.clone())
    }

    /// Single-use rotation with the platform's grace for repeats of the same token.
    pub fn refresh(
        &mut self,
        app: &App,
        client_id: &str,
        token: &str,
        now: Instant,
    ) -> RefreshOutcome {
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
        let body = self.mint(app, grant, now);
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

    /// Sliding window of `max` per `interval_ms` plus the daily cap; counts only allowed
    /// requests. Headers carry the numbers after this request.
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

    // ---- stats ---------------------------------------------------------------------

    pub fn stat(&mut self, resource: &str, f: impl FnOnce(&mut Counters)) {
        f(self.stats.entry(resource.to_string()).or_default());
    }

    pub fn stats_json(&self) -> Value {
        let mut totals = Counters::default();
        for c in self.stats.values() {
            totals.add(c);
        }
        serde_json::json!({ "resources": self.stats, "totals": totals })
    }

    /// Clears stats and rate-limit windows (tokens and codes stay).
    pub fn reset(&mut self) {
        self.stats.clear();
        self.windows.clear();
    }
}
