//! Bulk installs: a company token with several approved locations, the company-level and
//! per-location INSTALL deliveries, location tokens only for approved locations, short-lived
//! minted location tokens, UNINSTALL (with the platform's revocation) and repeated deliveries.
mod common;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use bytes::Bytes;
use common::*;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use hoopauth_emulator::{EmulatorConfig, Running};
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use std::convert::Infallible;
use tokio::sync::mpsc;

/// A receiver on a free port; returns its URL and the (signature, body) deliveries.
async fn receiver() -> (String, mpsc::UnboundedReceiver<(String, String)>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", l.local_addr().unwrap());
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        loop {
            let (s, _) = l.accept().await.unwrap();
            let tx = tx.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let tx = tx.clone();
                    async move {
                        let sig = req.headers()["x-ghl-signature"]
                            .to_str()
                            .unwrap()
                            .to_string();
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        tx.send((sig, String::from_utf8(body.to_vec()).unwrap()))
                            .unwrap();
                        Ok::<_, Infallible>(hyper::Response::new(Full::new(Bytes::from_static(
                            b"ok",
                        ))))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(s), svc)
                    .await;
            });
        }
    });
    (url, rx)
}

fn verify(r: &Running, body: &str, sig_b64: &str) -> bool {
    let der = B64.decode(r.webhook_public_key()).unwrap();
    let key = VerifyingKey::from_bytes(der[12..].try_into().unwrap()).unwrap();
    let sig = Signature::from_slice(&B64.decode(sig_b64).unwrap()).unwrap();
    key.verify(body.as_bytes(), &sig).is_ok()
}

/// A bulk install: authorize with the emulator-only `approved_locations`, exchange as Company.
async fn bulk_install(r: &Running, approved: &str) -> Value {
    let q = form(&[
        ("response_type", "code"),
        ("client_id", r.client_id()),
        ("redirect_uri", REDIRECT),
        ("scope", SCOPES),
        ("approved_locations", approved),
    ]);
    let resp = get(r, &format!("/oauth/chooselocation?{q}"), &[]).await;
    assert_eq!(resp.status, 302, "{}", resp.body);
    let pairs = query_pairs(resp.header("location").unwrap());
    let code = qget(&pairs, "code").unwrap().to_string();
    let resp = token(
        r,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("user_type", "Company"),
        ],
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()
}

async fn mint(r: &Running, company_token: &str, location: &str) -> Resp {
    post_form(
        r,
        "/oauth/locationToken",
        &[("Authorization", &bearer(company_token)), VERSION],
        &[("companyId", "comp_1"), ("locationId", location)],
    )
    .await
}

async fn contacts(r: &Running, token: &str, location: &str) -> u16 {
    get(
        r,
        &format!("/contacts/?locationId={location}"),
        &[("Authorization", &bearer(token)), VERSION],
    )
    .await
    .status
}

#[tokio::test]
async fn bulk_company_token_mints_only_approved_locations() {
    let r = emu(EmulatorConfig::default()).await;
    let c = bulk_install(&r, "loc_1,loc_3").await;
    assert_eq!(c["userType"], "Company");
    assert_eq!(c["isBulkInstallation"], true);
    assert_eq!(c["approvedLocations"], json!(["loc_1", "loc_3"]));
    assert!(c.get("locationId").is_none());
    let company = s(&c, "access_token");
    for loc in ["loc_1", "loc_3"] {
        let m = mint(&r, &company, loc).await;
        assert_eq!(m.status, 201, "{}", m.body);
        let b = m.json();
        assert_eq!(b["locationId"], loc);
        assert_eq!(b["userType"], "Location");
        assert_eq!(b["isBulkInstallation"], false);
        assert!(
            b.get("refresh_token").is_none(),
            "a minted location token has no refresh token: {b}"
        );
        assert_eq!(contacts(&r, &s(&b, "access_token"), loc).await, 200);
    }
    // The code exchange counts under the company (the token's resource).
    let st = stats(&r).await;
    assert_eq!(st["resources"]["comp_1"]["token_exchanges"], 1);
    assert_eq!(
        st["resources"]["loc_1"]["token_exchanges"], 1,
        "the mint only"
    );
    // loc_2 exists but was not approved; loc_9 does not exist.
    let refused = mint(&r, &company, "loc_2").await;
    assert_eq!(refused.status, 400);
    assert_eq!(
        refused.json()["message"],
        "The app is not installed on this location"
    );
    assert_eq!(mint(&r, &company, "loc_9").await.status, 400);
    // The refreshed company token keeps its approvals and the bulk flag.
    let n = token(
        &r,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &s(&c, "refresh_token")),
        ],
    )
    .await
    .json();
    assert_eq!(n["approvedLocations"], json!(["loc_1", "loc_3"]));
    assert_eq!(n["isBulkInstallation"], true);
    // A plain (non-bulk) company install approves its one location and is not bulk.
    let plain = install(&r, SCOPES, Some("loc_2"), "Company").await;
    assert_eq!(plain["approvedLocations"], json!(["loc_2"]));
    assert_eq!(plain["isBulkInstallation"], false);
    // Unknown locations in the pick are refused.
    let q = form(&[
        ("response_type", "code"),
        ("client_id", r.client_id()),
        ("redirect_uri", REDIRECT),
        ("scope", SCOPES),
        ("approved_locations", "loc_1,loc_x"),
    ]);
    assert_eq!(
        get(&r, &format!("/oauth/chooselocation?{q}"), &[])
            .await
            .status,
        400
    );
}

