//! The install scene's Rust driver (`hoopauth-demo install-driver`, run by
//! `hoopauth-demo install -- target/debug/hoopauth-demo install-driver`): the contract of
//! [`crate::install`] over the core directly — a webhook endpoint on a plain TCP listener that
//! verifies, parses and applies each delivery by the core's plan ([`Pool::plan_webhook`]),
//! the bulk consent, paced calls whose minted location tokens come due ([`Step::Mint`] runs
//! [`Call::location_token`] on the company), the uninstall, and the JSON line.

use crate::{lock, Http};
use hoopauth::{
    generate_state, parse_callback, parse_token_response, parse_webhook_event, webhook_reads,
    ApiRequest, AuthorizationParams, Call, CallOptions, Config, ConfigOptions, Event, Grant,
    Limits, Method, Pool, Response, Secret, SessionOptions, Step, UserType, WebhookKey,
    WebhookPlan, WebhookReply, WebhookVerifier,
};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The scene's arguments (see [`crate::install`]).
#[derive(Clone, Debug, Default)]
pub struct DriverArgs {
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub webhook_key: String,
    pub calls: usize,
    pub approved: Vec<String>,
    pub uninstall: String,
    pub max: u32,
    pub interval_ms: u64,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// How a driven call ended.
enum Ended {
    Done(Response),
    Failed(hoopauth::Error, bool),
}

struct App<'a> {
    pool: Mutex<Pool>,
    store: Mutex<HashMap<String, String>>,
    verifier: Mutex<WebhookVerifier>,
    http: &'a Http,
    seq: AtomicU64,
}

impl App<'_> {
    fn step(&self, call: &mut Call, resource: &str, event: Event) -> Step {
        let r = self.seq.fetch_add(0x9E37_79B9, Ordering::Relaxed);
        lock(&self.pool).step(call, resource, event, now_ms(), r)
    }

    /// Drive `call` on `resource` to its end; a `mint` step runs the company's mint call.
    fn drive(&self, mut call: Call, resource: &str) -> Ended {
        let mut step = self.step(&mut call, resource, Event::Start);
        loop {
            step = match step {
                Step::Send(req) | Step::SendRefresh(req) => {
                    let ev = self
                        .http
                        .send(&req)
                        .map_or(Event::TransportError, Event::Response);
                    self.step(&mut call, resource, ev)
                }
                Step::Persist(stored) => {
                    if let Ok(json) = serde_json::to_string(&stored) {
                        lock(&self.store).insert(resource.to_owned(), json);
                    }
                    self.step(&mut call, resource, Event::Resume)
                }
                Step::Wait { wait_ms, .. } => {
                    std::thread::sleep(Duration::from_millis(wait_ms));
                    self.step(&mut call, resource, Event::Resume)
                }
                Step::Mint {
                    company_id,
                    location_id,
                } => {
                    let mint =
                        Call::location_token(&company_id, &location_id, CallOptions::default());
                    let ev = match self.drive(mint, &company_id) {
                        Ended::Done(resp) => Event::Response(resp),
                        Ended::Failed(e, _) => Event::MintFailed(e),
                    };
                    self.step(&mut call, resource, ev)
                }
                Step::Done(resp) => return Ended::Done(resp),
                Step::Fail(e) => return Ended::Failed(e, false),
                Step::Reauthorize(e) => return Ended::Failed(e, true),
            }
        }
    }

    /// One delivery end to end: verify, parse, plan, forget, mint; the answer.
    fn handle_webhook(&self, body: &[u8], signature: Option<&str>) -> WebhookReply {
        let v = lock(&self.verifier).verify(body, signature, None, now_ms());
        if let Some(reply) = WebhookPlan::rejected(&v) {
            return reply;
        }
        let event = match parse_webhook_event(body) {
            Ok(e) => e,
            Err(e) => return WebhookPlan::malformed(&e),
        };
        // One process: every resource is in the pool already (webhook_reads names what a
        // driver with a shared store would load first).
        let _ = webhook_reads(&event);
        let plan = lock(&self.pool).plan_webhook(&event);
        let mut changed = 0;
        for id in &plan.forget {
            lock(&self.store).remove(id);
            if lock(&self.pool).forget(id) {
                changed += 1;
            }
        }
        if let Some(company) = &plan.company_id {
            let handles: Vec<bool> = std::thread::scope(|s| {
                let hs: Vec<_> = plan
                    .mint
                    .iter()
                    .map(|loc| {
                        s.spawn(move || {
                            let need = lock(&self.pool)
                                .expect_minted(loc, company)
                                .unwrap_or(false);
                            need && matches!(
                                self.drive(Call::token(CallOptions::default()), loc),
                                Ended::Done(_)
                            )
                        })
                    })
                    .collect();
                hs.into_iter().map(|h| h.join().unwrap_or(false)).collect()
            });
            changed += handles.into_iter().filter(|m| *m).count();
        }
        plan.reply(changed)
    }
}

