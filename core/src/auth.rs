//! The authorization redirect: building the URL, reading the callback.

use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use base64::Engine as _;
use subtle::ConstantTimeEq;

/// What to ask for on the authorization page.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct AuthorizationParams {
    /// The scopes to request (checked and deduplicated by [`normalize_scopes`]).
    pub scopes: Vec<String>,
    /// The `state` to round-trip through the redirect (see [`generate_state`]).
    pub state: Option<String>,
    /// `"self"` opens the login in the same tab.
    pub login_window_open_mode: Option<String>,
    /// An app version id, or `"auto"` for the part of `client_id` before its first `-`.
    pub version_id: Option<String>,
}

/// Check scopes (non-empty, no whitespace, at least one) and drop duplicates, keeping first order.
pub fn normalize_scopes<S: AsRef<str>>(scopes: &[S]) -> Result<Vec<&str>> {
    let mut out: Vec<&str> = Vec::with_capacity(scopes.len());
    // Linear in the number of scopes: a set remembers what was kept (first order wins).
    let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::with_capacity(scopes.len());
    for s in scopes {
        let s = s.as_ref();
        crate::scopes::validate_scope(s)?;
        if seen.insert(s) {
            out.push(s);
        }
    }
    if out.is_empty() {
        return Err(Error::new(ErrorKind::InvalidScope, "at least one scope is required"));
    }
    Ok(out)
}

impl Config {
    /// The URL to send the user to. Needs `redirect_uri`; never needs the client secret.
    pub fn authorization_url(&self, params: &AuthorizationParams) -> Result<String> {
        let redirect_uri =
            self.redirect_uri().ok_or_else(|| Error::config("redirect_uri is required for authorization"))?;
        let scopes = normalize_scopes(&params.scopes)?;
        let mut scope = String::with_capacity(scopes.iter().map(|s| s.len() + 1).sum());
        for (i, s) in scopes.iter().enumerate() {
            if i > 0 {
                scope.push(' ');
            }
            scope.push_str(s);
        }
        let base = self.marketplace_base();
        let mut url = String::with_capacity(base.len() + 64 + redirect_uri.len() * 2 + scope.len() * 2);
        url.push_str(base);
        url.push_str("/oauth/chooselocation?");
        let start = url.len();
        {
            let mut q = form_urlencoded::Serializer::for_suffix(&mut url, start);
            q.append_pair("response_type", "code");
            q.append_pair("redirect_uri", redirect_uri);
            q.append_pair("client_id", self.client_id());
            q.append_pair("scope", &scope);
            if let Some(state) = &params.state {
                q.append_pair("state", state);
            }
            if let Some(mode) = &params.login_window_open_mode {
                if mode != "self" {
                    return Err(Error::argument("login_window_open_mode must be \"self\""));
                }
                q.append_pair("loginWindowOpenMode", mode);
            }
            match params.version_id.as_deref() {
                None => {}
                Some("") => return Err(Error::argument("version_id is empty")),
                Some("auto") => {
                    q.append_pair("version_id", self.version_id());
                }
                Some(v) => {
                    q.append_pair("version_id", v);
                }
            }
            q.finish();
        }
        Ok(url)
    }
}

/// The result of a successful authorization redirect.
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct Callback {
    /// The single-use authorization code (treat as a secret).
    pub code: crate::Secret,
    /// The `state` the redirect carried, if any.
    pub state: Option<String>,
}

impl std::fmt::Debug for Callback {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Callback").field("code", &self.code).field("state", &self.state).finish()
    }
}

/// Read the redirect back: a full URL, or a bare query string with or without `?`.
/// A fragment is ignored. `error` → `authorization_denied`; a state that differs from
/// `expected_state` (compared in constant time) → `state_mismatch`; no code → `missing_code`.
pub fn parse_callback(url: &str, expected_state: Option<&str>) -> Result<Callback> {
    let without_fragment = url.split('#').next().unwrap_or("");
    let query = match without_fragment.find('?') {
        Some(i) => without_fragment.get(i + 1..).unwrap_or(""),
        None if without_fragment.contains("://") => "",
        None => without_fragment,
    };
    let mut code = None;
    let mut state = None;
    let mut error = None;
    let mut error_description = None;
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "code" if code.is_none() => code = Some(v.into_owned()),
            "state" if state.is_none() => state = Some(v.into_owned()),
            "error" if error.is_none() => error = Some(v.into_owned()),
            "error_description" if error_description.is_none() => error_description = Some(v.into_owned()),
            _ => {}
        }
    }
    if let Some(error) = error {
        let mut msg = format!("authorization was not granted: {}", truncate(&error, 100));
        if let Some(d) = error_description {
            msg.push_str(" (");
            msg.push_str(truncate(&d, 200));
            msg.push(')');
        }
        return Err(Error::new(ErrorKind::AuthorizationDenied, msg));
    }
    if let Some(expected) = expected_state {
        let got = state.as_deref().unwrap_or("");
        let equal: bool = state.is_some() && bool::from(got.as_bytes().ct_eq(expected.as_bytes()));
        if !equal {
            return Err(Error::new(ErrorKind::StateMismatch, "the callback's state does not match"));
        }
    }
    match code {
        Some(c) if !c.is_empty() => Ok(Callback { code: crate::Secret::new(c), state }),
        _ => Err(Error::new(ErrorKind::MissingCode, "the callback carries no code")),
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

/// A `state` value from caller-supplied random bytes (at least 16; 32 recommended),
/// base64url without padding. The core has no RNG: the host supplies the bytes.
pub fn generate_state(random_bytes: &[u8]) -> Result<String> {
    if random_bytes.len() < 16 {
        return Err(Error::argument("state needs at least 16 random bytes"));
    }
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes))
}

/// Constant-time comparison of two state strings.
pub fn states_equal(a: &str, b: &str) -> bool {
    bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}