#[tokio::test]
async fn bulk_install_webhooks_company_level_and_per_location() {
    let r = emu(EmulatorConfig::default()).await;
    let (url, mut rx) = receiver().await;
    bulk_install(&r, "loc_2,loc_3").await;
    // One company-level delivery: no locationId, isBulkInstallation, installType Company.
    let resp = post_json(
        &r,
        "/_emulator/webhooks/send",
        &[],
        &json!({"url": url, "type": "INSTALL", "bulk": true}),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let a = resp.json();
    assert_eq!(a["delivered_status"], 200);
    assert_eq!(a["deliveries"].as_array().unwrap().len(), 1);
    let (sig, body) = rx.recv().await.unwrap();
    assert_eq!(a["body"], body);
    assert!(verify(&r, &body, &sig));
    let ev: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ev["type"], "INSTALL");
    assert_eq!(ev["appId"], "65f1c0ffee");
    assert_eq!(ev["installType"], "Company");
    assert_eq!(ev["companyId"], "comp_1");
    assert_eq!(ev["isBulkInstallation"], true);
    assert!(ev.get("locationId").is_none(), "{body}");
    assert_eq!(ev["webhookId"].as_str().unwrap().len(), 36);
    assert!(ev["timestamp"].as_str().unwrap().ends_with('Z'));
    // Per location: one delivery for each approved location of the last company install.
    let a = post_json(
        &r,
        "/_emulator/webhooks/send",
        &[],
        &json!({"url": url, "type": "INSTALL", "bulk": true, "perLocation": true}),
    )
    .await
    .json();
    let d = a["deliveries"].as_array().unwrap();
    assert_eq!(d.len(), 2);
    let mut seen = Vec::new();
    for _ in 0..2 {
        let (sig, body) = rx.recv().await.unwrap();
        assert!(verify(&r, &body, &sig));
        let ev: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(ev["isBulkInstallation"], true);
        assert_eq!(ev["installType"], "Location");
        seen.push(ev["locationId"].as_str().unwrap().to_string());
    }
    seen.sort();
    assert_eq!(seen, ["loc_2", "loc_3"]);
    // Explicit locations; unknown ones and bad values are refused.
    let a = post_json(
        &r,
        "/_emulator/webhooks/send",
        &[],
        &json!({"url": url, "type": "INSTALL", "bulk": true, "perLocation": true,
                "locations": ["loc_1"]}),
    )
    .await
    .json();
    assert_eq!(a["deliveries"].as_array().unwrap().len(), 1);
    let (_, body) = rx.recv().await.unwrap();
    assert!(body.contains(r#""locationId":"loc_1""#));
    for bad in [
        json!({"url": url, "type": "INSTALL", "bulk": true, "locations": ["loc_x"]}),
        json!({"url": url, "type": "INSTALL", "bulk": "yes"}),
        json!({"url": url, "type": "UNINSTALL", "bulk": true}),
        json!({"url": url, "type": "INSTALL", "times": 0}),
    ] {
        let resp = post_json(&r, "/_emulator/webhooks/send", &[], &bad).await;
        assert_eq!(resp.status, 400, "{bad}: {}", resp.body);
    }
    // A single-location INSTALL keeps its old shape (no isBulkInstallation).
    let a = post_json(
        &r,
        "/_emulator/webhooks/send",
        &[],
        &json!({"url": url, "type": "INSTALL", "locationId": "loc_2"}),
    )
    .await
    .json();
    let (_, body) = rx.recv().await.unwrap();
    assert_eq!(a["body"], body);
    assert!(!body.contains("isBulkInstallation"), "{body}");
}

#[tokio::test]
async fn repeated_delivery_sends_the_same_signed_body() {
    let r = emu(EmulatorConfig::default()).await;
    let (url, mut rx) = receiver().await;
    let a = post_json(
        &r,
        "/_emulator/webhooks/send",
        &[],
        &json!({"url": url, "type": "UNINSTALL", "locationId": "loc_3", "times": 2}),
    )
    .await
    .json();
    assert_eq!(a["delivered_statuses"], json!([200, 200]));
    let first = rx.recv().await.unwrap();
    let second = rx.recv().await.unwrap();
    assert_eq!(first, second);
    assert_eq!(a["body"], first.1);
    assert_eq!(a["signature"], first.0);
}

#[tokio::test]
async fn uninstall_with_revoke_ends_the_locations_tokens() {
    let r = emu(EmulatorConfig::default()).await;
    let (url, mut rx) = receiver().await;
    let c = bulk_install(&r, "loc_1,loc_2").await;
    let company = s(&c, "access_token");
    let t1 = s(&mint(&r, &company, "loc_1").await.json(), "access_token");
    let t2 = s(&mint(&r, &company, "loc_2").await.json(), "access_token");
    let a = post_json(
        &r,
        "/_emulator/webhooks/send",
        &[],
        &json!({"url": url, "type": "UNINSTALL", "locationId": "loc_2", "revoke": true}),
    )
    .await
    .json();
    assert_eq!(a["delivered_status"], 200);
    let (_, body) = rx.recv().await.unwrap();
    let ev: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (ev["type"].as_str(), ev["locationId"].as_str()),
        (Some("UNINSTALL"), Some("loc_2"))
    );
    assert_eq!(contacts(&r, &t2, "loc_2").await, 401);
    assert_eq!(contacts(&r, &t1, "loc_1").await, 200);
    // The company token no longer mints the uninstalled location; the other still works.
    assert_eq!(mint(&r, &company, "loc_2").await.status, 400);
    assert_eq!(mint(&r, &company, "loc_1").await.status, 201);
    // A later bulk INSTALL defaults to the remaining approved locations.
    let a = post_json(
        &r,
        "/_emulator/webhooks/send",
        &[],
        &json!({"url": url, "type": "INSTALL", "bulk": true, "perLocation": true}),
    )
    .await
    .json();
    assert_eq!(a["deliveries"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn short_lived_location_tokens_by_knob() {
    let r = emu(EmulatorConfig::default()).await;
    let c = bulk_install(&r, "loc_1").await;
    let company = s(&c, "access_token");
    assert_eq!(c["expires_in"], 86399);
    let knobs = post_json(
        &r,
        "/_emulator/control",
        &[],
        &json!({"location_token_ttl_secs": 1}),
    )
    .await
    .json();
    assert_eq!(knobs["location_token_ttl_secs"], 1);
    assert_eq!(knobs["token_ttl_secs"], 86399);
    let m = mint(&r, &company, "loc_1").await.json();
    assert_eq!(m["expires_in"], 1);
    let t = s(&m, "access_token");
    assert_eq!(contacts(&r, &t, "loc_1").await, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(contacts(&r, &t, "loc_1").await, 401, "expired");
    // The company token is untouched by that knob; token_ttl_secs moves it at run time.
    assert_eq!(mint(&r, &company, "loc_1").await.status, 201);
    post_json(
        &r,
        "/_emulator/control",
        &[],
        &json!({"token_ttl_secs": 5, "location_token_ttl_secs": 0}),
    )
    .await;
    let c2 = bulk_install(&r, "loc_1").await;
    assert_eq!(c2["expires_in"], 5);
    assert_eq!(
        mint(&r, &s(&c2, "access_token"), "loc_1").await.json()["expires_in"],
        5
    );
    // Bad values are refused.
    let bad = post_json(
        &r,
        "/_emulator/control",
        &[],
        &json!({"token_ttl_secs": -1}),
    )
    .await;
    assert_eq!(bad.status, 400);
    // The start flag.
    let cfg =
        hoopauth_emulator::parse_args(["--location-token-ttl-secs".to_string(), "3".to_string()])
            .unwrap();
    assert_eq!(cfg.location_token_ttl_secs, 3);
}
