mod common;
use common::*;
use hoopauth_emulator::{EmulatorConfig, Running};
use serde_json::json;
use std::time::Duration;

const HEADERS: [&str; 5] = [
    "X-RateLimit-Limit-Daily",
    "X-RateLimit-Daily-Remaining",
    "X-RateLimit-Interval-Milliseconds",
    "X-RateLimit-Max",
    "X-RateLimit-Remaining",
];

async fn list(r: &Running, at: &str, loc: &str) -> Resp {
    get(
        r,
        &format!("/contacts/?locationId={loc}"),
        &[("Authorization", &bearer(at)), VERSION],
    )
    .await
}

fn assert_limit_headers(resp: &Resp) {
    for h in HEADERS {
        assert!(
            resp.header(h).is_some(),
            "{h} missing on {}: {}",
            resp.status,
            resp.body
        );
    }
}

#[tokio::test]
async fn contacts_create_and_list() {
    let r = emu(EmulatorConfig::default()).await;
    let at = s(&install(&r, SCOPES, None, "Location").await, "access_token");
    let auth = bearer(&at);
    let resp = post_json(
        &r,
        "/contacts/",
        &[("Authorization", &auth), VERSION],
        &json!({"locationId": "loc_1", "firstName": "Ada", "email": "ada@example.com"}),
    )
    .await;
    assert_eq!(resp.status, 201, "{}", resp.body);
    let c = resp.json()["contact"].clone();
    assert_eq!(c["firstName"], "Ada");
    assert_eq!(c["locationId"], "loc_1");
    assert!(c["id"].as_str().is_some_and(|i| !i.is_empty()));
    assert_limit_headers(&resp);
    let l = list(&r, &at, "loc_1").await;
    assert_eq!(l.status, 200);
    assert_eq!(l.json()["contacts"], json!([c]));
    assert_eq!(l.json()["meta"]["total"], 1);
    let missing = get(&r, "/contacts/", &[("Authorization", &auth), VERSION]).await;
    assert_eq!(missing.status, 422);
    assert_eq!(
        missing.json()["message"],
        json!(["locationId must be a string"])
    );
}

