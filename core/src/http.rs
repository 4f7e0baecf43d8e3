//! HTTP value types exchanged with every binding's own HTTP client.

use crate::error::{Error, Result};
use std::fmt;

/// The HTTP methods the platform's API uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
}

impl Method {
    /// Case-insensitive parse; anything but GET, POST, PUT, PATCH, DELETE is `invalid_argument`.
    pub fn parse(s: &str) -> Result<Method> {
        let m = if s.eq_ignore_ascii_case("GET") {
            Method::Get
        } else if s.eq_ignore_ascii_case("POST") {
            Method::Post
        } else if s.eq_ignore_ascii_case("PUT") {
            Method::Put
        } else if s.eq_ignore_ascii_case("PATCH") {
            Method::Patch
        } else if s.eq_ignore_ascii_case("DELETE") {
            Method::Delete
        } else {
            return Err(Error::argument("method must be one of GET, POST, PUT, PATCH, DELETE"));
        };
        Ok(m)
    }
    /// The upper-case method name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }
    /// Methods that carry a JSON body.
    pub fn has_body(self) -> bool {
        matches!(self, Method::Post | Method::Put | Method::Patch)
    }
    /// Methods safe to repeat after a server error (RFC 9110 idempotent).
    pub fn is_idempotent(self) -> bool {
        matches!(self, Method::Get | Method::Put | Method::Delete)
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Ordered header list; names compare case-insensitively.
pub type Headers = Vec<(String, String)>;

/// First value of a header, name compared case-insensitively.
pub fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

/// A request for the host's HTTP client to send. `Debug` hides the `Authorization`
/// header and the body (which may hold a client secret or a refresh token).
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct Request {
    /// The HTTP method.
    pub method: Method,
    /// The absolute URL.
    pub url: String,
    /// The headers to send, in order.
    pub headers: Headers,
    /// The body (empty for none).
    #[serde(serialize_with = "body_as_text")]
    pub body: Vec<u8>,
}

/// Bodies serialise as text (invalid UTF-8 replaced): the form the bindings hand to hosts.
fn body_as_text<S: serde::Serializer>(body: &[u8], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(body))
}

impl Request {
    /// First value of a header, name compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
    /// The body as text (bodies built by hoopauth are always UTF-8).
    pub fn body_text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap_or("")
    }
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<(&str, &str)> = self
            .headers
            .iter()
            .map(|(k, v)| {
                if k.eq_ignore_ascii_case("authorization") {
                    (k.as_str(), "[redacted]")
                } else {
                    (k.as_str(), v.as_str())
                }
            })
            .collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("headers", &headers)
            .field("body", &format_args!("[{} bytes redacted]", self.body.len()))
            .finish()
    }
}

/// A response as the host's HTTP client received it. Its serde input form is the one the
/// bindings hand over: the body as text, headers and body optional (empty when absent).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Response {
    /// The HTTP status.
    pub status: u16,
    /// The headers as received.
    #[serde(default)]
    pub headers: Headers,
    /// The raw body.
    #[serde(default, serialize_with = "body_as_text", deserialize_with = "body_from_text")]
    pub body: Vec<u8>,
}

/// A body given as text: its UTF-8 bytes.
fn body_from_text<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<u8>, D::Error> {
    <String as serde::Deserialize>::deserialize(d).map(String::into_bytes)
}

impl Response {
    /// A response from its parts.
    pub fn new(status: u16, headers: Headers, body: impl Into<Vec<u8>>) -> Self {
        Response { status, headers, body: body.into() }
    }
    /// First value of a header, name compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// A value bound for a header must not carry control characters (no header injection).
pub(crate) fn check_header_value(what: &str, value: &str) -> Result<()> {
    if value.bytes().any(|b| b < 0x20 || b == 0x7f) {
        return Err(Error::argument(format!("{what} contains control characters")));
    }
    Ok(())
}
