//! Webhook verification (SPEC §11).
//!
//! The platform signs every webhook body with Ed25519 (base64 signature in the
//! `x-ghl-signature` header, over the raw body bytes). Older deliveries also carry a
//! legacy RSASSA-PKCS1-v1_5 / SHA-256 signature in `x-wh-signature`. Bodies carry a
//! `timestamp` (ISO-8601) and a `webhookId`; receivers reject old deliveries and
//! duplicates.
//!
//! Everything here is sans-IO: time comes in as `now_ms` (Unix milliseconds). A bad,
//! missing or malformed signature is never an error, only `valid: false`.

use std::collections::{HashSet, VecDeque};
use std::fmt;
#[cfg(feature = "legacy-rsa")]
use std::sync::OnceLock;

use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use ed25519_dalek::{Signature, VerifyingKey};
#[cfg(feature = "legacy-rsa")]
use rsa::pkcs1::DecodeRsaPublicKey as _;
#[cfg(feature = "legacy-rsa")]
use rsa::pkcs8::DecodePublicKey as _;
#[cfg(feature = "legacy-rsa")]
use rsa::traits::PublicKeyParts as _;
#[cfg(feature = "legacy-rsa")]
use rsa::{Pkcs1v15Sign, RsaPublicKey};
use serde_json::{Map, Value};
#[cfg(feature = "legacy-rsa")]
use sha2::{Digest as _, Sha256};

use crate::error::{Error, ErrorKind, Result};
pub use crate::time::parse_iso8601_ms;

/// Default tolerated distance between a delivery's `timestamp` and `now` (5 minutes).
pub const DEFAULT_MAX_AGE_MS: u64 = 300_000;

/// Default number of `webhookId`s a [`WebhookVerifier`] remembers.
pub const DEFAULT_SEEN_CAPACITY: usize = 10_000;

/// The platform's published Ed25519 webhook key (PEM, SPKI).
pub const PLATFORM_ED25519_KEY: &str = "-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg=
-----END PUBLIC KEY-----
";

/// The raw 32 bytes inside [`PLATFORM_ED25519_KEY`] (tested to match).
const PLATFORM_ED25519_RAW: [u8; 32] = [
    0x8b, 0x61, 0xd1, 0xd6, 0xca, 0xcb, 0xe2, 0x8d, 0x7c, 0x3b, 0xc0, 0x51, 0x6b, 0xb8, 0x15,
    0x25, 0x8e, 0xc6, 0xed, 0xbb, 0xa9, 0x6c, 0xdd, 0xc7, 0xf4, 0x0c, 0x09, 0xac, 0x70, 0x83,
    0x88, 0xe8,
];

/// The platform's legacy RSA-4096 webhook key (PEM, SPKI) for `x-wh-signature`.
pub const PLATFORM_RSA_KEY: &str = "-----BEGIN PUBLIC KEY-----
MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEAokvo/r9tVgcfZ5DysOSC
Frm602qYV0MaAiNnX9O8KxMbiyRKWeL9JpCpVpt4XHIcBOK4u3cLSqJGOLaPuXw6
dO0t6Q/ZVdAV5Phz+ZtzPL16iCGeK9po6D6JHBpbi989mmzMryUnQJezlYJ3DVfB
csedpinheNnyYeFXolrJvcsjDtfAeRx5ByHQmTnSdFUzuAnC9/GepgLT9SM4nCpv
uxmZMxrJt5Rw+VUaQ9B8JSvbMPpez4peKaJPZHBbU3OdeCVx5klVXXZQGNHOs8gF
3kvoV5rTnXV0IknLBXlcKKAQLZcY/Q9rG6Ifi9c+5vqlvHPCUJFT5XUGG5RKgOKU
J062fRtN+rLYZUV+BjafxQauvC8wSWeYja63VSUruvmNj8xkx2zE/Juc+yjLjTXp
IocmaiFeAO6fUtNjDeFVkhf5LNb59vECyrHD2SQIrhgXpO4Q3dVNA5rw576PwTzN
h/AMfHKIjE4xQA1SZuYJmNnmVZLIZBlQAF9Ntd03rfadZ+yDiOXCCs9FkHibELhC
HULgCsnuDJHcrGNd5/Ddm5hxGQ0ASitgHeMZ0kcIOwKDOzOU53lDza6/Y09T7sYJ
PQe7z0cvj7aE4B+Ax1ZoZGPzpJlZtGXCsu9aTEGEnKzmsFqwcSsnw3JB31IGKAyk
T1hhTiaCeIY/OwwwNUY2yvcCAwEAAQ==
-----END PUBLIC KEY-----
";

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), followed by the 32-byte key.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Smallest RSA modulus accepted for legacy verification.
#[cfg(feature = "legacy-rsa")]
const MIN_RSA_BITS: usize = 2048;