#[tokio::test]
async fn api_error_bodies_are_exact() {
    let r = emu(EmulatorConfig::default()).await;
    let read_only = s(
        &install(&r, "contacts.readonly", Some("loc_1"), "Location").await,
        "access_token",
    );
    let company = s(&install(&r, SCOPES, None, "Company").await, "access_token");
    let other = s(
        &install(&r, SCOPES, Some("loc_2"), "Location").await,
        "access_token",
    );

    // Missing / unknown bearer: Invalid JWT, no resource, so no rate-limit headers.
    for h in [
        vec![VERSION],
        vec![("Authorization", "Bearer nope"), VERSION],
        vec![("Authorization", "Basic x"), VERSION],
    ] {
        let resp = get(&r, "/contacts/?locationId=loc_1", &h).await;
        assert_eq!(resp.status, 401);
        assert_eq!(
            resp.json(),
            json!({"statusCode": 401, "message": "Invalid JWT"})
        );
    }
    // Missing Version header.
    let resp = get(
        &r,
        "/contacts/?locationId=loc_1",
        &[("Authorization", &bearer(&read_only))],
    )
    .await;
    assert_eq!(resp.status, 400);
    assert_eq!(
        resp.json(),
        json!({"statusCode": 400, "message": "version header was not found", "error": "Bad Request"})
    );
    assert_limit_headers(&resp);
    // Missing scope.
    let resp = post_json(
        &r,
        "/contacts/",
        &[("Authorization", &bearer(&read_only)), VERSION],
        &json!({"locationId": "loc_1"}),
    )
    .await;
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.json(),
        json!({"statusCode": 401, "message": "The token is not authorized for this scope."})
    );
    assert_limit_headers(&resp);
    // Company token on a location route.
    let resp = list(&r, &company, "loc_1").await;
    assert_eq!(resp.status, 401);
    assert_eq!(
        resp.json(),
        json!({"statusCode": 401, "message": "This authClass type is not allowed to access this scope. Please reach out to the Platform team to get it added."})
    );
    assert_limit_headers(&resp);
    // Location token for another location.
    let resp = list(&r, &other, "loc_1").await;
    assert_eq!(resp.status, 403);
    assert_eq!(
        resp.json(),
        json!({"statusCode": 403, "message": "The token does not have access to this location."})
    );
    assert_limit_headers(&resp);
    // /locations/{id}: own location, company token allowed, other location 403, scope 401.
    let h = |t: &str| vec![("Authorization".to_string(), bearer(t))];
    for (tok, id, status) in [
        (&other, "loc_2", 200),
        (&company, "loc_3", 200),
        (&other, "loc_1", 403),
        (&read_only, "loc_1", 401),
    ] {
        let hh = h(tok);
        let resp = get(
            &r,
            &format!("/locations/{id}"),
            &[(hh[0].0.as_str(), hh[0].1.as_str()), VERSION],
        )
        .await;
        assert_eq!(resp.status, status, "{id}: {}", resp.body);
        if status == 200 {
            assert_eq!(resp.json()["location"]["id"], id);
            assert_eq!(resp.json()["location"]["companyId"], "comp_1");
        }
    }
    let st = stats(&r).await;
    assert_eq!(st["resources"]["unknown"]["unauthorized"], 3);
    assert_eq!(st["resources"]["loc_1"]["unauthorized"], 2);
    assert_eq!(st["resources"]["loc_1"]["requests"], 3);
    assert_eq!(st["resources"]["comp_1"]["unauthorized"], 1);
    assert_eq!(st["resources"]["comp_1"]["ok"], 1);
    assert_eq!(st["resources"]["loc_2"]["unauthorized"], 2);
    assert_eq!(st["resources"]["loc_2"]["ok"], 1);
    assert_eq!(st["totals"]["requests"], 3 + 3 + 2 + 3);
}

#[tokio::test]
async fn sliding_window_limits_and_headers() {
    let r = emu(EmulatorConfig {
        max: 5,
        interval_ms: 500,
        daily_limit: 1000,
        ..Default::default()
    })
    .await;
    let at = s(&install(&r, SCOPES, None, "Location").await, "access_token");
    for i in 0..5u64 {
        let resp = list(&r, &at, "loc_1").await;
        assert_eq!(resp.status, 200);
        assert_eq!(resp.num("X-RateLimit-Max"), 5);
        assert_eq!(resp.num("X-RateLimit-Interval-Milliseconds"), 500);
        assert_eq!(resp.num("X-RateLimit-Limit-Daily"), 1000);
        assert_eq!(resp.num("X-RateLimit-Remaining"), 4 - i);
        assert_eq!(resp.num("X-RateLimit-Daily-Remaining"), 999 - i);
    }
    let resp = list(&r, &at, "loc_1").await;
    assert_eq!(resp.status, 429);
    assert_eq!(
        resp.json(),
        json!({"statusCode": 429, "message": "Too Many Requests"})
    );
    assert_eq!(resp.num("X-RateLimit-Remaining"), 0);
    assert_eq!(
        resp.num("X-RateLimit-Daily-Remaining"),
        995,
        "429s do not count"
    );
    // Another location has its own window.
    let other = s(
        &install(&r, SCOPES, Some("loc_2"), "Location").await,
        "access_token",
    );
    assert_eq!(list(&r, &other, "loc_2").await.status, 200);
    // After the window slides, requests are allowed again.
    tokio::time::sleep(Duration::from_millis(550)).await;
    let resp = list(&r, &at, "loc_1").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.num("X-RateLimit-Remaining"), 4);
    assert_eq!(resp.num("X-RateLimit-Daily-Remaining"), 994);
    let st = stats(&r).await;
    assert_eq!(st["resources"]["loc_1"]["requests"], 7);
    assert_eq!(st["resources"]["loc_1"]["ok"], 6);
    assert_eq!(st["resources"]["loc_1"]["rate_limited"], 1);
}

