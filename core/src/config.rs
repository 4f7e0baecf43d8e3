//! Application configuration, validated once.

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::urls::{AbsoluteUrl, Origin, UrlError};

/// The platform's API base URL.
pub const DEFAULT_API_BASE: &str = "https://services.leadconnectorhq.com";
/// The `Version` header sent by default.
pub const DEFAULT_API_VERSION: &str = "2021-07-28";
/// The standard marketplace (authorization pages).
pub const STANDARD_MARKETPLACE: &str = "https://marketplace.gohighlevel.com";
/// The white-label marketplace.
pub const WHITE_LABEL_MARKETPLACE: &str = "https://marketplace.leadconnectorhq.com";

/// Raw configuration as a user (or a binding) supplies it; see [`Config::new`].
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(default)]
pub struct ConfigOptions {
    /// The app's client id (required).
    pub client_id: String,
    /// Absent in browsers: authorization URL and callback work without it.
    pub client_secret: Option<Secret>,
    /// Where the platform redirects after authorization (`https`, or `http` on loopback).
    pub redirect_uri: Option<String>,
    /// `"standard"` (default), `"white-label"`, or a base URL.
    pub marketplace: Option<String>,
    /// Default `https://services.leadconnectorhq.com`.
    pub api_base: Option<String>,
    /// The `Version` header, default `2021-07-28`.
    pub api_version: Option<String>,
}

/// A validated configuration. Cheap to clone; `Debug` never shows the client secret.
#[derive(Clone, Debug)]
pub struct Config {
    client_id: String,
    client_secret: Option<Secret>,
    redirect_uri: Option<String>,
    marketplace_base: String,
    api_base: String,
    api_origin: Origin,
    api_version: String,
}

/// An absolute `https` URL, or `http` on a loopback host.
pub(crate) fn check_base_url(what: &str, raw: &str) -> Result<AbsoluteUrl> {
    let url = AbsoluteUrl::parse(raw).map_err(|e| {
        Error::config(match e {
            UrlError::NotAbsolute => format!("{what} must be an absolute URL"),
            UrlError::Scheme => format!("{what} must be an https URL"),
            UrlError::Credentials => format!("{what} may not carry credentials"),
            UrlError::Host => format!("{what} has no valid host (IDN hosts in punycode)"),
            UrlError::Port => format!("{what} has an invalid port"),
            UrlError::Characters => format!("{what} contains whitespace, control characters or backslashes"),
        })
    })?;
    if url.scheme == "http" && !url.is_loopback() {
        return Err(Error::config(format!("{what} must use https (http only on a loopback host)")));
    }
    Ok(url)
}

/// `scheme://host[:port]/path` without query, fragment or trailing slash.
fn base_without_slash(url: &AbsoluteUrl) -> String {
    let mut s = url.origin_string();
    s.push_str(url.path.trim_end_matches('/'));
    s
}

impl Config {
    /// Validate and build. Errors are `invalid_config`.
    pub fn new(options: ConfigOptions) -> Result<Config> {
        let ConfigOptions { client_id, client_secret, redirect_uri, marketplace, api_base, api_version } = options;
        if client_id.trim().is_empty() {
            return Err(Error::config("client_id is empty"));
        }
        if client_id.bytes().any(|b| b <= 0x20 || b == 0x7f) {
            return Err(Error::config("client_id contains whitespace or control characters"));
        }
        if let Some(s) = &client_secret {
            if s.is_empty() {
                return Err(Error::config("client_secret is empty"));
            }
        }
        let redirect_uri = match redirect_uri {
            None => None,
            Some(r) => {
                let url = check_base_url("redirect_uri", &r)?;
                if url.has_fragment {
                    return Err(Error::config("redirect_uri may not carry a fragment"));
                }
                Some(r)
            }
        };
        let marketplace_base = match marketplace.as_deref() {
            None | Some("standard") => STANDARD_MARKETPLACE.to_owned(),
            Some("white-label") | Some("white_label") | Some("whitelabel") => WHITE_LABEL_MARKETPLACE.to_owned(),
            Some(other) => base_without_slash(&check_base_url("marketplace", other)?),
        };
        let api_url = check_base_url("api_base", api_base.as_deref().unwrap_or(DEFAULT_API_BASE))?;
        let api_version = api_version.unwrap_or_else(|| DEFAULT_API_VERSION.to_owned());
        if api_version.is_empty() || api_version.bytes().any(|b| b < 0x20 || b == 0x7f) {
            return Err(Error::config("api_version is empty or contains control characters"));
        }
        Ok(Config {
            client_id,
            client_secret,
            redirect_uri,
            marketplace_base,
            api_base: base_without_slash(&api_url),
            api_origin: api_url.origin(),
            api_version,
        })
    }

    /// Parse the JSON form of [`ConfigOptions`] and validate it.
    pub fn from_json(json: &str) -> Result<Config> {
        let options: ConfigOptions =
            serde_json::from_str(json).map_err(|e| {
                // serde's message may quote a value (a secret): report only where it went wrong.
                Error::config(format!("config is not valid (line {}, column {})", e.line(), e.column()))
            })?;
        Config::new(options)
    }

    /// The app's client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
    /// The client secret, when configured (server side only).
    pub fn client_secret(&self) -> Option<&Secret> {
        self.client_secret.as_ref()
    }
    /// The redirect URI, when configured.
    pub fn redirect_uri(&self) -> Option<&str> {
        self.redirect_uri.as_deref()
    }
    /// Marketplace base URL without trailing slash.
    pub fn marketplace_base(&self) -> &str {
        &self.marketplace_base
    }
    /// API base URL without trailing slash.
    pub fn api_base(&self) -> &str {
        &self.api_base
    }
    /// The `Version` header value.
    pub fn api_version(&self) -> &str {
        &self.api_version
    }
    pub(crate) fn api_origin(&self) -> &Origin {
        &self.api_origin
    }
    /// The part of `client_id` before its first `-` (what `version_id: "auto"` sends).
    pub fn version_id(&self) -> &str {
        self.client_id.split('-').next().unwrap_or(&self.client_id)
    }
    pub(crate) fn require_secret(&self) -> Result<&Secret> {
        self.client_secret
            .as_ref()
            .ok_or_else(|| Error::config("client_secret is required for token requests (server-side only)"))
    }
}
