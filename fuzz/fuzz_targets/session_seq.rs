//! A `TokenSession` restored from arbitrary stored JSON (or fresh), then fed an arbitrary
//! sequence of acquire / refresh_response / refresh_failed / refresh_lost / api_response /
//! hold_until_persisted / persisted / load / load_private / clear / store round trips, and
//! the minted-session operations (set_minted_from / mint_response / mint_failed), at
//! arbitrary (possibly decreasing) times. Checked:
//! - never a panic; every error is typed;
//! - one refresh at a time: no second `Refresh` or `Mint` while a lease runs (clock going back too);
//! - a minted location session (no refresh token) is minted again, never refreshed, and never
//!   asks for re-authorization on its own; a mint's answer never keeps a refresh token;
//! - every change of the stored form bumps `version` (what a store's compare-and-set needs);
//! - `invalid_grant` / `invalid_client` on a refresh means `Reauthorize` until new tokens;
//! - a token the API refused as `unauthorized` is not handed out again;
//! - tokens held for a persist, or unsaved, are not handed out (`Save` comes first); the
//!   stored form round-trips.
#![no_main]
use arbitrary::Arbitrary;
use hoopauth::ErrorKind;
use hoopauth::{parse_token_response, Action, Credential, MintedFrom, SessionOptions, StoredSession, TokenSession};
use libfuzzer_sys::fuzz_target;

mod common;
use common::{config, same_stored, Body, Dt, Header, Status, StoredJson, TokenBody, T0};

#[derive(Arbitrary, Debug)]
enum Start {
    Fresh,
    Stored(StoredJson),
    Raw(String),
}

#[derive(Arbitrary, Debug)]
enum Token {
    Current,
    Other(String),
}

#[derive(Arbitrary, Debug)]
enum Op {
    Acquire(Dt),
    RefreshResponse { dt: Dt, status: Status, headers: Vec<Header>, body: Body, good: Option<TokenBody> },
    RefreshFailed(u8),
    RefreshLost,
    ApiResponse { status: Status, body: Body, token: Token },
    Hold,
    Persisted,
    SaveFailed,
    BeginSave,
    Load { status: Status, body: TokenBody },
    LoadPrivate(String),
    Clear,
    RoundTrip,
    SetMinted(bool),
    MintResponse { dt: Dt, status: Status, headers: Vec<Header>, body: Body, good: Option<TokenBody> },
    MintFailed,
}

/// Whether the session renews by minting: minted, with no credential or no refresh token.
fn minting(s: &StoredSession) -> bool {
    s.minted_from.is_some()
        && match &s.credential {
            Credential::None => true,
            Credential::Oauth { tokens } => tokens.refresh_token.is_none(),
            Credential::Private { .. } => false,
        }
}

#[derive(Arbitrary, Debug)]
struct Input {
    start: Start,
    leeway_ms: u32,
    lease_ms: u32,
    ops: Vec<Op>,
}

/// The stored form without `version` and `persist_pending`.
fn content(s: &StoredSession) -> StoredSession {
    StoredSession { version: 0, persist_pending: false, unsaved: false, ..s.clone() }
}

const KINDS: [ErrorKind; 5] =
    [ErrorKind::InvalidGrant, ErrorKind::InvalidClient, ErrorKind::ServerError, ErrorKind::RateLimited, ErrorKind::InvalidRequest];

