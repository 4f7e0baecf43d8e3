//! Webhook verification with keys from the fuzz input: `verify_webhook`,
//! `verify_legacy_webhook` and a `WebhookVerifier` fed a sequence of deliveries (signed
//! in the target, so the freshness and duplicate checks are reached), compared with a
//! model of the documented behaviour.
#![no_main]
use arbitrary::Arbitrary;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use hoopauth::{verify_legacy_webhook, verify_webhook, RsaWebhookKey, VerifyReason, WebhookKey, WebhookVerifier};
use libfuzzer_sys::fuzz_target;
use std::collections::VecDeque;
use std::sync::OnceLock;

mod common;
use common::{iso8601, Json, T0};

include!("common/rsa_test_key.rs");

fn rsa_keys() -> &'static (rsa::RsaPrivateKey, RsaWebhookKey) {
    static KEYS: OnceLock<(rsa::RsaPrivateKey, RsaWebhookKey)> = OnceLock::new();
    KEYS.get_or_init(|| {
        use rsa::pkcs8::{DecodePrivateKey as _, EncodePublicKey as _};
        let der = STANDARD.decode(TEST_RSA_PKCS8.concat()).unwrap_or_default();
        let private = match rsa::RsaPrivateKey::from_pkcs8_der(&der) {
            Ok(k) => k,
            Err(e) => panic!("test key: {e}"),
        };
        let spki = private.to_public_key().to_public_key_der().map(|d| d.as_bytes().to_vec()).unwrap_or_default();
        let pem = format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", STANDARD.encode(spki));
        match RsaWebhookKey::parse(&pem) {
            Ok(k) => (private, k),
            Err(e) => panic!("test key: {e}"),
        }
    })
}

const PRESIGNED: usize = 8;

/// Legacy deliveries: bodies around `T0` (ids `wh_0`..`wh_3`, timestamps a minute apart)
/// with their RSA signatures, and each body's timestamp.
fn presigned() -> &'static [(Vec<u8>, String, i64)] {
    static BODIES: OnceLock<Vec<(Vec<u8>, String, i64)>> = OnceLock::new();
    BODIES.get_or_init(|| {
        (0..PRESIGNED)
            .map(|i| {
                let ts = T0 + i as u64 * 60_000;
                let body = serde_json::json!({"type": "INSTALL", "webhookId": format!("wh_{}", i % 4), "timestamp": iso8601(ts)});
                let body = body.to_string().into_bytes();
                let sig = rsa_sign(&body);
                (body, sig, ts as i64)
            })
            .collect()
    })
}

fn rsa_sign(body: &[u8]) -> String {
    use sha2::Digest as _;
    let hashed = sha2::Sha256::digest(body);
    rsa_keys().0.sign(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &hashed).map(|s| STANDARD.encode(s)).unwrap_or_default()
}

#[derive(Arbitrary, Debug, Clone)]
enum Id {
    None,
    Small(u8),
    Number(u8),
    Empty,
    Any(String),
    NotAString(bool),
}

#[derive(Arbitrary, Debug, Clone)]
enum Ts {
    /// ISO 8601, this many ms from now.
    Iso(i32),
    /// Unix ms as a JSON number, this many ms from now.
    Number(i32),
    Missing,
    Raw(String),
}

#[derive(Arbitrary, Debug, Clone)]
enum Sig {
    Good,
    Flip(u8, u8),
    NotApplicable,
    Empty,
    Missing,
    Garbage(String),
    /// A good signature of another body.
    OtherBody,
}

#[derive(Arbitrary, Debug, Clone)]
struct Delivery {
    id: Id,
    ts: Ts,
    /// ms since the previous delivery (negative: the clock went back).
    dt: i32,
    sig: Sig,
    legacy: bool,
    via_headers: bool,
    extra: Option<(String, Json)>,
    event_type: bool,
}

#[derive(Arbitrary, Debug)]
enum KeySource {
    Bytes,
    Hex,
    Pem,
}

#[derive(Arbitrary, Debug)]
struct Input {
    seed: [u8; 32],
    key_source: KeySource,
    capacity: u8,
    max_age_ms: Option<u32>,
    with_rsa: bool,
    deliveries: Vec<Delivery>,
    /// A key and a signature straight from the input.
    raw_key: [u8; 32],
    raw_sig: String,
    raw_body: Vec<u8>,
    raw_rsa_der: Vec<u8>,
}

impl Delivery {
    fn index(&self) -> usize {
        match &self.id {
            Id::Small(n) | Id::Number(n) => usize::from(*n),
            _ => 0,
        }
    }
}

