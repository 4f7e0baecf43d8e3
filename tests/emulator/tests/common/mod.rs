//! Shared helpers: start an emulator in-process and talk raw HTTP/1.1 to it over loopback.
#![allow(dead_code)]

use hoopauth_emulator::{start, EmulatorConfig, Running};
use serde_json::Value;
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub const SCOPES: &str = "contacts.readonly contacts.write locations.readonly";
pub const REDIRECT: &str = "http://127.0.0.1:9/callback";
pub const VERSION: (&str, &str) = ("Version", "2021-07-28");

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }
    pub fn num(&self, name: &str) -> u64 {
        self.header(name)
            .unwrap_or_else(|| panic!("missing header {name}"))
            .parse()
            .unwrap()
    }
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }
}

pub async fn emu(cfg: EmulatorConfig) -> Running {
    start(cfg).await.expect("emulator starts")
}

/// Sends one request on a fresh connection (`Connection: close`) and returns the raw bytes
/// the server wrote before closing.
pub async fn raw_exchange(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let mut head = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body).await.unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out).await;
    out
}

pub fn parse(raw: &[u8]) -> Resp {
    let text = String::from_utf8(raw.to_vec()).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("complete response head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line.split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':').unwrap();
            (n.trim().to_ascii_lowercase(), v.trim().to_string())
        })
        .collect();
    Resp {
        status,
        headers,
        body: body.to_string(),
    }
}

pub async fn request(
    addr: SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    parse(&raw_exchange(addr, method, target, headers, body).await)
}

pub async fn get(r: &Running, target: &str, headers: &[(&str, &str)]) -> Resp {
    request(r.addr(), "GET", target, headers, b"").await
}

pub async fn post_json(r: &Running, target: &str, headers: &[(&str, &str)], body: &Value) -> Resp {
    let mut h = headers.to_vec();
    h.push(("Content-Type", "application/json"));
    request(r.addr(), "POST", target, &h, body.to_string().as_bytes()).await
}

pub fn form(pairs: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in pairs {
        s.append_pair(k, v);
    }
    s.finish()
}

pub async fn post_form(
    r: &Running,
    target: &str,
    headers: &[(&str, &str)],
    pairs: &[(&str, &str)],
) -> Resp {
    let mut h = headers.to_vec();
    h.push(("Content-Type", "application/x-www-form-urlencoded"));
    request(r.addr(), "POST", target, &h, form(pairs).as_bytes()).await
}

/// Form for the token endpoint with the emulator's client credentials.
pub async fn token(r: &Running, extra: &[(&str, &str)]) -> Resp {
    let mut p = vec![
        ("client_id", r.client_id()),
        ("client_secret", r.client_secret()),
    ];
    p.extend_from_slice(extra);
    post_form(r, "/oauth/token", &[], &p).await
}

pub fn query_pairs(location: &str) -> Vec<(String, String)> {
    let q = location.split_once('?').map(|x| x.1).unwrap_or("");
    form_urlencoded::parse(q.as_bytes()).into_owned().collect()
}

pub fn qget<'a>(pairs: &'a [(String, String)], k: &str) -> Option<&'a str> {
    pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str())
}

/// Authorization page → code (auto-consent), for `location` (None = default).
pub async fn authorize(r: &Running, scopes: &str, location: Option<&str>) -> String {
    let mut q = vec![
        ("response_type", "code"),
        ("client_id", r.client_id()),
        ("redirect_uri", REDIRECT),
        ("scope", scopes),
        ("state", "st"),
    ];
    if let Some(l) = location {
        q.push(("location_id", l));
    }
    let resp = get(r, &format!("/oauth/chooselocation?{}", form(&q)), &[]).await;
    assert_eq!(resp.status, 302, "{}", resp.body);
    let loc = resp.header("location").unwrap().to_string();
    let pairs = query_pairs(&loc);
    qget(&pairs, "code").expect("code in redirect").to_string()
}

/// Full install: authorize + exchange → token body.
pub async fn install(r: &Running, scopes: &str, location: Option<&str>, user_type: &str) -> Value {
    let code = authorize(r, scopes, location).await;
    let resp = token(
        r,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("user_type", user_type),
        ],
    )
    .await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()
}

pub fn s(v: &Value, k: &str) -> String {
    v[k].as_str()
        .unwrap_or_else(|| panic!("{k} missing in {v}"))
        .to_string()
}

pub fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

pub async fn stats(r: &Running) -> Value {
    get(r, "/_emulator/stats", &[]).await.json()
}
