//! Runs every `*.json` vector file under `HOOPAUTH_VECTORS` (default `../shared/vectors`
//! beside the repository) through the core. The runner adapts the API to the vectors.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use hoopauth::{verify_webhook, WebhookKey, DEFAULT_MAX_AGE_MS};
use hoopauth::*;
use serde_json::{json, Map, Value};
use std::path::PathBuf;

fn vectors_dir() -> PathBuf {
    match std::env::var("HOOPAUTH_VECTORS") {
        Ok(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors"),
    }
}

fn s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn config(input: &Value) -> Result<Config> {
    let c = input.get("config").cloned().unwrap_or(json!({}));
    let opts: ConfigOptions = serde_json::from_value(c).map_err(|e| Error::new(ErrorKind::InvalidConfig, e.to_string()))?;
    Config::new(opts)
}

fn headers(v: Option<&Value>) -> Headers {
    match v {
        Some(Value::Object(m)) => m.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_owned())).collect(),
        _ => Vec::new(),
    }
}

fn pairs(v: Option<&Value>) -> Vec<(String, String)> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|p| (p[0].as_str().unwrap().to_owned(), p[1].as_str().unwrap().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

fn pairs_json(p: impl IntoIterator<Item = (String, String)>) -> Value {
    Value::Array(p.into_iter().map(|(k, v)| json!([k, v])).collect())
}

fn decode_query(q: &str) -> Value {
    pairs_json(url::form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())))
}

fn request_json(r: &Request) -> Value {
    let (origin_path, query) = match r.url.split_once('?') {
        Some((a, b)) => (a.to_owned(), b.to_owned()),
        None => (r.url.clone(), String::new()),
    };
    let ct = r.header("content-type").unwrap_or("");
    let mut out = json!({
        "method": r.method.as_str(),
        "url": r.url,
        "origin_path": origin_path,
        "url_query": decode_query(&query),
        "headers": pairs_json(r.headers.clone()),
    });
    if r.body.is_empty() {
        out["body"] = Value::Null;
    } else if ct.starts_with("application/x-www-form-urlencoded") {
        out["form"] = decode_query(r.body_text());
        out["body"] = Value::String(r.body_text().to_owned());
    } else {
        out["json"] = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
        out["body"] = Value::String(r.body_text().to_owned());
    }
    out
}

fn token_set_json(t: &TokenSet) -> Value {
    json!({
        "access_token": t.access_token.expose(),
        "token_type": t.token_type,
        "expires_in": t.expires_in,
        "expires_at_ms": t.expires_at_ms,
        "refresh_token": t.refresh_token.as_ref().map(|r| r.expose()),
        "scopes": t.scopes,
        "user_type": t.user_type.map(|u| u.as_str()),
        "location_id": t.location_id,
        "company_id": t.company_id,
        "approved_locations": t.approved_locations,
        "plan_id": t.plan_id,
        "is_bulk_installation": t.is_bulk_installation,
        "user_id": t.user_id,
    })
}

fn sorted_pairs(v: &Value) -> Vec<(String, String)> {
    let mut p = pairs(Some(v));
    p.sort();
    p
}

/// Compare the fields named in `expect` with `actual`.
fn compare(expect: &Map<String, Value>, actual: &Value) -> std::result::Result<(), String> {
    for (k, ev) in expect {
        let av = actual.get(k).unwrap_or(&Value::Null);
        let ok = match k.as_str() {
            "query" | "form" | "url_query" => {
                let key = if k == "query" { "url_query" } else { k.as_str() };
                sorted_pairs(ev) == sorted_pairs(actual.get(key).unwrap_or(&Value::Null))
            }
            "headers" => {
                let have = pairs(actual.get("headers"));
                ev.as_object().unwrap().iter().all(|(name, val)| {
                    have.iter().any(|(n, v)| n.eq_ignore_ascii_case(name) && Some(v.as_str()) == val.as_str())
                })
            }
            "absent_headers" => {
                let have = pairs(actual.get("headers"));
                ev.as_array().unwrap().iter().all(|name| {
                    let name = name.as_str().unwrap();
                    !have.iter().any(|(n, _)| n.eq_ignore_ascii_case(name))
                })
            }
            "form_includes" => {
                let have = pairs(actual.get("form"));
                pairs(Some(ev)).iter().all(|p| have.contains(p))
            }
            _ => av == ev,
        };
        if !ok {
            return Err(format!("field `{k}`: expected {ev}, got {av}"));
        }
    }
    Ok(())
}

