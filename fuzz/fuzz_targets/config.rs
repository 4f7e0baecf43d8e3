//! Configuration from arbitrary strings: `Config::new`, `Config::from_json`, then what a
//! configuration builds (authorization URL, token requests, location token request). A
//! base URL hoopauth accepts must mean the same origin to the WHATWG URL parser.
#![no_main]
use arbitrary::Arbitrary;
use hoopauth::ErrorKind;
use hoopauth::{AuthorizationParams, Config, ConfigOptions, Grant, UserType};
use libfuzzer_sys::fuzz_target;

mod common;
use common::{whatwg_origin, UrlText};

#[derive(Arbitrary, Debug)]
enum Marketplace {
    Standard,
    WhiteLabel,
    Url(UrlText),
    Any(String),
}

#[derive(Arbitrary, Debug)]
struct Options {
    client_id: String,
    client_secret: Option<String>,
    redirect_uri: Option<UrlText>,
    marketplace: Option<Marketplace>,
    api_base: Option<UrlText>,
    api_version: Option<String>,
}

#[derive(Arbitrary, Debug)]
enum Input {
    Options { options: Options, grant: String, code: Option<String>, refresh_token: Option<String>, user_type: String, ids: (String, String, String), scopes: Vec<String> },
    Json(String),
}

/// `raw` was accepted as a base URL: the WHATWG parser reads the same origin.
fn agrees(raw: &str, ours_origin: &str) {
    let theirs = whatwg_origin(raw);
    let ours = whatwg_origin(ours_origin);
    assert!(ours.is_some(), "hoopauth's own origin {ours_origin:?} does not parse");
    assert_eq!(theirs, ours, "hoopauth reads {raw:?} as {ours_origin:?}");
}

fn origin_of(base: &str) -> &str {
    // scheme://authority of a base without trailing slash
    let after = base.find("://").map_or(0, |i| i + 3);
    match base[after..].find('/') {
        Some(i) => &base[..after + i],
        None => base,
    }
}

fn exercise(config: &Config, input_grant: &str, code: Option<&str>, rt: Option<&str>, user_type: &str, ids: &(String, String, String), scopes: Vec<String>) {
    assert!(!config.api_base().ends_with('/'));
    assert!(!config.marketplace_base().ends_with('/'));
    assert!(config.client_id().starts_with(config.version_id()));
    let _ = config.authorization_url(&AuthorizationParams { scopes, state: Some("s".into()), ..Default::default() });
    let user_type = UserType::parse(user_type).ok();
    match Grant::from_parts(input_grant, code, rt) {
        Ok(g) => match config.token_request(&g, user_type) {
            Ok(req) => {
                assert_eq!(req.url, format!("{}/oauth/token", config.api_base()));
                let form: Vec<(String, String)> = form_urlencoded_pairs(&req.body);
                assert!(form.iter().any(|(k, v)| k == "client_id" && v == config.client_id()));
                assert!(form.iter().any(|(k, v)| k == "grant_type" && v == g.as_str()));
            }
            Err(e) => assert!(matches!(e.kind(), ErrorKind::InvalidConfig | ErrorKind::InvalidArgument), "{e:?}"),
        },
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidArgument),
    }
    match config.location_token_request(&ids.0, &ids.1, &ids.2) {
        Ok(req) => {
            for (_, v) in &req.headers {
                assert!(!v.bytes().any(|b| b < 0x20 || b == 0x7f), "header value {v:?}");
            }
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidArgument),
    }
}

fn form_urlencoded_pairs(body: &[u8]) -> Vec<(String, String)> {
    url::form_urlencoded::parse(body).map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fuzz_target!(|input: Input| {
    match input {
        Input::Json(text) => match Config::from_json(&text) {
            Ok(c) => {
                agrees(c.api_base(), origin_of(c.api_base()));
            }
            Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidConfig),
        },
        Input::Options { options, grant, code, refresh_token, user_type, ids, scopes } => {
            let api_base = options.api_base.as_ref().map(UrlText::text);
            let redirect = options.redirect_uri.as_ref().map(UrlText::text);
            let marketplace = options.marketplace.as_ref().map(|m| match m {
                Marketplace::Standard => "standard".to_owned(),
                Marketplace::WhiteLabel => "white-label".to_owned(),
                Marketplace::Url(u) => u.text(),
                Marketplace::Any(s) => s.clone(),
            });
            let opts = ConfigOptions {
                client_id: options.client_id.clone(),
                client_secret: options.client_secret.clone().map(Into::into),
                redirect_uri: redirect.clone(),
                marketplace: marketplace.clone(),
                api_base: api_base.clone(),
                api_version: options.api_version.clone(),
            };
            // The same options through the JSON form must give the same answer.
            let json = serde_json::json!({
                "client_id": options.client_id,
                "client_secret": options.client_secret,
                "redirect_uri": redirect,
                "marketplace": marketplace,
                "api_base": api_base,
                "api_version": options.api_version,
            });
            let via_json = Config::from_json(&json.to_string());
            match Config::new(opts) {
                Ok(config) => {
                    let j = match via_json {
                        Ok(j) => j,
                        Err(e) => panic!("accepted directly, refused as JSON: {e}"),
                    };
                    assert_eq!(j.api_base(), config.api_base());
                    if let Some(raw) = &api_base {
                        agrees(raw, origin_of(config.api_base()));
                    }
                    if let (Some(raw), Some(m)) = (&marketplace, &options.marketplace) {
                        if matches!(m, Marketplace::Url(_) | Marketplace::Any(_)) && !["standard", "white-label", "white_label", "whitelabel"].contains(&raw.as_str()) {
                            agrees(raw, origin_of(config.marketplace_base()));
                        }
                    }
                    if let Some(raw) = &redirect {
                        let ours = config.redirect_uri().unwrap_or_default();
                        assert_eq!(ours, raw);
                        assert!(whatwg_origin(raw).is_some(), "redirect_uri {raw:?} accepted, WHATWG refuses it");
                    }
                    exercise(&config, &grant, code.as_deref(), refresh_token.as_deref(), &user_type, &ids, scopes);
                }
                Err(e) => {
                    assert_eq!(e.kind(), ErrorKind::InvalidConfig);
                    assert!(via_json.is_err());
                }
            }
        }
    }
});
