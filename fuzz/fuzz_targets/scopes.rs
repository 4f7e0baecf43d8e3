//! Scope lists: `normalize_scopes`, `validate_scope`, `suggest_scope`, `scope_warnings`,
//! `is_known_scope`, and the authorization URL built from them.
#![no_main]
use arbitrary::Arbitrary;
use hoopauth::ErrorKind;
use hoopauth::scope_warnings;
use hoopauth::{is_known_scope, normalize_scopes, suggest_scope, validate_scope, AuthorizationParams, KNOWN_SCOPES};
use libfuzzer_sys::fuzz_target;

mod common;

#[derive(Arbitrary, Debug)]
enum Scope {
    Known(u16),
    /// A known scope with one edit (a typo).
    Typo { index: u16, at: u8, edit: u8, ch: char },
    Upper(u16),
    Any(String),
}

impl Scope {
    fn text(&self) -> String {
        let known = |i: &u16| KNOWN_SCOPES[usize::from(*i) % KNOWN_SCOPES.len()].to_owned();
        match self {
            Scope::Known(i) => known(i),
            Scope::Typo { index, at, edit, ch } => {
                let mut chars: Vec<char> = known(index).chars().collect();
                let at = usize::from(*at) % (chars.len() + 1);
                match edit % 4 {
                    0 => chars.insert(at, *ch),
                    1 if at < chars.len() => {
                        chars.remove(at);
                    }
                    2 if at < chars.len() => chars[at] = *ch,
                    _ if at + 1 < chars.len() => chars.swap(at, at + 1),
                    _ => {}
                }
                chars.into_iter().collect()
            }
            Scope::Upper(i) => known(i).to_ascii_uppercase(),
            Scope::Any(s) => s.clone(),
        }
    }
}

#[derive(Arbitrary, Debug)]
struct Input {
    scopes: Vec<Scope>,
    state: Option<String>,
    mode: Option<String>,
    version_id: Option<String>,
}

fuzz_target!(|input: Input| {
    let scopes: Vec<String> = input.scopes.iter().take(64).map(Scope::text).collect();
    // `suggest_scope` compares with the whole catalogue: a few per input keep runs fast.
    for (i, s) in scopes.iter().enumerate() {
        let suggest = i < 2;
        let valid = validate_scope(s);
        let well_formed = !s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        assert_eq!(valid.is_ok(), well_formed, "{s:?}");
        if let Err(e) = valid {
            assert_eq!(e.kind(), ErrorKind::InvalidScope);
        }
        if is_known_scope(s) {
            assert!(well_formed);
            if suggest {
                assert_eq!(suggest_scope(s), None);
            }
        }
        if suggest {
            if let Some(sug) = suggest_scope(s) {
                assert!(is_known_scope(sug));
            }
        }
    }
    match normalize_scopes(&scopes) {
        Ok(out) => {
            assert!(!out.is_empty());
            // First occurrences, in order, no duplicates.
            let mut expect: Vec<&str> = Vec::new();
            for s in &scopes {
                if !expect.contains(&s.as_str()) {
                    expect.push(s);
                }
            }
            assert_eq!(out, expect);
        }
        Err(e) => {
            assert_eq!(e.kind(), ErrorKind::InvalidScope);
            assert!(scopes.is_empty() || scopes.iter().any(|s| validate_scope(s).is_err()));
        }
    }
    for w in scope_warnings(&scopes[..scopes.len().min(2)]) {
        assert!(scopes.contains(&w.scope));
        assert!(!is_known_scope(&w.scope));
        let _ = w.message();
    }

    let config = common::config();
    let params = AuthorizationParams {
        scopes: scopes.clone(),
        state: input.state,
        login_window_open_mode: input.mode,
        version_id: input.version_id,
    };
    match config.authorization_url(&params) {
        Ok(url) => {
            assert!(url.starts_with("https://marketplace.gohighlevel.com/oauth/chooselocation?"));
            let parsed = url::Url::parse(&url).map_err(|e| format!("{e}: {url}"));
            let parsed = match parsed {
                Ok(p) => p,
                Err(e) => panic!("authorization URL does not parse: {e}"),
            };
            assert_eq!(parsed.host_str(), Some("marketplace.gohighlevel.com"));
            let scope = parsed.query_pairs().find(|(k, _)| k == "scope").map(|(_, v)| v.into_owned());
            let expect: Vec<&str> = normalize_scopes(&scopes).unwrap_or_default();
            assert_eq!(scope.as_deref(), Some(expect.join(" ").as_str()));
            if let Some(state) = &params.state {
                let got = parsed.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned());
                assert_eq!(got.as_deref(), Some(state.as_str()));
            }
        }
        Err(e) => assert!(matches!(e.kind(), ErrorKind::InvalidScope | ErrorKind::InvalidArgument), "{e:?}"),
    }
});
