//! Stateless verification of one delivery: the signature, then the age.

use super::freshness::check_freshness;
use super::{RsaWebhookKey, Verification, VerifyReason, WebhookKey};

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
