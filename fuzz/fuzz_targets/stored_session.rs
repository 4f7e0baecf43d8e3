//! Stored-session JSON (what a shared token store hands back): `TokenSession::from_json`
//! and `Pool::load_stored` on raw bytes and on JSON of the stored form's shape; an accepted
//! record round-trips through `to_json` and answers `acquire` without a panic.
#![no_main]
use arbitrary::Arbitrary;
use hoopauth::ErrorKind;
use hoopauth::{Action, Credential, Limits, Pool, SessionOptions, TokenSession};
use libfuzzer_sys::fuzz_target;

mod common;
use common::{config, same_stored, StoredJson, T0};

#[derive(Arbitrary, Debug)]
enum Input {
    Raw(Vec<u8>),
    Shaped(StoredJson),
}

#[derive(Arbitrary, Debug)]
struct Case {
    input: Input,
    leeway_ms: u32,
    lease_ms: u32,
    times: Vec<common::Dt>,
}

fuzz_target!(|case: Case| {
    let text = match &case.input {
        Input::Raw(b) => String::from_utf8_lossy(b).into_owned(),
        Input::Shaped(s) => s.text(),
    };
    let options = SessionOptions { refresh_leeway_ms: u64::from(case.leeway_ms), lease_ms: u64::from(case.lease_ms) };
    let mut pool = Pool::new(config(), options, Limits::default());
    let pooled = pool.load_stored("loc_1", &text);
    let mut s = match TokenSession::from_json(config(), options, &text) {
        Ok(s) => s,
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidArgument);
            assert!(pooled.is_err());
            return;
        }
    };
    assert!(pooled.is_ok());
    assert_eq!(pool.stored("loc_1"), Some(s.stored()));
    assert!(!s.stored().persist_pending, "persist_pending is never read from a store");

    // Round trip.
    let json = s.stored_json();
    let back = match TokenSession::from_json(config(), options, &json) {
        Ok(b) => b,
        Err(e) => panic!("to_json output refused: {e}\n{json}"),
    };
    assert!(same_stored(back.stored(), s.stored()), "round trip changed the session: {json}");

    // Answers at arbitrary times.
    let mut now = T0;
    for dt in case.times.iter().take(16) {
        now = dt.apply(now);
        let before = s.stored().clone();
        match s.acquire(now) {
            Ok(Action::Use { access_token }) => {
                assert_eq!(Some(&access_token), s.access_token());
                assert_eq!(s.stored(), &before, "a Use changes nothing");
            }
            Ok(Action::Refresh { request }) => {
                let rt = match &before.credential {
                    Credential::Oauth { tokens } => tokens.refresh_token.clone(),
                    _ => None,
                };
                let rt = match rt {
                    Some(rt) => rt,
                    None => panic!("a refresh without a refresh token"),
                };
                assert!(request.url.ends_with("/oauth/token"));
                let form: Vec<(String, String)> =
                    url::form_urlencoded::parse(&request.body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
                assert!(form.contains(&("refresh_token".to_owned(), rt.expose().to_owned())));
                assert!(s.refresh_in_flight(now) || case.lease_ms == 0 || now == u64::MAX);
                assert_ne!(s.version(), before.version);
            }
            Ok(Action::Wait { wait_ms }) => {
                assert!(wait_ms > 0);
                assert_eq!(s.stored(), &before, "a Wait changes nothing");
            }
            Ok(Action::Mint { company_id, location_id }) => {
                // Only a minted session (no credential, or tokens without a refresh token) mints.
                let m = before.minted_from.clone().unwrap_or_else(|| panic!("a mint of an unminted session"));
                assert_eq!((m.company_id, m.location_id), (company_id, location_id));
                if let Credential::Oauth { tokens } = &before.credential {
                    assert!(tokens.refresh_token.is_none(), "a mint of a session that can refresh");
                }
                assert!(!matches!(before.credential, Credential::Private { .. }));
                assert!(s.refresh_in_flight(now) || case.lease_ms == 0 || now == u64::MAX);
                assert_ne!(s.version(), before.version);
            }
            Ok(Action::Reauthorize) => assert_eq!(s.stored(), &before),
            Ok(Action::Save) => panic!("a restored session has nothing unsaved"),
            Err(e) => assert!(matches!(e.kind(), ErrorKind::InvalidConfig | ErrorKind::InvalidArgument), "{e:?}"),
        }
        let again = match TokenSession::from_json(config(), options, &s.stored_json()) {
            Ok(b) => b,
            Err(e) => panic!("to_json output refused: {e}"),
        };
        assert!(same_stored(again.stored(), s.stored()), "round trip changed the session");
    }
});