const STANDARD_ANY_PAD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);
const URL_SAFE_ANY_PAD: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Decode standard or url-safe base64, padded or not; ASCII whitespace inside is ignored.
fn decode_base64_lenient(text: &str) -> Option<Vec<u8>> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return None;
    }
    STANDARD_ANY_PAD
        .decode(compact.as_bytes())
        .or_else(|_| URL_SAFE_ANY_PAD.decode(compact.as_bytes()))
        .ok()
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    fn nibble(b: u8) -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'a'..=b'f' => Some(b - b'a' + 10),
            b'A'..=b'F' => Some(b - b'A' + 10),
            _ => None,
        }
    }
    let chunks = text.as_bytes().chunks_exact(2);
    if !chunks.remainder().is_empty() {
        return None;
    }
    chunks
        .map(|pair| match pair {
            [hi, lo] => Some((nibble(*hi)? << 4) | nibble(*lo)?),
            _ => None,
        })
        .collect()
}

/// One `-----BEGIN <label>----- ... -----END <label>-----` block of a PEM text.
struct PemBlock<'a> {
    label: &'a str,
    /// `None` when the body is not valid base64.
    der: Option<Vec<u8>>,
}

/// All PEM blocks of `text`, in order. Text outside blocks (comments) is ignored.
fn pem_blocks(text: &str) -> Vec<PemBlock<'_>> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after_begin = rest.get(start + "-----BEGIN ".len()..).unwrap_or("");
        let Some(label_end) = after_begin.find("-----") else { break };
        let label = after_begin.get(..label_end).unwrap_or("");
        let body_start = after_begin.get(label_end + 5..).unwrap_or("");
        let end_marker = format!("-----END {label}-----");
        let Some(body_end) = body_start.find(&end_marker) else { break };
        let body = body_start.get(..body_end).unwrap_or("");
        // Headers such as `Proc-Type:` (encrypted keys) are not supported: the body then
        // is not plain base64 and decoding fails.
        blocks.push(PemBlock { label: label.trim(), der: decode_base64_lenient(body) });
        rest = body_start.get(body_end + end_marker.len()..).unwrap_or("");
    }
    blocks
}

fn invalid_key(message: &str) -> Error {
    Error::new(ErrorKind::InvalidKey, message)
}

// ---------------------------------------------------------------------------------------
// Ed25519 key
// ---------------------------------------------------------------------------------------

/// An Ed25519 webhook verifying key (public data).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct WebhookKey {
    /// The compressed point; validated as a non-weak Edwards point at construction.
    bytes: [u8; 32],
}

impl fmt::Debug for WebhookKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex: String = self.bytes.iter().map(|b| format!("{b:02x}")).collect();
        f.debug_struct("WebhookKey").field("ed25519", &hex).finish()
    }
}

impl WebhookKey {
    /// Read an Ed25519 public key from:
    /// - PEM SPKI (`-----BEGIN PUBLIC KEY-----`; other text around the block, such as
    ///   comments or further blocks, is ignored: the first Ed25519 block is used),
    /// - base64 of the 44-byte SPKI DER,
    /// - the raw 32-byte key as base64 (standard or url-safe, padded or not),
    /// - the raw 32-byte key as 64 hex digits.
    ///
    /// Anything else (wrong length, garbage, another algorithm, a point that is not on
    /// the curve or has small order) → [`ErrorKind::InvalidKey`].
    pub fn parse(text: &str) -> Result<WebhookKey> {
        let text = text.trim();
        if text.is_empty() {
            return Err(invalid_key("webhook key is empty"));
        }
        if text.contains("-----BEGIN") {
            let blocks = pem_blocks(text);
            if blocks.is_empty() {
                return Err(invalid_key("webhook key: malformed PEM"));
            }
            let mut last_err = invalid_key("webhook key: no PUBLIC KEY block in PEM");
            for block in blocks.iter().filter(|b| b.label == "PUBLIC KEY") {
                let result = match &block.der {
                    Some(der) => Self::from_spki_der(der),
                    None => Err(invalid_key("webhook key: PEM body is not base64")),
                };
                match result {
                    Ok(key) => return Ok(key),
                    Err(e) => last_err = e,
                }
            }
            return Err(last_err);
        }
        if text.len() == 64 {
            if let Some(raw) = decode_hex(text) {
                return Self::from_raw_slice(&raw);
            }
        }
        let Some(bytes) = decode_base64_lenient(text) else {
            return Err(invalid_key("webhook key is neither PEM, base64 nor hex"));
        };
        match bytes.len() {
            32 => Self::from_raw_slice(&bytes),
            44 => Self::from_spki_der(&bytes),
            n => Err(Error::new(
                ErrorKind::InvalidKey,
                format!("webhook key: expected a 32-byte Ed25519 key or 44-byte SPKI, got {n} bytes"),
            )),
        }
    }

