//! Node binding (napi-rs): the low-level native module under `bindings-node/lib/`.
//!
//! Plain data in and out: camelCase objects, headers as `[name, value]` pairs, bodies as
//! strings. Every core error is thrown as a JS `Error` whose message is the core error's
//! `Display` (`"<kind>: <message>"`) and which carries `kind`, `status` and `retryAfterMs`.
//! The JS layer (`lib/`) turns it into `HoopAuthError`. No panics, no unwraps on any path
//! reachable from JavaScript.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hoopauth as core;
use hoopauth::{ErrorKind, Secret};
use napi::bindgen_prelude::{Either, FnArgs, Function, JsObjectValue, Uint8Array, Unknown};
use napi::{Env, Status};
use napi_derive::napi;
use serde_json::{Map, Value};


// ---- errors ---------------------------------------------------------------------------

/// Throw `e` as a JS Error with `kind`, `status`, `retryAfterMs`; returns the marker error
/// that tells napi an exception is already pending.
fn throw(env: &Env, e: core::Error) -> napi::Error {
    let built = (|| -> napi::Result<()> {
        let mut obj = env.create_error(napi::Error::new(Status::GenericFailure, e.to_string()))?;
        obj.set_named_property("kind", e.kind().as_str())?;
        obj.set_named_property("status", e.status().map(u32::from))?;
        obj.set_named_property("retryAfterMs", e.retry_after_ms().map(|v| v as f64))?;
        env.throw(obj)?;
        Ok(())
    })();
    match built {
        Ok(()) => napi::Error::from_status(Status::PendingException),
        Err(_) => napi::Error::new(Status::GenericFailure, e.to_string()),
    }
}

trait OrThrow<T> {
    fn or_throw(self, env: &Env) -> napi::Result<T>;
}
impl<T> OrThrow<T> for core::Result<T> {
    fn or_throw(self, env: &Env) -> napi::Result<T> {
        self.map_err(|e| throw(env, e))
    }
}

fn arg_error(message: &str) -> core::Error {
    core::Error::new(ErrorKind::InvalidArgument, message)
}

/// A JS number as Unix milliseconds / a count: negative, NaN → 0; huge → u64::MAX.
fn ms(x: f64) -> u64 {
    if x.is_nan() || x <= 0.0 {
        0
    } else if x >= u64::MAX as f64 {
        u64::MAX
    } else {
        x as u64
    }
}
fn num(x: u64) -> f64 {
    x as f64
}
fn status_u16(x: u32) -> u16 {
    u16::try_from(x).unwrap_or(0)
}

// ---- plain data shapes ----------------------------------------------------------------

#[napi(object)]
pub struct AppOptions {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub redirect_uri: Option<String>,
    pub marketplace: Option<String>,
    pub api_base: Option<String>,
    pub api_version: Option<String>,
}

#[napi(object)]
pub struct HttpRequest {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

fn request_out(r: core::Request) -> HttpRequest {
    let body = match String::from_utf8(r.body) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    };
    HttpRequest { method: r.method.as_str().to_owned(), url: r.url, headers: r.headers, body }
}

/// A response as received (headers already as pairs: the JS layer normalises them).
#[napi(object)]
pub struct HttpResponse {
    pub status: u32,
    pub headers: Option<Vec<(String, String)>>,
    pub body: Option<String>,
}

#[napi(object)]
pub struct AuthorizationUrlOptions {
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub login_window_open_mode: Option<String>,
    pub version_id: Option<String>,
}

#[napi(object)]
pub struct TokenRequestOptions {
    pub grant: String,
    pub code: Option<String>,
    pub refresh_token: Option<String>,
    pub user_type: Option<String>,
}

#[napi(object)]
pub struct LocationTokenRequestOptions {
    pub agency_access_token: String,
    pub company_id: String,
    pub location_id: String,
}

/// An API request; `query` as pairs and `json` as text (the JS layer serialises).
#[napi(object)]
pub struct ApiRequestOptions {
    pub method: Option<String>,
    pub path: String,
    pub query: Option<Vec<(String, String)>>,
    pub json: Option<String>,
    pub version: Option<String>,
    pub access_token: Option<String>,
}

