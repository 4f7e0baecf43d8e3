//! Building API requests.

use crate::config::Config;
use crate::error::{Error, Result};
use crate::http::{check_header_value, Method, Request};
use crate::urls::{encode_path_and_query, AbsoluteUrl};

/// An API call to make: method, path (or absolute URL on the API origin), query,
/// optional JSON body (already serialised), optional `Version` override.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct ApiRequest {
    /// The HTTP method.
    pub method: Method,
    /// The path under the API base (`/contacts/`), or an absolute URL on the API origin.
    pub path: String,
    /// Query pairs, in order (encoded by hoopauth).
    pub query: Vec<(String, String)>,
    /// JSON text; only POST, PUT and PATCH carry a body.
    pub json: Option<String>,
    /// Overrides the config's API version for this request.
    pub version: Option<String>,
}

impl ApiRequest {
    /// A request for `method` and `path`, without query, body or version override.
    pub fn new(method: Method, path: impl Into<String>) -> Self {
        ApiRequest { method, path: path.into(), query: Vec::new(), json: None, version: None }
    }
    /// Add one query pair.
    pub fn query(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.query.push((key.into(), value.into()));
        self
    }
    /// Set the JSON body (already serialised).
    pub fn json(mut self, json: impl Into<String>) -> Self {
        self.json = Some(json.into());
        self
    }
}

impl Config {
    /// Build the request for `access_token`. The token is never sent to another origin:
    /// `path` is `/…` (not `//` or `/\`) or an absolute URL on the API origin.
    pub fn api_request(&self, req: &ApiRequest, access_token: &str) -> Result<Request> {
        if access_token.is_empty() {
            return Err(Error::argument("access_token is empty"));
        }
        check_header_value("access_token", access_token)?;
        let version = req.version.as_deref().unwrap_or(self.api_version());
        if version.is_empty() {
            return Err(Error::argument("version is empty"));
        }
        check_header_value("version", version)?;
        let path = req.path.as_str();
        if path.bytes().any(|b| b <= 0x20 || b == 0x7f) {
            return Err(Error::argument("path contains whitespace or control characters"));
        }
        let mut url = if path.starts_with('/') {
            if path.starts_with("//") || path.starts_with("/\\") {
                return Err(Error::argument("path must not start with // or /\\ (another host)"));
            }
            let mut u = String::with_capacity(self.api_base().len() + path.len() + 32);
            u.push_str(self.api_base());
            u.push_str(path);
            u
        } else if path.contains("://") {
            path.to_owned()
        } else {
            return Err(Error::argument("path must start with / or be an absolute URL on the API origin"));
        };
        if let Some(i) = url.find('#') {
            url.truncate(i);
        }
        if !req.query.is_empty() {
            url.push(if url.contains('?') { '&' } else { '?' });
            let start = url.len();
            let mut q = form_urlencoded::Serializer::for_suffix(&mut url, start);
            for (k, v) in &req.query {
                q.append_pair(k, v);
            }
            q.finish();
        }
        let parsed = AbsoluteUrl::parse(&url).map_err(|_| Error::argument("path does not form a valid URL"))?;
        if &parsed.origin() != self.api_origin() {
            return Err(Error::argument("the URL is not on the API origin: the token is never sent elsewhere"));
        }
        let mut url = parsed.origin_string();
        url.push_str(&encode_path_and_query(&parsed.path));
        if let Some(q) = &parsed.query {
            url.push('?');
            url.push_str(&encode_path_and_query(q));
        }
        let mut headers = Vec::with_capacity(4);
        headers.push(("Authorization".to_owned(), format!("Bearer {access_token}")));
        headers.push(("Version".to_owned(), version.to_owned()));
        headers.push(("Accept".to_owned(), "application/json".to_owned()));
        let body = match (&req.json, req.method.has_body()) {
            (Some(json), true) => {
                headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
                json.as_bytes().to_vec()
            }
            (None, true) => {
                headers.push(("Content-Type".to_owned(), "application/json".to_owned()));
                Vec::new()
            }
            (Some(_), false) => {
                return Err(Error::argument(format!("{} requests carry no body", req.method)));
            }
            (None, false) => Vec::new(),
        };
        Ok(Request { method: req.method, url, headers, body })
    }
}