    /// The key from raw 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<WebhookKey> {
        let vk = VerifyingKey::from_bytes(bytes)
            .map_err(|_| invalid_key("webhook key is not a valid Ed25519 point"))?;
        if vk.is_weak() {
            return Err(invalid_key("webhook key is a small-order Ed25519 point"));
        }
        Ok(WebhookKey { bytes: *bytes })
    }

    fn from_raw_slice(raw: &[u8]) -> Result<WebhookKey> {
        let arr: [u8; 32] = raw.try_into().map_err(|_| {
            Error::new(
                ErrorKind::InvalidKey,
                format!("webhook key: expected 32 bytes, got {}", raw.len()),
            )
        })?;
        Self::from_bytes(&arr)
    }

    fn from_spki_der(der: &[u8]) -> Result<WebhookKey> {
        match der.strip_prefix(&ED25519_SPKI_PREFIX[..]) {
            Some(raw) if raw.len() == 32 => Self::from_raw_slice(raw),
            _ => Err(invalid_key("webhook key: not an Ed25519 SubjectPublicKeyInfo")),
        }
    }

    /// The platform's published key ([`PLATFORM_ED25519_KEY`]).
    pub fn platform() -> WebhookKey {
        WebhookKey { bytes: PLATFORM_ED25519_RAW }
    }

    /// The raw 32 bytes of the key.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.bytes
    }

    /// Strict Ed25519 verification of a base64 signature over `body`.
    fn verify_signature(&self, body: &[u8], signature: Option<&str>) -> bool {
        let Some(raw) = signature_bytes(signature) else { return false };
        let Ok(sig_bytes) = <[u8; 64]>::try_from(raw.as_slice()) else { return false };
        let Ok(vk) = VerifyingKey::from_bytes(&self.bytes) else { return false };
        let sig = Signature::from_bytes(&sig_bytes);
        vk.verify_strict(body, &sig).is_ok()
    }
}

/// The header value's bytes, or `None` for a missing, empty, `N/A` or non-base64 value.
fn signature_bytes(signature: Option<&str>) -> Option<Vec<u8>> {
    let s = signature?.trim();
    if s.is_empty() || s.eq_ignore_ascii_case("N/A") {
        return None;
    }
    decode_base64_lenient(s)
}

fn header_present(value: Option<&str>) -> Option<&str> {
    let v = value?.trim();
    if v.is_empty() || v.eq_ignore_ascii_case("N/A") {
        None
    } else {
        Some(v)
    }
}

// ---------------------------------------------------------------------------------------
// Legacy RSA key
// ---------------------------------------------------------------------------------------

/// The legacy RSA webhook key (`x-wh-signature`, RSASSA-PKCS1-v1_5 with SHA-256).
///
/// Needs the `legacy-rsa` feature (on by default); without it every constructor answers
/// `invalid_key`, so builds that leave RSA out (the browser package) keep the same API.
#[derive(Clone, PartialEq, Eq)]
pub struct RsaWebhookKey {
    #[cfg(feature = "legacy-rsa")]
    key: RsaPublicKey,
    #[cfg(not(feature = "legacy-rsa"))]
    never: std::convert::Infallible,
}

impl fmt::Debug for RsaWebhookKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RsaWebhookKey").field("bits", &self.bits()).finish()
    }
}