fn body_of(d: &Delivery, now: u64) -> Vec<u8> {
    let mut m = serde_json::Map::new();
    if d.event_type {
        m.insert("type".into(), "INSTALL".into());
    }
    if let Some((k, v)) = &d.extra {
        m.insert(k.clone(), v.value());
    }
    match &d.id {
        Id::None => {}
        Id::Small(n) => {
            m.insert("webhookId".into(), format!("wh_{}", n % 8).into());
        }
        Id::Number(n) => {
            m.insert("webhookId".into(), (n % 8).into());
        }
        Id::Empty => {
            m.insert("webhookId".into(), "".into());
        }
        Id::Any(s) => {
            m.insert("webhookId".into(), s.clone().into());
        }
        Id::NotAString(b) => {
            m.insert("webhookId".into(), (*b).into());
        }
    }
    match &d.ts {
        Ts::Iso(off) => {
            m.insert("timestamp".into(), iso8601(now.saturating_add_signed(i64::from(*off))).into());
        }
        Ts::Number(off) => {
            m.insert("timestamp".into(), now.saturating_add_signed(i64::from(*off)).into());
        }
        Ts::Missing => {
            m.remove("timestamp");
        }
        Ts::Raw(s) => {
            m.insert("timestamp".into(), s.clone().into());
        }
    }
    serde_json::to_vec(&serde_json::Value::Object(m)).unwrap_or_default()
}

/// The body's `timestamp` and `webhookId` as the verifier reads them (only for bodies built
/// from `Ts::Iso` / `Ts::Number`; `None` = unknown, skip the freshness model).
fn model_ts(d: &Delivery, now: u64) -> Option<Option<i64>> {
    match &d.ts {
        Ts::Iso(off) | Ts::Number(off) => Some(Some(now.saturating_add_signed(i64::from(*off)) as i64)),
        Ts::Missing => Some(None),
        Ts::Raw(_) => None,
    }
}

