//! Token requests (three grants and the location token) and token responses.

use crate::classify::{message_matches, ErrorBody};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{check_header_value, Method, Request};
use crate::secret::Secret;
use serde::de::{self, MapAccess, Visitor};
use serde_json::Value;
use std::borrow::Cow;
use std::fmt;

/// Whose token: an agency (company) or a sub-account (location).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum UserType {
    /// An agency-level token.
    Company,
    /// A sub-account (location) token.
    Location,
}

impl UserType {
    /// Case-insensitive; anything else is `invalid_argument`.
    pub fn parse(s: &str) -> Result<UserType> {
        if s.eq_ignore_ascii_case("company") {
            Ok(UserType::Company)
        } else if s.eq_ignore_ascii_case("location") {
            Ok(UserType::Location)
        } else {
            Err(Error::argument("user_type must be Company or Location"))
        }
    }
    /// `"Company"` or `"Location"`.
    pub fn as_str(self) -> &'static str {
        match self {
            UserType::Company => "Company",
            UserType::Location => "Location",
        }
    }
}

/// The grant of a token request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// Exchange an authorization code.
    AuthorizationCode {
        /// The single-use code from the redirect.
        code: Secret,
    },
    /// Refresh with a (single-use) refresh token.
    RefreshToken {
        /// The refresh token.
        refresh_token: Secret,
    },
    /// The client-credentials grant.
    ClientCredentials,
}

impl Grant {
    /// The grant's `grant_type` value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Grant::AuthorizationCode { .. } => "authorization_code",
            Grant::RefreshToken { .. } => "refresh_token",
            Grant::ClientCredentials => "client_credentials",
        }
    }
    /// Build from the grant name and the matching value (`code` or `refresh_token`).
    pub fn from_parts(grant: &str, code: Option<&str>, refresh_token: Option<&str>) -> Result<Grant> {
        match grant {
            "authorization_code" => {
                Ok(Grant::AuthorizationCode { code: Secret::new(code.unwrap_or_default()) })
            }
            "refresh_token" => {
                Ok(Grant::RefreshToken { refresh_token: Secret::new(refresh_token.unwrap_or_default()) })
            }
            "client_credentials" => Ok(Grant::ClientCredentials),
            _ => Err(Error::argument(
                "grant must be authorization_code, refresh_token or client_credentials",
            )),
        }
    }
}

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

impl Config {
    /// `POST {api_base}/oauth/token` for one of the three grants. Needs the client secret.
    pub fn token_request(&self, grant: &Grant, user_type: Option<UserType>) -> Result<Request> {
        let secret = self.require_secret()?;
        let mut body = String::with_capacity(192);
        {
            let mut f = form_urlencoded::Serializer::new(&mut body);
            f.append_pair("client_id", self.client_id());
            f.append_pair("client_secret", secret.expose());
            f.append_pair("grant_type", grant.as_str());
            match grant {
                Grant::AuthorizationCode { code } => {
                    if code.is_empty() {
                        return Err(Error::argument("the authorization code is empty"));
                    }
                    f.append_pair("code", code.expose());
                    if let Some(r) = self.redirect_uri() {
                        f.append_pair("redirect_uri", r);
                    }
                }
                Grant::RefreshToken { refresh_token } => {
                    if refresh_token.is_empty() {
                        return Err(Error::argument("the refresh token is empty"));
                    }
                    f.append_pair("refresh_token", refresh_token.expose());
                }
                Grant::ClientCredentials => {}
            }
            if let Some(u) = user_type {
                f.append_pair("user_type", u.as_str());
            }
            f.finish();
        }
        Ok(Request {
            method: Method::Post,
            url: format!("{}/oauth/token", self.api_base()),
            headers: vec![("Content-Type".into(), FORM.into()), ("Accept".into(), JSON.into())],
            body: body.into_bytes(),
        })
    }