fn api_request(o: &ApiRequestOptions) -> core::Result<core::ApiRequest> {
    let method = core::Method::parse(o.method.as_deref().unwrap_or("GET"))?;
    Ok(core::ApiRequest {
        method,
        path: o.path.clone(),
        query: o.query.clone().unwrap_or_default(),
        json: o.json.clone(),
        version: o.version.clone(),
    })
}

#[napi(object, use_nullable = true)]
pub struct TokenSet {
    pub access_token: String,
    pub token_type: Option<String>,
    pub expires_in: Option<f64>,
    pub expires_at_ms: Option<f64>,
    pub refresh_token: Option<String>,
    pub scopes: Vec<String>,
    pub user_type: Option<String>,
    pub location_id: Option<String>,
    pub company_id: Option<String>,
    pub approved_locations: Option<Vec<String>>,
    pub plan_id: Option<String>,
    pub is_bulk_installation: Option<bool>,
    pub user_id: Option<String>,
    pub extra: Option<Map<String, Value>>,
}

fn token_set_out(t: core::TokenSet) -> TokenSet {
    TokenSet {
        access_token: t.access_token.expose().to_owned(),
        token_type: t.token_type,
        expires_in: t.expires_in.map(num),
        expires_at_ms: t.expires_at_ms.map(num),
        refresh_token: t.refresh_token.map(|r| r.expose().to_owned()),
        scopes: t.scopes,
        user_type: t.user_type.map(|u| u.as_str().to_owned()),
        location_id: t.location_id,
        company_id: t.company_id,
        approved_locations: t.approved_locations,
        plan_id: t.plan_id,
        is_bulk_installation: t.is_bulk_installation,
        user_id: t.user_id,
        extra: Some(t.extra),
    }
}

fn token_set_in(t: TokenSet) -> core::Result<core::TokenSet> {
    if t.access_token.is_empty() {
        return Err(arg_error("tokens.accessToken is empty"));
    }
    let user_type = t.user_type.as_deref().map(core::UserType::parse).transpose()?;
    Ok(core::TokenSet {
        access_token: Secret::new(t.access_token),
        token_type: t.token_type,
        expires_in: t.expires_in.map(ms),
        expires_at_ms: t.expires_at_ms.map(ms),
        refresh_token: t.refresh_token.filter(|r| !r.is_empty()).map(Secret::new),
        scopes: t.scopes,
        user_type,
        location_id: t.location_id,
        company_id: t.company_id,
        approved_locations: t.approved_locations,
        plan_id: t.plan_id,
        is_bulk_installation: t.is_bulk_installation,
        user_id: t.user_id,
        extra: t.extra.unwrap_or_default(),
    })
}

#[napi(object)]
pub struct Callback {
    pub code: String,
    pub state: Option<String>,
}

#[napi(object, use_nullable = true)]
pub struct Classification {
    pub kind: String,
    pub status: u32,
    pub retryable: bool,
    pub rate_limit_scope: Option<String>,
    pub retry_after_ms: Option<f64>,
    pub message: Option<String>,
}

#[napi(object, use_nullable = true)]
pub struct RateLimitHeaders {
    pub max: Option<f64>,
    pub interval_ms: Option<f64>,
    pub remaining: Option<f64>,
    pub daily_limit: Option<f64>,
    pub daily_remaining: Option<f64>,
}

#[napi(object)]
pub struct Limits {
    pub max: Option<f64>,
    pub interval_ms: Option<f64>,
    pub margin_ms: Option<f64>,
    pub daily_max: Option<f64>,
}

#[napi(object)]
pub struct LimitsOut {
    pub max: f64,
    pub interval_ms: f64,
    pub margin_ms: f64,
    pub daily_max: f64,
}