fn run_case(op: &str, input: &Value) -> Result<Value> {
    match op {
        "authorization_url" => {
            let cfg = config(input)?;
            let params = AuthorizationParams {
                scopes: input["scopes"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect(),
                state: s(input, "state").map(str::to_owned),
                login_window_open_mode: s(input, "login_window_open_mode").map(str::to_owned),
                version_id: s(input, "version_id").map(str::to_owned),
            };
            let url = cfg.authorization_url(&params)?;
            let (origin_path, query) = url.split_once('?').unwrap();
            Ok(json!({"origin_path": origin_path, "url_query": decode_query(query)}))
        }
        "parse_callback" => {
            let cb = parse_callback(s(input, "url").unwrap(), s(input, "expected_state"))?;
            Ok(json!({"code": cb.code.expose(), "state": cb.state}))
        }
        "token_request" => {
            let cfg = config(input)?;
            let grant = Grant::from_parts(s(input, "grant").unwrap(), s(input, "code"), s(input, "refresh_token"))?;
            let user_type = s(input, "user_type").map(UserType::parse).transpose()?;
            Ok(request_json(&cfg.token_request(&grant, user_type)?))
        }
        "webhook_plan" => {
            // Proposed for SPEC: a verified delivery's plan. `tokens`: resource -> token body
            // (200) the pool holds before the delivery.
            let mut pool = Pool::new(config(input)?, SessionOptions::default(), Limits::default());
            let now = input.get("now_ms").and_then(Value::as_u64).unwrap_or(0);
            for (resource, body) in input.get("tokens").and_then(Value::as_object).into_iter().flatten() {
                let t = parse_token_response(200, &[], body.as_str().unwrap().as_bytes(), now)?;
                pool.load_tokens(Some(resource), t)?;
            }
            let event = parse_webhook_event(s(input, "body").unwrap().as_bytes())?;
            let plan = pool.plan_webhook(&event);
            let (applied, unchanged) = (plan.reply(1), plan.reply(0));
            Ok(json!({
                "reads": webhook_reads(&event),
                "company_id": plan.company_id,
                "mint": plan.mint,
                "forget": plan.forget,
                "applied": [applied.status, applied.reason],
                "unchanged": [unchanged.status, unchanged.reason],
            }))
        }
        "webhook_reply" => {
            let reason = VerifyReason::from_name(s(input, "verification").unwrap())
                .ok_or_else(|| Error::new(ErrorKind::InvalidArgument, "unknown verification reason"))?;
            let r = WebhookPlan::rejected_for(reason);
            Ok(json!({"reply": r.map(|r| json!([r.status, r.reason]))}))
        }
        "location_token_request" => {
            let cfg = config(input)?;
            let r = cfg.location_token_request(
                s(input, "agency_access_token").unwrap(),
                s(input, "company_id").unwrap(),
                s(input, "location_id").unwrap(),
            )?;
            Ok(request_json(&r))
        }
        "api_request" => {
            let cfg = config(input)?;
            let req = ApiRequest {
                method: Method::parse(s(input, "method").unwrap())?,
                path: s(input, "path").unwrap().to_owned(),
                query: pairs(input.get("query")),
                json: input.get("json").map(|j| j.to_string()),
                version: None,
            };
            Ok(request_json(&cfg.api_request(&req, s(input, "access_token").unwrap())?))
        }
        "parse_token_response" => {
            let t = parse_token_response(
                input["status"].as_u64().unwrap() as u16,
                &headers(input.get("headers")),
                s(input, "body").unwrap().as_bytes(),
                input["now_ms"].as_u64().unwrap(),
            )?;
            Ok(token_set_json(&t))
        }
        "classify_response" => {
            let c = classify_response(
                input["status"].as_u64().unwrap() as u16,
                &headers(input.get("headers")),
                s(input, "body").unwrap_or("").as_bytes(),
                input.get("now_ms").and_then(Value::as_u64),
            );
            Ok(json!({
                "kind": c.kind.as_str(),
                "retryable": c.retryable,
                "rate_limit_scope": c.rate_limit_scope.map(|s| s.as_str()),
                "retry_after_ms": c.retry_after_ms,
            }))
        }
        "parse_rate_limit_headers" => Ok(serde_json::to_value(parse_rate_limit_headers(&headers(input.get("headers")))).unwrap()),
        "verify_webhook" => {
            let key = match s(input, "public_key") {
                Some(k) => WebhookKey::parse(k)?,
                None => WebhookKey::platform(),
            };
            let v = verify_webhook(
                &key,
                s(input, "body").unwrap().as_bytes(),
                s(input, "signature"),
                input.get("now_ms").and_then(Value::as_u64),
                input.get("max_age_ms").and_then(Value::as_u64).unwrap_or(DEFAULT_MAX_AGE_MS),
            );
            Ok(json!({"valid": v.valid, "reason": v.reason.as_str()}))
        }
        "rate_limiter" => run_rate_limiter(input).map_err(|m| Error::new(ErrorKind::InvalidArgument, m)).map(|_| json!({})),
        "token_session" => run_session(input)?.map_err(|m| Error::new(ErrorKind::InvalidArgument, m)).map(|_| json!({})),
        other => panic!("unknown op {other}"),
    }
}

fn run_rate_limiter(input: &Value) -> std::result::Result<(), String> {
    let limits: Limits = serde_json::from_value(input["limits"].clone()).unwrap();
    let mut l = RateLimiter::new(limits);
    // Allowed sends, numbered from 0 in the order the script allowed them: their limiter ids.
    let mut sends: Vec<u64> = Vec::new();
    for (i, step) in input["steps"].as_array().unwrap().iter().enumerate() {
        let at = step["at"].as_u64().unwrap();
        match s(step, "op").unwrap() {
            "answered" => {
                for n in step["sends"].as_array().unwrap() {
                    let n = n.as_u64().unwrap() as usize;
                    let id = *sends.get(n).ok_or_else(|| format!("step {i}: no allowed send {n}"))?;
                    l.answered(id, at);
                }
            }
            "acquire" => {
                let count = step.get("count").and_then(Value::as_u64).unwrap_or(1);
                let in_flight = step.get("in_flight").and_then(Value::as_bool).unwrap_or(false);
                for n in 0..count {
                    let d = l.acquire(at);
                    if let Decision::Allow { send_id } = d {
                        sends.push(send_id);
                        if !in_flight {
                            l.answered(send_id, at);
                        }
                    }
                    let actual = match d {
                        Decision::Allow { .. } => json!({"allow": true}),
                        Decision::Wait { wait_ms, daily_exhausted } => {
                            json!({"allow": false, "wait_ms": wait_ms, "daily_exhausted": daily_exhausted})
                        }
                    };
                    compare(step["expect"].as_object().unwrap(), &actual)
                        .map_err(|e| format!("step {i} (acquire {n} of {count} at {at}): {e}"))?;
                }
            }
            "observe" => l.observe(at, step["status"].as_u64().unwrap() as u16, &headers(step.get("headers"))),
            other => return Err(format!("unknown step op {other}")),
        }
    }
    Ok(())
}

fn run_session(input: &Value) -> Result<std::result::Result<(), String>> {
    let cfg = config(input)?;
    let options: SessionOptions = serde_json::from_value(input.get("options").cloned().unwrap_or(json!({}))).unwrap();
    let mut session = TokenSession::new(cfg.clone(), options);
    for (i, step) in input["steps"].as_array().unwrap().iter().enumerate() {
        let at = step["at"].as_u64().unwrap();
        let status = step.get("status").and_then(Value::as_u64).map(|s| s as u16);
        let body = s(step, "body").unwrap_or("");
        match s(step, "op").unwrap() {
            "load" => {
                if let Some(p) = s(step, "private_token") {
                    session.load_private(Secret::new(p))?;
                } else {
                    session.load(parse_token_response(status.unwrap(), &[], body.as_bytes(), at)?);
                }
            }
            "acquire" => {
                let action = session.acquire(at)?;
                let actual = match &action {
                    Action::Use { access_token } => json!({"action": "use", "access_token": access_token.expose()}),
                    Action::Refresh { request } => {
                        let mut r = request_json(request);
                        r["action"] = json!("refresh");
                        r
                    }
                    Action::Wait { .. } => json!({"action": "wait"}),
                    Action::Mint { company_id, location_id } => {
                        json!({"action": "mint", "company_id": company_id, "location_id": location_id})
                    }
                    Action::Reauthorize => json!({"action": "reauthorize"}),
                    Action::Save => json!({"action": "save"}),
                };
                if let Err(e) = compare(step["expect"].as_object().unwrap(), &actual) {
                    return Ok(Err(format!("step {i} (acquire at {at}): {e}")));
                }
            }
            "refresh_response" => {
                let _ = session.refresh_response(status.unwrap(), &[], body.as_bytes(), at);
            }
            "api_response" => {
                session.api_response(status.unwrap(), body.as_bytes(), s(step, "access_token").unwrap());
            }
            "roundtrip" => {
                let json = session.stored_json();
                session = TokenSession::from_json(cfg.clone(), options, &json)?;
            }
            // Minted location sessions (proposed for SPEC §10).
            "minted" => session.set_minted_from(Some(MintedFrom {
                company_id: s(step, "company_id").unwrap().to_owned(),
                location_id: s(step, "location_id").unwrap().to_owned(),
            })),
            "mint_response" => {
                let _ = session.mint_response(status.unwrap(), &[], body.as_bytes(), at);
            }
            "mint_failed" => session.mint_failed(),
            "stored" => {
                let st = session.stored();
                let t = session.token_set();
                let actual = json!({
                    "minted_from": st.minted_from,
                    "access_token": t.map(|t| t.access_token.expose()),
                    "refresh_token": t.and_then(|t| t.refresh_token.as_ref()).map(|r| r.expose()),
                    "location_id": t.and_then(|t| t.location_id.clone()),
                    "company_id": t.and_then(|t| t.company_id.clone()),
                    "user_type": t.and_then(|t| t.user_type).map(UserType::as_str),
                    "expires_at_ms": t.and_then(|t| t.expires_at_ms),
                    "lease": st.refresh_lease_until_ms.is_some(),
                    "reauthorize": st.reauthorize,
                    "json_has_minted_from": session.stored_json().contains("\"minted_from\""),
                });
                if let Err(e) = compare(step["expect"].as_object().unwrap(), &actual) {
                    return Ok(Err(format!("step {i} (stored at {at}): {e}")));
                }
            }
            other => return Ok(Err(format!("unknown step op {other}"))),
        }
    }
    Ok(Ok(()))
}

#[test]
fn all_vectors_pass() {
    run_dir(&vectors_dir());
}

/// Cases proposed for SPEC (§10, minted location sessions), in the vectors' format, kept
/// here until the shared vectors carry them.
#[test]
fn proposed_vectors_pass() {
    run_dir(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors_proposed"));
}

fn run_dir(dir: &std::path::Path) {
    let dir = dir.to_path_buf();
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("vectors directory {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no vector files in {}", dir.display());
    let (mut passed, mut failures) = (0, Vec::new());
    for f in &files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(f).unwrap()).unwrap();
        let op = doc["op"].as_str().unwrap();
        for case in doc["cases"].as_array().unwrap() {
            let name = case["name"].as_str().unwrap_or("?");
            let expect = case["expect"].as_object().unwrap();
            let outcome = run_case(op, &case["input"]);
            let verdict = match (expect.get("error").and_then(Value::as_str), outcome) {
                (Some(kind), Err(e)) if e.kind().as_str() == kind => Ok(()),
                (Some(kind), Err(e)) => Err(format!("expected error {kind}, got {} ({})", e.kind(), e.message())),
                (Some(kind), Ok(v)) => Err(format!("expected error {kind}, got {v}")),
                (None, Err(e)) => Err(format!("unexpected error {}: {}", e.kind(), e.message())),
                (None, Ok(v)) => compare(expect, &v),
            };
            match verdict {
                Ok(()) => passed += 1,
                Err(m) => failures.push(format!("{}: {op} / {name}: {m}", f.file_name().unwrap().to_string_lossy())),
            }
        }
    }
    eprintln!("vectors: {passed} passed, {} failed", failures.len());
    assert!(failures.is_empty(), "vector failures:\n{}", failures.join("\n"));
}