    /// `POST {api_base}/oauth/locationToken`: a location token from an agency token.
    pub fn location_token_request(
        &self,
        agency_access_token: &str,
        company_id: &str,
        location_id: &str,
    ) -> Result<Request> {
        if agency_access_token.is_empty() {
            return Err(Error::argument("agency_access_token is empty"));
        }
        if company_id.is_empty() || location_id.is_empty() {
            return Err(Error::argument("company_id and location_id must not be empty"));
        }
        check_header_value("agency_access_token", agency_access_token)?;
        let mut body = String::with_capacity(64);
        form_urlencoded::Serializer::new(&mut body)
            .append_pair("companyId", company_id)
            .append_pair("locationId", location_id)
            .finish();
        Ok(Request {
            method: Method::Post,
            url: format!("{}/oauth/locationToken", self.api_base()),
            headers: vec![
                ("Content-Type".into(), FORM.into()),
                ("Accept".into(), JSON.into()),
                ("Authorization".into(), format!("Bearer {agency_access_token}")),
                ("Version".into(), self.api_version().into()),
            ],
            body: body.into_bytes(),
        })
    }
}

/// A token set as the token endpoint returned it. `Debug` redacts both tokens.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TokenSet {
    /// The access token.
    pub access_token: Secret,
    /// `token_type`, usually `Bearer`.
    pub token_type: Option<String>,
    /// Seconds the access token lives, as sent.
    pub expires_in: Option<u64>,
    /// `now_ms + expires_in * 1000`, with `now_ms` the time the request was sent.
    pub expires_at_ms: Option<u64>,
    /// The refresh token (single-use: each refresh rotates it).
    pub refresh_token: Option<Secret>,
    /// The granted scopes (the `scope` field split on whitespace).
    pub scopes: Vec<String>,
    /// Whose token: company or location.
    pub user_type: Option<UserType>,
    /// The location a location token is for.
    pub location_id: Option<String>,
    /// The company (agency) the token belongs to.
    pub company_id: Option<String>,
    /// The locations a bulk installation approved.
    pub approved_locations: Option<Vec<String>>,
    /// The app plan the install chose.
    pub plan_id: Option<String>,
    /// Whether the app was installed on many locations at once.
    pub is_bulk_installation: Option<bool>,
    /// The user who authorized the app.
    pub user_id: Option<String>,
    /// Fields the platform sent that hoopauth does not know (kept, not rejected).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub extra: serde_json::Map<String, Value>,
}

/// The camelCase JSON shape JavaScript bindings hand to users (absent values as `null`).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct TokenSetJs<'a> {
    access_token: &'a str,
    token_type: &'a Option<String>,
    expires_in: Option<u64>,
    expires_at_ms: Option<u64>,
    refresh_token: Option<&'a str>,
    scopes: &'a [String],
    user_type: Option<&'static str>,
    location_id: &'a Option<String>,
    company_id: &'a Option<String>,
    approved_locations: &'a Option<Vec<String>>,
    plan_id: &'a Option<String>,
    is_bulk_installation: Option<bool>,
    user_id: &'a Option<String>,
    extra: &'a serde_json::Map<String, Value>,
}

impl TokenSet {
    /// The token set as camelCase JSON text, the shape the JavaScript bindings return
    /// (one string crossing the FFI boundary is cheaper than building the object field by field).
    /// Holds the tokens: treat the text as a secret.
    pub fn to_js_json(&self) -> String {
        let view = TokenSetJs {
            access_token: self.access_token.expose(),
            token_type: &self.token_type,
            expires_in: self.expires_in,
            expires_at_ms: self.expires_at_ms,
            refresh_token: self.refresh_token.as_ref().map(Secret::expose),
            scopes: &self.scopes,
            user_type: self.user_type.map(UserType::as_str),
            location_id: &self.location_id,
            company_id: &self.company_id,
            approved_locations: &self.approved_locations,
            plan_id: &self.plan_id,
            is_bulk_installation: self.is_bulk_installation,
            user_id: &self.user_id,
            extra: &self.extra,
        };
        serde_json::to_string(&view).unwrap_or_default()
    }

    /// The resource this token acts for: the location id, else the company id.
    pub fn resource_id(&self) -> Option<&str> {
        self.location_id.as_deref().or(self.company_id.as_deref())
    }
}