fn limits_in(l: Option<Limits>) -> core::Limits {
    let d = core::Limits::default();
    match l {
        None => d,
        Some(l) => core::Limits {
            max: l.max.map(|m| u32::try_from(ms(m)).unwrap_or(u32::MAX)).unwrap_or(d.max),
            interval_ms: l.interval_ms.map(ms).unwrap_or(d.interval_ms),
            margin_ms: l.margin_ms.map(ms).unwrap_or(d.margin_ms),
            daily_max: l.daily_max.map(ms).unwrap_or(d.daily_max),
        },
    }
}

#[napi(object)]
pub struct Decision {
    pub allow: bool,
    pub wait_ms: Option<f64>,
    pub daily_exhausted: Option<bool>,
}

fn decision_out(d: core::Decision) -> Decision {
    match d {
        core::Decision::Allow => Decision { allow: true, wait_ms: None, daily_exhausted: None },
        core::Decision::Wait { wait_ms, daily_exhausted } => {
            Decision { allow: false, wait_ms: Some(num(wait_ms)), daily_exhausted: Some(daily_exhausted) }
        }
    }
}

#[napi(object)]
pub struct SessionOptions {
    pub refresh_leeway_ms: Option<f64>,
    pub lease_ms: Option<f64>,
}

fn session_options_in(o: Option<SessionOptions>) -> core::SessionOptions {
    let d = core::SessionOptions::default();
    match o {
        None => d,
        Some(o) => core::SessionOptions {
            refresh_leeway_ms: o.refresh_leeway_ms.map(ms).unwrap_or(d.refresh_leeway_ms),
            lease_ms: o.lease_ms.map(ms).unwrap_or(d.lease_ms),
        },
    }
}

#[napi(object)]
pub struct SessionAction {
    pub action: String,
    pub access_token: Option<String>,
    pub request: Option<HttpRequest>,
    pub wait_ms: Option<f64>,
}

#[napi(object)]
pub struct Verification {
    pub valid: bool,
    pub reason: String,
}

fn verification_out(v: core::Verification) -> Verification {
    Verification { valid: v.valid, reason: v.reason.as_str().to_owned() }
}

#[napi(object)]
pub struct VerifyWebhookOptions {
    pub body: Either<String, Uint8Array>,
    pub signature: Option<String>,
    pub public_key: Option<String>,
    pub now_ms: Option<f64>,
    pub max_age_ms: Option<f64>,
}

fn body_bytes(b: &Either<String, Uint8Array>) -> &[u8] {
    match b {
        Either::A(s) => s.as_bytes(),
        Either::B(u) => u,
    }
}

#[napi(object)]
pub struct WebhookVerifierOptions {
    pub public_key: Option<String>,
    pub legacy_rsa_key: Option<Either<String, bool>>,
    pub max_age_ms: Option<f64>,
    pub capacity: Option<f64>,
}

#[napi(object)]
pub struct CallOptions {
    pub max_auth_retries: Option<u32>,
    pub max_rate_limit_retries: Option<u32>,
    pub max_server_retries: Option<u32>,
    pub max_refresh_attempts: Option<u32>,
    pub backoff_base_ms: Option<f64>,
    pub backoff_max_ms: Option<f64>,
    pub max_wait_ms: Option<f64>,
    pub refresh_poll_ms: Option<f64>,
    /// Several processes share one store: persist the refresh lease first (see `Event::Conflict`).
    pub coordinate_refresh: Option<bool>,
}

fn call_options_in(o: Option<CallOptions>) -> core::CallOptions {
    let d = core::CallOptions::default();
    match o {
        None => d,
        Some(o) => core::CallOptions {
            max_auth_retries: o.max_auth_retries.unwrap_or(d.max_auth_retries),
            max_rate_limit_retries: o.max_rate_limit_retries.unwrap_or(d.max_rate_limit_retries),
            max_server_retries: o.max_server_retries.unwrap_or(d.max_server_retries),
            max_refresh_attempts: o.max_refresh_attempts.unwrap_or(d.max_refresh_attempts),
            backoff_base_ms: o.backoff_base_ms.map(ms).unwrap_or(d.backoff_base_ms),
            backoff_max_ms: o.backoff_max_ms.map(ms).unwrap_or(d.backoff_max_ms),
            max_wait_ms: o.max_wait_ms.map(ms).unwrap_or(d.max_wait_ms),
            refresh_poll_ms: o.refresh_poll_ms.map(ms).unwrap_or(d.refresh_poll_ms),
            coordinate_refresh: o.coordinate_refresh.unwrap_or(d.coordinate_refresh),
        },
    }
}