#[cfg(not(feature = "legacy-rsa"))]
impl RsaWebhookKey {
    /// Always `invalid_key`: this build leaves legacy RSA out (feature `legacy-rsa`).
    pub fn parse(_pem: &str) -> Result<RsaWebhookKey> {
        Err(invalid_key("legacy RSA webhook keys are not supported by this build (feature `legacy-rsa`)"))
    }
    /// Always `invalid_key` in this build.
    pub fn platform() -> Result<RsaWebhookKey> {
        RsaWebhookKey::parse(PLATFORM_RSA_KEY)
    }
    pub fn bits(&self) -> usize {
        match self.never {}
    }
    fn verify_signature(&self, _body: &[u8], _signature: Option<&str>) -> bool {
        match self.never {}
    }
}

#[cfg(feature = "legacy-rsa")]
impl RsaWebhookKey {
    /// Read an RSA public key: PEM `PUBLIC KEY` (SPKI) or `RSA PUBLIC KEY` (PKCS#1); the
    /// first RSA block of the text is used. Keys under 2048 bits or over 4096 bits, other
    /// algorithms and garbage → [`ErrorKind::InvalidKey`].
    pub fn parse(pem: &str) -> Result<RsaWebhookKey> {
        let blocks = pem_blocks(pem);
        if blocks.is_empty() {
            return Err(invalid_key("RSA webhook key: no PEM block found"));
        }
        let mut last_err = invalid_key("RSA webhook key: no PUBLIC KEY block in PEM");
        for block in &blocks {
            let Some(der) = &block.der else {
                last_err = invalid_key("RSA webhook key: PEM body is not base64");
                continue;
            };
            let parsed = match block.label {
                "PUBLIC KEY" => RsaPublicKey::from_public_key_der(der).ok(),
                "RSA PUBLIC KEY" => RsaPublicKey::from_pkcs1_der(der).ok(),
                _ => continue,
            };
            match parsed {
                Some(key) if key.size().saturating_mul(8) >= MIN_RSA_BITS => {
                    return Ok(RsaWebhookKey { key })
                }
                Some(_) => last_err = invalid_key("RSA webhook key is shorter than 2048 bits"),
                None => last_err = invalid_key("RSA webhook key: not an RSA public key"),
            }
        }
        Err(last_err)
    }

    /// The platform's legacy key ([`PLATFORM_RSA_KEY`]); parsed once and cached.
    pub fn platform() -> Result<RsaWebhookKey> {
        static CACHE: OnceLock<Result<RsaWebhookKey>> = OnceLock::new();
        CACHE.get_or_init(|| RsaWebhookKey::parse(PLATFORM_RSA_KEY)).clone()
    }

    /// Modulus size in bits.
    pub fn bits(&self) -> usize {
        self.key.size().saturating_mul(8)
    }

    fn verify_signature(&self, body: &[u8], signature: Option<&str>) -> bool {
        let Some(sig) = signature_bytes(signature) else { return false };
        if sig.len() != self.key.size() {
            return false;
        }
        let hashed = Sha256::digest(body);
        self.key.verify(Pkcs1v15Sign::new::<Sha256>(), &hashed, &sig).is_ok()
    }
}

// ---------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------

/// Why a delivery was accepted or rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyReason {
    Ok,
    BadSignature,
    Stale,
    Duplicate,
}

impl VerifyReason {
    /// `"ok"` | `"bad_signature"` | `"stale"` | `"duplicate"`.
    pub fn as_str(self) -> &'static str {
        match self {
            VerifyReason::Ok => "ok",
            VerifyReason::BadSignature => "bad_signature",
            VerifyReason::Stale => "stale",
            VerifyReason::Duplicate => "duplicate",
        }
    }
}

impl fmt::Display for VerifyReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The outcome of a webhook verification. `valid` is true exactly when `reason` is `Ok`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Verification {
    pub valid: bool,
    pub reason: VerifyReason,
}

impl Verification {
    fn from_reason(reason: VerifyReason) -> Verification {
        Verification { valid: reason == VerifyReason::Ok, reason }
    }
}

// ---------------------------------------------------------------------------------------
// Freshness (the body's timestamp)
// ---------------------------------------------------------------------------------------

/// The body's `timestamp` as Unix ms: an ISO-8601 string or a number of milliseconds.
fn body_timestamp_ms(obj: Option<&Map<String, Value>>) -> Option<i64> {
    match obj?.get("timestamp")? {
        Value::String(s) => parse_iso8601_ms(s),
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite() && f.abs() < 9.0e15).map(|f| f as i64)),
        _ => None,
    }
}

