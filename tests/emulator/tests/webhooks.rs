mod common;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use bytes::Bytes;
use common::*;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use hoopauth_emulator::EmulatorConfig;
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
                        assert_eq!(req.headers()["content-type"], "application/json");
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

fn spki_to_key(spki_b64: &str) -> VerifyingKey {
    let der = B64.decode(spki_b64).unwrap();
    assert_eq!(der.len(), 44);
    VerifyingKey::from_bytes(der[12..].try_into().unwrap()).unwrap()
}

fn verify(key: &VerifyingKey, body: &str, sig_b64: &str) -> bool {
    let sig = Signature::from_slice(&B64.decode(sig_b64).unwrap()).unwrap();
    key.verify(body.as_bytes(), &sig).is_ok()
}

#[tokio::test]
async fn key_endpoint_matches_startup_key() {
    let r = emu(EmulatorConfig::default()).await;
    let k = get(&r, "/_emulator/webhook-key", &[]).await.json();
    assert_eq!(k["spki_base64"], r.webhook_public_key());
    let raw = B64.decode(k["raw_base64"].as_str().unwrap()).unwrap();
    assert_eq!(raw, spki_to_key(&r.webhook_public_key()).to_bytes());
    let pem = k["pem"].as_str().unwrap();
    assert!(pem.contains(&r.webhook_public_key()));
    let startup: Value = serde_json::from_str(&r.startup_json()).unwrap();
    assert_eq!(startup["base_url"], r.base_url());
    assert_eq!(startup["webhook_public_key"], r.webhook_public_key());
    assert_eq!(startup["client_id"], "65f1c0ffee-emulator");
    assert_eq!(startup["client_secret"], "emulator-secret");
    // A different seed gives a different key.
    let mut seed = [7u8; 32];
    seed[0] = 1;
    let r2 = emu(EmulatorConfig {
        webhook_seed: seed,
        ..Default::default()
    })
    .await;
    assert_ne!(r2.webhook_public_key(), r.webhook_public_key());
}

#[tokio::test]
async fn sent_webhook_is_signed_over_the_exact_body() {
    let r = emu(EmulatorConfig::default()).await;
    let key = spki_to_key(&r.webhook_public_key());
    let (url, mut rx) = receiver().await;
    let resp = post_json(
        &r,
        "/_emulator/webhooks/send",
        &[],
        &json!({"url": url, "type": "UNINSTALL", "locationId": "loc_2"}),
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    let answer = resp.json();
    assert_eq!(answer["delivered_status"], 200);
    let (sig, body) = rx.recv().await.unwrap();
    assert_eq!(answer["body"], body);
    assert_eq!(answer["signature"], sig);
    assert!(verify(&key, &body, &sig));
    assert!(!verify(&key, &body.replace("loc_2", "loc_3"), &sig));
    let ev: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ev["type"], "UNINSTALL");
    assert_eq!(ev["appId"], "65f1c0ffee");
    assert_eq!(ev["installType"], "Location");
    assert_eq!(ev["locationId"], "loc_2");
    assert_eq!(ev["companyId"], "comp_1");
    assert!(ev["userId"].as_str().unwrap().starts_with("user_"));
    let ts = ev["timestamp"].as_str().unwrap();
    assert_eq!(ts.len(), 24, "{ts}");
    assert!(ts.ends_with('Z') && ts.as_bytes()[10] == b'T' && ts.as_bytes()[19] == b'.');
    assert!(
        body.starts_with(r#"{"type":"UNINSTALL","appId":"#),
        "compact, ordered: {body}"
    );
    // webhookIds are unique.
    let resp2 = post_json(
        &r,
        "/_emulator/webhooks/send",
        &[],
        &json!({"url": url, "type": "INSTALL", "locationId": "loc_2"}),
    )
    .await
    .json();
    let ev2: Value = serde_json::from_str(resp2["body"].as_str().unwrap()).unwrap();
    assert_ne!(ev2["webhookId"], ev["webhookId"]);
    // Bad requests and unreachable receivers.
    let bad = post_json(
        &r,
        "/_emulator/webhooks/send",
        &[],
        &json!({"url": url, "type": "OTHER"}),
    )
    .await;
    assert_eq!(bad.status, 400);
    let dead = post_json(
        &r,
        "/_emulator/webhooks/send",
        &[],
        &json!({"url": "http://127.0.0.1:9/x", "type": "INSTALL", "locationId": "loc_1"}),
    )
    .await;
    assert_eq!(dead.status, 502);
    assert_eq!(dead.json()["delivered_status"], Value::Null);
}

#[tokio::test]
async fn code_exchange_sends_install_event() {
    let (url, mut rx) = receiver().await;
    let r = emu(EmulatorConfig {
        webhook_url: Some(url),
        ..Default::default()
    })
    .await;
    let t = install(&r, SCOPES, Some("loc_3"), "Location").await;
    let (sig, body) = tokio::time::timeout(std::time::Duration::from_secs(5), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(verify(&spki_to_key(&r.webhook_public_key()), &body, &sig));
    let ev: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ev["type"], "INSTALL");
    assert_eq!(ev["locationId"], "loc_3");
    assert_eq!(ev["userId"], t["userId"]);
}