#[napi(object)]
pub struct CallStats {
    pub sends: u32,
    pub refreshes: u32,
    pub auth_retries: u32,
    pub rate_limit_retries: u32,
    pub server_retries: u32,
}

#[napi(object)]
pub struct Event {
    #[napi(js_name = "type")]
    pub kind: String,
    pub response: Option<HttpResponse>,
}

#[napi(object, use_nullable = true)]
pub struct StepError {
    pub kind: String,
    pub message: String,
    pub status: Option<u32>,
    pub retry_after_ms: Option<f64>,
}

fn step_error(e: &core::Error) -> StepError {
    StepError {
        kind: e.kind().as_str().to_owned(),
        message: e.to_string(),
        status: e.status().map(u32::from),
        retry_after_ms: e.retry_after_ms().map(num),
    }
}

#[napi(object)]
pub struct ResponseOut {
    pub status: u32,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

#[napi(object)]
pub struct Step {
    pub step: String,
    pub request: Option<HttpRequest>,
    pub stored: Option<String>,
    pub wait_ms: Option<f64>,
    pub reason: Option<String>,
    pub response: Option<ResponseOut>,
    pub error: Option<StepError>,
}

impl Step {
    fn named(name: &str) -> Step {
        Step {
            step: name.to_owned(),
            request: None,
            stored: None,
            wait_ms: None,
            reason: None,
            response: None,
            error: None,
        }
    }
}

fn response_in(r: HttpResponse) -> core::Response {
    core::Response {
        status: status_u16(r.status),
        headers: r.headers.unwrap_or_default(),
        body: r.body.unwrap_or_default().into_bytes(),
    }
}

// ---- App ------------------------------------------------------------------------------

/// The validated app configuration. Holds the client secret: never prints it.
#[napi]
pub struct App {
    config: core::Config,
}

#[napi]
impl App {
    #[napi(constructor)]
    pub fn new(env: Env, options: AppOptions) -> napi::Result<Self> {
        let config = core::Config::new(core::ConfigOptions {
            client_id: options.client_id,
            client_secret: options.client_secret.map(Secret::new),
            redirect_uri: options.redirect_uri,
            marketplace: options.marketplace,
            api_base: options.api_base,
            api_version: options.api_version,
        })
        .or_throw(&env)?;
        Ok(App { config })
    }

    #[napi(getter)]
    pub fn client_id(&self) -> String {
        self.config.client_id().to_owned()
    }

    #[napi(getter)]
    pub fn api_base(&self) -> String {
        self.config.api_base().to_owned()
    }

    #[napi]
    pub fn authorization_url(&self, env: Env, options: AuthorizationUrlOptions) -> napi::Result<String> {
        let params = core::AuthorizationParams {
            scopes: options.scopes,
            state: options.state,
            login_window_open_mode: options.login_window_open_mode,
            version_id: options.version_id,
        };
        self.config.authorization_url(&params).or_throw(&env)
    }

    #[napi]
    pub fn token_request(&self, env: Env, options: TokenRequestOptions) -> napi::Result<HttpRequest> {
        let r = (|| {
            let grant =
                core::Grant::from_parts(&options.grant, options.code.as_deref(), options.refresh_token.as_deref())?;
            let user_type = options.user_type.as_deref().map(core::UserType::parse).transpose()?;
            self.config.token_request(&grant, user_type)
        })();
        r.map(request_out).or_throw(&env)
    }

    #[napi]
    pub fn location_token_request(&self, env: Env, options: LocationTokenRequestOptions) -> napi::Result<HttpRequest> {
        self.config
            .location_token_request(&options.agency_access_token, &options.company_id, &options.location_id)
            .map(request_out)
            .or_throw(&env)
    }