/// Read one HTTP/1.1 request (headers, `Content-Length` body): the signature and the body.
fn read_request(stream: &TcpStream) -> Option<(Option<String>, Vec<u8>)> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut len = 0usize;
    let mut signature = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':') {
            match k.trim().to_ascii_lowercase().as_str() {
                "content-length" => len = v.trim().parse().ok()?,
                "x-ghl-signature" => signature = Some(v.trim().to_owned()),
                _ => {}
            }
        }
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).ok()?;
    Some((signature, body))
}

/// Run the scene; prints the JSON line. `Err`: it could not be run at all.
pub fn run_install_driver(a: &DriverArgs) -> Result<Value, String> {
    let http = Http::new();
    let base = a.base_url.trim_end_matches('/').to_owned();
    let config = Config::new(ConfigOptions {
        client_id: a.client_id.clone(),
        client_secret: Some(Secret::new(a.client_secret.clone())),
        redirect_uri: Some("http://127.0.0.1:9/callback".into()),
        marketplace: Some(base.clone()),
        api_base: Some(base.clone()),
        api_version: None,
    })
    .map_err(|e| e.to_string())?;
    let limits = Limits {
        max: a.max,
        interval_ms: a.interval_ms,
        ..Limits::default()
    };
    let key = WebhookKey::parse(&a.webhook_key).map_err(|e| e.to_string())?;
    let app = App {
        pool: Mutex::new(Pool::new(config.clone(), SessionOptions::default(), limits)),
        store: Mutex::new(HashMap::new()),
        verifier: Mutex::new(WebhookVerifier::new(key)),
        http: &http,
        seq: AtomicU64::new(1),
    };
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("webhook endpoint: {e}"))?;
    let hook_url = format!(
        "http://{}/webhooks",
        listener.local_addr().map_err(|e| e.to_string())?
    );
    let answers: Mutex<Vec<(String, WebhookReply)>> = Mutex::new(Vec::new());
    let started = Instant::now();

    let out = std::thread::scope(|s| -> Result<Value, String> {
        let (app, answers, listener) = (&app, &answers, &listener);
        s.spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let Some((sig, body)) = read_request(&stream) else { break };
                if body == b"stop" {
                    break;
                }
                let reply = app.handle_webhook(&body, sig.as_deref());
                let ty = serde_json::from_slice::<Value>(&body)
                    .ok()
                    .and_then(|v| v.get("type").and_then(Value::as_str).map(String::from))
                    .unwrap_or_default();
                lock(answers).push((ty, reply.clone()));
                let text = json!({"reason": reply.reason}).to_string();
                let _ = write!(
                    stream,
                    "HTTP/1.1 {} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    reply.status,
                    text.len()
                );
            }
        });
        let result = scene(app, a, &config, &http, &base, &hook_url, answers, started);
        // Stop the endpoint.
        if let Ok(mut s) = TcpStream::connect(listener.local_addr().map_err(|e| e.to_string())?) {
            let _ = write!(s, "POST /stop HTTP/1.1\r\nContent-Length: 4\r\n\r\nstop");
        }
        result
    })?;
    Ok(out)
}

