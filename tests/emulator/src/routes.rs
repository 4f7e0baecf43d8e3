//! HTTP routing: maps requests onto `State` and answers with the platform's bodies.

use crate::state::{App, Class, CodeOutcome, Grant, RefreshOutcome, State};
use crate::webhooks::{self, Event, HttpClient, WebhookKey};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, CONTENT_TYPE, LOCATION};
use hyper::{Method, Request, Response, StatusCode};
use serde_json::{json, Map, Value};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::time::{Duration, Instant};

pub type Resp = Response<Full<Bytes>>;

/// Returned to hyper to drop the connection without any answer.
#[derive(Debug)]
pub struct Dropped;

impl std::fmt::Display for Dropped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose by the emulator")
    }
}
impl std::error::Error for Dropped {}

pub struct Shared {
    pub app: App,
    pub key: WebhookKey,
    pub client: HttpClient,
    pub state: Mutex<State>,
}

impl Shared {
    fn st(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

// ---- response helpers ---------------------------------------------------------------

fn raw(status: u16, ctype: &str, body: impl Into<Bytes>) -> Resp {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let Ok(v) = HeaderValue::from_str(ctype) {
        r.headers_mut().insert(CONTENT_TYPE, v);
    }
    r
}

fn json_resp(status: u16, v: &Value) -> Resp {
    raw(status, "application/json; charset=utf-8", v.to_string())
}

fn json_text(status: u16, body: String) -> Resp {
    raw(status, "application/json; charset=utf-8", body)
}

/// `{"statusCode", "message"}` as the API gateway answers.
fn msg(status: u16, message: &str) -> Resp {
    json_resp(status, &json!({"statusCode": status, "message": message}))
}

/// NestJS `{"statusCode", "message", "error"}`.
fn nest(status: u16, message: impl Into<Value>) -> Resp {
    let reason = StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Error");
    json_resp(
        status,
        &json!({"statusCode": status, "message": message.into(), "error": reason}),
    )
}

fn pairs(s: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(s).into_owned().collect()
}

fn get<'a>(p: &'a [(String, String)], k: &str) -> Option<&'a str> {
    p.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

fn bearer(h: &HeaderMap) -> Option<&str> {
    let v = h.get(hyper::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, tok) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| tok.trim())
}

fn is_http_url(u: &str) -> bool {
    let rest = u
        .strip_prefix("http://")
        .or_else(|| u.strip_prefix("https://"));
    match rest {
        Some(r) => {
            let host = r.split(['/', '?', '#']).next().unwrap_or("");
            !host.is_empty() && !u.chars().any(|c| c.is_whitespace() || c.is_control())
        }
        None => false,
    }
}

fn json_body(body: &Bytes) -> Option<Map<String, Value>> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

// ---- dispatch -------------------------------------------------------------------------

pub async fn handle(sh: Arc<Shared>, req: Request<Incoming>) -> Result<Resp, Dropped> {
    let (parts, body) = req.into_parts();
    let body = match Limited::new(body, 1 << 20).collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Ok(nest(400, "Could not read the request body")),
    };
    let path = parts.uri.path();
    let query = parts.uri.query().unwrap_or("");
    let m = &parts.method;
    if *m == Method::GET && (path == "/oauth/chooselocation" || path == "/v2/oauth/chooselocation")
    {
        return Ok(choose_location(&sh, query));
    }
    if *m == Method::POST && path == "/oauth/token" {
        return token(&sh, &parts.headers, &body);
    }
    if *m == Method::POST && path == "/oauth/locationToken" {
        return Ok(location_token(&sh, &parts.headers, &body));
    }
    let api_route = match (m.clone(), path) {
        (Method::GET, "/contacts" | "/contacts/") => Some(ApiRoute::ListContacts),
        (Method::POST, "/contacts" | "/contacts/") => Some(ApiRoute::CreateContact),
        (Method::GET, p) => p
            .strip_prefix("/locations/")
            .map(|id| id.trim_end_matches('/'))
            .filter(|id| !id.is_empty() && !id.contains('/'))
            .map(|id| ApiRoute::GetLocation(id.to_string())),
        _ => None,
    };
    if let Some(route) = api_route {
        return Ok(api(&sh, &parts.headers, query, &body, route).await);
    }
    Ok(match (m.clone(), path) {
        (Method::GET, "/_emulator/webhook-key") => json_resp(
            200,
            &json!({"spki_base64": sh.key.spki_base64(), "pem": sh.key.pem(),
                    "raw_base64": sh.key.raw_base64()}),
        ),
        (Method::POST, "/_emulator/webhooks/send") => send_webhook(&sh, &body).await,
        (Method::GET, "/_emulator/stats") => json_resp(200, &sh.st().stats_json()),
        (Method::GET, "/_emulator/timeline") => {
            let q = pairs(query.as_bytes());
            match get(&q, "bucket_ms").map(str::parse::<u64>) {
                None => json_resp(200, &sh.st().timeline_json(1000)),
                Some(Ok(ms)) if ms > 0 => json_resp(200, &sh.st().timeline_json(ms)),
                Some(_) => nest(400, "bucket_ms must be a positive integer"),
            }
        }
        (Method::POST, "/_emulator/reset") => {
            sh.st().reset();
            json_resp(200, &json!({"ok": true}))
        }
        (Method::GET, "/_emulator/control") => json_resp(200, &json!(sh.st().knobs)),
        (Method::POST, "/_emulator/control") => control(&sh, &body),
        _ => nest(404, format!("Cannot {m} {path}")),
    })
}

