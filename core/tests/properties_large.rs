//! Garbage in at sizes up to 64 KB: every parser (token response body, callback URL,
//! headers, webhook body / signature / key, stored-session JSON, scope lists, configuration,
//! API paths) answers a typed value or a typed error, and never panics. Inputs are random
//! bytes, or fragments that matter to the parsers repeated to size (deep nesting, long
//! strings, many keys, many parameters), plus a fixed sweep of worst cases at exactly 64 KB.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use hoopauth::ErrorKind;
use hoopauth::scope_warnings;
use hoopauth::*;
use proptest::prelude::*;

const MAX: usize = 64 * 1024;
const NOW: u64 = 1_767_225_600_000;

/// Pieces that steer the parsers somewhere (JSON structure, escapes, URL syntax, PEM, dates).
const FRAGMENTS: &[&str] = &[
    "[", "]", "{", "}", "{\"a\":", "\"", "\\", "\\u0000", "\\ud800", ",", ":", "null", "true", "0", "-",
    "1e999", "123456789012345678901234567890", "{\"access_token\":\"", "\"expires_in\":", "\"scope\":\"",
    "{\"error\":\"invalid_grant\",\"message\":[", "\"message\":\"", "{\"type\":\"INSTALL\",", "\"timestamp\":\"",
    "2026-11-22T10:00:00.000Z", "\"webhookId\":", "{\"format\":1,\"version\":", "\"credential\":{\"type\":\"oauth\",\"tokens\":",
    "\u{1F600}", "\u{0}", "\u{7f}", "é", " ", "\t", "\r\n", "%", "%zz", "%00", "+", "&", "=", "?", "#", "code=",
    "state=", "error=", "https://", "//", "@", "[::1]", ":443", "..", "-----BEGIN PUBLIC KEY-----\n",
    "-----END PUBLIC KEY-----\n", "MCowBQYDK2VwAyEA", "A", "==", "Wed, 21 Oct 2015 07:28:00 GMT", "contacts.readonly",
];

fn repeat_to(piece: &str, n: usize) -> Vec<u8> {
    piece.as_bytes().iter().copied().cycle().take(n).collect()
}

/// Bytes up to 64 KB: random, one fragment repeated, or a few fragments mixed.
fn big_bytes() -> impl Strategy<Value = Vec<u8>> {
    let frag = proptest::sample::select(FRAGMENTS);
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..=MAX),
        (frag.clone(), 0..=MAX).prop_map(|(f, n)| repeat_to(f, n)),
        (proptest::collection::vec(frag, 1..8), 0..=MAX).prop_map(|(fs, n)| repeat_to(&fs.concat(), n)),
        (proptest::sample::select(FRAGMENTS), proptest::collection::vec(any::<u8>(), 0..1024), 0..=MAX)
            .prop_map(|(f, tail, n)| {
                let mut v = repeat_to(f, n.saturating_sub(tail.len()));
                v.extend(tail);
                v
            }),
    ]
}

fn big_text() -> impl Strategy<Value = String> {
    big_bytes().prop_map(|b| String::from_utf8_lossy(&b).into_owned())
}

fn config() -> Config {
    Config::new(ConfigOptions {
        client_id: "65f1c0ffee-lx2k9".into(),
        client_secret: Some("s3cr3t".into()),
        redirect_uri: Some("https://myapp.com/oauth/callback".into()),
        ..Default::default()
    })
    .unwrap()
}

const TOKEN_ERRORS: &[ErrorKind] = &[
    ErrorKind::InvalidGrant,
    ErrorKind::InvalidClient,
    ErrorKind::InvalidRequest,
    ErrorKind::ClientError,
    ErrorKind::LocationInactive,
    ErrorKind::RateLimited,
    ErrorKind::ServerError,
    ErrorKind::UnexpectedStatus,
];