fn send_hook(http: &Http, base: &str, payload: &Value) -> Result<(), String> {
    let req = hoopauth::Request {
        method: Method::Post,
        url: format!("{base}/_emulator/webhooks/send"),
        headers: vec![("content-type".into(), "application/json".into())],
        body: payload.to_string().into_bytes(),
    };
    let r = http.send(&req)?;
    if r.status != 200 {
        return Err(format!("webhooks/send answered {}", r.status));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn scene(
    app: &App,
    a: &DriverArgs,
    config: &Config,
    http: &Http,
    base: &str,
    hook_url: &str,
    answers: &Mutex<Vec<(String, WebhookReply)>>,
    started: Instant,
) -> Result<Value, String> {
    // 1. The bulk consent, the code exchanged as Company.
    let mut state_bytes = [7u8; 32];
    let t = now_ms().to_le_bytes();
    state_bytes[..8].copy_from_slice(&t);
    let state = generate_state(&state_bytes).map_err(|e| e.to_string())?;
    let params = AuthorizationParams {
        scopes: vec!["contacts.readonly".into(), "locations.readonly".into()],
        state: Some(state.clone()),
        ..Default::default()
    };
    let mut url = config
        .authorization_url(&params)
        .map_err(|e| e.to_string())?;
    url.push_str("&approved_locations=");
    url.push_str(&a.approved.join(","));
    let page = http.get(&url)?;
    let redirect = page
        .header("location")
        .ok_or("the consent page sent no Location")?;
    let callback = parse_callback(redirect, Some(&state)).map_err(|e| e.to_string())?;
    let req = config
        .token_request(
            &Grant::AuthorizationCode {
                code: callback.code,
            },
            Some(UserType::Company),
        )
        .map_err(|e| e.to_string())?;
    let sent_at = now_ms();
    let resp = http.send(&req)?;
    let tokens = parse_token_response(resp.status, &resp.headers, &resp.body, sent_at)
        .map_err(|e| e.to_string())?;
    let company = lock(&app.pool)
        .load_tokens(None, tokens)
        .map_err(|e| e.to_string())?;
    if let Some(json) = lock(&app.pool).stored_json(&company) {
        lock(&app.store).insert(company.clone(), json);
    }
    // 2. The bulk INSTALL, delivered twice.
    send_hook(
        http,
        base,
        &json!({"url": hook_url, "type": "INSTALL", "bulk": true, "times": 2}),
    )?;
    // 3. Paced calls over the approved locations.
    let results: Mutex<BTreeMap<String, u64>> = Mutex::new(BTreeMap::new());
    let ok = AtomicU64::new(0);
    let reauth = AtomicU64::new(0);
    let next = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..(a.approved.len() * 2).max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst) as usize;
                if i >= a.calls {
                    return;
                }
                let Some(loc) = a.approved.get(i % a.approved.len().max(1)) else {
                    return;
                };
                let call = Call::new(
                    ApiRequest::new(Method::Get, "/contacts/").query("locationId", loc),
                    CallOptions::default(),
                );
                match app.drive(call, loc) {
                    Ended::Done(r) if r.status == 200 => {
                        ok.fetch_add(1, Ordering::SeqCst);
                    }
                    Ended::Done(r) => {
                        *lock(&results)
                            .entry(format!("status_{}", r.status))
                            .or_default() += 1
                    }
                    Ended::Failed(e, re) => {
                        if re {
                            reauth.fetch_add(1, Ordering::SeqCst);
                        }
                        *lock(&results)
                            .entry(e.kind().as_str().to_owned())
                            .or_default() += 1;
                    }
                }
            });
        }
    });
    let wall_ms = started.elapsed().as_millis() as u64;
    // 4. UNINSTALL of one location, delivered twice; then one call to it.
    send_hook(
        http,
        base,
        &json!({"url": hook_url, "type": "UNINSTALL", "locationId": a.uninstall, "revoke": true, "times": 2}),
    )?;
    let call = Call::new(
        ApiRequest::new(Method::Get, "/contacts/").query("locationId", &a.uninstall),
        CallOptions::default(),
    );
    let uninstalled_call = match app.drive(call, &a.uninstall) {
        Ended::Done(r) if r.status == 200 => "ok".to_owned(),
        Ended::Done(r) => format!("status_{}", r.status),
        Ended::Failed(e, _) => e.kind().as_str().to_owned(),
    };
    let mut stored: Vec<String> = lock(&app.store).keys().cloned().collect();
    stored.sort();
    let ok = ok.load(Ordering::SeqCst);
    let webhooks: Vec<Value> = lock(answers)
        .iter()
        .map(|(ty, r)| json!({"type": ty, "status": r.status, "reason": r.reason}))
        .collect();
    Ok(json!({
        "calls": a.calls,
        "ok": ok,
        "failed": a.calls as u64 - ok.min(a.calls as u64),
        "failures": results.into_inner().unwrap_or_else(|e| e.into_inner()),
        "wall_ms": wall_ms,
        "webhooks": webhooks,
        "reauthorizations": reauth.load(Ordering::SeqCst),
        "stored_after_uninstall": stored,
        "uninstalled_call": uninstalled_call,
    }))
}