// ---- OAuth ------------------------------------------------------------------------------

fn choose_location(sh: &Shared, query: &str) -> Resp {
    let q = pairs(query.as_bytes());
    let app = &sh.app;
    if get(&q, "response_type") != Some("code") {
        return nest(400, "response_type must be code");
    }
    if get(&q, "client_id") != Some(app.client_id.as_str()) {
        return nest(400, "Invalid client_id: no app with this id");
    }
    let Some(redirect) = get(&q, "redirect_uri").filter(|u| is_http_url(u)) else {
        return nest(400, "redirect_uri must be an absolute http or https URL");
    };
    let scopes: Vec<String> = get(&q, "scope")
        .unwrap_or("")
        .split_whitespace()
        .map(String::from)
        .collect();
    if scopes.is_empty() {
        return nest(400, "scope should not be empty");
    }
    let location = match get(&q, "location_id") {
        Some(l) if app.locations.iter().any(|x| x == l) => l.to_string(),
        Some(_) => return nest(400, "Unknown location_id"),
        None => app.locations.first().cloned().unwrap_or_default(),
    };
    // Emulator-only: the agency user's pick of sub-accounts for a bulk install.
    let approved = match get(&q, "approved_locations") {
        None => None,
        Some(list) => {
            let list: Vec<String> = list
                .split(',')
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect();
            if list.is_empty() || !list.iter().all(|l| app.locations.contains(l)) {
                return nest(400, "Unknown location in approved_locations");
            }
            Some(list)
        }
    };
    let state = get(&q, "state");
    let mut st = sh.st();
    let mut out = form_urlencoded::Serializer::new(String::new());
    if st.knobs.deny {
        out.append_pair("error", "access_denied");
        out.append_pair("error_description", "The user denied access");
    } else {
        let code = st.issue_code(app, redirect, scopes, &location, approved, Instant::now());
        out.append_pair("code", &code);
    }
    if let Some(s) = state {
        out.append_pair("state", s);
    }
    let base = redirect.split('#').next().unwrap_or(redirect);
    let sep = if base.contains('?') { '&' } else { '?' };
    let target = format!("{base}{sep}{}", out.finish());
    let mut r = raw(
        302,
        "text/plain; charset=utf-8",
        format!("Found. Redirecting to {target}"),
    );
    if let Ok(v) = HeaderValue::from_str(&target) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

fn is_form(h: &HeaderMap) -> bool {
    h.get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

fn token(sh: &Shared, headers: &HeaderMap, body: &Bytes) -> Result<Resp, Dropped> {
    if !is_form(headers) {
        return Ok(nest(
            400,
            "Content-Type must be application/x-www-form-urlencoded",
        ));
    }
    let f = pairs(body);
    let app = &sh.app;
    let client_id = get(&f, "client_id").unwrap_or("");
    if client_id != app.client_id || get(&f, "client_secret") != Some(app.client_secret.as_str()) {
        return Ok(json_resp(
            401,
            &json!({"error": "invalid_client", "error_description": "Invalid client credentials"}),
        ));
    }
    let now = Instant::now();
    match get(&f, "grant_type").unwrap_or("") {
        "authorization_code" => {
            let company = match get(&f, "user_type") {
                None | Some("Location") => false,
                Some("Company") => true,
                Some(_) => return Ok(nest(400, "user_type must be one of Company, Location")),
            };
            let code = get(&f, "code").unwrap_or("");
            let out = sh
                .st()
                .exchange_code(client_id, code, get(&f, "redirect_uri"), company, now);
            match out {
                CodeOutcome::Issued {
                    body,
                    location,
                    user_id,
                } => {
                    if let Some(url) = &app.webhook_url {
                        spawn_install(sh, url, &location, &user_id);
                    }
                    Ok(json_text(200, body))
                }
                CodeOutcome::NotFound { resource } => {
                    sh.st().stat(&resource, |s| s.invalid_grants += 1);
                    Ok(json_resp(
                        401,
                        &json!({"error": "UnAuthorized!",
                                "error_description": "Authorization code not found"}),
                    ))
                }
            }
        }
        "refresh_token" => {
            let rt = get(&f, "refresh_token").unwrap_or("");
            let out = sh.st().refresh(client_id, rt, now);
            match out {
                RefreshOutcome::Rotated { drop: true, .. } => Err(Dropped),
                RefreshOutcome::Rotated { body, .. } | RefreshOutcome::Grace(body) => {
                    Ok(json_text(200, body))
                }
                RefreshOutcome::Invalid => Ok(nest(400, "Invalid grant: refresh token is invalid")),
                RefreshOutcome::Paused => Ok(nest(400, "Location is not active")),
            }
        }
        "client_credentials" => {
            let grant = Grant {
                client_id: app.client_id.clone(),
                company_id: app.company_id.clone(),
                class: Class::Company,
                scopes: get(&f, "scope")
                    .map(|s| s.split_whitespace().map(String::from).collect())
                    .unwrap_or_default(),
                user_id: app.user_id.clone(),
                approved_locations: Some(app.locations.clone()),
                bulk: false,
            };
            let mut st = sh.st();
            let body = st.mint(grant, now);
            st.stat(&app.company_id, |s| s.token_exchanges += 1);
            Ok(json_text(200, body))
        }
        _ => Ok(json_resp(400, &json!({"error": "unsupported_grant_type"}))),
    }
}

fn location_token(sh: &Shared, headers: &HeaderMap, body: &Bytes) -> Resp {
    let now = Instant::now();
    let app = &sh.app;
    let Some(grant) = bearer(headers).and_then(|t| sh.st().lookup_access(t, now)) else {
        return msg(401, "Invalid JWT");
    };
    if grant.class != Class::Company {
        return msg(401, "Token's user type mismatch!");
    }
    if !is_form(headers) {
        return nest(
            400,
            "Content-Type must be application/x-www-form-urlencoded",
        );
    }
    let f = pairs(body);
    let (Some(company), Some(location)) = (
        get(&f, "companyId").filter(|s| !s.is_empty()),
        get(&f, "locationId").filter(|s| !s.is_empty()),
    ) else {
        return nest(
            400,
            json!(["companyId must be a string", "locationId must be a string"]),
        );
    };
    if company != grant.company_id {
        return nest(403, "The token does not have access to this company.");
    }
    if company != app.company_id || !app.locations.iter().any(|l| l == location) {
        return nest(400, "Location not found for this company");
    }
    // Only the locations the installation approved (the company token's approvedLocations).
    if let Some(approved) = &grant.approved_locations {
        if !approved.iter().any(|l| l == location) {
            return nest(400, "The app is not installed on this location");
        }
    }
    let new = Grant {
        class: Class::Location(location.to_string()),
        approved_locations: None,
        bulk: false,
        ..grant
    };
    let mut st = sh.st();
    let body = st.mint_location(new, now);
    st.stat(location, |s| s.token_exchanges += 1);
    json_text(201, body)
}

// ---- API ---------------------------------------------------------------------------------

enum ApiRoute {
    ListContacts,
    CreateContact,
    GetLocation(String),
}

const AUTH_CLASS: &str = "This authClass type is not allowed to access this scope. Please reach out to the Platform team to get it added.";
const NO_SCOPE: &str = "The token is not authorized for this scope.";
const NO_LOCATION: &str = "The token does not have access to this location.";

/// An API request: the token is checked on arrival; a burst's first requests then wait
/// `burst_delay_ms`.. before the rate limiter counts them (they reach the platform late);
/// `latency_ms` delays every answer after it is decided.
async fn api(sh: &Shared, headers: &HeaderMap, query: &str, body: &Bytes, route: ApiRoute) -> Resp {
    let arrival = Instant::now();
    let grant = bearer(headers).and_then(|t| sh.st().lookup_access(t, arrival));
    let resp = match grant {
        Some(grant) => admitted(sh, headers, query, body, route, grant, arrival).await,
        None => {
            let mut st = sh.st();
            st.stat("unknown", |s| {
                s.requests += 1;
                s.unauthorized += 1;
            });
            st.record("unknown", 401, arrival);
            msg(401, "Invalid JWT")
        }
    };
    let latency = sh.st().knobs.latency_ms;
    if latency > 0 {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    resp
}

async fn admitted(
    sh: &Shared,
    headers: &HeaderMap,
    query: &str,
    body: &Bytes,
    route: ApiRoute,
    grant: Grant,
    arrival: Instant,
) -> Resp {
    let resource = grant.resource().to_string();
    let delay = sh.st().burst_delay(&resource, arrival);
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    let mut st = sh.st();
    // Taken under the lock, so admission times never go backwards.
    let now = Instant::now();
    let limit = st.rate(&grant.client_id, &resource, now);
    let fail_rate = st.knobs.fail_rate;
    let mut resp = if !limit.allowed {
        msg(429, "Too Many Requests")
    } else if fail_rate > 0.0 && st.prng.next_f64() < fail_rate {
        msg(503, "Service Unavailable")
    } else if !headers.contains_key("version") {
        nest(400, "version header was not found")
    } else {
        api_route(&mut st, &sh.app, &grant, query, body, route)
    };
    let status = resp.status().as_u16();
    st.stat(&resource, |s| {
        s.requests += 1;
        match status {
            200..=299 => s.ok += 1,
            429 => s.rate_limited += 1,
            401 | 403 => s.unauthorized += 1,
            500..=599 => s.server_errors += 1,
            _ => {}
        }
    });
    st.record(&resource, status, now);
    drop(st);
    for (name, value) in limit.headers {
        if let Ok(v) = HeaderValue::from_str(&value) {
            resp.headers_mut().insert(name, v);
        }
    }
    resp
}

/// Location-scoped routes: scope, then token class, then location.
fn location_check(grant: &Grant, scope: &str, location: &str) -> Option<Resp> {
    if !grant.has_scope(scope) {
        return Some(msg(401, NO_SCOPE));
    }
    match &grant.class {
        Class::Company => Some(msg(401, AUTH_CLASS)),
        Class::Location(l) if l != location => Some(msg(403, NO_LOCATION)),
        Class::Location(_) => None,
    }
}

fn api_route(
    st: &mut State,
    app: &App,
    grant: &Grant,
    query: &str,
    body: &Bytes,
    route: ApiRoute,
) -> Resp {
    match route {
        ApiRoute::ListContacts => {
            let q = pairs(query.as_bytes());
            let Some(loc) = get(&q, "locationId").filter(|s| !s.is_empty()) else {
                return nest(422, json!(["locationId must be a string"]));
            };
            if let Some(r) = location_check(grant, "contacts.readonly", loc) {
                return r;
            }
            let list = st.contacts.get(loc).cloned().unwrap_or_default();
            json_resp(
                200,
                &json!({"contacts": list, "meta": {"total": list.len(), "currentPage": 1}}),
            )
        }
        ApiRoute::CreateContact => {
            let Some(mut obj) = json_body(body) else {
                return nest(400, "Request body must be a JSON object");
            };
            let Some(loc) = obj
                .get("locationId")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(String::from)
            else {
                return nest(422, json!(["locationId must be a string"]));
            };
            if let Some(r) = location_check(grant, "contacts.write", &loc) {
                return r;
            }
            let id = st.prng.token(20);
            obj.insert("id".into(), Value::String(id));
            let contact = Value::Object(obj);
            st.contacts.entry(loc).or_default().push(contact.clone());
            json_resp(201, &json!({"contact": contact}))
        }
        ApiRoute::GetLocation(id) => {
            if !grant.has_scope("locations.readonly") {
                return msg(401, NO_SCOPE);
            }
            let allowed = match &grant.class {
                Class::Location(l) => *l == id,
                Class::Company => grant.company_id == app.company_id && app.locations.contains(&id),
            };
            if !allowed {
                return msg(403, NO_LOCATION);
            }
            json_resp(
                200,
                &json!({"location": {"id": id, "companyId": app.company_id,
                                     "name": format!("Emulated location {id}")}}),
            )
        }
    }
}

// ---- webhooks and control ----------------------------------------------------------------

/// What one delivery says: its type, install type, location (None: company-level) and bulk flag.
struct EventSpec<'a> {
    kind: &'a str,
    install_type: &'a str,
    location: Option<&'a str>,
    bulk: bool,
}

fn event_body(sh: &Shared, spec: &EventSpec, user_id: &str) -> (String, String) {
    let webhook_id = {
        let mut st = sh.st();
        let h = st.prng.hex(32);
        format!(
            "{}-{}-{}-{}-{}",
            &h[0..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    };
    let ev = Event {
        kind: spec.kind,
        app_id: sh.app.app_id(),
        install_type: spec.install_type,
        location_id: spec.location,
        company_id: &sh.app.company_id,
        user_id,
        is_bulk_installation: spec.bulk.then_some(true),
        timestamp: webhooks::iso_now(),
        webhook_id,
    };
    let body = serde_json::to_string(&ev).unwrap_or_default();
    let sig = sh.key.sign(body.as_bytes());
    (body, sig)
}

fn spawn_install(sh: &Shared, url: &str, location: &str, user_id: &str) {
    let spec = EventSpec {
        kind: "INSTALL",
        install_type: "Location",
        location: Some(location),
        bulk: false,
    };
    let (body, sig) = event_body(sh, &spec, user_id);
    let client = sh.client.clone();
    let url = url.to_string();
    tokio::spawn(async move {
        let _ = webhooks::deliver(&client, &url, &body, &sig).await;
    });
}

/// `POST /_emulator/webhooks/send`: one signed delivery per event, each sent `times` times
/// (the platform's retries repeat the same body and signature).
async fn send_webhook(sh: &Shared, body: &Bytes) -> Resp {
    let Some(req) = json_body(body) else {
        return nest(400, "body must be a JSON object");
    };
    let s = |k: &str| req.get(k).and_then(Value::as_str);
    let flag = |k: &str| req.get(k).and_then(Value::as_bool);
    let Some(url) = s("url") else {
        return nest(400, "url must be a string");
    };
    let kind = match s("type") {
        Some(k @ ("INSTALL" | "UNINSTALL")) => k,
        _ => return nest(400, "type must be INSTALL or UNINSTALL"),
    };
    for k in ["bulk", "perLocation", "company", "revoke"] {
        if req.get(k).is_some_and(|v| !v.is_boolean()) {
            return nest(400, format!("{k} must be a boolean"));
        }
    }
    let bulk = flag("bulk").unwrap_or(false);
    let per_location = flag("perLocation").unwrap_or(false);
    let company = flag("company").unwrap_or(false);
    let times = match req.get("times") {
        None => 1,
        Some(v) => match v.as_u64() {
            Some(n @ 1..=10) => n,
            _ => return nest(400, "times must be an integer within 1..=10"),
        },
    };
    if bulk && kind != "INSTALL" {
        return nest(400, "bulk is for INSTALL");
    }
    let first = sh.app.locations.first().cloned().unwrap_or_default();
    // The events: (installType, locationId).
    let events: Vec<(&str, Option<String>)> = if bulk {
        let locations: Vec<String> = match req.get("locations") {
            Some(v) => {
                let Some(list) = v.as_array().and_then(|a| {
                    a.iter()
                        .map(|x| x.as_str().map(String::from))
                        .collect::<Option<Vec<_>>>()
                }) else {
                    return nest(400, "locations must be an array of strings");
                };
                list
            }
            None => sh
                .st()
                .company_install
                .clone()
                .unwrap_or_else(|| sh.app.locations.clone()),
        };
        if locations.is_empty() || !locations.iter().all(|l| sh.app.locations.contains(l)) {
            return nest(400, "locations must be known locations of the company");
        }
        if per_location {
            locations
                .into_iter()
                .map(|l| ("Location", Some(l)))
                .collect()
        } else {
            vec![("Company", None)]
        }
    } else if company {
        vec![("Company", None)]
    } else {
        vec![(
            "Location",
            Some(s("locationId").unwrap_or(&first).to_string()),
        )]
    };
    let mut deliveries = Vec::new();
    let mut failure = None;
    for (install_type, location) in &events {
        let spec = EventSpec {
            kind,
            install_type,
            location: location.as_deref(),
            bulk,
        };
        let (text, sig) = event_body(sh, &spec, &sh.app.user_id);
        let mut statuses = Vec::new();
        for _ in 0..times {
            match webhooks::deliver(&sh.client, url, &text, &sig).await {
                Ok(status) => statuses.push(json!(status)),
                Err(e) => {
                    statuses.push(Value::Null);
                    failure.get_or_insert(e);
                }
            }
        }
        deliveries.push(json!({
            "delivered_status": statuses.first().cloned().unwrap_or(Value::Null),
            "delivered_statuses": statuses,
            "body": text,
            "signature": sig,
        }));
    }
    if kind == "UNINSTALL" && flag("revoke").unwrap_or(false) {
        let mut st = sh.st();
        match events.first() {
            Some((_, Some(l))) => st.revoke_location(l),
            _ => {
                for l in sh.app.locations.clone() {
                    st.revoke_location(&l);
                }
            }
        }
    }
    let mut answer = deliveries.first().cloned().unwrap_or_else(|| json!({}));
    answer["deliveries"] = Value::Array(deliveries);
    match failure {
        None => json_resp(200, &answer),
        Some(e) => {
            answer["error"] = json!(e);
            json_resp(502, &answer)
        }
    }
}

fn control(sh: &Shared, body: &Bytes) -> Resp {
    let Some(req) = json_body(body) else {
        return nest(400, "body must be a JSON object");
    };
    let mut k = sh.st().knobs.clone();
    for (name, v) in &req {
        let ok = match name.as_str() {
            "paused_locations" => v
                .as_array()
                .and_then(|a| a.iter().map(|x| x.as_str().map(String::from)).collect())
                .map(|l| k.paused_locations = l)
                .is_some(),
            "fail_rate" => v
                .as_f64()
                .filter(|f| (0.0..=1.0).contains(f))
                .map(|f| k.fail_rate = f)
                .is_some(),
            "deny" => v.as_bool().map(|b| k.deny = b).is_some(),
            "drop_after_rotate" => v.as_u64().map(|n| k.drop_after_rotate = n).is_some(),
            "latency_ms" => v.as_u64().map(|n| k.latency_ms = n).is_some(),
            "burst_delay_ms" => v.as_u64().map(|n| k.burst_delay_ms = n).is_some(),
            "burst_delay_max_ms" => v.as_u64().map(|n| k.burst_delay_max_ms = n).is_some(),
            "burst_delay_count" => v.as_u64().map(|n| k.burst_delay_count = n).is_some(),
            "burst_gap_ms" => v.as_u64().map(|n| k.burst_gap_ms = n).is_some(),
            "max" => v.as_u64().map(|n| k.max = n).is_some(),
            "interval_ms" => v.as_u64().map(|n| k.interval_ms = n).is_some(),
            "daily_limit" => v.as_u64().map(|n| k.daily_limit = n).is_some(),
            "refresh_grace_ms" => v.as_u64().map(|n| k.refresh_grace_ms = n).is_some(),
            "token_ttl_secs" => v.as_u64().map(|n| k.token_ttl_secs = n).is_some(),
            "location_token_ttl_secs" => {
                v.as_u64().map(|n| k.location_token_ttl_secs = n).is_some()
            }
            _ => return nest(400, format!("unknown knob {name}")),
        };
        if !ok {
            return nest(400, format!("bad value for {name}"));
        }
    }
    let mut st = sh.st();
    st.knobs = k;
    json_resp(200, &json!(st.knobs))
}
