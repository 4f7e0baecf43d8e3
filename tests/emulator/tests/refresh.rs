mod common;
use common::*;
use hoopauth_emulator::EmulatorConfig;
use serde_json::{json, Value};
use std::time::Duration;

fn invalid_grant() -> Value {
    json!({"statusCode": 400, "message": "Invalid grant: refresh token is invalid", "error": "Bad Request"})
}

async fn refresh(r: &hoopauth_emulator::Running, rt: &str) -> Resp {
    token(r, &[("grant_type", "refresh_token"), ("refresh_token", rt)]).await
}

async fn contacts(r: &hoopauth_emulator::Running, at: &str) -> u16 {
    get(
        r,
        "/contacts/?locationId=loc_1",
        &[("Authorization", &bearer(at)), VERSION],
    )
    .await
    .status
}

#[tokio::test]
async fn rotation_is_single_use_with_grace() {
    let r = emu(EmulatorConfig {
        refresh_grace_ms: 400,
        ..Default::default()
    })
    .await;
    let first = install(&r, SCOPES, None, "Location").await;
    let rt0 = s(&first, "refresh_token");
    let a = refresh(&r, &rt0).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let a = a.json();
    assert_ne!(s(&a, "access_token"), s(&first, "access_token"));
    assert_ne!(s(&a, "refresh_token"), rt0);
    assert_eq!(a["userType"], "Location");
    assert_eq!(a["locationId"], "loc_1");
    assert_eq!(a["scope"], SCOPES);
    // Within the grace: the very same pair, no new rotation.
    let b = refresh(&r, &rt0).await;
    assert_eq!(b.status, 200);
    assert_eq!(b.json(), a);
    // Old and new access tokens both work.
    assert_eq!(contacts(&r, &s(&first, "access_token")).await, 200);
    assert_eq!(contacts(&r, &s(&a, "access_token")).await, 200);
    // After the grace: invalid grant, exact body.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let c = refresh(&r, &rt0).await;
    assert_eq!(c.status, 400);
    assert_eq!(c.json(), invalid_grant());
    // The new refresh token rotates normally.
    let d = refresh(&r, &s(&a, "refresh_token")).await;
    assert_eq!(d.status, 200);
    // Unknown token.
    let e = refresh(&r, "not-a-token").await;
    assert_eq!(e.status, 400);
    assert_eq!(e.json(), invalid_grant());
    let st = stats(&r).await;
    assert_eq!(st["resources"]["loc_1"]["refreshes"], 3);
    assert_eq!(st["resources"]["loc_1"]["invalid_grants"], 1);
    assert_eq!(st["resources"]["unknown"]["invalid_grants"], 1);
    assert_eq!(st["totals"]["invalid_grants"], 2);
}

#[tokio::test]
async fn company_token_refresh_stays_company() {
    let r = emu(EmulatorConfig::default()).await;
    let c = install(&r, "locations.readonly", None, "Company").await;
    let n = refresh(&r, &s(&c, "refresh_token")).await.json();
    assert_eq!(n["userType"], "Company");
    assert!(n.get("locationId").is_none());
    assert_eq!(stats(&r).await["resources"]["comp_1"]["refreshes"], 1);
}

#[tokio::test]
async fn paused_location_refuses_refresh_without_spending_it() {
    let r = emu(EmulatorConfig {
        paused_locations: vec!["loc_2".into()],
        ..Default::default()
    })
    .await;
    let t = install(&r, SCOPES, Some("loc_2"), "Location").await;
    let rt = s(&t, "refresh_token");
    for _ in 0..2 {
        let resp = refresh(&r, &rt).await;
        assert_eq!(resp.status, 400);
        assert_eq!(
            resp.json(),
            json!({"statusCode": 400, "message": "Location is not active", "error": "Bad Request"})
        );
    }
    let c = post_json(
        &r,
        "/_emulator/control",
        &[],
        &json!({"paused_locations": []}),
    )
    .await;
    assert_eq!(c.json()["paused_locations"], json!([]));
    let ok = refresh(&r, &rt).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(ok.json()["locationId"], "loc_2");
}

#[tokio::test]
async fn drop_after_rotate_closes_without_answer_and_grace_recovers() {
    let r = emu(EmulatorConfig {
        drop_after_rotate: 1,
        ..Default::default()
    })
    .await;
    let t = install(&r, SCOPES, None, "Location").await;
    let rt = s(&t, "refresh_token");
    let body = form(&[
        ("client_id", r.client_id()),
        ("client_secret", r.client_secret()),
        ("grant_type", "refresh_token"),
        ("refresh_token", &rt),
    ]);
    let raw = raw_exchange(
        r.addr(),
        "POST",
        "/oauth/token",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .await;
    assert!(
        raw.is_empty(),
        "expected no answer, got {:?}",
        String::from_utf8_lossy(&raw)
    );
    // The rotation happened: the retry within the grace gets the stored pair, and the new
    // refresh token is spendable.
    let a = refresh(&r, &rt).await;
    assert_eq!(a.status, 200, "{}", a.body);
    let b = refresh(&r, &rt).await;
    assert_eq!(a.json(), b.json());
    let next = refresh(&r, &s(&a.json(), "refresh_token")).await;
    assert_eq!(next.status, 200, "only one drop was configured");
    assert_eq!(stats(&r).await["resources"]["loc_1"]["refreshes"], 4);
}

#[tokio::test]
async fn access_tokens_expire() {
    let r = emu(EmulatorConfig {
        token_ttl_secs: 1,
        ..Default::default()
    })
    .await;
    let t = install(&r, SCOPES, None, "Location").await;
    assert_eq!(t["expires_in"], 1);
    let at = s(&t, "access_token");
    assert_eq!(contacts(&r, &at).await, 200);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let resp = get(
        &r,
        "/contacts/?locationId=loc_1",
        &[("Authorization", &bearer(&at)), VERSION],
    )
    .await;
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.json(),
        json!({"statusCode": 401, "message": "Invalid JWT"})
    );
    // The refresh token outlives it.
    let n = refresh(&r, &s(&t, "refresh_token")).await.json();
    assert_eq!(contacts(&r, &s(&n, "access_token")).await, 200);
}