/// Parse a token endpoint answer (SPEC §6). `now_ms` is when the request was *sent*.
pub fn parse_token_response(status: u16, _headers: &[(String, String)], body: &[u8], now_ms: u64) -> Result<TokenSet> {
    if (200..300).contains(&status) {
        let mut de = serde_json::Deserializer::from_slice(body);
        let raw = de::Deserializer::deserialize_any(&mut de, RawTokenVisitor)
            .map_err(|_| malformed(status, "the token response is not a JSON object"))?;
        de.end().map_err(|_| malformed(status, "trailing data after the token response"))?;
        return raw.finish(status, now_ms);
    }
    Err(token_error(status, body))
}

fn malformed(status: u16, msg: &str) -> Error {
    Error::new(ErrorKind::MalformedResponse, msg).with_status(status)
}

/// Map a failed token endpoint answer to a kind (SPEC §6, first match wins).
pub(crate) fn token_error(status: u16, body: &[u8]) -> Error {
    let parsed = ErrorBody::parse(body);
    let detail = parsed.summary();
    let with = |kind: ErrorKind, default: &str| {
        let msg = if detail.is_empty() { default.to_owned() } else { detail.clone() };
        Error::new(kind, msg).with_status(status)
    };
    if let Some(code) = parsed.error.as_deref() {
        match code {
            "invalid_grant" => return with(ErrorKind::InvalidGrant, "invalid grant"),
            "invalid_client" => return with(ErrorKind::InvalidClient, "invalid client"),
            "invalid_request" => return with(ErrorKind::InvalidRequest, "invalid request"),
            "unauthorized_client" | "unsupported_grant_type" | "invalid_scope" | "access_denied"
            | "unsupported_response_type" | "temporarily_unavailable" => {
                return with(ErrorKind::ClientError, code)
            }
            _ => {}
        }
    }
    if message_matches(&parsed, &["invalid grant", "refresh token is invalid", "authorization code not found"]) {
        return with(ErrorKind::InvalidGrant, "invalid grant");
    }
    if message_matches(&parsed, &["location is not active"]) {
        return with(ErrorKind::LocationInactive, "location is not active");
    }
    match status {
        400 => with(ErrorKind::InvalidRequest, "bad request"),
        401 => with(ErrorKind::InvalidClient, "unauthorized client"),
        429 => with(ErrorKind::RateLimited, "rate limited"),
        500..=599 => with(ErrorKind::ServerError, "server error"),
        s if (400..500).contains(&s) => with(ErrorKind::ClientError, "client error"),
        _ => with(ErrorKind::UnexpectedStatus, "unexpected status"),
    }
}

// ---- fast, lenient token body reader -------------------------------------------------

#[derive(Default)]
struct RawToken {
    access_token: Option<String>,
    token_type: Option<String>,
    expires_in: Option<Value>,
    refresh_token: Option<String>,
    scope: Option<String>,
    user_type: Option<String>,
    location_id: Option<String>,
    company_id: Option<String>,
    approved_locations: Option<Vec<String>>,
    plan_id: Option<String>,
    is_bulk_installation: Option<bool>,
    user_id: Option<String>,
    extra: serde_json::Map<String, Value>,
    /// The first field whose JSON type breaks the contract.
    wrong_type: Option<&'static str>,
}

/// A field the contract types as a string: a string, or absent/null. Anything else (a
/// number, object, array or boolean) is recorded as a type error (SPEC §6).
fn string_field(v: Value, field: &'static str, bad: &mut Option<&'static str>) -> Option<String> {
    match v {
        Value::String(s) => Some(s),
        Value::Null => None,
        _ => {
            bad.get_or_insert(field);
            None
        }
    }
}