    #[napi]
    pub fn api_request(&self, env: Env, options: ApiRequestOptions) -> napi::Result<HttpRequest> {
        let r = (|| {
            let req = api_request(&options)?;
            self.config.api_request(&req, options.access_token.as_deref().unwrap_or(""))
        })();
        r.map(request_out).or_throw(&env)
    }
}

// ---- functions ------------------------------------------------------------------------

#[napi]
pub fn parse_callback(env: Env, url: String, expected_state: Option<String>) -> napi::Result<Callback> {
    core::parse_callback(&url, expected_state.as_deref())
        .map(|c| Callback { code: c.code.expose().to_owned(), state: c.state })
        .or_throw(&env)
}

#[napi]
pub fn generate_state(env: Env, random_bytes: Uint8Array) -> napi::Result<String> {
    core::generate_state(&random_bytes).or_throw(&env)
}

/// Parse a token endpoint answer; `now_ms` = when the request was sent.
#[napi]
pub fn parse_token_response(env: Env, response: HttpResponse, now_ms: f64) -> napi::Result<TokenSet> {
    let body = response.body.as_deref().unwrap_or("");
    let headers = response.headers.as_deref().unwrap_or(&[]);
    core::parse_token_response(status_u16(response.status), headers, body.as_bytes(), ms(now_ms))
        .map(token_set_out)
        .or_throw(&env)
}

fn classification_out(c: core::Classification) -> Classification {
    Classification {
        kind: c.kind.as_str().to_owned(),
        status: u32::from(c.status),
        retryable: c.retryable,
        rate_limit_scope: c.rate_limit_scope.map(|s| s.as_str().to_owned()),
        retry_after_ms: c.retry_after_ms.map(num),
        message: c.message,
    }
}

#[napi]
pub fn classify_response(response: HttpResponse, now_ms: Option<f64>) -> Classification {
    let body = response.body.as_deref().unwrap_or("");
    let headers = response.headers.as_deref().unwrap_or(&[]);
    classification_out(core::classify_response(
        status_u16(response.status),
        headers,
        body.as_bytes(),
        now_ms.map(ms),
    ))
}

#[napi]
pub fn parse_rate_limit_headers(headers: Vec<(String, String)>) -> RateLimitHeaders {
    let h = core::parse_rate_limit_headers(&headers);
    RateLimitHeaders {
        max: h.max.map(num),
        interval_ms: h.interval_ms.map(num),
        remaining: h.remaining.map(num),
        daily_limit: h.daily_limit.map(num),
        daily_remaining: h.daily_remaining.map(num),
    }
}

#[napi]
pub fn verify_webhook(env: Env, options: VerifyWebhookOptions) -> napi::Result<Verification> {
    let key = match options.public_key.as_deref() {
        Some(k) => core::WebhookKey::parse(k).or_throw(&env)?,
        None => core::WebhookKey::platform(),
    };
    let max_age = options.max_age_ms.map(ms).unwrap_or(core::webhook::DEFAULT_MAX_AGE_MS);
    Ok(verification_out(core::verify_webhook(
        &key,
        body_bytes(&options.body),
        options.signature.as_deref(),
        options.now_ms.map(ms),
        max_age,
    )))
}

fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut up = false;
    for c in key.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A webhook body as a typed event: `{type, appId, locationId, ...}` (camelCase); other
/// event types come back as their whole body.
#[napi]
pub fn parse_webhook_event(env: Env, body: Either<String, Uint8Array>) -> napi::Result<Map<String, Value>> {
    let event = core::parse_webhook_event(body_bytes(&body)).or_throw(&env)?;
    if let core::WebhookEvent::Other { event_type, body } = event {
        let mut m = match body {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        m.insert("type".into(), Value::String(event_type));
        return Ok(m);
    }
    let v = serde_json::to_value(&event)
        .map_err(|_| throw(&env, core::Error::new(ErrorKind::MalformedResponse, "webhook event")))?;
    let mut out = Map::new();
    if let Value::Object(m) = v {
        for (k, v) in m {
            out.insert(camel(&k), v);
        }
    }
    Ok(out)
}

#[napi]
pub fn suggest_scope(scope: String) -> Option<String> {
    core::suggest_scope(&scope).map(str::to_owned)
}

#[napi]
pub fn known_scopes() -> Vec<String> {
    core::KNOWN_SCOPES.iter().map(|s| (*s).to_owned()).collect()
}

#[napi]
pub fn error_kinds() -> Vec<String> {
    ErrorKind::ALL.iter().map(|k| k.as_str().to_owned()).collect()
}

// ---- RateLimiter ----------------------------------------------------------------------

#[napi]
pub struct RateLimiter {
    inner: core::RateLimiter,
}

#[napi]
impl RateLimiter {
    #[napi(constructor)]
    pub fn new(limits: Option<Limits>) -> Self {
        RateLimiter { inner: core::RateLimiter::new(limits_in(limits)) }
    }
    #[napi]
    pub fn acquire(&mut self, now_ms: f64) -> Decision {
        decision_out(self.inner.acquire(ms(now_ms)))
    }
    #[napi]
    pub fn check(&mut self, now_ms: f64) -> Decision {
        decision_out(self.inner.check(ms(now_ms)))
    }
    #[napi]
    pub fn observe(&mut self, now_ms: f64, status: u32, headers: Vec<(String, String)>) {
        self.inner.observe(ms(now_ms), status_u16(status), &headers)
    }
    #[napi(getter)]
    pub fn limits(&self) -> LimitsOut {
        let l = self.inner.limits();
        LimitsOut {
            max: f64::from(l.max),
            interval_ms: num(l.interval_ms),
            margin_ms: num(l.margin_ms),
            daily_max: num(l.daily_max),
        }
    }
}

// ---- TokenSession ---------------------------------------------------------------------

/// One resource's token state machine. Holds tokens: never prints them.
#[napi]
pub struct TokenSession {
    inner: core::TokenSession,
}

#[napi]
impl TokenSession {
    #[napi(constructor)]
    pub fn new(app: &App, options: Option<SessionOptions>) -> Self {
        TokenSession { inner: core::TokenSession::new(app.config.clone(), session_options_in(options)) }
    }

    #[napi(factory)]
    pub fn from_stored(env: Env, app: &App, stored: String, options: Option<SessionOptions>) -> napi::Result<Self> {
        core::TokenSession::from_json(app.config.clone(), session_options_in(options), &stored)
            .map(|inner| TokenSession { inner })
            .or_throw(&env)
    }

    #[napi]
    pub fn load(&mut self, env: Env, tokens: TokenSet) -> napi::Result<()> {
        let t = token_set_in(tokens).or_throw(&env)?;
        self.inner.load(t);
        Ok(())
    }

    #[napi]
    pub fn load_private(&mut self, env: Env, token: String) -> napi::Result<()> {
        self.inner.load_private(Secret::new(token)).or_throw(&env)
    }

    #[napi]
    pub fn acquire(&mut self, env: Env, now_ms: f64) -> napi::Result<SessionAction> {
        let a = self.inner.acquire(ms(now_ms)).or_throw(&env)?;
        let mut out = SessionAction { action: a.name().to_owned(), access_token: None, request: None, wait_ms: None };
        match a {
            core::Action::Use { access_token } => out.access_token = Some(access_token.expose().to_owned()),
            core::Action::Refresh { request } => out.request = Some(request_out(request)),
            core::Action::Wait { wait_ms } => out.wait_ms = Some(num(wait_ms)),
            core::Action::Reauthorize => {}
        }
        Ok(out)
    }

    #[napi]
    pub fn refresh_response(&mut self, env: Env, response: HttpResponse, sent_at_ms: f64) -> napi::Result<TokenSet> {
        let r = response_in(response);
        self.inner
            .refresh_response(r.status, &r.headers, &r.body, ms(sent_at_ms))
            .map(token_set_out)
            .or_throw(&env)
    }

    #[napi]
    pub fn api_response(&mut self, response: HttpResponse, access_token: String) -> String {
        let r = response_in(response);
        self.inner.api_response(r.status, &r.body, &access_token).as_str().to_owned()
    }

    #[napi]
    pub fn to_stored(&self) -> String {
        self.inner.to_json()
    }

    #[napi(getter)]
    pub fn version(&self) -> f64 {
        num(self.inner.version())
    }
}

// ---- WebhookVerifier ------------------------------------------------------------------

#[napi]
pub struct WebhookVerifier {
    inner: core::WebhookVerifier,
}

#[napi]
impl WebhookVerifier {
    #[napi(constructor)]
    pub fn new(env: Env, options: Option<WebhookVerifierOptions>) -> napi::Result<Self> {
        let build = || -> core::Result<core::WebhookVerifier> {
            let o = options.unwrap_or(WebhookVerifierOptions {
                public_key: None,
                legacy_rsa_key: None,
                max_age_ms: None,
                capacity: None,
            });
            let key = match o.public_key.as_deref() {
                Some(k) => core::WebhookKey::parse(k)?,
                None => core::WebhookKey::platform(),
            };
            let capacity = o.capacity.map(|c| usize::try_from(ms(c)).unwrap_or(usize::MAX));
            let mut v = core::WebhookVerifier::with_capacity(
                key,
                capacity.unwrap_or(core::webhook::DEFAULT_SEEN_CAPACITY),
            );
            match o.legacy_rsa_key {
                None | Some(Either::B(false)) => {}
                Some(Either::B(true)) => v = v.with_rsa_key(core::RsaWebhookKey::platform()?),
                Some(Either::A(pem)) => v = v.with_rsa_key(core::RsaWebhookKey::parse(&pem)?),
            }
            if let Some(age) = o.max_age_ms {
                v = v.with_max_age_ms(ms(age));
            }
            Ok(v)
        };
        build().map(|inner| WebhookVerifier { inner }).or_throw(&env)
    }

    #[napi]
    pub fn verify(
        &mut self,
        body: Either<String, Uint8Array>,
        headers: Vec<(String, String)>,
        now_ms: f64,
    ) -> Verification {
        verification_out(self.inner.verify_headers(body_bytes(&body), &headers, ms(now_ms)))
    }
}

// ---- Call and Pool --------------------------------------------------------------------

/// One API call, advanced by `Pool.step`.
#[napi]
pub struct Call {
    inner: core::Call,
}

#[napi]
impl Call {
    #[napi(constructor)]
    pub fn new(env: Env, request: ApiRequestOptions, options: Option<CallOptions>) -> napi::Result<Self> {
        let req = api_request(&request).or_throw(&env)?;
        Ok(Call { inner: core::Call::new(req, call_options_in(options)) })
    }

    #[napi]
    pub fn stats(&self) -> CallStats {
        let s = self.inner.stats();
        CallStats {
            sends: s.sends,
            refreshes: s.refreshes,
            auth_retries: s.auth_retries,
            rate_limit_retries: s.rate_limit_retries,
            server_retries: s.server_retries,
        }
    }
}

/// Sessions and limiters of every resource an app acts for.
#[napi]
pub struct Pool {
    inner: core::Pool,
}

#[napi]
impl Pool {
    #[napi(constructor)]
    pub fn new(app: &App, session_options: Option<SessionOptions>, limits: Option<Limits>) -> Self {
        Pool {
            inner: core::Pool::new(app.config.clone(), session_options_in(session_options), limits_in(limits)),
        }
    }

    /// Load a token set for `resourceId` (null: its locationId, else companyId); returns the id.
    #[napi]
    pub fn load_tokens(&mut self, env: Env, resource_id: Option<String>, tokens: TokenSet) -> napi::Result<String> {
        let t = token_set_in(tokens).or_throw(&env)?;
        self.inner.load_tokens(resource_id.as_deref(), t).or_throw(&env)
    }

    #[napi]
    pub fn load_private(&mut self, env: Env, resource_id: String, token: String) -> napi::Result<()> {
        self.inner.load_private(&resource_id, Secret::new(token)).or_throw(&env)
    }

    #[napi]
    pub fn load_stored(&mut self, env: Env, resource_id: String, stored: String) -> napi::Result<()> {
        self.inner.load_stored(&resource_id, &stored).or_throw(&env)
    }

    #[napi]
    pub fn stored_json(&self, resource_id: String) -> Option<String> {
        self.inner.stored_json(&resource_id)
    }

    #[napi]
    pub fn has_session(&self, resource_id: String) -> bool {
        self.inner.has_session(&resource_id)
    }

    #[napi]
    pub fn remove(&mut self, resource_id: String) -> bool {
        self.inner.remove(&resource_id)
    }

    /// Advance `call` against `resourceId`'s session and limiter.
    #[napi]
    pub fn step(
        &mut self,
        call: &mut Call,
        resource_id: String,
        event: Event,
        now_ms: f64,
        random: f64,
    ) -> Step {
        let ev = match event.kind.as_str() {
            "start" => core::Event::Start,
            "resume" => core::Event::Resume,
            "transport_error" => core::Event::TransportError,
            "conflict" => core::Event::Conflict,
            "response" => match event.response {
                Some(r) => core::Event::Response(response_in(r)),
                None => {
                    let mut s = Step::named("fail");
                    s.error = Some(step_error(&arg_error("a response event needs `response`")));
                    return s;
                }
            },
            _ => {
                let mut s = Step::named("fail");
                s.error = Some(step_error(&arg_error("event.type must be start, resume, response, transport_error or conflict")));
                return s;
            }
        };
        let step = self.inner.step(&mut call.inner, &resource_id, ev, ms(now_ms), ms(random));
        let mut out = Step::named(step.name());
        match step {
            core::Step::Send(r) | core::Step::SendRefresh(r) => out.request = Some(request_out(r)),
            core::Step::Persist(stored) => out.stored = Some(serde_json::to_string(&stored).unwrap_or_default()),
            core::Step::Wait { wait_ms, reason } => {
                out.wait_ms = Some(num(wait_ms));
                out.reason = Some(reason.as_str().to_owned());
            }
            core::Step::Done(resp) => {
                let body = match String::from_utf8(resp.body) {
                    Ok(s) => s,
                    Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
                };
                out.response = Some(ResponseOut { status: u32::from(resp.status), headers: resp.headers, body });
            }
            core::Step::Reauthorize(e) | core::Step::Fail(e) => out.error = Some(step_error(&e)),
        }
        out
    }
}

/// The constructor arguments of a JS `TokenSet`, in field order (extra fields as JSON text).
type TokenSetArgs = FnArgs<(
    String,
    Option<String>,
    Option<f64>,
    Option<f64>,
    Option<String>,
    Vec<String>,
    Option<&'static str>,
    Option<String>,
    Option<String>,
    Option<Vec<String>>,
    Option<String>,
    Option<bool>,
    Option<String>,
    Option<String>,
)>;

/// Fastest path of `parseTokenResponse`: parse in the core, then `new make(...)` with the
/// fields as positional arguments (no JSON round trip, no property sets by name).
#[napi]
pub fn parse_token_new<'env>(
    env: &'env Env,
    make: Function<'env, TokenSetArgs, Unknown<'env>>,
    status: u32,
    body: String,
    now_ms: f64,
) -> napi::Result<Unknown<'env>> {
    let t = core::parse_token_response(status_u16(status), &[], body.as_bytes(), ms(now_ms)).or_throw(env)?;
    let extra = if t.extra.is_empty() { None } else { serde_json::to_string(&t.extra).ok() };
    make.new_instance(FnArgs::from((
        t.access_token.expose().to_owned(),
        t.token_type,
        t.expires_in.map(num),
        t.expires_at_ms.map(num),
        t.refresh_token.map(|r| r.expose().to_owned()),
        t.scopes,
        t.user_type.map(core::UserType::as_str),
        t.location_id,
        t.company_id,
        t.approved_locations,
        t.plan_id,
        t.is_bulk_installation,
        t.user_id,
        extra,
    )))
}
