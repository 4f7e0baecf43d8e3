//! Secrets never print: Debug/Display of everything that holds one, and error messages.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use hoopauth::*;

const CLIENT_SECRET: &str = "cs-Zq8Xv1LkP0";
const ACCESS: &str = "at-Hk2Jd9Wq4Rm";
const REFRESH: &str = "rt-Pn7Bc3Vy6Tz";
const CODE: &str = "code-Ux5Ga1Se8Lo";

fn assert_clean(what: &str, text: &str) {
    for secret in [CLIENT_SECRET, ACCESS, REFRESH, CODE] {
        assert!(!text.contains(secret), "{what} leaks a secret: {text}");
    }
}

#[test]
fn nothing_that_holds_a_secret_prints_it() {
    let config = Config::new(ConfigOptions {
        client_id: "65f1c0ffee-lx2k9".into(),
        client_secret: Some(CLIENT_SECRET.into()),
        redirect_uri: Some("https://myapp.com/cb".into()),
        ..Default::default()
    })
    .unwrap();
    assert_clean("Config", &format!("{config:?}"));

    let body = format!("{{\"access_token\":\"{ACCESS}\",\"refresh_token\":\"{REFRESH}\",\"expires_in\":86399,\"locationId\":\"loc_1\"}}");
    let tokens = parse_token_response(200, &[], body.as_bytes(), 0).unwrap();
    assert_clean("TokenSet", &format!("{tokens:?}"));
    assert_clean("Secret Display", &format!("{} {}", tokens.access_token, tokens.refresh_token.clone().unwrap()));

    let refresh = config.token_request(&Grant::RefreshToken { refresh_token: Secret::new(REFRESH) }, None).unwrap();
    assert!(refresh.body_text().contains(REFRESH), "the protocol needs it in the body");
    assert_clean("Request", &format!("{refresh:?}"));
    let api = config.api_request(&ApiRequest::new(Method::Get, "/contacts/"), ACCESS).unwrap();
    assert_clean("Request", &format!("{api:?}"));
    let exchange = config.token_request(&Grant::AuthorizationCode { code: Secret::new(CODE) }, None).unwrap();
    assert_clean("Request", &format!("{exchange:?}"));

    let cb = parse_callback(&format!("https://myapp.com/cb?code={CODE}&state=s"), Some("s")).unwrap();
    assert_clean("Callback", &format!("{cb:?}"));

    let mut session = TokenSession::new(config.clone(), SessionOptions::default());
    session.load(tokens.clone());
    assert_clean("TokenSession", &format!("{session:?}"));
    assert_clean("StoredSession", &format!("{:?}", session.stored()));
    let action = session.acquire(1).unwrap();
    assert_clean("Action", &format!("{action:?}"));

    let mut pool = Pool::new(config.clone(), SessionOptions::default(), Limits::default());
    pool.load_tokens(None, tokens).unwrap();
    assert_clean("Pool", &format!("{pool:?}"));
    let mut call = Call::new(ApiRequest::new(Method::Get, "/contacts/"), CallOptions::default());
    let step = pool.step(&mut call, "loc_1", Event::Start, 1, 0);
    assert!(matches!(step, Step::Send(_)));
    assert_clean("Step", &format!("{step:?}"));
    assert_clean("Call", &format!("{call:?}"));
}

#[test]
fn error_messages_hold_no_secret() {
    let config = Config::new(ConfigOptions {
        client_id: "65f1c0ffee-lx2k9".into(),
        client_secret: Some(CLIENT_SECRET.into()),
        ..Default::default()
    })
    .unwrap();
    let bad = format!("{ACCESS}\r\nX-Evil: 1");
    let e = config.api_request(&ApiRequest::new(Method::Get, "/contacts/"), &bad).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert_clean("error", &e.to_string());
    let e = config.api_request(&ApiRequest::new(Method::Get, "https://evil.example/x"), ACCESS).unwrap_err();
    assert_clean("error", &e.to_string());
    let e = TokenSession::from_json(config.clone(), SessionOptions::default(), &format!("{{\"format\": \"{REFRESH}\"}}")).unwrap_err();
    assert_clean("error", &e.to_string());
    let e = Config::from_json(&format!("{{\"client_id\": 5, \"client_secret\": \"{CLIENT_SECRET}\"}}")).unwrap_err();
    assert_clean("error", &e.to_string());
    let e = parse_token_response(200, &[], format!("{{\"access_token\":\"{ACCESS}\",\"expires_in\":\"soon\"}}").as_bytes(), 0).unwrap_err();
    assert_clean("error", &e.to_string());
    let e = parse_callback(&format!("?error=access_denied&code={CODE}"), None).unwrap_err();
    assert_clean("error", &e.to_string());
}