impl RawToken {
    fn finish(self, status: u16, now_ms: u64) -> Result<TokenSet> {
        if let Some(field) = self.wrong_type {
            return Err(malformed(status, &format!("`{field}` is not of the contract's JSON type")));
        }
        let access_token = match self.access_token {
            Some(t) if !t.is_empty() => t,
            _ => return Err(malformed(status, "the token response holds no access_token")),
        };
        let expires_in = match self.expires_in {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match (n.as_u64(), n.as_f64()) {
                (Some(u), _) => Some(u),
                (None, Some(f)) if f.is_finite() && f >= 0.0 && f <= u64::MAX as f64 => Some(f as u64),
                _ => return Err(malformed(status, "expires_in is negative or not a number")),
            },
            Some(Value::String(s)) => match s.trim().parse::<u64>() {
                Ok(u) => Some(u),
                Err(_) => return Err(malformed(status, "expires_in is negative or not a number")),
            },
            Some(_) => return Err(malformed(status, "expires_in is not a number")),
        };
        let expires_at_ms = expires_in.map(|s| now_ms.saturating_add(s.saturating_mul(1000)));
        let mut extra = self.extra;
        let user_type = match self.user_type {
            None => None,
            Some(u) => match UserType::parse(&u) {
                Ok(t) => Some(t),
                Err(_) => {
                    extra.insert("userType".into(), Value::String(u));
                    None
                }
            },
        };
        let scopes = self.scope.map(|s| s.split_whitespace().map(str::to_owned).collect()).unwrap_or_default();
        Ok(TokenSet {
            access_token: Secret::new(access_token),
            token_type: self.token_type,
            expires_in,
            expires_at_ms,
            refresh_token: self.refresh_token.filter(|r| !r.is_empty()).map(Secret::new),
            scopes,
            user_type,
            location_id: self.location_id,
            company_id: self.company_id,
            approved_locations: self.approved_locations,
            plan_id: self.plan_id,
            is_bulk_installation: self.is_bulk_installation,
            user_id: self.user_id,
            extra,
        })
    }
}

struct Key<'a>(Cow<'a, str>);

impl<'de> de::Deserialize<'de> for Key<'de> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct KV;
        impl<'de> Visitor<'de> for KV {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a key")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> std::result::Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(v)))
            }
        }
        d.deserialize_str(KV)
    }
}

struct RawTokenVisitor;

impl<'de> Visitor<'de> for RawTokenVisitor {
    type Value = RawToken;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a token response object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> std::result::Result<RawToken, A::Error> {
        let mut t = RawToken::default();
        while let Some(Key(k)) = map.next_key::<Key<'de>>()? {
            let v: Value = map.next_value()?;
            match k.as_ref() {
                "access_token" | "accessToken" => t.access_token = string_field(v, "access_token", &mut t.wrong_type),
                "token_type" | "tokenType" => t.token_type = string_field(v, "token_type", &mut t.wrong_type),
                "expires_in" | "expiresIn" => t.expires_in = Some(v),
                "refresh_token" | "refreshToken" => {
                    t.refresh_token = string_field(v, "refresh_token", &mut t.wrong_type)
                }
                "scope" => t.scope = string_field(v, "scope", &mut t.wrong_type),
                "userType" | "user_type" => t.user_type = string_field(v, "userType", &mut t.wrong_type),
                "locationId" | "location_id" => t.location_id = string_field(v, "locationId", &mut t.wrong_type),
                "companyId" | "company_id" => t.company_id = string_field(v, "companyId", &mut t.wrong_type),
                "planId" | "plan_id" => t.plan_id = string_field(v, "planId", &mut t.wrong_type),
                "userId" | "user_id" => t.user_id = string_field(v, "userId", &mut t.wrong_type),
                "approvedLocations" | "approved_locations" => {
                    t.approved_locations = match v {
                        Value::Null => None,
                        Value::Array(items) => {
                            let mut out = Vec::with_capacity(items.len());
                            for item in items {
                                if let Some(s) = string_field(item, "approvedLocations", &mut t.wrong_type) {
                                    out.push(s);
                                }
                            }
                            Some(out)
                        }
                        _ => {
                            t.wrong_type.get_or_insert("approvedLocations");
                            None
                        }
                    }
                }
                "isBulkInstallation" | "is_bulk_installation" => {
                    t.is_bulk_installation = match v {
                        Value::Bool(b) => Some(b),
                        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
                        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
                        _ => None,
                    }
                }
                _ => {
                    t.extra.insert(k.into_owned(), v);
                }
            }
        }
        Ok(t)
    }
}