#[tokio::test]
async fn window_is_sliding_not_fixed() {
    let r = emu(EmulatorConfig {
        max: 2,
        interval_ms: 1000,
        ..Default::default()
    })
    .await;
    let at = s(&install(&r, SCOPES, None, "Location").await, "access_token");
    assert_eq!(list(&r, &at, "loc_1").await.status, 200); // t0
    tokio::time::sleep(Duration::from_millis(550)).await;
    assert_eq!(list(&r, &at, "loc_1").await.status, 200); // t0+550
    tokio::time::sleep(Duration::from_millis(550)).await;
    // t0+1100: the first hit left the window, the second has not.
    let resp = list(&r, &at, "loc_1").await;
    assert_eq!(resp.status, 200);
    assert_eq!(resp.num("X-RateLimit-Remaining"), 0);
    assert_eq!(list(&r, &at, "loc_1").await.status, 429);
}

#[tokio::test]
async fn daily_cap() {
    let r = emu(EmulatorConfig {
        max: 100,
        daily_limit: 3,
        ..Default::default()
    })
    .await;
    let at = s(&install(&r, SCOPES, None, "Location").await, "access_token");
    for left in [2, 1, 0] {
        let resp = list(&r, &at, "loc_1").await;
        assert_eq!(resp.status, 200);
        assert_eq!(resp.num("X-RateLimit-Daily-Remaining"), left);
    }
    let resp = list(&r, &at, "loc_1").await;
    assert_eq!(resp.status, 429);
    assert_eq!(resp.num("X-RateLimit-Daily-Remaining"), 0);
    assert_eq!(resp.num("X-RateLimit-Remaining"), 97);
    assert_eq!(resp.num("X-RateLimit-Limit-Daily"), 3);
    // Reset clears windows and stats.
    assert_eq!(
        request(r.addr(), "POST", "/_emulator/reset", &[], b"")
            .await
            .status,
        200
    );
    assert_eq!(stats(&r).await["totals"]["requests"], 0);
    assert_eq!(list(&r, &at, "loc_1").await.status, 200);
}

#[tokio::test]
async fn fail_rate_answers_503_and_counts() {
    let r = emu(EmulatorConfig {
        fail_rate: 1.0,
        max: 3,
        ..Default::default()
    })
    .await;
    let at = s(&install(&r, SCOPES, None, "Location").await, "access_token");
    for _ in 0..3 {
        let resp = list(&r, &at, "loc_1").await;
        assert_eq!(resp.status, 503);
        assert_eq!(
            resp.json(),
            json!({"statusCode": 503, "message": "Service Unavailable"})
        );
        assert_limit_headers(&resp);
    }
    assert_eq!(
        list(&r, &at, "loc_1").await.status,
        429,
        "503s count in the window"
    );
    post_json(
        &r,
        "/_emulator/control",
        &[],
        &json!({"fail_rate": 0.0, "max": 10}),
    )
    .await;
    assert_eq!(list(&r, &at, "loc_1").await.status, 200);
    let st = stats(&r).await;
    assert_eq!(st["totals"]["server_errors"], 3);
    // A fractional rate fails some but not all (seeded PRNG).
    post_json(
        &r,
        "/_emulator/control",
        &[],
        &json!({"fail_rate": 0.5, "max": 1000}),
    )
    .await;
    let mut fails = 0;
    for _ in 0..40 {
        if list(&r, &at, "loc_1").await.status == 503 {
            fails += 1;
        }
    }
    assert!((5..=35).contains(&fails), "{fails}");
}