fn model_id(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    match v.get("webhookId")? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fuzz_target!(|input: Input| {
    let sk = SigningKey::from_bytes(&input.seed);
    let vk = sk.verifying_key().to_bytes();
    let key = match input.key_source {
        KeySource::Bytes => WebhookKey::from_bytes(&vk),
        KeySource::Hex => WebhookKey::parse(&vk.iter().map(|b| format!("{b:02x}")).collect::<String>()),
        KeySource::Pem => {
            let der = [&[0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00][..], &vk[..]].concat();
            WebhookKey::parse(&format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", STANDARD.encode(der)))
        }
    };
    let key = match key {
        Ok(k) => k,
        Err(e) => panic!("the public key of a signing key must parse: {e}"),
    };
    let max_age = input.max_age_ms.map_or(hoopauth::DEFAULT_MAX_AGE_MS, u64::from);
    let capacity = usize::from(input.capacity % 6);
    let mut verifier = WebhookVerifier::with_capacity(key, capacity).with_max_age_ms(max_age);
    if input.with_rsa {
        verifier = verifier.with_rsa_key(rsa_keys().1.clone());
    }
    // Model of the seen set: ids in acceptance order with their acceptance time.
    let mut seen: VecDeque<(String, u64)> = VecDeque::new();
    let mut now = T0;
    for d in input.deliveries.iter().take(64) {
        now = now.saturating_add_signed(i64::from(d.dt));
        let legacy = d.legacy && input.with_rsa;
        // RSA signing is slow (tens of ms): legacy deliveries use bodies signed once.
        let (body, good, ts_model) = if legacy {
            let (b, sig, ts) = &presigned()[d.index() % PRESIGNED];
            (b.clone(), sig.clone(), Some(Some(*ts)))
        } else {
            let b = body_of(d, now);
            let sig = STANDARD.encode(sk.sign(&b).to_bytes());
            (b, sig, model_ts(d, now))
        };
        let (sig, sig_ok): (Option<String>, Option<bool>) = match &d.sig {
            Sig::Good => (Some(good), Some(true)),
            Sig::Flip(i, x) => {
                let mut raw = STANDARD.decode(&good).unwrap_or_default();
                let n = raw.len();
                if let Some(b) = raw.get_mut(usize::from(*i) % n.max(1)) {
                    *b ^= (*x).max(1);
                }
                (Some(STANDARD.encode(raw)), Some(false))
            }
            Sig::NotApplicable => (Some("N/A".into()), Some(false)),
            Sig::Empty => (Some(String::new()), Some(false)),
            Sig::Missing => (None, Some(false)),
            Sig::Garbage(s) => (Some(s.clone()), None),
            Sig::OtherBody => {
                let s = if legacy {
                    presigned()[(d.index() + 1) % PRESIGNED].1.clone()
                } else {
                    STANDARD.encode(sk.sign(&[body.as_slice(), b" "].concat()).to_bytes())
                };
                (Some(s), Some(false))
            }
        };
        let (ghl, wh) = if legacy { (None, sig.as_deref()) } else { (sig.as_deref(), None) };
        let got = if d.via_headers {
            let mut h = Vec::new();
            if let Some(v) = ghl {
                h.push(("X-GHL-Signature".to_owned(), v.to_owned()));
            }
            if let Some(v) = wh {
                h.push(("x-wh-signature".to_owned(), v.to_owned()));
            }
            verifier.verify_headers(&body, &h, now)
        } else {
            verifier.verify(&body, ghl, wh, now)
        };
        assert_eq!(got.valid, got.reason == VerifyReason::Ok);
        assert!(verifier.seen_len() <= capacity);

        // Stateless verification agrees on the signature and the freshness.
        if !legacy {
            let stateless = verify_webhook(&key, &body, sig.as_deref(), Some(now), max_age);
            let no_clock = verify_webhook(&key, &body, sig.as_deref(), None, max_age);
            assert_eq!(no_clock.reason == VerifyReason::BadSignature, stateless.reason == VerifyReason::BadSignature);
            if no_clock.reason != VerifyReason::BadSignature {
                assert_eq!(no_clock.reason, VerifyReason::Ok);
            }
            match got.reason {
                VerifyReason::BadSignature => assert_eq!(stateless.reason, VerifyReason::BadSignature),
                VerifyReason::Stale => assert_eq!(stateless.reason, VerifyReason::Stale),
                VerifyReason::Ok | VerifyReason::Duplicate => assert_eq!(stateless.reason, VerifyReason::Ok),
            }
        } else {
            let stateless = verify_legacy_webhook(&rsa_keys().1, &body, sig.as_deref(), Some(now), max_age);
            assert_eq!(got.reason == VerifyReason::BadSignature, stateless.reason == VerifyReason::BadSignature);
        }

        // The model: predict the reason when the input decides it, then keep the seen set
        // in step with what the verifier did.
        let horizon = max_age.saturating_mul(2);
        let id = model_id(&body);
        if let (Some(sig_ok), Some(ts)) = (sig_ok, ts_model) {
            let fresh = ts.is_some_and(|ts| (i128::from(now) - i128::from(ts)).unsigned_abs() <= u128::from(max_age));
            let expect = if !sig_ok {
                VerifyReason::BadSignature
            } else if !fresh {
                VerifyReason::Stale
            } else {
                // Pruning drops from the front only while the front is older than the horizon.
                let mut pruned = seen.clone();
                while pruned.front().is_some_and(|(_, at)| now.saturating_sub(*at) > horizon) {
                    pruned.pop_front();
                }
                match &id {
                    Some(id) if pruned.iter().any(|(s, _)| s == id) => VerifyReason::Duplicate,
                    _ => VerifyReason::Ok,
                }
            };
            assert_eq!(got.reason, expect, "{d:?}");
        }
        if matches!(got.reason, VerifyReason::Ok | VerifyReason::Duplicate) {
            while seen.front().is_some_and(|(_, at)| now.saturating_sub(*at) > horizon) {
                seen.pop_front();
            }
        }
        if got.reason == VerifyReason::Ok && capacity > 0 {
            if let Some(id) = id {
                while seen.len() >= capacity {
                    seen.pop_front();
                }
                seen.push_back((id, now));
            }
        }
        assert_eq!(verifier.seen_len(), seen.len());
    }

    // Keys and signatures straight from the input: never a panic.
    if let Ok(k) = WebhookKey::from_bytes(&input.raw_key) {
        let _ = verify_webhook(&k, &input.raw_body, Some(&input.raw_sig), Some(now), max_age);
    }
    if let Ok(k) = WebhookKey::parse(&input.raw_sig) {
        let _ = verify_webhook(&k, &input.raw_body, Some(&input.raw_sig), None, max_age);
    }
    let pem = format!("-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n", STANDARD.encode(&input.raw_rsa_der));
    if let Ok(k) = RsaWebhookKey::parse(&pem) {
        let _ = verify_legacy_webhook(&k, &input.raw_body, Some(&input.raw_sig), Some(now), max_age);
    }
    if input.with_rsa {
        let _ = verify_legacy_webhook(&rsa_keys().1, &input.raw_body, Some(&input.raw_sig), Some(now), max_age);
    }
});