fuzz_target!(|input: Input| {
    let options = SessionOptions { refresh_leeway_ms: u64::from(input.leeway_ms), lease_ms: u64::from(input.lease_ms % 120_000) };
    let mut s = match &input.start {
        Start::Fresh => TokenSession::new(config(), options),
        Start::Stored(j) => match TokenSession::from_json(config(), options, &j.text()) {
            Ok(s) => s,
            Err(e) => {
                assert_eq!(e.kind(), ErrorKind::InvalidArgument);
                TokenSession::new(config(), options)
            }
        },
        Start::Raw(t) => match TokenSession::from_json(config(), options, t) {
            Ok(s) => s,
            Err(_) => return,
        },
    };
    let mut now = T0;
    // Our own lease: set by a `Refresh`, freed by what frees it. The stored lease counts too.
    let mut lease: Option<u64> = s.stored().refresh_lease_until_ms;
    let mut refused: Option<String> = None;

    for op in input.ops.iter().take(128) {
        let before = s.stored().clone();
        match op {
            Op::Acquire(dt) => {
                now = dt.apply(now);
                match s.acquire(now) {
                    Ok(action @ (Action::Refresh { .. } | Action::Mint { .. })) => {
                        if let Some(until) = lease {
                            assert!(now >= until, "a second refresh at {now} while a lease runs to {until}");
                        }
                        assert!(!before.persist_pending && !before.unsaved);
                        let is_mint = matches!(action, Action::Mint { .. });
                        assert_eq!(is_mint, minting(&before), "a minted session refreshed, or an unminted one minted");
                        lease = Some(now.saturating_add(options.lease_ms));
                        assert_eq!(s.stored().refresh_lease_until_ms, lease);
                    }
                    Ok(Action::Use { access_token }) => {
                        assert!(!before.persist_pending, "tokens held for a persist handed out");
                        assert!(!before.unsaved, "unsaved tokens handed out before a save");
                        assert!(!before.reauthorize && !before.bad);
                        assert_eq!(Some(&access_token), s.access_token());
                        if let Some(r) = &refused {
                            assert_ne!(access_token.expose(), r, "a refused token handed out again");
                        }
                    }
                    Ok(Action::Wait { wait_ms }) => assert!(wait_ms > 0),
                    Ok(Action::Reauthorize) => {
                        assert!(!minting(&before) || before.reauthorize, "a minted session asked for re-authorization");
                    }
                    Ok(Action::Save) => {
                        assert!(before.unsaved && !before.persist_pending);
                        assert!(s.stored().persist_pending);
                    }
                    Err(e) => assert!(matches!(e.kind(), ErrorKind::InvalidArgument | ErrorKind::InvalidConfig), "{e:?}"),
                }
                if before.reauthorize {
                    assert!(matches!(s.acquire(now), Ok(Action::Reauthorize)));
                }
            }
            Op::RefreshResponse { dt, status, headers, body, good } => {
                now = dt.apply(now);
                let h = common::headers(headers, now);
                let (status, bytes) = match good {
                    Some(t) => (200, t.json()),
                    None => (status.code(), body.bytes()),
                };
                match s.refresh_response(status, &h, &bytes, now) {
                    Ok(tokens) => {
                        assert_eq!(s.token_set().map(|t| &t.access_token), Some(&tokens.access_token));
                        assert!(!s.needs_reauthorization());
                        refused = None;
                    }
                    Err(e) => {
                        if matches!(e.kind(), ErrorKind::InvalidGrant | ErrorKind::InvalidClient) {
                            assert!(s.needs_reauthorization());
                            assert!(matches!(s.acquire(now), Ok(Action::Reauthorize)));
                        }
                        assert!(s.stored().refresh_lease_until_ms.is_none());
                    }
                }
                lease = None;
            }
            Op::RefreshFailed(k) => {
                let kind = KINDS[usize::from(*k) % KINDS.len()];
                s.refresh_failed(kind);
                if matches!(kind, ErrorKind::InvalidGrant | ErrorKind::InvalidClient) {
                    assert!(s.needs_reauthorization());
                }
                lease = None;
            }
            Op::RefreshLost => {
                s.refresh_lost();
                lease = None;
            }
            Op::ApiResponse { status, body, token } => {
                let t = match token {
                    Token::Current => s.access_token().map(|t| t.expose().to_owned()).unwrap_or_default(),
                    Token::Other(t) => t.clone(),
                };
                let kind = s.api_response(status.code(), &body.bytes(), &t);
                if kind == hoopauth::ResponseKind::Unauthorized && s.access_token().is_some_and(|c| c.expose() == t) {
                    assert!(s.stored().bad);
                    refused = Some(t);
                }
            }
            Op::Hold => s.hold_until_persisted(),
            Op::Persisted => s.persisted(),
            Op::SaveFailed => {
                s.save_failed();
                assert!(s.is_unsaved());
            }
            Op::BeginSave => {
                let began = s.begin_save().is_some();
                assert_eq!(began, before.unsaved && !before.persist_pending);
            }
            Op::Load { status, body } => {
                if let Ok(tokens) = parse_token_response(200 + status.code() % 2, &[], &body.json(), now) {
                    s.load(tokens);
                    lease = None;
                    refused = None;
                    assert!(!s.needs_reauthorization() && !s.stored().bad);
                }
            }
            Op::LoadPrivate(t) => match s.load_private(t.as_str().into()) {
                Ok(()) => {
                    lease = None;
                    refused = None;
                }
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
                    assert_eq!(s.stored(), &before);
                }
            },
            Op::Clear => {
                s.clear();
                lease = None;
                refused = None;
                assert!(s.access_token().is_none());
            }
            Op::SetMinted(on) => {
                let m = on.then(|| MintedFrom { company_id: "comp_f".into(), location_id: "loc_f".into() });
                s.set_minted_from(m);
            }
            Op::MintResponse { dt, status, headers, body, good } => {
                now = dt.apply(now);
                let h = common::headers(headers, now);
                let (status, bytes) = match good {
                    Some(t) => (201, t.json()),
                    None => (status.code(), body.bytes()),
                };
                match s.mint_response(status, &h, &bytes, now) {
                    Ok(tokens) => {
                        assert!(tokens.refresh_token.is_none(), "a minted token set kept a refresh token");
                        assert!(s.token_set().is_some_and(|t| t.refresh_token.is_none()));
                        assert_eq!(tokens.location_id.as_deref(), Some("loc_f"));
                        assert!(minting(s.stored()));
                        refused = None;
                    }
                    Err(_) => assert!(s.stored().refresh_lease_until_ms.is_none()),
                }
                lease = None;
            }
            Op::MintFailed => {
                s.mint_failed();
                assert!(!s.needs_reauthorization() || before.reauthorize);
                lease = None;
            }
            Op::RoundTrip => {
                let json = s.stored_json();
                let back = match TokenSession::from_json(config(), options, &json) {
                    Ok(b) => b,
                    Err(e) => panic!("to_json output refused: {e}"),
                };
                assert!(same_stored(&content(back.stored()), &content(s.stored())), "round trip changed the session");
                assert_eq!(back.version(), s.version());
                s = back;
            }
        }
        let after = s.stored();
        if !same_stored(&content(after), &content(&before)) {
            assert_ne!(after.version, before.version, "the stored form changed without a version bump: {op:?}");
        }
    }
});