fn check_token_response(status: u16, body: &[u8]) {
    match parse_token_response(status, &[], body, NOW) {
        Ok(t) => {
            assert!((200..300).contains(&status));
            assert!(!t.access_token.is_empty());
            assert!(t.refresh_token.as_ref().is_none_or(|r| !r.is_empty()));
        }
        Err(e) if (200..300).contains(&status) => assert_eq!(e.kind(), ErrorKind::MalformedResponse, "{e}"),
        Err(e) => {
            assert!(TOKEN_ERRORS.contains(&e.kind()), "{e}");
            assert_eq!(e.status(), Some(status));
            assert!(e.message().len() <= 400, "error message of {} bytes", e.message().len());
        }
    }
    let c = classify_response(status, &[], body, Some(NOW));
    assert_eq!(c.status, status);
    assert!(c.message.as_ref().is_none_or(|m| m.len() <= 300), "classification message too long");
    let _ = c.to_error();
}

fn check_callback(url: &str) {
    for expected in [None, Some("s1")] {
        match parse_callback(url, expected) {
            Ok(cb) => assert!(!cb.code.is_empty()),
            Err(e) => {
                assert!(
                    matches!(e.kind(), ErrorKind::AuthorizationDenied | ErrorKind::StateMismatch | ErrorKind::MissingCode),
                    "{e}"
                );
                assert!(e.message().len() <= 400, "error message of {} bytes", e.message().len());
            }
        }
    }
}

fn check_headers(h: &[(String, String)]) {
    let rl = parse_rate_limit_headers(h);
    let c = classify_response(429, h, b"", Some(NOW));
    assert_eq!(c.kind, ResponseKind::RateLimited);
    assert_eq!(c.rate_limit_scope == Some(RateLimitScope::Daily), rl.daily_remaining == Some(0));
    let mut l = RateLimiter::default();
    if let Decision::Allow { send_id } = l.acquire(NOW) {
        l.answered(send_id, NOW + 5);
    }
    l.observe(NOW + 10, 429, h);
    l.observe(NOW + 20, 200, h);
    if let Decision::Wait { wait_ms, .. } = l.acquire(NOW + 30) {
        assert!(wait_ms > 0);
    }
    for (_, v) in h.iter().take(4) {
        let _ = parse_retry_after(v, Some(NOW));
        let _ = parse_http_date(v);
    }
}

fn check_webhook(body: &[u8], signature: &str) {
    let key = WebhookKey::platform();
    let v = verify_webhook(&key, body, Some(signature), Some(NOW), 300_000);
    assert_eq!(v.valid, v.reason == VerifyReason::Ok);
    assert_eq!(v.reason, VerifyReason::BadSignature, "a random signature verified");
    let mut verifier = WebhookVerifier::platform().unwrap();
    let headers = vec![("x-ghl-signature".to_owned(), signature.to_owned()), ("x-wh-signature".to_owned(), signature.to_owned())];
    assert_eq!(verifier.verify_headers(body, &headers, NOW).reason, VerifyReason::BadSignature);
    let legacy = verify_legacy_webhook(&RsaWebhookKey::platform().unwrap(), body, Some(signature), None, 300_000);
    assert_eq!(legacy.reason, VerifyReason::BadSignature);
    match parse_webhook_event(body) {
        Ok(ev) => assert!(!serde_json::to_string(&ev).unwrap().is_empty()),
        Err(e) => assert_eq!(e.kind(), ErrorKind::MalformedResponse),
    }
    let text = String::from_utf8_lossy(body);
    if let Err(e) = WebhookKey::parse(&text) {
        assert_eq!(e.kind(), ErrorKind::InvalidKey);
    }
    if let Err(e) = RsaWebhookKey::parse(&text) {
        assert_eq!(e.kind(), ErrorKind::InvalidKey);
    }
    let _ = hoopauth::parse_iso8601_ms(&text);
}

fn check_stored(json: &str) {
    let options = SessionOptions::default();
    match TokenSession::from_json(config(), options, json) {
        Ok(mut s) => {
            let again = TokenSession::from_json(config(), options, &s.stored_json()).expect("to_json output is read back");
            assert_eq!(again.version(), s.version());
            for t in [0, NOW, u64::MAX] {
                if let Err(e) = s.acquire(t) {
                    assert!(matches!(e.kind(), ErrorKind::InvalidArgument | ErrorKind::InvalidConfig), "{e}");
                }
            }
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidArgument),
    }
    let mut pool = Pool::new(config(), options, Limits::default());
    if let Err(e) = pool.load_stored("loc_1", json) {
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }
}