fn is_fresh(obj: Option<&Map<String, Value>>, now_ms: u64, max_age_ms: u64) -> bool {
    let Some(ts) = body_timestamp_ms(obj) else { return false };
    let diff = (i128::from(now_ms) - i128::from(ts)).unsigned_abs();
    diff <= u128::from(max_age_ms)
}

fn parse_object(body: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<Value>(body).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

fn check_freshness(body: &[u8], now_ms: Option<u64>, max_age_ms: u64) -> Verification {
    if let Some(now) = now_ms {
        let obj = parse_object(body);
        if !is_fresh(obj.as_ref(), now, max_age_ms) {
            return Verification::from_reason(VerifyReason::Stale);
        }
    }
    Verification::from_reason(VerifyReason::Ok)
}

// ---------------------------------------------------------------------------------------
// Stateless verification
// ---------------------------------------------------------------------------------------

/// Verify an `x-ghl-signature` delivery (SPEC §11). The signature is checked first
/// (missing, `N/A`, not base64, wrong length or wrong → `bad_signature`); then, only when
/// `now_ms` is given, the body's `timestamp` must be within `max_age_ms` of `now_ms`
/// either way (missing or unreadable → `stale`). Never fails.
pub fn verify_webhook(
    key: &WebhookKey,
    body: &[u8],
    signature: Option<&str>,
    now_ms: Option<u64>,
    max_age_ms: u64,
) -> Verification {
    if !key.verify_signature(body, signature) {
        return Verification::from_reason(VerifyReason::BadSignature);
    }
    check_freshness(body, now_ms, max_age_ms)
}

/// Verify a legacy `x-wh-signature` delivery (RSASSA-PKCS1-v1_5, SHA-256, base64); same
/// staleness rule as [`verify_webhook`]. Never fails.
pub fn verify_legacy_webhook(
    key: &RsaWebhookKey,
    body: &[u8],
    signature: Option<&str>,
    now_ms: Option<u64>,
    max_age_ms: u64,
) -> Verification {
    if !key.verify_signature(body, signature) {
        return Verification::from_reason(VerifyReason::BadSignature);
    }
    check_freshness(body, now_ms, max_age_ms)
}

// ---------------------------------------------------------------------------------------
// Stateful verifier (receiver side)
// ---------------------------------------------------------------------------------------

/// What a webhook receiver keeps: the keys, the age limit and a bounded memory of the
/// `webhookId`s it accepted, to reject duplicates.
///
/// Memory: at most `seen_capacity` ids are kept; when full, the oldest is forgotten
/// (FIFO). Ids accepted more than `2 × max_age_ms` ago are also forgotten: any replay of
/// such a delivery is rejected as `stale` anyway. A forgotten id that arrives again with a
/// body that is still fresh is accepted again, so choose a capacity above the number of
/// deliveries expected within `2 × max_age_ms`. A capacity of 0 disables duplicate
/// detection.
#[derive(Clone, Debug)]
pub struct WebhookVerifier {
    key: WebhookKey,
    rsa_key: Option<RsaWebhookKey>,
    max_age_ms: u64,
    capacity: usize,
    seen: HashSet<String>,
    /// Accepted ids in acceptance order with the `now_ms` of acceptance.
    order: VecDeque<(String, u64)>,
}

impl WebhookVerifier {
    /// A verifier for `key`, with [`DEFAULT_MAX_AGE_MS`] and [`DEFAULT_SEEN_CAPACITY`],
    /// without a legacy RSA key.
    pub fn new(key: WebhookKey) -> WebhookVerifier {
        WebhookVerifier::with_capacity(key, DEFAULT_SEEN_CAPACITY)
    }

    /// Like [`WebhookVerifier::new`] with a given seen-set capacity.
    pub fn with_capacity(key: WebhookKey, seen_capacity: usize) -> WebhookVerifier {
        WebhookVerifier {
            key,
            rsa_key: None,
            max_age_ms: DEFAULT_MAX_AGE_MS,
            capacity: seen_capacity,
            seen: HashSet::new(),
            order: VecDeque::new(),
        }
    }

    /// A verifier with the platform's Ed25519 key and its legacy RSA key.
    pub fn platform() -> Result<WebhookVerifier> {
        Ok(WebhookVerifier::new(WebhookKey::platform()).with_rsa_key(RsaWebhookKey::platform()?))
    }

    /// Also accept legacy `x-wh-signature` deliveries signed with `key`.
    pub fn with_rsa_key(mut self, key: RsaWebhookKey) -> WebhookVerifier {
        self.rsa_key = Some(key);
        self
    }

    /// Set the tolerated distance between a delivery's `timestamp` and `now`.
    pub fn with_max_age_ms(mut self, max_age_ms: u64) -> WebhookVerifier {
        self.max_age_ms = max_age_ms;
        self
    }

    pub fn max_age_ms(&self) -> u64 {
        self.max_age_ms
    }

    pub fn seen_capacity(&self) -> usize {
        self.capacity
    }

    /// Number of ids currently remembered (≤ capacity).
    pub fn seen_len(&self) -> usize {
        self.order.len()
    }

    /// Forget every remembered id.
    pub fn clear_seen(&mut self) {
        self.seen.clear();
        self.order.clear();
    }

    /// Verify a delivery. `x-ghl-signature` (Ed25519) is used when present and not `N/A`;
    /// otherwise `x-wh-signature` if an RSA key is configured. Then the `timestamp` must be
    /// within `max_age_ms` of `now_ms`; then a `webhookId` already accepted gives
    /// `duplicate`. Only accepted deliveries are remembered; a body without `webhookId` is
    /// not deduplicated.
    pub fn verify(
        &mut self,
        body: &[u8],
        ghl_signature: Option<&str>,
        wh_signature: Option<&str>,
        now_ms: u64,
    ) -> Verification {
        let signature_ok = match header_present(ghl_signature) {
            Some(sig) => self.key.verify_signature(body, Some(sig)),
            None => match &self.rsa_key {
                Some(rsa_key) => rsa_key.verify_signature(body, wh_signature),
                None => false,
            },
        };
        if !signature_ok {
            return Verification::from_reason(VerifyReason::BadSignature);
        }
        let obj = parse_object(body);
        if !is_fresh(obj.as_ref(), now_ms, self.max_age_ms) {
            return Verification::from_reason(VerifyReason::Stale);
        }
        self.prune(now_ms);
        let id = obj.as_ref().and_then(|o| o.get("webhookId")).and_then(|v| match v {
            Value::String(s) if !s.is_empty() => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        if let Some(id) = id {
            if self.seen.contains(&id) {
                return Verification::from_reason(VerifyReason::Duplicate);
            }
            self.remember(id, now_ms);
        }
        Verification::from_reason(VerifyReason::Ok)
    }

    /// [`WebhookVerifier::verify`] with the signature headers looked up by name,
    /// case-insensitively (`x-ghl-signature`, `x-wh-signature`; the first of each wins).
    pub fn verify_headers(
        &mut self,
        body: &[u8],
        headers: &[(String, String)],
        now_ms: u64,
    ) -> Verification {
        let find = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        };
        let ghl = find("x-ghl-signature");
        let wh = find("x-wh-signature");
        self.verify(body, ghl, wh, now_ms)
    }

    fn remember(&mut self, id: String, now_ms: u64) {
        if self.capacity == 0 {
            return;
        }
        while self.order.len() >= self.capacity {
            match self.order.pop_front() {
                Some((old, _)) => {
                    self.seen.remove(&old);
                }
                None => break,
            }
        }
        self.seen.insert(id.clone());
        self.order.push_back((id, now_ms));
    }

    /// Forget ids accepted more than `2 × max_age_ms` before `now_ms`.
    fn prune(&mut self, now_ms: u64) {
        let horizon = self.max_age_ms.saturating_mul(2);
        while let Some((_, at)) = self.order.front() {
            if now_ms.saturating_sub(*at) > horizon {
                if let Some((old, _)) = self.order.pop_front() {
                    self.seen.remove(&old);
                }
            } else {
                break;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Typed events
// ---------------------------------------------------------------------------------------

/// An `INSTALL` event (an app was installed on a location or company).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct InstallEvent {
    pub app_id: Option<String>,
    pub version_id: Option<String>,
    pub install_type: Option<String>,
    pub location_id: Option<String>,
    pub company_id: Option<String>,
    pub user_id: Option<String>,
    pub company_name: Option<String>,
    pub plan_id: Option<String>,
    pub timestamp: Option<String>,
    pub webhook_id: Option<String>,
}

/// An `UNINSTALL` event.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct UninstallEvent {
    pub app_id: Option<String>,
    pub location_id: Option<String>,
    pub company_id: Option<String>,
    pub timestamp: Option<String>,
    pub webhook_id: Option<String>,
}

/// A parsed webhook body. Serialises as one flat JSON object with snake_case fields and
/// `"type": "INSTALL" | "UNINSTALL" | <other type>`; other events carry the whole body
/// under `"body"`.
#[derive(Clone, Debug, PartialEq)]
pub enum WebhookEvent {
    Install(InstallEvent),
    Uninstall(UninstallEvent),
    Other { event_type: String, body: Value },
}

impl WebhookEvent {
    /// The event's `type` as sent.
    pub fn event_type(&self) -> &str {
        match self {
            WebhookEvent::Install(_) => "INSTALL",
            WebhookEvent::Uninstall(_) => "UNINSTALL",
            WebhookEvent::Other { event_type, .. } => event_type,
        }
    }
}

impl serde::Serialize for WebhookEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Tagged<'a, T: serde::Serialize> {
            #[serde(rename = "type")]
            event_type: &'a str,
            #[serde(flatten)]
            event: &'a T,
        }
        #[derive(serde::Serialize)]
        struct OtherRepr<'a> {
            #[serde(rename = "type")]
            event_type: &'a str,
            body: &'a Value,
        }
        match self {
            WebhookEvent::Install(e) => {
                Tagged { event_type: "INSTALL", event: e }.serialize(serializer)
            }
            WebhookEvent::Uninstall(e) => {
                Tagged { event_type: "UNINSTALL", event: e }.serialize(serializer)
            }
            WebhookEvent::Other { event_type, body } => {
                OtherRepr { event_type, body }.serialize(serializer)
            }
        }
    }
}

