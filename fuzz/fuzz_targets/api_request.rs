//! API request building: `Config::api_request` with arbitrary paths (relative, absolute,
//! other hosts), queries, bodies, versions and tokens. The token goes only to the API
//! origin as the WHATWG URL parser reads the built URL.
#![no_main]
use arbitrary::Arbitrary;
use hoopauth::ErrorKind;
use hoopauth::{ApiRequest, Config, ConfigOptions, Method};
use libfuzzer_sys::fuzz_target;

mod common;
use common::{whatwg_origin, UrlText};

#[derive(Arbitrary, Debug)]
enum Base {
    Default,
    Loopback(u16),
    Custom(UrlText),
}

#[derive(Arbitrary, Debug)]
enum Path {
    Relative(String),
    Segments(Vec<String>),
    Url(UrlText),
}

#[derive(Arbitrary, Debug)]
struct Input {
    base: Base,
    method: u8,
    path: Path,
    query: Vec<(String, String)>,
    json: Option<String>,
    version: Option<String>,
    config_version: Option<String>,
    token: String,
    method_text: String,
}

const METHODS: [Method; 5] = [Method::Get, Method::Post, Method::Put, Method::Patch, Method::Delete];

fuzz_target!(|input: Input| {
    let api_base = match &input.base {
        Base::Default => None,
        Base::Loopback(p) => Some(format!("http://127.0.0.1:{p}/base/")),
        Base::Custom(u) => Some(u.text()),
    };
    let Ok(config) = Config::new(ConfigOptions {
        client_id: "65f1c0ffee-lx2k9".into(),
        api_base,
        api_version: input.config_version.clone(),
        ..Default::default()
    }) else {
        return;
    };
    let path = match &input.path {
        Path::Relative(p) => format!("/{p}"),
        Path::Segments(s) => format!("/{}", s.join("/")),
        Path::Url(u) => u.text(),
    };
    let method = METHODS[usize::from(input.method) % METHODS.len()];
    match Method::parse(&input.method_text) {
        Ok(m) => assert!(m.as_str().eq_ignore_ascii_case(&input.method_text)),
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidArgument),
    }
    assert_eq!(Method::parse(method.as_str()).ok(), Some(method));
    let req = ApiRequest { method, path: path.clone(), query: input.query.clone(), json: input.json.clone(), version: input.version.clone() };
    let api_origin = whatwg_origin(config.api_base());
    assert!(api_origin.is_some(), "the API base {:?} does not parse", config.api_base());
    match config.api_request(&req, &input.token) {
        Ok(r) => {
            assert_eq!(r.method, method);
            let sent_to = whatwg_origin(&r.url);
            assert_eq!(sent_to, api_origin, "path {path:?} sends the token to {:?} ({})", sent_to, r.url);
            assert!(!r.url.bytes().any(|b| b <= 0x20 || b >= 0x7f), "raw byte in {:?}", r.url);
            assert_eq!(r.header("authorization"), Some(format!("Bearer {}", input.token).as_str()));
            let version = input.version.as_deref().unwrap_or(config.api_version());
            assert_eq!(r.header("version"), Some(version));
            for (k, v) in &r.headers {
                assert!(!v.bytes().any(|b| b < 0x20 || b == 0x7f), "header {k}: {v:?}");
            }
            if method.has_body() {
                assert_eq!(r.body, input.json.clone().unwrap_or_default().into_bytes());
            } else {
                assert!(r.body.is_empty());
                assert!(input.json.is_none());
            }
            // Every query pair given comes back, in order, after what the path carried.
            if !input.query.is_empty() {
                let parsed = url::Url::parse(&r.url).map(|u| u.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect::<Vec<_>>());
                if let Ok(pairs) = parsed {
                    assert!(pairs.ends_with(&input.query), "{:?} vs {:?}", pairs, input.query);
                }
            }
        }
        Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e:?}"),
    }
});
