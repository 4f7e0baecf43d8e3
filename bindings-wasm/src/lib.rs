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
use wasm_bindgen::prelude::*;

mod app;
mod convert;
use convert::*;

#[wasm_bindgen(typescript_custom_section)]
const TS_SHAPES: &str = include_str!("shapes.d.ts");

// -----------------------------------------------------------------------------------------
// Option objects (read field by field: smaller code than one serde visitor per shape)
// -----------------------------------------------------------------------------------------

fn limits_from(value: &JsValue) -> Result<core::Limits, JsValue> {
    options_from(value, "limits")
}

fn session_options_from(value: &JsValue) -> Result<core::SessionOptions, JsValue> {
    options_from(value, "sessionOptions")
}

fn call_options_from(value: &JsValue) -> Result<core::CallOptions, JsValue> {
    options_from(value, "callOptions")
}

/// A token set as JS passes it back in (`TokenSet` of api.d.ts; `extra` through serde-wasm-bindgen).
fn token_set_from(value: &JsValue) -> Result<core::TokenSet, JsValue> {
    if !value.is_object() {
        return Err(error(ErrorKind::InvalidArgument, "tokens must be a token set object"));
    }
    let s = |k: &'static str| field_str(value, k, ErrorKind::InvalidArgument);
    let access_token = match s("accessToken")? {
        Some(a) if !a.is_empty() => a,
        _ => return Err(error(ErrorKind::InvalidArgument, "token set: accessToken is missing or empty")),
    };
    let user_type = s("userType")?.as_deref().map(core::UserType::parse).transpose().map_err(|e| js_error(&e))?;
    let extra_value = get(value, "extra");
    let extra = if extra_value.is_object() {
        serde_wasm_bindgen::from_value(extra_value)
            .map_err(|_| error(ErrorKind::InvalidArgument, "token set: extra must be a JSON object"))?
    } else {
        serde_json::Map::new()
    };
    Ok(core::TokenSet {
        access_token: Secret::new(access_token),
        token_type: s("tokenType")?,
        expires_in: field_ms(value, "expiresIn", "tokens.expiresIn")?,
        expires_at_ms: field_ms(value, "expiresAtMs", "tokens.expiresAtMs")?,
        refresh_token: s("refreshToken")?.filter(|r| !r.is_empty()).map(Secret::new),
        scopes: field_str_list(value, "scopes")?.unwrap_or_default(),
        user_type,
        location_id: s("locationId")?,
        company_id: s("companyId")?,
        approved_locations: field_str_list(value, "approvedLocations")?,
        plan_id: s("planId")?,
        is_bulk_installation: field_bool(value, "isBulkInstallation")?,
        user_id: s("userId")?,
        extra,
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
        let s = |k: &'static str| field_str(&options_value, k, ErrorKind::InvalidConfig);
        let config = core::Config::new(core::ConfigOptions {
            client_id: s("clientId")?.unwrap_or_default(),
            client_secret: s("clientSecret")?.map(Secret::new),
            redirect_uri: s("redirectUri")?,
            marketplace: s("marketplace")?,
            api_base: s("apiBase")?,
            api_version: s("apiVersion")?,
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
        let s = |k: &'static str| field_str(&options_value, k, ErrorKind::InvalidArgument);
        let params = core::AuthorizationParams {
            scopes: field_str_list(&options_value, "scopes")?.unwrap_or_default(),
            state: s("state")?,
            login_window_open_mode: s("loginWindowOpenMode")?,
            version_id: s("versionId")?,
        };
        self.config.authorization_url(&params).map_err(|e| js_error(&e))
    }

    #[wasm_bindgen(js_name = tokenRequest)]
    pub fn token_request(&self, options_value: JsValue) -> Result<JsValue, JsValue> {
        let s = |k: &'static str| field_str(&options_value, k, ErrorKind::InvalidArgument);
        let grant = core::Grant::from_parts(
            s("grant")?.as_deref().unwrap_or(""),
            s("code")?.as_deref(),
            s("refreshToken")?.as_deref(),
        )
        .map_err(|e| js_error(&e))?;
        let user_type = s("userType")?.as_deref().map(core::UserType::parse).transpose().map_err(|e| js_error(&e))?;
        let req = self.config.token_request(&grant, user_type).map_err(|e| js_error(&e))?;
        Ok(request_to_js(&req))
    }

    #[wasm_bindgen(js_name = locationTokenRequest)]
    pub fn location_token_request(&self, options_value: JsValue) -> Result<JsValue, JsValue> {
        let s = |k: &'static str| field_str(&options_value, k, ErrorKind::InvalidArgument);
        let req = self
            .config
            .location_token_request(
                s("agencyAccessToken")?.as_deref().unwrap_or(""),
                s("companyId")?.as_deref().unwrap_or(""),
                s("locationId")?.as_deref().unwrap_or(""),
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
    #[derive(serde::Serialize)]
    struct Out<'a> {
        code: &'a str,
        state: Option<&'a str>,
    }
    Ok(via_json(&Out { code: cb.code.expose(), state: cb.state.as_deref() }))
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

/// Fast path of `parseTokenResponse` (as the Node addon has it): status and body in, the token
/// set's camelCase JSON text out (the JS layer parses it).
#[wasm_bindgen(js_name = parseTokenBody, skip_typescript)]
pub fn parse_token_body(status: JsValue, body: JsValue, now_ms: JsValue) -> Result<String, JsValue> {
    let status = status_from(&status)?;
    let body = body_from(&body)?;
    let now = required_ms(&now_ms, "nowMs")?;
    core::parse_token_response(status, &[], &body, now).map(|t| t.to_js_json()).map_err(|e| js_error(&e))
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
        ms_value(&get(&options_value, "maxAgeMs"), "maxAgeMs")?.unwrap_or(core::DEFAULT_MAX_AGE_MS);
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
    /// The answer (or transport error) of send `sendId` arrived at `nowMs`.
    pub fn answered(&mut self, send_id: JsValue, now_ms: JsValue) -> Result<(), JsValue> {
        let id = required_ms(&send_id, "sendId")?;
        let now = required_ms(&now_ms, "nowMs")?;
        self.inner.answered(id, now);
        Ok(())
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
        set(&o, "action", &JsValue::from_str(action.as_str()));
        match &action {
            core::Action::Use { access_token } => set(&o, "accessToken", &JsValue::from_str(access_token.expose())),
            core::Action::Refresh { request } => set(&o, "request", &request_to_js(request)),
            core::Action::Wait { wait_ms } => set(&o, "waitMs", &num(*wait_ms)),
            core::Action::Mint { company_id, location_id } => {
                set(&o, "companyId", &JsValue::from_str(company_id));
                set(&o, "locationId", &JsValue::from_str(location_id));
            }
            core::Action::Reauthorize | core::Action::Save => {}
        }
        Ok(o.into())
    }

    /// The state after `acquire` answered 'save' (or a refresh) is in the store now.
    pub fn persisted(&mut self) {
        self.inner.persisted()
    }

    /// The save failed: the tokens stay in memory, marked unsaved ('save' comes again).
    #[wasm_bindgen(js_name = saveFailed)]
    pub fn save_failed(&mut self) {
        self.inner.save_failed()
    }

    #[wasm_bindgen(js_name = isUnsaved)]
    pub fn is_unsaved(&self) -> bool {
        self.inner.is_unsaved()
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
        self.inner.stored_json()
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
        let capacity = int_value(&get(&options_value, "capacity"), "capacity", 0, u64::from(u32::MAX))?
            .map_or(core::DEFAULT_SEEN_CAPACITY, |c| c as usize);
        let max_age = ms_value(&get(&options_value, "maxAgeMs"), "maxAgeMs")?;
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
            // Platform mode also accepts the platform's legacy signatures, when the core
            // was built with them (its `legacy-rsa` support); never an error when not asked for.
            if public_key.is_none() {
                core::RsaWebhookKey::platform().ok()
            } else {
                None
            }
        } else {
            return Err(error(ErrorKind::InvalidArgument, "legacyRsaKey must be a PEM string or a boolean"));
        };
        if let Some(k) = rsa {
            inner = inner.with_rsa_key(k);
        }
        if let Some(age) = max_age {
            inner = inner.with_max_age_ms(age);
        }
        Ok(WebhookVerifier { inner })
    }

    pub fn verify(&mut self, body: JsValue, headers: JsValue, now_ms: JsValue) -> Result<JsValue, JsValue> {
        let body = body_from(&body)?;
        let h = header_pairs(&headers)?;
        let now = match ms_value(&now_ms, "nowMs")? {
            Some(n) => n,
            None => js_sys::Date::now() as u64,
        };
        Ok(verification_to_js(&self.inner.verify_headers(&body, &h, now)))
    }

    /// Forget one accepted `webhookId`: the same delivery is accepted again (a receiver
    /// whose handling failed un-marks the delivery so the platform's retry is handled).
    #[wasm_bindgen(js_name = forgetSeen)]
    pub fn forget_seen(&mut self, webhook_id: String) {
        self.inner.forget_seen(&webhook_id);
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
        set(&o, "mints", &JsValue::from(s.mints));
        o.into()
    }

    /// Whether the call has ended (done, fail, reauthorize or aborted).
    #[wasm_bindgen(js_name = isFinished)]
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// An independent copy of the call in its current state (coordinated mode: a step whose
    /// compare-and-set lost the race is taken again from the copy).
    pub fn copy(&self) -> Call {
        Call { inner: self.inner.clone() }
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

    /// End `call` at `nowMs` (failure, cancellation): releases its refresh lease, a save under
    /// way (the tokens stay unsaved) and the rate-limit slot of a send in flight. Idempotent.
    pub fn abort(&mut self, call: &mut Call, resource_id: JsValue, now_ms: JsValue) -> Result<(), JsValue> {
        let rid = string_arg(&resource_id, "resourceId")?;
        let now = required_ms(&now_ms, "nowMs")?;
        self.inner.abort(&mut call.inner, &rid, now);
        Ok(())
    }

    /// Whether `resourceId` holds tokens its store does not (a save failed).
    #[wasm_bindgen(js_name = isUnsaved)]
    pub fn is_unsaved(&self, resource_id: JsValue) -> bool {
        resource_id.as_string().is_some_and(|r| self.inner.is_unsaved(&r))
    }

    /// Start an explicit save of `resourceId`'s unsaved tokens: the stored JSON to save (then
    /// `endSave`), or null when there is nothing to save or a save is under way.
    #[wasm_bindgen(js_name = beginSave)]
    pub fn begin_save(&mut self, resource_id: JsValue) -> JsValue {
        match resource_id.as_string().and_then(|r| self.inner.begin_save(&r)) {
            Some(s) => JsValue::from_str(&s),
            None => JsValue::NULL,
        }
    }

    /// Finish the save begun by `beginSave`: `saved` false keeps the tokens unsaved.
    #[wasm_bindgen(js_name = endSave)]
    pub fn end_save(&mut self, resource_id: JsValue, saved: JsValue) -> Result<(), JsValue> {
        let rid = string_arg(&resource_id, "resourceId")?;
        let saved = saved.as_bool().ok_or_else(|| error(ErrorKind::InvalidArgument, "saved must be a boolean"))?;
        self.inner.end_save(&rid, saved);
        Ok(())
    }

    /// Resources holding tokens their store does not.
    #[wasm_bindgen(js_name = unsavedResources)]
    pub fn unsaved_resources(&self) -> Array {
        self.inner.unsaved_resources().map(JsValue::from_str).collect()
    }

    /// Coordinated mode: take `resourceId`'s state (token session and limiter) from its
    /// shared record (null: nothing stored yet). Unsaved local tokens newer than the record's
    /// are kept. A sealed record needs its key (`setKeys`).
    #[wasm_bindgen(js_name = loadShared)]
    pub fn load_shared(&mut self, resource_id: JsValue, record: JsValue) -> Result<(), JsValue> {
        let rid = string_arg(&resource_id, "resourceId")?;
        let record = opt_string(&record, "record")?;
        self.inner.load_shared(&rid, record.as_deref()).map_err(|e| js_error(&e))
    }

    /// Coordinated mode: the record to compare-and-set after a step (sealed with `nonce`,
    /// exactly 24 random bytes, when keys are set), or null when nothing others must see
    /// changed since `loadShared`.
    #[wasm_bindgen(js_name = exportShared)]
    pub fn export_shared(&mut self, resource_id: JsValue, nonce: JsValue) -> Result<JsValue, JsValue> {
        let rid = string_arg(&resource_id, "resourceId")?;
        let bytes = bytes_from(&nonce)
            .ok_or_else(|| error(ErrorKind::InvalidArgument, "nonce must be a Uint8Array of 24 random bytes"))?;
        let nonce: [u8; 24] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| error(ErrorKind::InvalidArgument, "nonce must be exactly 24 bytes"))?;
        match self.inner.export_shared(&rid, &nonce).map_err(|e| js_error(&e))? {
            Some(r) => Ok(JsValue::from_str(&r)),
            None => Ok(JsValue::NULL),
        }
    }

    /// Coordinated mode: the record exported last was written (its tokens are saved).
    #[wasm_bindgen(js_name = sharedWritten)]
    pub fn shared_written(&mut self, resource_id: JsValue) -> Result<(), JsValue> {
        let rid = string_arg(&resource_id, "resourceId")?;
        self.inner.shared_written(&rid);
        Ok(())
    }

    /// Seal shared records with these 32-byte keys (the first seals, every one opens); `[]`
    /// turns sealing off. A key of another length is `invalid_config` (the core's check).
    #[wasm_bindgen(js_name = setKeys)]
    pub fn set_keys(&mut self, keys: JsValue) -> Result<(), JsValue> {
        let bad = || error(ErrorKind::InvalidArgument, "keys must be an array of Uint8Array keys (32 bytes each)");
        if !Array::is_array(&keys) {
            return Err(bad());
        }
        let list: Vec<Vec<u8>> =
            Array::from(&keys).iter().map(|k| bytes_from(&k).ok_or_else(bad)).collect::<Result<_, _>>()?;
        if list.is_empty() {
            self.inner.set_sealer(None);
            return Ok(());
        }
        let refs: Vec<&[u8]> = list.iter().map(Vec::as_slice).collect();
        let sealer = core::Sealer::new(&refs).map_err(|e| js_error(&e))?;
        self.inner.set_sealer(Some(sealer));
        Ok(())
    }

    /// Advance `call` for `resourceId`. `event`: `{type:'start'|'resume'|'transport_error'}` or
    /// `{type:'response', response:{status, headers, body}}`, or `{type:'conflict'}` after a store's
    /// compare-and-set refused a `persist` (reload the session first), or `{type:'persist_failed'}`
    /// when a `persist` raised or timed out; `random`: an integer in 0..=2^53-1 (jitter).
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
        let rnd = required_ms(&random, "random")?;
        let step = self.inner.step(&mut call.inner, &rid, ev, now, rnd);
        step_to_js(&step)
    }
}

// -----------------------------------------------------------------------------------------
// Coordinated mode: the core's store constants
// -----------------------------------------------------------------------------------------

/// The Redis script that reads a resource's record and the server's clock (the core's text).
#[wasm_bindgen(js_name = redisReadScript, skip_typescript)]
pub fn redis_read_script() -> String {
    core::REDIS_READ_SCRIPT.to_owned()
}

/// The Redis compare-and-set script (the core's text).
#[wasm_bindgen(js_name = redisCasScript, skip_typescript)]
pub fn redis_cas_script() -> String {
    core::REDIS_CAS_SCRIPT.to_owned()
}

/// The SQLite schema of a one-host shared store (the core's text).
#[wasm_bindgen(js_name = sqliteSchema, skip_typescript)]
pub fn sqlite_schema() -> String {
    core::SQLITE_SCHEMA.to_owned()
}

/// How long a store keeps a record after its last write (ms).
#[wasm_bindgen(js_name = sharedTtlMs, skip_typescript)]
pub fn shared_ttl_ms() -> f64 {
    core::SHARED_TTL_MS as f64
}

/// The refresh lease in coordinated mode (ms): shorter than the platform's grace.
#[wasm_bindgen(js_name = sharedLeaseMs, skip_typescript)]
pub fn shared_lease_ms() -> f64 {
    core::SHARED_LEASE_MS as f64
}

/// The Redis key of a resource's shared record under `prefix`.
#[wasm_bindgen(js_name = redisKey, skip_typescript)]
pub fn redis_key(prefix: JsValue, resource_id: JsValue) -> Result<String, JsValue> {
    Ok(core::redis_key(&string_arg(&prefix, "prefix")?, &string_arg(&resource_id, "resourceId")?))
}

/// The Redis key marking a webhook delivery as seen under `prefix`.
#[wasm_bindgen(js_name = redisWebhookKey, skip_typescript)]
pub fn redis_webhook_key(prefix: JsValue, webhook_id: JsValue) -> Result<String, JsValue> {
    Ok(core::redis_webhook_key(&string_arg(&prefix, "prefix")?, &string_arg(&webhook_id, "webhookId")?))
}

fn event_from(event: &JsValue) -> Result<core::Event, JsValue> {
    let ty = get(event, "type").as_string().unwrap_or_default();
    match ty.as_str() {
        "start" => Ok(core::Event::Start),
        "resume" => Ok(core::Event::Resume),
        "transport_error" => Ok(core::Event::TransportError),
        "conflict" => Ok(core::Event::Conflict),
        "persist_failed" => Ok(core::Event::PersistFailed),
        "response" => {
            let r = response_from(&get(event, "response"))?;
            Ok(core::Event::Response(core::Response { status: r.status, headers: r.headers, body: r.body }))
        }
        _ => Err(error(
            ErrorKind::InvalidArgument,
            "event.type must be start, resume, response, transport_error, conflict or persist_failed",
        )),
    }
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct StepOut<'a> {
    step: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    request: Option<RequestOut<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    stored: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wait_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<ErrorOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    company_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    location_id: Option<&'a str>,
}

#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorOut {
    kind: &'static str,
    /// `"<kind>: <message>"`, as thrown errors carry it.
    message: String,
    status: Option<u16>,
    retry_after_ms: Option<u64>,
}

fn step_to_js(step: &core::Step) -> Result<JsValue, JsValue> {
    let mut out = StepOut {
        step: step.as_str(),
        request: None,
        stored: None,
        wait_ms: None,
        reason: None,
        error: None,
        company_id: None,
        location_id: None,
    };
    match step {
        core::Step::Send(req) | core::Step::SendRefresh(req) => out.request = Some(request_out(req)),
        core::Step::Persist(stored) => {
            let json = serde_json::to_string(stored)
                .map_err(|_| error(ErrorKind::InvalidArgument, "the session state could not be serialised"))?;
            out.stored = Some(json);
        }
        core::Step::Wait { wait_ms, reason } => {
            out.wait_ms = Some(*wait_ms);
            out.reason = Some(reason.as_str());
        }
        core::Step::Done(resp) => {
            // The body crosses as a string of its own (it can be large): no JSON escaping.
            let o = Object::new();
            set(&o, "step", &JsValue::from_str("done"));
            set(&o, "response", &response_to_js(resp));
            return Ok(o.into());
        }
        core::Step::Mint { company_id, location_id } => {
            out.company_id = Some(company_id);
            out.location_id = Some(location_id);
        }
        core::Step::Reauthorize(e) | core::Step::Fail(e) => {
            out.error = Some(ErrorOut {
                kind: e.kind().as_str(),
                message: e.to_string(),
                status: e.status(),
                retry_after_ms: e.retry_after_ms(),
            })
        }
    }
    Ok(via_json(&out))
}
