//! The Ed25519 webhook key (`x-ghl-signature`) and the platform's published one.

use std::fmt;

use ed25519_dalek::{Signature, VerifyingKey};

use super::pem::{decode_base64_lenient, decode_hex, invalid_key, pem_blocks, signature_bytes};
use crate::error::{Error, ErrorKind, Result};

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

/// DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410), followed by the 32-byte key.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

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
    pub(super) fn verify_signature(&self, body: &[u8], signature: Option<&str>) -> bool {
        let Some(raw) = signature_bytes(signature) else { return false };
        let Ok(sig_bytes) = <[u8; 64]>::try_from(raw.as_slice()) else { return false };
        let Ok(vk) = VerifyingKey::from_bytes(&self.bytes) else { return false };
        let sig = Signature::from_bytes(&sig_bytes);
        vk.verify_strict(body, &sig).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_raw_matches_pem() {
        let parsed = WebhookKey::parse(PLATFORM_ED25519_KEY).ok();
        assert_eq!(parsed, Some(WebhookKey::platform()));
        assert!(WebhookKey::from_bytes(&PLATFORM_ED25519_RAW).is_ok());
    }
}
