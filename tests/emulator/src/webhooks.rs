//! Webhook signing key, event bodies, the ISO-8601 clock and delivery over plain HTTP.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use bytes::Bytes;
use ed25519_dalek::{Signer, SigningKey};
use http_body_util::Full;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), followed by the 32 key bytes.
const SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub fn http_client() -> HttpClient {
    Client::builder(TokioExecutor::new()).build_http()
}

pub struct WebhookKey {
    key: SigningKey,
}

impl WebhookKey {
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        WebhookKey {
            key: SigningKey::from_bytes(seed),
        }
    }

    pub fn raw_public(&self) -> [u8; 32] {
        self.key.verifying_key().to_bytes()
    }

    pub fn spki_der(&self) -> Vec<u8> {
        let mut der = SPKI_PREFIX.to_vec();
        der.extend_from_slice(&self.raw_public());
        der
    }

    pub fn spki_base64(&self) -> String {
        B64.encode(self.spki_der())
    }

    pub fn pem(&self) -> String {
        format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            self.spki_base64()
        )
    }

    pub fn raw_base64(&self) -> String {
        B64.encode(self.raw_public())
    }

    /// Base64 Ed25519 signature over the exact bytes.
    pub fn sign(&self, body: &[u8]) -> String {
        B64.encode(self.key.sign(body).to_bytes())
    }
}

/// The platform's app-install event body (field order as the platform sends it).
#[derive(Serialize)]
pub struct Event<'a> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    #[serde(rename = "appId")]
    pub app_id: &'a str,
    #[serde(rename = "installType")]
    pub install_type: &'a str,
    #[serde(rename = "locationId", skip_serializing_if = "Option::is_none")]
    pub location_id: Option<&'a str>,
    #[serde(rename = "companyId")]
    pub company_id: &'a str,
    #[serde(rename = "userId")]
    pub user_id: &'a str,
    /// Present (true) on the events of a bulk installation.
    #[serde(rename = "isBulkInstallation", skip_serializing_if = "Option::is_none")]
    pub is_bulk_installation: Option<bool>,
    pub timestamp: String,
    #[serde(rename = "webhookId")]
    pub webhook_id: String,
}

/// Now as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
pub fn iso_now() -> String {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    iso_from_unix_ms(ms)
}

pub fn iso_from_unix_ms(ms: i64) -> String {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600_000,
        rem / 60_000 % 60,
        rem / 1000 % 60,
        rem % 1000
    )
}

/// POSTs the signed body to `url`; returns the receiver's status.
pub async fn deliver(
    client: &HttpClient,
    url: &str,
    body: &str,
    signature: &str,
) -> Result<u16, String> {
    let req = hyper::Request::post(url)
        .header("content-type", "application/json")
        .header("x-ghl-signature", signature)
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| format!("bad webhook url: {e}"))?;
    match tokio::time::timeout(Duration::from_secs(10), client.request(req)).await {
        Ok(Ok(resp)) => Ok(resp.status().as_u16()),
        Ok(Err(e)) => Err(format!("delivery failed: {e}")),
        Err(_) => Err("delivery timed out".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_dates() {
        assert_eq!(iso_from_unix_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            iso_from_unix_ms(951_782_400_123),
            "2000-02-29T00:00:00.123Z"
        );
        assert_eq!(
            iso_from_unix_ms(1_795_341_600_000),
            "2026-11-22T10:00:00.000Z"
        );
    }

    #[test]
    fn rfc8032_public_key() {
        let seed = crate::config::parse_hex32(crate::config::DEFAULT_WEBHOOK_SEED).unwrap();
        let k = WebhookKey::from_seed(&seed);
        let hex: String = k.raw_public().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        assert!(k
            .pem()
            .starts_with("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA"));
    }
}