/// A string field, leniently: strings as they are, numbers and booleans as text.
fn field(obj: &Map<String, Value>, name: &str) -> Option<String> {
    match obj.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Parse a webhook body into a typed event. Not JSON, not an object, or without a string
/// `type` → [`ErrorKind::MalformedResponse`]. `INSTALL`/`UNINSTALL` are matched
/// case-insensitively; every field is optional.
pub fn parse_webhook_event(body: &[u8]) -> Result<WebhookEvent> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| Error::new(ErrorKind::MalformedResponse, "webhook body is not JSON"))?;
    let Value::Object(obj) = value else {
        return Err(Error::new(ErrorKind::MalformedResponse, "webhook body is not a JSON object"));
    };
    let Some(Value::String(event_type)) = obj.get("type") else {
        return Err(Error::new(ErrorKind::MalformedResponse, "webhook body has no string `type`"));
    };
    if event_type.eq_ignore_ascii_case("INSTALL") {
        Ok(WebhookEvent::Install(InstallEvent {
            app_id: field(&obj, "appId"),
            version_id: field(&obj, "versionId"),
            install_type: field(&obj, "installType"),
            location_id: field(&obj, "locationId"),
            company_id: field(&obj, "companyId"),
            user_id: field(&obj, "userId"),
            company_name: field(&obj, "companyName"),
            plan_id: field(&obj, "planId"),
            timestamp: field(&obj, "timestamp"),
            webhook_id: field(&obj, "webhookId"),
        }))
    } else if event_type.eq_ignore_ascii_case("UNINSTALL") {
        Ok(WebhookEvent::Uninstall(UninstallEvent {
            app_id: field(&obj, "appId"),
            location_id: field(&obj, "locationId"),
            company_id: field(&obj, "companyId"),
            timestamp: field(&obj, "timestamp"),
            webhook_id: field(&obj, "webhookId"),
        }))
    } else {
        let event_type = event_type.clone();
        Ok(WebhookEvent::Other { event_type, body: Value::Object(obj) })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn platform_raw_matches_pem() {
        let parsed = WebhookKey::parse(PLATFORM_ED25519_KEY).unwrap();
        assert_eq!(parsed, WebhookKey::platform());
        assert!(WebhookKey::from_bytes(&PLATFORM_ED25519_RAW).is_ok());
    }

    #[test]
    #[cfg(feature = "legacy-rsa")]
    fn platform_rsa_parses() {
        let key = RsaWebhookKey::platform().unwrap();
        assert_eq!(key.bits(), 4096);
    }

    #[test]
    fn hex_decoding() {
        assert_eq!(decode_hex("00ffA0"), Some(vec![0, 255, 160]));
        assert_eq!(decode_hex("0g"), None);
        assert_eq!(decode_hex("abc"), None);
    }
}
