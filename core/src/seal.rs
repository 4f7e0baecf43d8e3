//! Tokens at rest: the shared state a store keeps can be sealed with XChaCha20-Poly1305 under
//! a key the application supplies, so a dump of the store does not leak tokens. Nonces come from
//! the caller's random bytes (the core has no RNG); opening tries every key given, newest first,
//! so keys can be rotated.

use crate::error::{Error, ErrorKind, Result};
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// The prefix of a sealed record (format 1).
pub const SEALED_PREFIX: &str = "hs1.";
/// Bound to every sealed record as associated data.
const AAD: &[u8] = b"hoopauth shared state v1";

/// Keys for sealing and opening stored state: the first seals, every one opens.
#[derive(Clone, Default)]
pub struct Sealer {
    keys: Vec<[u8; 32]>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Sealer {{ keys: {} × [redacted] }}", self.keys.len())
    }
}

impl Sealer {
    /// Keys of 32 bytes each, the current one first (older ones only open).
    pub fn new(keys: &[&[u8]]) -> Result<Self> {
        if keys.is_empty() {
            return Err(Error::new(ErrorKind::InvalidConfig, "give at least one 32-byte key"));
        }
        let mut out = Vec::with_capacity(keys.len());
        for k in keys {
            let key: [u8; 32] = (*k)
                .try_into()
                .map_err(|_| Error::new(ErrorKind::InvalidConfig, format!("a key has {} bytes, not 32", k.len())))?;
            out.push(key);
        }
        Ok(Sealer { keys: out })
    }

    /// Seal `plaintext` with the current key and a 24-byte nonce from the caller's random bytes.
    pub fn seal(&self, plaintext: &[u8], nonce: &[u8; 24]) -> Result<String> {
        let key = self.keys.first().ok_or_else(|| Error::new(ErrorKind::InvalidConfig, "no key"))?;
        let cipher = XChaCha20Poly1305::new(key.into());
        let sealed = cipher
            .encrypt(XNonce::from_slice(nonce), Payload { msg: plaintext, aad: AAD })
            .map_err(|_| Error::new(ErrorKind::InvalidArgument, "sealing failed"))?;
        let mut raw = Vec::with_capacity(24 + sealed.len());
        raw.extend_from_slice(nonce);
        raw.extend_from_slice(&sealed);
        Ok(format!("{SEALED_PREFIX}{}", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)))
    }

    /// Open a sealed record with any of the keys.
    pub fn open(&self, sealed: &str) -> Result<Vec<u8>> {
        let bad = || Error::new(ErrorKind::StoreError, "the stored state cannot be opened with the keys given");
        let body = sealed.strip_prefix(SEALED_PREFIX).ok_or_else(bad)?;
        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(body).map_err(|_| bad())?;
        if raw.len() < 24 + 16 {
            return Err(bad());
        }
        let (nonce, ct) = raw.split_at(24);
        for key in &self.keys {
            let cipher = XChaCha20Poly1305::new(key.into());
            if let Ok(pt) = cipher.decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: AAD }) {
                return Ok(pt);
            }
        }
        Err(bad())
    }
}

/// Whether a stored record is sealed.
pub fn is_sealed(record: &str) -> bool {
    record.starts_with(SEALED_PREFIX)
}
