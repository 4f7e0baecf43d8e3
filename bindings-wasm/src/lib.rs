//! WASM binding (wasm-bindgen): the low-level native module of the hoopauth JS package.
//!
//! It exposes the core with plain data (camelCase objects, `[name, value]` header pairs,
//! body strings), the same surface as the Node addon; the shared JS layer
//! (`bindings-node/lib/`, copied into the package at build time) builds the public API
//! (`HoopAuthError`, redaction, the fetch `Client`) on top of it.
//!
//! Errors thrown from here are JS `Error`s whose `message` is the core error's Display
//! (`"<kind>: <message>"`) carrying `kind`, `status` and `retryAfterMs`. No code path
//! reachable from JS unwraps or panics: every malformed input becomes `invalid_argument`.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use hoopauth as core;
use hoopauth::{ErrorKind, Secret};
use js_sys::{Array, Object};
use serde::de::DeserializeOwned;
use wasm_bindgen::prelude::*;

mod convert;
use convert::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_SHAPES: &str = include_str!("shapes.d.ts");

// -----------------------------------------------------------------------------------------
// Option shapes (deserialised with serde-wasm-bindgen)
// -----------------------------------------------------------------------------------------

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct AppOptions {
    client_id: Option<String>,
    client_secret: Option<String>,
    redirect_uri: Option<String>,
    marketplace: Option<String>,
    api_base: Option<String>,
    api_version: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct AuthorizationUrlOptions {
    scopes: Option<Vec<String>>,
    state: Option<String>,
    login_window_open_mode: Option<String>,
    version_id: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct TokenRequestOptions {
    grant: Option<String>,
    code: Option<String>,
    refresh_token: Option<String>,
    user_type: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct LocationTokenOptions {
    agency_access_token: Option<String>,
    company_id: Option<String>,
    location_id: Option<String>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct LimitsIn {
    max: Option<f64>,
    interval_ms: Option<f64>,
    margin_ms: Option<f64>,
    daily_max: Option<f64>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct SessionOptionsIn {
    refresh_leeway_ms: Option<f64>,
    lease_ms: Option<f64>,
}

#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct CallOptionsIn {
    max_auth_retries: Option<f64>,
    max_rate_limit_retries: Option<f64>,
    max_server_retries: Option<f64>,
    max_refresh_attempts: Option<f64>,
    backoff_base_ms: Option<f64>,
    backoff_max_ms: Option<f64>,
    max_wait_ms: Option<f64>,
    refresh_poll_ms: Option<f64>,
    coordinate_refresh: Option<bool>,
}

/// A token set as JS passes it back in (`TokenSet` of api.d.ts).
#[derive(serde::Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct TokenSetIn {
    access_token: Option<String>,
    token_type: Option<String>,
    expires_in: Option<f64>,
    expires_at_ms: Option<f64>,
    refresh_token: Option<String>,
    scopes: Option<Vec<String>>,
    user_type: Option<String>,
    location_id: Option<String>,
    company_id: Option<String>,
    approved_locations: Option<Vec<String>>,
    plan_id: Option<String>,
    is_bulk_installation: Option<bool>,
    user_id: Option<String>,
    extra: Option<serde_json::Map<String, serde_json::Value>>,
}

fn options<T: DeserializeOwned + Default>(value: &JsValue, what: &str, kind: ErrorKind) -> Result<T, JsValue> {
    if value.is_undefined() || value.is_null() {
        return Ok(T::default());
    }
    serde_wasm_bindgen::from_value(value.clone())
        .map_err(|e| error(kind, &format!("{what}: {}", short(&e.to_string()))))
}

fn opt_u64(v: Option<f64>, what: &str) -> Result<Option<u64>, JsValue> {
    v.map(|x| ms(x, what)).transpose()
}

fn limits_from(value: &JsValue) -> Result<core::Limits, JsValue> {
    let l: LimitsIn = options(value, "limits", ErrorKind::InvalidArgument)?;
    let d = core::Limits::default();
    Ok(core::Limits {
        max: match opt_u64(l.max, "limits.max")? {
            Some(m) => u32::try_from(m).unwrap_or(u32::MAX),
            None => d.max,
        },
        interval_ms: opt_u64(l.interval_ms, "limits.intervalMs")?.unwrap_or(d.interval_ms),
        margin_ms: opt_u64(l.margin_ms, "limits.marginMs")?.unwrap_or(d.margin_ms),
        daily_max: opt_u64(l.daily_max, "limits.dailyMax")?.unwrap_or(d.daily_max),
    })
}

fn session_options_from(value: &JsValue) -> Result<core::SessionOptions, JsValue> {
    let o: SessionOptionsIn = options(value, "session options", ErrorKind::InvalidArgument)?;
    let d = core::SessionOptions::default();
    Ok(core::SessionOptions {
        refresh_leeway_ms: opt_u64(o.refresh_leeway_ms, "refreshLeewayMs")?.unwrap_or(d.refresh_leeway_ms),
        lease_ms: opt_u64(o.lease_ms, "leaseMs")?.unwrap_or(d.lease_ms),
    })
}

fn call_options_from(value: &JsValue) -> Result<core::CallOptions, JsValue> {
    let o: CallOptionsIn = options(value, "call options", ErrorKind::InvalidArgument)?;
    let d = core::CallOptions::default();
    let n = |v: Option<f64>, what: &str, def: u32| -> Result<u32, JsValue> {
        Ok(match opt_u64(v, what)? {
            Some(x) => u32::try_from(x).unwrap_or(u32::MAX),
            None => def,
        })
    };
    Ok(core::CallOptions {
        max_auth_retries: n(o.max_auth_retries, "maxAuthRetries", d.max_auth_retries)?,
        max_rate_limit_retries: n(o.max_rate_limit_retries, "maxRateLimitRetries", d.max_rate_limit_retries)?,
        max_server_retries: n(o.max_server_retries, "maxServerRetries", d.max_server_retries)?,
        max_refresh_attempts: n(o.max_refresh_attempts, "maxRefreshAttempts", d.max_refresh_attempts)?,
        backoff_base_ms: opt_u64(o.backoff_base_ms, "backoffBaseMs")?.unwrap_or(d.backoff_base_ms),
        backoff_max_ms: opt_u64(o.backoff_max_ms, "backoffMaxMs")?.unwrap_or(d.backoff_max_ms),
        max_wait_ms: opt_u64(o.max_wait_ms, "maxWaitMs")?.unwrap_or(d.max_wait_ms),
        refresh_poll_ms: opt_u64(o.refresh_poll_ms, "refreshPollMs")?.unwrap_or(d.refresh_poll_ms),
        coordinate_refresh: o.coordinate_refresh.unwrap_or(d.coordinate_refresh),
    })
}

fn token_set_from(value: &JsValue) -> Result<core::TokenSet, JsValue> {
    if !value.is_object() {
        return Err(error(ErrorKind::InvalidArgument, "tokens must be a token set object"));
    }
    let t: TokenSetIn = options(value, "token set", ErrorKind::InvalidArgument)?;
    let access_token = match t.access_token {
        Some(a) if !a.is_empty() => a,
        _ => return Err(error(ErrorKind::InvalidArgument, "token set: accessToken is missing or empty")),
    };
    let user_type = t.user_type.as_deref().map(core::UserType::parse).transpose().map_err(|e| js_error(&e))?;
    Ok(core::TokenSet {
        access_token: Secret::new(access_token),
        token_type: t.token_type,
        expires_in: opt_u64(t.expires_in, "expiresIn")?,
        expires_at_ms: opt_u64(t.expires_at_ms, "expiresAtMs")?,
        refresh_token: t.refresh_token.filter(|r| !r.is_empty()).map(Secret::new),
        scopes: t.scopes.unwrap_or_default(),
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

// -----------------------------------------------------------------------------------------
// App
// -----------------------------------------------------------------------------------------

/// A validated application configuration. Holds the client secret inside WASM memory only.
#[wasm_bindgen(skip_typescript)]
pub struct App {
    config: core::Config,
}

#[wasm_bindgen]
impl App {
    #[wasm_bindgen(constructor)]
    pub fn new(options_value: JsValue) -> Result<App, JsValue> {
        if !options_value.is_object() {
            return Err(error(ErrorKind::InvalidConfig, "options must be an object with clientId"));
        }
        let o: AppOptions = options(&options_value, "app options", ErrorKind::InvalidConfig)?;
        let config = core::Config::new(core::ConfigOptions {
            client_id: o.client_id.unwrap_or_default(),
            client_secret: o.client_secret.map(Secret::new),
            redirect_uri: o.redirect_uri,
            marketplace: o.marketplace,
            api_base: o.api_base,
            api_version: o.api_version,
        })
        .map_err(|e| js_error(&e))?;
        Ok(App { config })
    }

    #[wasm_bindgen(getter, js_name = clientId)]
    pub fn client_id(&self) -> String {
        self.config.client_id().to_owned()
    }

    #[wasm_bindgen(getter, js_name = apiBase)]
    pub fn api_base(&self) -> String {
        self.config.api_base().to_owned()
    }

    #[wasm_bindgen(js_name = authorizationUrl)]
    pub fn authorization_url(&self, options_value: JsValue) -> Result<String, JsValue> {
        let o: AuthorizationUrlOptions = options(&options_value, "authorization options", ErrorKind::InvalidArgument)?;
        let params = core::AuthorizationParams {
            scopes: o.scopes.unwrap_or_default(),
            state: o.state,
            login_window_open_mode: o.login_window_open_mode,
            version_id: o.version_id,
        };
        self.config.authorization_url(&params).map_err(|e| js_error(&e))
    }

    #[wasm_bindgen(js_name = tokenRequest)]
    pub fn token_request(&self, options_value: JsValue) -> Result<JsValue, JsValue> {
        let o: TokenRequestOptions = options(&options_value, "token request options", ErrorKind::InvalidArgument)?;
        let grant = core::Grant::from_parts(o.grant.as_deref().unwrap_or(""), o.code.as_deref(), o.refresh_token.as_deref())
            .map_err(|e| js_error(&e))?;
        let user_type = o.user_type.as_deref().map(core::UserType::parse).transpose().map_err(|e| js_error(&e))?;
        let req = self.config.token_request(&grant, user_type).map_err(|e| js_error(&e))?;
        Ok(request_to_js(&req))
    }

    #[wasm_bindgen(js_name = locationTokenRequest)]
    pub fn location_token_request(&self, options_value: JsValue) -> Result<JsValue, JsValue> {
        let o: LocationTokenOptions = options(&options_value, "location token options", ErrorKind::InvalidArgument)?;
        let req = self
            .config
            .location_token_request(
                o.agency_access_token.as_deref().unwrap_or(""),
                o.company_id.as_deref().unwrap_or(""),
                o.location_id.as_deref().unwrap_or(""),
            )
            .map_err(|e| js_error(&e))?;
        Ok(request_to_js(&req))
    }

    #[wasm_bindgen(js_name = apiRequest)]
    pub fn api_request(&self, options_value: JsValue) -> Result<JsValue, JsValue> {
        let req = api_request_from(&options_value)?;
        let token = get(&options_value, "accessToken").as_string().unwrap_or_default();
        let built = self.config.api_request(&req, &token).map_err(|e| js_error(&e))?;
        Ok(request_to_js(&built))
    }
}

// -----------------------------------------------------------------------------------------
// Functions
// -----------------------------------------------------------------------------------------

#[wasm_bindgen(js_name = parseCallback, skip_typescript)]
pub fn parse_callback(url: JsValue, expected_state: JsValue) -> Result<JsValue, JsValue> {
    let url = url.as_string().ok_or_else(|| error(ErrorKind::InvalidArgument, "url must be a string"))?;
    let expected = opt_string(&expected_state, "expectedState")?;
    let cb = core::parse_callback(&url, expected.as_deref()).map_err(|e| js_error(&e))?;
    let o = Object::new();
    set(&o, "code", &JsValue::from_str(cb.code.expose()));
    set(&o, "state", &opt_str(cb.state.as_deref()));
    Ok(o.into())
}

#[wasm_bindgen(js_name = generateState, skip_typescript)]
pub fn generate_state(random_bytes: JsValue) -> Result<String, JsValue> {
    let bytes = bytes_from(&random_bytes)
        .ok_or_else(|| error(ErrorKind::InvalidArgument, "generateState needs a Uint8Array of random bytes"))?;
    core::generate_state(&bytes).map_err(|e| js_error(&e))
}

#[wasm_bindgen(js_name = parseTokenResponse, skip_typescript)]
pub fn parse_token_response(response: JsValue, now_ms: JsValue) -> Result<JsValue, JsValue> {
    let r = response_from(&response)?;
    let now = ms_value(&now_ms, "nowMs")?.ok_or_else(|| error(ErrorKind::InvalidArgument, "nowMs is required"))?;
    let t = core::parse_token_response(r.status, &r.headers, &r.body, now).map_err(|e| js_error(&e))?;
    Ok(token_set_to_js(&t))
}

#[wasm_bindgen(js_name = classifyResponse, skip_typescript)]
pub fn classify_response(response: JsValue, now_ms: JsValue) -> Result<JsValue, JsValue> {
    let r = response_from(&response)?;
    let now = ms_value(&now_ms, "nowMs")?;
    Ok(classification_to_js(&core::classify_response(r.status, &r.headers, &r.body, now)))
}

#[wasm_bindgen(js_name = parseRateLimitHeaders, skip_typescript)]
pub fn parse_rate_limit_headers(headers: JsValue) -> Result<JsValue, JsValue> {
    let h = header_pairs(&headers)?;
    let rl = core::parse_rate_limit_headers(&h);
    let o = Object::new();
    set(&o, "max", &opt_num(rl.max));
    set(&o, "intervalMs", &opt_num(rl.interval_ms));
    set(&o, "remaining", &opt_num(rl.remaining));
    set(&o, "dailyLimit", &opt_num(rl.daily_limit));
    set(&o, "dailyRemaining", &opt_num(rl.daily_remaining));
    Ok(o.into())
}

#[wasm_bindgen(js_name = verifyWebhook, skip_typescript)]
pub fn verify_webhook(options_value: JsValue) -> Result<JsValue, JsValue> {
    if !options_value.is_object() {
        return Err(error(ErrorKind::InvalidArgument, "verifyWebhook needs an options object"));
    }
    let body = body_from(&get(&options_value, "body"))?;
    let signature = opt_string(&get(&options_value, "signature"), "signature")?;
    let key = match opt_string(&get(&options_value, "publicKey"), "publicKey")? {
        Some(k) => core::WebhookKey::parse(&k).map_err(|e| js_error(&e))?,
        None => core::WebhookKey::platform(),
    };
    let now = ms_value(&get(&options_value, "nowMs"), "nowMs")?;
    let max_age =
        ms_value(&get(&options_value, "maxAgeMs"), "maxAgeMs")?.unwrap_or(core::webhook::DEFAULT_MAX_AGE_MS);
    let v = core::verify_webhook(&key, &body, signature.as_deref(), now, max_age);
    Ok(verification_to_js(&v))
}

#[wasm_bindgen(js_name = parseWebhookEvent, skip_typescript)]
pub fn parse_webhook_event(body: JsValue) -> Result<JsValue, JsValue> {
    let body = body_from(&body)?;
    let event = core::parse_webhook_event(&body).map_err(|e| js_error(&e))?;
    Ok(webhook_event_to_js(&event))
}

#[wasm_bindgen(js_name = suggestScope, skip_typescript)]
pub fn suggest_scope(scope: JsValue) -> JsValue {
    match scope.as_string() {
        Some(s) => opt_str(core::suggest_scope(&s)),
        None => JsValue::NULL,
    }
}

#[wasm_bindgen(js_name = knownScopes, skip_typescript)]
pub fn known_scopes() -> Array {
    core::KNOWN_SCOPES.iter().map(|s| JsValue::from_str(s)).collect()
}

#[wasm_bindgen(js_name = errorKinds, skip_typescript)]
pub fn error_kinds() -> Array {
    ErrorKind::ALL.iter().map(|k| JsValue::from_str(k.as_str())).collect()
}

// -----------------------------------------------------------------------------------------
// RateLimiter
// -----------------------------------------------------------------------------------------

#[wasm_bindgen(skip_typescript)]
pub struct RateLimiter {
    inner: core::RateLimiter,
}

#[wasm_bindgen]
impl RateLimiter {
    #[wasm_bindgen(constructor)]
    pub fn new(limits: JsValue) -> Result<RateLimiter, JsValue> {
        Ok(RateLimiter { inner: core::RateLimiter::new(limits_from(&limits)?) })
    }
    pub fn acquire(&mut self, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let now = required_ms(&now_ms, "nowMs")?;
        Ok(decision_to_js(self.inner.acquire(now)))
    }
    pub fn check(&mut self, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let now = required_ms(&now_ms, "nowMs")?;
        Ok(decision_to_js(self.inner.check(now)))
    }
    pub fn observe(&mut self, now_ms: JsValue, status: JsValue, headers: JsValue) -> Result<(), JsValue> {
        let now = required_ms(&now_ms, "nowMs")?;
        let status = status_from(&status)?;
        let h = header_pairs(&headers)?;
        self.inner.observe(now, status, &h);
        Ok(())
    }
    #[wasm_bindgen(getter)]
    pub fn limits(&self) -> JsValue {
        limits_to_js(self.inner.limits())
    }
}

// -----------------------------------------------------------------------------------------
// TokenSession
// -----------------------------------------------------------------------------------------

#[wasm_bindgen(skip_typescript)]
pub struct TokenSession {
    inner: core::TokenSession,
}

#[wasm_bindgen]
impl TokenSession {
    #[wasm_bindgen(constructor)]
    pub fn new(app: &App, options_value: JsValue) -> Result<TokenSession, JsValue> {
        let o = session_options_from(&options_value)?;
        Ok(TokenSession { inner: core::TokenSession::new(app.config.clone(), o) })
    }

    #[wasm_bindgen(js_name = fromStored)]
    pub fn from_stored(app: &App, stored: JsValue, options_value: JsValue) -> Result<TokenSession, JsValue> {
        let o = session_options_from(&options_value)?;
        let json = stored.as_string().ok_or_else(|| error(ErrorKind::InvalidArgument, "stored must be a string"))?;
        let inner = core::TokenSession::from_json(app.config.clone(), o, &json).map_err(|e| js_error(&e))?;
        Ok(TokenSession { inner })
    }

    /// A token set, or `{response, nowMs}` (a token endpoint answer parsed at nowMs).
    pub fn load(&mut self, tokens: JsValue) -> Result<(), JsValue> {
        let response = get(&tokens, "response");
        let set = if response.is_object() {
            let r = response_from(&response)?;
            let now = required_ms(&get(&tokens, "nowMs"), "nowMs")?;
            core::parse_token_response(r.status, &r.headers, &r.body, now).map_err(|e| js_error(&e))?
        } else {
            token_set_from(&tokens)?
        };
        self.inner.load(set);
        Ok(())
    }

    #[wasm_bindgen(js_name = loadPrivate)]
    pub fn load_private(&mut self, token: JsValue) -> Result<(), JsValue> {
        let t = token.as_string().ok_or_else(|| error(ErrorKind::InvalidArgument, "token must be a string"))?;
        self.inner.load_private(Secret::new(t)).map_err(|e| js_error(&e))
    }

    pub fn acquire(&mut self, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let now = required_ms(&now_ms, "nowMs")?;
        let action = self.inner.acquire(now).map_err(|e| js_error(&e))?;
        let o = Object::new();
        set(&o, "action", &JsValue::from_str(action.name()));
        match &action {
            core::Action::Use { access_token } => set(&o, "accessToken", &JsValue::from_str(access_token.expose())),
            core::Action::Refresh { request } => set(&o, "request", &request_to_js(request)),
            core::Action::Wait { wait_ms } => set(&o, "waitMs", &num(*wait_ms)),
            core::Action::Reauthorize => {}
        }
        Ok(o.into())
    }

    #[wasm_bindgen(js_name = refreshResponse)]
    pub fn refresh_response(&mut self, response: JsValue, sent_at_ms: JsValue) -> Result<JsValue, JsValue> {
        let r = response_from(&response)?;
        let sent = required_ms(&sent_at_ms, "sentAtMs")?;
        let t = self.inner.refresh_response(r.status, &r.headers, &r.body, sent).map_err(|e| js_error(&e))?;
        Ok(token_set_to_js(&t))
    }

    #[wasm_bindgen(js_name = apiResponse)]
    pub fn api_response(&mut self, response: JsValue, access_token: JsValue) -> Result<String, JsValue> {
        let r = response_from(&response)?;
        let token = access_token
            .as_string()
            .ok_or_else(|| error(ErrorKind::InvalidArgument, "accessToken must be a string"))?;
        // Classify with the headers too (same as the call loop), then note the kind.
        let c = core::classify_response(r.status, &r.headers, &r.body, None);
        self.inner.note_api_kind(c.kind, &token);
        Ok(c.kind.as_str().to_owned())
    }

    #[wasm_bindgen(js_name = toStored)]
    pub fn to_stored(&self) -> String {
        self.inner.to_json()
    }

    #[wasm_bindgen(getter)]
    pub fn version(&self) -> f64 {
        self.inner.version() as f64
    }
}

// -----------------------------------------------------------------------------------------
// WebhookVerifier
// -----------------------------------------------------------------------------------------

#[wasm_bindgen(skip_typescript)]
pub struct WebhookVerifier {
    inner: core::WebhookVerifier,
}

#[wasm_bindgen]
impl WebhookVerifier {
    /// `{publicKey?, legacyRsaKey?, maxAgeMs?, capacity?}`. Without `publicKey` the platform's
    /// Ed25519 key is used; `legacyRsaKey`: a PEM, `true` (the platform's RSA key) or `false`;
    /// absent → the platform's RSA key exactly when `publicKey` is absent too.
    #[wasm_bindgen(constructor)]
    pub fn new(options_value: JsValue) -> Result<WebhookVerifier, JsValue> {
        let public_key = opt_string(&get(&options_value, "publicKey"), "publicKey")?;
        let key = match &public_key {
            Some(k) => core::WebhookKey::parse(k).map_err(|e| js_error(&e))?,
            None => core::WebhookKey::platform(),
        };
        let capacity = ms_value(&get(&options_value, "capacity"), "capacity")?
            .map(|c| usize::try_from(c).unwrap_or(usize::MAX))
            .unwrap_or(core::webhook::DEFAULT_SEEN_CAPACITY);
        let mut inner = core::WebhookVerifier::with_capacity(key, capacity);
        let legacy = get(&options_value, "legacyRsaKey");
        let rsa = if let Some(pem) = legacy.as_string() {
            Some(core::RsaWebhookKey::parse(&pem).map_err(|e| js_error(&e))?)
        } else if let Some(b) = legacy.as_bool() {
            if b {
                Some(core::RsaWebhookKey::platform().map_err(|e| js_error(&e))?)
            } else {
                None
            }
        } else if legacy.is_undefined() || legacy.is_null() {
            if public_key.is_none() {
                Some(core::RsaWebhookKey::platform().map_err(|e| js_error(&e))?)
            } else {
                None
            }
        } else {
            return Err(error(ErrorKind::InvalidArgument, "legacyRsaKey must be a PEM string or a boolean"));
        };
        if let Some(k) = rsa {
            inner = inner.with_rsa_key(k);
        }
        if let Some(age) = ms_value(&get(&options_value, "maxAgeMs"), "maxAgeMs")? {
            inner = inner.with_max_age_ms(age);
        }
        Ok(WebhookVerifier { inner })
    }

    pub fn verify(&mut self, body: JsValue, headers: JsValue, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let body = body_from(&body)?;
        let h = header_pairs(&headers)?;
        let now = match ms_value(&now_ms, "nowMs")? {
            Some(n) => n,
            None => ms(js_sys::Date::now(), "Date.now()")?,
        };
        Ok(verification_to_js(&self.inner.verify_headers(&body, &h, now)))
    }
}

// -----------------------------------------------------------------------------------------
// Call and Pool: the driver's state machines
// -----------------------------------------------------------------------------------------

#[wasm_bindgen(skip_typescript)]
pub struct Call {
    inner: core::Call,
}

#[wasm_bindgen]
impl Call {
    /// `request`: `{method?, path, query?, json: string | null, version?}`; `options`: CallOptions.
    #[wasm_bindgen(constructor)]
    pub fn new(request: JsValue, options_value: JsValue) -> Result<Call, JsValue> {
        let req = api_request_from(&request)?;
        let o = call_options_from(&options_value)?;
        Ok(Call { inner: core::Call::new(req, o) })
    }

    pub fn stats(&self) -> JsValue {
        let s = self.inner.stats();
        let o = Object::new();
        set(&o, "sends", &JsValue::from(s.sends));
        set(&o, "refreshes", &JsValue::from(s.refreshes));
        set(&o, "authRetries", &JsValue::from(s.auth_retries));
        set(&o, "rateLimitRetries", &JsValue::from(s.rate_limit_retries));
        set(&o, "serverRetries", &JsValue::from(s.server_retries));
        o.into()
    }

    #[wasm_bindgen(getter, js_name = isFinished)]
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
}

#[wasm_bindgen(skip_typescript)]
pub struct Pool {
    inner: core::Pool,
}

#[wasm_bindgen]
impl Pool {
    #[wasm_bindgen(constructor)]
    pub fn new(app: &App, session_options: JsValue, limits: JsValue) -> Result<Pool, JsValue> {
        let so = session_options_from(&session_options)?;
        let l = limits_from(&limits)?;
        Ok(Pool { inner: core::Pool::new(app.config.clone(), so, l) })
    }

    /// Returns the resource id used (the set's location or company when `resourceId` is null).
    #[wasm_bindgen(js_name = loadTokens)]
    pub fn load_tokens(&mut self, resource_id: JsValue, tokens: JsValue) -> Result<String, JsValue> {
        let rid = opt_string(&resource_id, "resourceId")?;
        let set = token_set_from(&tokens)?;
        self.inner.load_tokens(rid.as_deref(), set).map_err(|e| js_error(&e))
    }

    #[wasm_bindgen(js_name = loadPrivate)]
    pub fn load_private(&mut self, resource_id: JsValue, token: JsValue) -> Result<(), JsValue> {
        let rid = string_arg(&resource_id, "resourceId")?;
        let t = string_arg(&token, "token")?;
        self.inner.load_private(&rid, Secret::new(t)).map_err(|e| js_error(&e))
    }

    #[wasm_bindgen(js_name = loadStored)]
    pub fn load_stored(&mut self, resource_id: JsValue, stored: JsValue) -> Result<(), JsValue> {
        let rid = string_arg(&resource_id, "resourceId")?;
        let json = string_arg(&stored, "stored")?;
        self.inner.load_stored(&rid, &json).map_err(|e| js_error(&e))
    }

    #[wasm_bindgen(js_name = storedJson)]
    pub fn stored_json(&self, resource_id: JsValue) -> JsValue {
        match resource_id.as_string().and_then(|r| self.inner.stored_json(&r)) {
            Some(s) => JsValue::from_str(&s),
            None => JsValue::NULL,
        }
    }

    #[wasm_bindgen(js_name = hasSession)]
    pub fn has_session(&self, resource_id: JsValue) -> bool {
        resource_id.as_string().is_some_and(|r| self.inner.has_session(&r))
    }

    pub fn remove(&mut self, resource_id: JsValue) -> bool {
        resource_id.as_string().is_some_and(|r| self.inner.remove(&r))
    }

    /// Advance `call` for `resourceId`. `event`: `{type:'start'|'resume'|'transport_error'}` or
    /// `{type:'response', response:{status, headers, body}}`, or `{type:'conflict'}` after a store's
    /// compare-and-set refused a `persist` (reload the session first); `random`: any number (jitter).
    pub fn step(
        &mut self,
        call: &mut Call,
        resource_id: JsValue,
        event: JsValue,
        now_ms: JsValue,
        random: JsValue,
    ) -> Result<JsValue, JsValue> {
        let rid = string_arg(&resource_id, "resourceId")?;
        let ev = event_from(&event)?;
        let now = required_ms(&now_ms, "nowMs")?;
        let rnd = random_from(&random);
        let step = self.inner.step(&mut call.inner, &rid, ev, now, rnd);
        step_to_js(&step)
    }
}

fn event_from(event: &JsValue) -> Result<core::Event, JsValue> {
    let ty = get(event, "type").as_string().unwrap_or_default();
    match ty.as_str() {
        "start" => Ok(core::Event::Start),
        "resume" => Ok(core::Event::Resume),
        "transport_error" => Ok(core::Event::TransportError),
        "conflict" => Ok(core::Event::Conflict),
        "response" => {
            let r = response_from(&get(event, "response"))?;
            Ok(core::Event::Response(core::Response { status: r.status, headers: r.headers, body: r.body }))
        }
        _ => Err(error(ErrorKind::InvalidArgument, "event.type must be start, resume, response, transport_error or conflict")),
    }
}

fn step_to_js(step: &core::Step) -> Result<JsValue, JsValue> {
    let o = Object::new();
    set(&o, "step", &JsValue::from_str(step.name()));
    match step {
        core::Step::Send(req) | core::Step::SendRefresh(req) => set(&o, "request", &request_to_js(req)),
        core::Step::Persist(stored) => {
            let json = serde_json::to_string(stored)
                .map_err(|_| error(ErrorKind::InvalidArgument, "the session state could not be serialised"))?;
            set(&o, "stored", &JsValue::from_str(&json));
        }
        core::Step::Wait { wait_ms, reason } => {
            set(&o, "waitMs", &num(*wait_ms));
            set(&o, "reason", &JsValue::from_str(reason.as_str()));
        }
        core::Step::Done(resp) => set(&o, "response", &response_to_js(resp)),
        core::Step::Reauthorize(e) | core::Step::Fail(e) => set(&o, "error", &error_data(e)),
    }
    Ok(o.into())
}