fn check_scopes(scopes: &[String]) {
    for s in scopes {
        if let Err(e) = validate_scope(s) {
            assert_eq!(e.kind(), ErrorKind::InvalidScope);
            assert!(e.message().len() <= 400);
        }
    }
    for s in scopes.iter().take(8) {
        if let Some(k) = suggest_scope(s) {
            assert!(is_known_scope(k));
        }
    }
    let _ = scope_warnings(&scopes[..scopes.len().min(8)]);
    match normalize_scopes(scopes) {
        Ok(out) => {
            assert!(!out.is_empty() && out.len() <= scopes.len());
            let mut sorted = out.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), out.len(), "duplicates kept");
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidScope),
    }
    let params = AuthorizationParams { scopes: scopes.to_vec(), state: Some("s1".into()), ..Default::default() };
    match config().authorization_url(&params) {
        Ok(url) => assert!(url.starts_with("https://marketplace.gohighlevel.com/oauth/chooselocation?")),
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidScope),
    }
}

fn check_config_and_paths(text: &str) {
    if let Err(e) = Config::from_json(text) {
        assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        assert!(e.message().len() <= 200, "config error message of {} bytes", e.message().len());
    }
    for base in [text.to_owned(), format!("https://{text}")] {
        let options = ConfigOptions { client_id: "id".into(), api_base: Some(base), ..Default::default() };
        if let Err(e) = Config::new(options) {
            assert_eq!(e.kind(), ErrorKind::InvalidConfig);
        }
    }
    let config = config();
    for path in [text.to_owned(), format!("/{text}")] {
        let req = ApiRequest::new(Method::Post, path).query("q", text).json(text);
        match config.api_request(&req, "at-1") {
            Ok(r) => assert!(r.url.starts_with("https://services.leadconnectorhq.com")),
            Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidArgument),
        }
    }
}

/// Header lists up to 64 KB in all: many short headers or a few long ones.
fn big_headers() -> impl Strategy<Value = Vec<(String, String)>> {
    let name = prop_oneof![
        Just("X-RateLimit-Max".to_owned()),
        Just("x-ratelimit-interval-milliseconds".to_owned()),
        Just("X-RateLimit-Remaining".to_owned()),
        Just("X-RateLimit-Limit-Daily".to_owned()),
        Just("x-ratelimit-daily-remaining".to_owned()),
        Just("Retry-After".to_owned()),
        ".{0,16}",
    ];
    prop_oneof![
        proptest::collection::vec((name.clone(), ".{0,12}"), 0..4096),
        proptest::collection::vec((name, big_text().prop_map(|t| t.chars().take(MAX / 4).collect::<String>())), 0..4),
    ]
}