#[tokio::test]
async fn latency_and_control_validation() {
    let r = emu(EmulatorConfig::default()).await;
    let at = s(&install(&r, SCOPES, None, "Location").await, "access_token");
    let c = post_json(&r, "/_emulator/control", &[], &json!({"latency_ms": 200})).await;
    assert_eq!(c.status, 200);
    assert_eq!(c.json()["latency_ms"], 200);
    let t = std::time::Instant::now();
    assert_eq!(list(&r, &at, "loc_1").await.status, 200);
    assert!(t.elapsed() >= Duration::from_millis(200));
    assert_eq!(
        post_json(&r, "/_emulator/control", &[], &json!({"bogus": 1}))
            .await
            .status,
        400
    );
    assert_eq!(
        post_json(&r, "/_emulator/control", &[], &json!({"fail_rate": 2}))
            .await
            .status,
        400
    );
    let k = get(&r, "/_emulator/control", &[]).await.json();
    assert_eq!(k["latency_ms"], 200);
    assert_eq!(k["fail_rate"], 0.0);
}

#[tokio::test]
async fn timeline_counts_requests_and_429s_per_bucket() {
    let r = emu(EmulatorConfig {
        max: 2,
        interval_ms: 60_000,
        ..Default::default()
    })
    .await;
    let at = s(&install(&r, SCOPES, None, "Location").await, "access_token");
    let reset = request(r.addr(), "POST", "/_emulator/reset", &[], b"").await;
    assert_eq!(reset.status, 200);
    let empty = get(&r, "/_emulator/timeline", &[]).await.json();
    assert_eq!(empty["bucket_ms"], 1000);
    assert_eq!(empty["buckets"], json!([]));
    // Bucket 0: two allowed, one 429, one unknown token; bucket 2 (300 ms buckets): one 429.
    for want in [200, 200, 429] {
        assert_eq!(list(&r, &at, "loc_1").await.status, want);
    }
    assert_eq!(list(&r, "not-a-token", "loc_1").await.status, 401);
    tokio::time::sleep(Duration::from_millis(650)).await;
    assert_eq!(list(&r, &at, "loc_1").await.status, 429);

    let t = get(&r, "/_emulator/timeline?bucket_ms=300", &[])
        .await
        .json();
    assert_eq!(t["bucket_ms"], 300);
    let b = t["buckets"].as_array().unwrap();
    assert_eq!(b.len(), 3, "{t}");
    assert_eq!(b[0]["start_ms"], 0);
    assert_eq!(b[1]["start_ms"], 300);
    assert_eq!(b[2]["start_ms"], 600);
    let started = t["started_unix_ms"].as_u64().unwrap();
    assert_eq!(b[2]["start_unix_ms"].as_u64().unwrap(), started + 600);
    assert_eq!(b[0]["requests"], 4);
    assert_eq!(b[0]["rate_limited"], 1);
    assert_eq!(
        b[0]["resources"]["loc_1"],
        json!({"requests": 3, "rate_limited": 1})
    );
    assert_eq!(
        b[0]["resources"]["unknown"],
        json!({"requests": 1, "rate_limited": 0})
    );
    assert_eq!(b[1]["requests"], 0);
    assert_eq!(b[1]["resources"], json!({}));
    assert_eq!(
        b[2]["resources"]["loc_1"],
        json!({"requests": 1, "rate_limited": 1})
    );

    // Default 1 s buckets hold the same totals; token requests are not API requests.
    let t = get(&r, "/_emulator/timeline", &[]).await.json();
    let b = t["buckets"].as_array().unwrap();
    assert_eq!(b.len(), 1);
    assert_eq!(b[0]["requests"], 5);
    assert_eq!(b[0]["rate_limited"], 2);
    assert_eq!(
        get(&r, "/_emulator/timeline?bucket_ms=0", &[]).await.status,
        400
    );
    assert_eq!(
        get(&r, "/_emulator/timeline?bucket_ms=x", &[]).await.status,
        400
    );

    request(r.addr(), "POST", "/_emulator/reset", &[], b"").await;
    assert_eq!(
        get(&r, "/_emulator/timeline", &[]).await.json()["buckets"],
        json!([])
    );
}
