//! Criterion benchmarks of each core operation. Run: `cargo bench -p hoopauth --bench core`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use hoopauth::*;

const REFERENCE_BODY: &str = "{\"userId\": \"l1C08ntBrFjLS0elLIYU\", \"access_token\": \"ab12dc0ae1234a7898f9ff06d4f69gh\", \"token_type\": \"Bearer\", \"expires_in\": 86399, \"refresh_token\": \"xy34dc0ae1234a4858f9ff06d4f66ba\", \"scope\": \"conversations/message.readonly conversations/message.write\", \"userType\": \"Location\", \"locationId\": \"l1C08ntBrFjLS0elLIYU\", \"companyId\": \"l1C08ntBrFjLS0elLIYU\", \"approvedLocations\": [\"l1C08ntBrFjLS0elLIYU\"], \"planId\": \"l1C08ntBrFjLS0elLIYU\", \"isBulkInstallation\": \"Bearer\"}";

fn config() -> Config {
    Config::new(ConfigOptions {
        client_id: "65f1c0ffee-lx2k9".into(),
        client_secret: Some("s3cr3t-Value".into()),
        redirect_uri: Some("https://myapp.com/oauth/callback/hoopai".into()),
        ..Default::default()
    })
    .unwrap()
}

fn benches(c: &mut Criterion) {
    let cfg = config();
    let params = AuthorizationParams {
        scopes: vec!["contacts.readonly".into(), "conversations.readonly".into()],
        state: Some("Zm9vYmFyYmF6cXV4cXV1eA".into()),
        ..Default::default()
    };
    c.bench_function("authorization_url", |b| b.iter(|| cfg.authorization_url(black_box(&params)).unwrap()));

    let grant = Grant::RefreshToken { refresh_token: Secret::new("xy34dc0ae1234a4858f9ff06d4f66ba") };
    c.bench_function("token_request (refresh body)", |b| {
        b.iter(|| cfg.token_request(black_box(&grant), Some(UserType::Location)).unwrap())
    });

    c.bench_function("parse_token_response (reference body)", |b| {
        b.iter(|| parse_token_response(200, &[], black_box(REFERENCE_BODY.as_bytes()), 1_767_225_600_000).unwrap())
    });
    c.bench_function("serde_json::from_str::<Value> (same body, baseline)", |b| {
        b.iter(|| serde_json::from_str::<serde_json::Value>(black_box(REFERENCE_BODY)).unwrap())
    });

    let ok_headers: Headers = vec![
        ("X-RateLimit-Max".into(), "100".into()),
        ("X-RateLimit-Remaining".into(), "97".into()),
        ("X-RateLimit-Interval-Milliseconds".into(), "10000".into()),
    ];
    c.bench_function("classify_response (200)", |b| {
        b.iter(|| classify_response(black_box(200), &ok_headers, b"{}", None))
    });
    let body401 = br#"{"statusCode": 401, "message": "The token is not authorized for this scope."}"#;
    c.bench_function("classify_response (401 scope)", |b| {
        b.iter(|| classify_response(black_box(401), &ok_headers, body401, None))
    });

    // One resource.
    let mut one = RateLimiters::new(Limits { max: u32::MAX, ..Limits::default() });
    let mut t = 0u64;
    c.bench_function("limiter decision (1 key)", |b| {
        b.iter(|| {
            t += 1;
            one.acquire(black_box("loc_00000"), t)
        })
    });
    // 100,000 resources.
    let keys: Vec<String> = (0..100_000).map(|i| format!("loc_{i:05}")).collect();
    // Every resource stays active (visited once per simulated second: none evictable, ten
    // sends in each window, so the decisions are allows).
    let mut many = RateLimiters::new(Limits::default());
    for k in &keys {
        many.acquire(k, 1_000);
    }
    let mut i = 0usize;
    let mut n = 0u64;
    c.bench_function("limiter decision (100,000 keys)", |b| {
        b.iter(|| {
            i = (i + 7919) % keys.len();
            n += 1;
            many.acquire(black_box(&keys[i]), 1_000 + n / 100)
        })
    });

    let mut session = TokenSession::new(cfg.clone(), SessionOptions::default());
    session.load(parse_token_response(200, &[], REFERENCE_BODY.as_bytes(), 1_767_225_600_000).unwrap());
    c.bench_function("session decision (use)", |b| b.iter(|| session.acquire(black_box(1_767_225_700_000)).unwrap()));
}

criterion_group!(core, benches);
criterion_main!(core);
