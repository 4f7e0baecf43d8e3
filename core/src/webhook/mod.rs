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
//!
//! Layout: `pem` (key and signature text), `key` (Ed25519), `legacy` (RSA), `freshness`
//! (the body's ISO-8601 `timestamp`), `verify` (stateless checks), `verifier` (the replay
//! verifier), `event` (typed events). Every public item is re-exported here, so the paths
//! `hoopauth::webhook::*` are the API.

use std::fmt;

mod event;
mod freshness;
mod key;
mod legacy;
mod pem;
mod verifier;
mod verify;

pub use crate::time::parse_iso8601_ms;
pub use event::{parse_webhook_event, InstallEvent, UninstallEvent, WebhookEvent};
pub use key::{WebhookKey, PLATFORM_ED25519_KEY};
pub use legacy::{RsaWebhookKey, PLATFORM_RSA_KEY};
pub use verifier::WebhookVerifier;
pub use verify::{verify_legacy_webhook, verify_webhook};

/// Default tolerated distance between a delivery's `timestamp` and `now` (5 minutes).
pub const DEFAULT_MAX_AGE_MS: u64 = 300_000;

/// Default number of `webhookId`s a [`WebhookVerifier`] remembers.
pub const DEFAULT_SEEN_CAPACITY: usize = 10_000;

// ---------------------------------------------------------------------------------------
// Results
// ---------------------------------------------------------------------------------------

/// Why a delivery was accepted or rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifyReason {
    /// Signature valid, fresh, not seen before.
    Ok,
    /// The signature is missing, malformed or wrong.
    BadSignature,
    /// The body's `timestamp` is missing, unreadable or too far from now.
    Stale,
    /// The `webhookId` was accepted before.
    Duplicate,
}

impl VerifyReason {
    /// The reason named by [`VerifyReason::as_str`], if `name` is one.
    pub fn from_name(name: &str) -> Option<VerifyReason> {
        [VerifyReason::Ok, VerifyReason::BadSignature, VerifyReason::Stale, VerifyReason::Duplicate]
            .into_iter()
            .find(|r| r.as_str() == name)
    }

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
    /// Whether the delivery is accepted.
    pub valid: bool,
    /// Why.
    pub reason: VerifyReason,
}

impl Verification {
    pub(super) fn from_reason(reason: VerifyReason) -> Verification {
        Verification { valid: reason == VerifyReason::Ok, reason }
    }
}
