//! The receiver's replay verifier: keys, age limit and a bounded memory of accepted
//! `webhookId`s.

use std::collections::{HashSet, VecDeque};

use serde_json::Value;

use super::freshness::{is_fresh, parse_object};
use super::pem::header_present;
use super::{RsaWebhookKey, Verification, VerifyReason, WebhookKey, DEFAULT_MAX_AGE_MS, DEFAULT_SEEN_CAPACITY};
use crate::error::Result;

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

    /// The tolerated distance between a delivery's `timestamp` and `now` (ms).
    pub fn max_age_ms(&self) -> u64 {
        self.max_age_ms
    }

    /// How many accepted `webhookId`s are remembered at most.
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

    /// Forget one accepted `webhookId`, so that the same delivery is accepted again (while
    /// its body is still fresh). A receiver calls this when handling an accepted delivery
    /// failed, so that the platform's retry is handled in full instead of answered as a
    /// `duplicate`. An id not remembered is ignored.
    pub fn forget_seen(&mut self, webhook_id: &str) {
        if self.seen.remove(webhook_id) {
            self.order.retain(|(id, _)| id != webhook_id);
        }
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