/// Scope lists up to 64 KB in all: many short scopes (known, repeated, garbage) or a few long ones.
fn big_scopes() -> impl Strategy<Value = Vec<String>> {
    let one = prop_oneof![
        proptest::sample::select(KNOWN_SCOPES).prop_map(str::to_owned),
        "[a-z./-]{1,12}",
        ".{0,8}",
    ];
    prop_oneof![
        proptest::collection::vec(one, 0..8192),
        proptest::collection::vec(big_text().prop_map(|t| t.chars().take(MAX / 4).collect::<String>()), 0..4),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, max_shrink_iters: 64, .. ProptestConfig::default() })]

    #[test]
    fn token_response_bodies_up_to_64_kb(body in big_bytes(), status in prop_oneof![Just(200u16), Just(201), Just(400), Just(401), Just(429), Just(503), Just(302), 0u16..1000]) {
        check_token_response(status, &body);
    }

    #[test]
    fn callback_urls_up_to_64_kb(tail in big_text(), pairs in proptest::collection::vec(("(code|state|error|error_description|x)", ".{0,16}"), 0..2048)) {
        check_callback(&tail);
        check_callback(&format!("https://myapp.com/cb?{tail}"));
        let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        check_callback(&format!("https://myapp.com/cb?{}#{tail}", query.join("&")));
    }

    #[test]
    fn headers_up_to_64_kb(h in big_headers()) {
        check_headers(&h);
    }

    #[test]
    fn webhook_bodies_and_signatures_up_to_64_kb(body in big_bytes(), sig in big_text(), sig_len in 0usize..MAX / 2) {
        check_webhook(&body, &sig);
        // Base64 of the wrong length, and of the right length but wrong.
        let b64 = STANDARD.encode(vec![7u8; sig_len.min(48 * 1024)]);
        check_webhook(&body, &b64);
        check_webhook(&body, &STANDARD.encode([9u8; 64]));
    }

    #[test]
    fn signed_webhook_bodies_up_to_64_kb(body in big_bytes()) {
        let sk = SigningKey::from_bytes(&[7u8; 32]);
        let key = WebhookKey::from_bytes(&sk.verifying_key().to_bytes()).unwrap();
        let sig = STANDARD.encode(sk.sign(&body).to_bytes());
        prop_assert_eq!(verify_webhook(&key, &body, Some(&sig), None, 300_000).reason, VerifyReason::Ok);
        let v = verify_webhook(&key, &body, Some(&sig), Some(NOW), 300_000);
        prop_assert!(matches!(v.reason, VerifyReason::Ok | VerifyReason::Stale));
    }

    #[test]
    fn stored_session_json_up_to_64_kb(text in big_text(), filler in big_text()) {
        check_stored(&text);
        // A valid record carrying a large unknown field and a large token.
        let record = serde_json::json!({
            "format": 1, "version": 3,
            "credential": {"type": "oauth", "tokens": {
                "access_token": filler.chars().take(MAX / 2).collect::<String>(), "refresh_token": "rt-1",
                "expires_at_ms": NOW + 60_000, "scopes": [],
                "extra": {"blob": filler.chars().take(MAX / 2).collect::<String>()}}},
        });
        check_stored(&record.to_string());
    }

    #[test]
    fn scope_lists_up_to_64_kb(scopes in big_scopes()) {
        check_scopes(&scopes);
    }

    #[test]
    fn configs_and_paths_up_to_64_kb(text in big_text()) {
        check_config_and_paths(&text);
    }
}

/// The worst shapes at exactly 64 KB, through every parser.
#[test]
fn fixed_worst_cases_at_64_kb() {
    let mut inputs: Vec<Vec<u8>> = vec![
        repeat_to("[", MAX),
        repeat_to("{\"a\":", MAX),
        [b"\"".as_slice(), &repeat_to("a", MAX - 2), b"\""].concat(),
        [b"{\"access_token\":\"".as_slice(), &repeat_to("\\u0000", MAX - 20), b"\"}"].concat(),
        [b"{\"message\":[".as_slice(), &repeat_to("\"Invalid grant\",", MAX - 20), b"\"x\"]}"].concat(),
        [b"{".as_slice(), &repeat_to("\"k\":1,", MAX - 10), b"\"k\":2}"].concat(),
        repeat_to("1", MAX),
        repeat_to("-----BEGIN PUBLIC KEY-----\n", MAX),
        repeat_to("code=1&", MAX),
        repeat_to("%", MAX),
        repeat_to("\u{1F600}", MAX),
        vec![0u8; MAX],
        vec![0xff; MAX],
    ];
    inputs.push(repeat_to("Wed, 21 Oct 2015 07:28:00 GMT ", MAX));
    for input in &inputs {
        let text = String::from_utf8_lossy(input).into_owned();
        for status in [200, 400, 401, 429, 503] {
            check_token_response(status, input);
        }
        check_callback(&text);
        check_callback(&format!("https://myapp.com/cb?{text}"));
        check_headers(&[("Retry-After".into(), text.clone()), ("X-RateLimit-Max".into(), text.clone())]);
        check_webhook(input, &text);
        check_stored(&text);
        check_scopes(std::slice::from_ref(&text));
        check_config_and_paths(&text);
    }
    let many: Vec<String> = (0..MAX / 8).map(|i| KNOWN_SCOPES[i % KNOWN_SCOPES.len()].to_owned()).collect();
    check_scopes(&many);
    let many_headers: Vec<(String, String)> = (0..MAX / 16).map(|i| (format!("x-h-{i}"), "1".to_owned())).collect();
    check_headers(&many_headers);
}
