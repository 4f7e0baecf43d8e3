//! The legacy RSA webhook key (`x-wh-signature`, RSASSA-PKCS1-v1_5 with SHA-256), behind
//! the `legacy-rsa` feature.

use std::fmt;
#[cfg(feature = "legacy-rsa")]
use std::sync::OnceLock;

#[cfg(feature = "legacy-rsa")]
use rsa::pkcs1::DecodeRsaPublicKey as _;
#[cfg(feature = "legacy-rsa")]
use rsa::pkcs8::DecodePublicKey as _;
#[cfg(feature = "legacy-rsa")]
use rsa::traits::PublicKeyParts as _;
#[cfg(feature = "legacy-rsa")]
use rsa::{Pkcs1v15Sign, RsaPublicKey};
#[cfg(feature = "legacy-rsa")]
use sha2::{Digest as _, Sha256};

use super::pem::invalid_key;
#[cfg(feature = "legacy-rsa")]
use super::pem::{pem_blocks, signature_bytes};
use crate::error::Result;

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

/// Smallest RSA modulus accepted for legacy verification.
#[cfg(feature = "legacy-rsa")]
const MIN_RSA_BITS: usize = 2048;

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
    /// Modulus size in bits (never called: no key exists in this build).
    pub fn bits(&self) -> usize {
        match self.never {}
    }
    pub(super) fn verify_signature(&self, _body: &[u8], _signature: Option<&str>) -> bool {
        match self.never {}
    }
}

#[cfg(feature = "legacy-rsa")]
impl RsaWebhookKey {
    /// Read an RSA public key: PEM `PUBLIC KEY` (SPKI) or `RSA PUBLIC KEY` (PKCS#1); the
    /// first RSA block of the text is used. Keys under 2048 bits or over 4096 bits, other
    /// algorithms and garbage → [`ErrorKind::InvalidKey`](crate::ErrorKind::InvalidKey).
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

    pub(super) fn verify_signature(&self, body: &[u8], signature: Option<&str>) -> bool {
        let Some(sig) = signature_bytes(signature) else { return false };
        if sig.len() != self.key.size() {
            return false;
        }
        let hashed = Sha256::digest(body);
        self.key.verify(Pkcs1v15Sign::new::<Sha256>(), &hashed, &sig).is_ok()
    }
}

#[cfg(all(test, feature = "legacy-rsa"))]
mod tests {
    use super::*;

    #[test]
    fn platform_rsa_parses() {
        let bits = RsaWebhookKey::platform().map(|k| k.bits()).ok();
        assert_eq!(bits, Some(4096));
    }
}
