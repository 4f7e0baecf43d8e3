//! Tests of `hoopauth::webhook`: the shared vectors plus round-trips through the
//! stateful verifier.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::PathBuf;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey};
use hoopauth::ErrorKind;
use hoopauth::{
    parse_webhook_event, verify_legacy_webhook, verify_webhook, RsaWebhookKey, Verification,
    VerifyReason, WebhookEvent, WebhookKey, WebhookVerifier, DEFAULT_MAX_AGE_MS,
    PLATFORM_ED25519_KEY, PLATFORM_RSA_KEY,
};
use serde_json::{json, Value};

fn vectors_dir() -> PathBuf {
    match std::env::var_os("HOOPAUTH_VECTORS") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/vectors")),
    }
}

#[test]
fn shared_vectors() {
    let path = vectors_dir().join("verify_webhook.json");
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("skipping: {} not found", path.display());
        return;
    };
    let file: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(file["op"], "verify_webhook");
    let cases = file["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let input = &case["input"];
        let expect = &case["expect"];
        let key = match input.get("public_key").and_then(Value::as_str) {
            None => Ok(WebhookKey::platform()),
            Some(text) => WebhookKey::parse(text),
        };
        let key = match (key, expect.get("error").and_then(Value::as_str)) {
            (Ok(key), None) => key,
            (Err(e), Some(kind)) => {
                if e.kind().as_str() != kind {
                    failures.push(format!("{name}: error {} != {kind}", e.kind()));
                }
                continue;
            }
            (Ok(_), Some(kind)) => {
                failures.push(format!("{name}: expected error {kind}, got a key"));
                continue;
            }
            (Err(e), None) => {
                failures.push(format!("{name}: unexpected error {e}"));
                continue;
            }
        };
        let body = input["body"].as_str().unwrap();
        let signature = input.get("signature").and_then(Value::as_str);
        let now_ms = input.get("now_ms").and_then(Value::as_u64);
        let max_age = input.get("max_age_ms").and_then(Value::as_u64).unwrap_or(DEFAULT_MAX_AGE_MS);
        let got = verify_webhook(&key, body.as_bytes(), signature, now_ms, max_age);
        assert_eq!(got.valid, got.reason == VerifyReason::Ok, "{name}");
        if let Some(valid) = expect.get("valid").and_then(Value::as_bool) {
            if got.valid != valid {
                failures.push(format!("{name}: valid {} != {valid}", got.valid));
            }
        }
        if let Some(reason) = expect.get("reason").and_then(Value::as_str) {
            if got.reason.as_str() != reason {
                failures.push(format!("{name}: reason {} != {reason}", got.reason.as_str()));
            }
        }
    }
    assert!(failures.is_empty(), "vector failures:\n{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------

const NOW: u64 = 1_795_341_600_000; // 2026-11-22T10:00:00.000Z

fn signing_key() -> SigningKey {
    SigningKey::from_bytes(&[7u8; 32])
}

fn test_key() -> WebhookKey {
    WebhookKey::parse(&STANDARD.encode(signing_key().verifying_key().to_bytes())).unwrap()
}

fn sign(body: &str) -> String {
    STANDARD.encode(signing_key().sign(body.as_bytes()).to_bytes())
}

fn body(id: Option<&str>, timestamp: &str) -> String {
    let mut v = json!({
        "type": "INSTALL",
        "appId": "app_1",
        "locationId": "loc_1",
        "timestamp": timestamp,
    });
    if let Some(id) = id {
        v["webhookId"] = json!(id);
    }
    v.to_string()
}

const OK: Verification = Verification { valid: true, reason: VerifyReason::Ok };
const BAD: Verification = Verification { valid: false, reason: VerifyReason::BadSignature };
const STALE: Verification = Verification { valid: false, reason: VerifyReason::Stale };
const DUP: Verification = Verification { valid: false, reason: VerifyReason::Duplicate };

#[test]
fn key_formats_agree() {
    let vk = signing_key().verifying_key();
    let raw = vk.to_bytes();
    let mut spki = vec![0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
    spki.extend_from_slice(&raw);
    let spki_b64 = STANDARD.encode(&spki);
    let pem = format!("-----BEGIN PUBLIC KEY-----\n{spki_b64}\n-----END PUBLIC KEY-----\n");
    let hex: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let url_nopad = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
    let expected = test_key();
    for text in [pem.clone(), spki_b64, hex.clone(), hex.to_uppercase(), url_nopad, format!("  {pem}  ")] {
        assert_eq!(WebhookKey::parse(&text).unwrap(), expected, "{text}");
    }
    assert_eq!(expected.to_bytes(), raw);
    // A PEM file with comments and several blocks: the Ed25519 block is found.
    let file = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/webhook-public-keys.pem"
    ));
    if let Ok(file) = file {
        assert_eq!(WebhookKey::parse(&file).unwrap(), WebhookKey::platform());
        assert!(RsaWebhookKey::parse(&file).is_ok());
    }
    assert_eq!(WebhookKey::parse(PLATFORM_ED25519_KEY).unwrap(), WebhookKey::platform());
}

#[test]
fn bad_keys_are_invalid_key() {
    let mut rsa_as_ed = String::from(PLATFORM_RSA_KEY);
    rsa_as_ed.push('\n');
    let small_order = "0100000000000000000000000000000000000000000000000000000000000000";
    // y = 2 is not on the curve.
    let off_curve = "0200000000000000000000000000000000000000000000000000000000000000";
    let cases = [
        "",
        "   ",
        "nope",
        "zz",
        &rsa_as_ed,
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VxAyEAi2HR1srL4o18O8BRa7gVJY7G7bupbN3H9AwJrHCDiOg=\n-----END PUBLIC KEY-----",
        "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2Vw",
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
        small_order,
        off_curve,
        "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbgA",
    ];
    for text in cases {
        let err = WebhookKey::parse(text).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidKey, "{text:?}");
    }
    assert_eq!(RsaWebhookKey::parse(PLATFORM_ED25519_KEY).unwrap_err().kind(), ErrorKind::InvalidKey);
    assert_eq!(RsaWebhookKey::parse("garbage").unwrap_err().kind(), ErrorKind::InvalidKey);
}

#[test]
fn stateless_round_trip_and_staleness() {
    let key = test_key();
    let b = body(None, "2026-11-22T10:00:00.000Z");
    let sig = sign(&b);
    assert_eq!(verify_webhook(&key, b.as_bytes(), Some(&sig), None, DEFAULT_MAX_AGE_MS), OK);
    assert_eq!(verify_webhook(&key, b.as_bytes(), Some(&sig), Some(NOW), DEFAULT_MAX_AGE_MS), OK);
    // exactly at the limit, both ways, is still fresh
    assert_eq!(verify_webhook(&key, b.as_bytes(), Some(&sig), Some(NOW + 300_000), 300_000), OK);
    assert_eq!(verify_webhook(&key, b.as_bytes(), Some(&sig), Some(NOW - 300_000), 300_000), OK);
    assert_eq!(verify_webhook(&key, b.as_bytes(), Some(&sig), Some(NOW + 300_001), 300_000), STALE);
    assert_eq!(verify_webhook(&key, b.as_bytes(), Some(&sig), Some(NOW - 300_001), 300_000), STALE);
    assert_eq!(verify_webhook(&key, b.as_bytes(), Some(&sig), Some(0), 300_000), STALE);
    assert_eq!(verify_webhook(&key, b.as_bytes(), Some(&sig), Some(u64::MAX), u64::MAX), OK);
    // the signature is checked first
    assert_eq!(verify_webhook(&key, b.as_bytes(), Some("N/A"), Some(0), 1), BAD);
    // url-safe, unpadded signatures are read too
    let raw_sig = signing_key().sign(b.as_bytes()).to_bytes();
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw_sig);
    assert_eq!(verify_webhook(&key, b.as_bytes(), Some(&url), None, 1), OK);
    for sig in [None, Some(""), Some("N/A"), Some("n/a"), Some("!!"), Some("c2hvcnQ=")] {
        assert_eq!(verify_webhook(&key, b.as_bytes(), sig, None, 1), BAD, "{sig:?}");
    }
    // a 65-byte signature
    let mut long = raw_sig.to_vec();
    long.push(0);
    assert_eq!(verify_webhook(&key, b.as_bytes(), Some(&STANDARD.encode(long)), None, 1), BAD);
    // the platform key does not verify our test signature
    assert_eq!(verify_webhook(&WebhookKey::platform(), b.as_bytes(), Some(&sig), None, 1), BAD);
}

#[test]
fn timestamp_forms() {
    let key = test_key();
    let check = |ts: Value, now: u64| {
        let b = json!({"type": "X", "timestamp": ts}).to_string();
        verify_webhook(&key, b.as_bytes(), Some(&sign(&b)), Some(now), 1_000).reason
    };
    assert_eq!(check(json!("2026-11-22T10:00:00Z"), NOW), VerifyReason::Ok);
    assert_eq!(check(json!("2026-11-22T12:00:00+02:00"), NOW), VerifyReason::Ok);
    assert_eq!(check(json!("2026-11-22T12:00:00.999+02:00"), NOW + 999), VerifyReason::Ok);
    assert_eq!(check(json!("2026-11-22T04:00:00-06:00"), NOW), VerifyReason::Ok);
    assert_eq!(check(json!(NOW), NOW), VerifyReason::Ok);
    assert_eq!(check(json!(NOW - 1_001), NOW), VerifyReason::Stale);
    assert_eq!(check(json!("2026-11-22T10:00:00"), NOW), VerifyReason::Stale); // no zone
    assert_eq!(check(json!("yesterday"), NOW), VerifyReason::Stale);
    assert_eq!(check(json!(null), NOW), VerifyReason::Stale);
    assert_eq!(check(json!(-5), NOW), VerifyReason::Stale);
    // missing timestamp, or a body that is not JSON, is stale when now is given
    for b in [r#"{"type":"X"}"#, "not json", "[1,2]"] {
        let v = verify_webhook(&key, b.as_bytes(), Some(&sign(b)), Some(NOW), 1_000);
        assert_eq!(v, STALE, "{b}");
        let v = verify_webhook(&key, b.as_bytes(), Some(&sign(b)), None, 1_000);
        assert_eq!(v, OK, "{b}");
    }
}

#[test]
fn verifier_round_trip_and_duplicates() {
    let mut verifier = WebhookVerifier::new(test_key());
    let b = body(Some("wh_1"), "2026-11-22T10:00:00.000Z");
    let sig = sign(&b);
    assert_eq!(verifier.verify(b.as_bytes(), Some(&sig), None, NOW), OK);
    assert_eq!(verifier.verify(b.as_bytes(), Some(&sig), None, NOW + 1), DUP);
    assert_eq!(verifier.seen_len(), 1);
    // a bad signature is not remembered, and does not consume the id
    let b2 = body(Some("wh_2"), "2026-11-22T10:00:00.000Z");
    assert_eq!(verifier.verify(b2.as_bytes(), Some(&sign(&b)), None, NOW), BAD);
    // a stale delivery is not remembered
    assert_eq!(verifier.verify(b2.as_bytes(), Some(&sign(&b2)), None, NOW + 400_000), STALE);
    assert_eq!(verifier.seen_len(), 1);
    assert_eq!(verifier.verify(b2.as_bytes(), Some(&sign(&b2)), None, NOW), OK);
    assert_eq!(verifier.seen_len(), 2);
    // bodies without webhookId are not deduplicated
    let b3 = body(None, "2026-11-22T10:00:00.000Z");
    assert_eq!(verifier.verify(b3.as_bytes(), Some(&sign(&b3)), None, NOW), OK);
    assert_eq!(verifier.verify(b3.as_bytes(), Some(&sign(&b3)), None, NOW), OK);
    assert_eq!(verifier.seen_len(), 2);
    // a replay long after is stale (the signature is fine)
    assert_eq!(verifier.verify(b.as_bytes(), Some(&sig), None, NOW + 300_001), STALE);
    // N/A header without an RSA key → bad_signature
    assert_eq!(verifier.verify(b.as_bytes(), Some("N/A"), Some("abc"), NOW), BAD);
    assert_eq!(verifier.verify(b.as_bytes(), None, None, NOW), BAD);
    verifier.clear_seen();
    assert_eq!(verifier.verify(b.as_bytes(), Some(&sig), None, NOW), OK);
}

#[test]
fn forget_seen_accepts_the_same_delivery_again() {
    let mut verifier = WebhookVerifier::new(test_key());
    let b1 = body(Some("wh_a"), "2026-11-22T10:00:00.000Z");
    let b2 = body(Some("wh_b"), "2026-11-22T10:00:00.000Z");
    assert_eq!(verifier.verify(b1.as_bytes(), Some(&sign(&b1)), None, NOW), OK);
    assert_eq!(verifier.verify(b2.as_bytes(), Some(&sign(&b2)), None, NOW), OK);
    assert_eq!(verifier.verify(b1.as_bytes(), Some(&sign(&b1)), None, NOW), DUP);
    verifier.forget_seen("wh_a");
    assert_eq!(verifier.seen_len(), 1);
    // an unknown id is ignored; the other id stays remembered
    verifier.forget_seen("wh_unknown");
    assert_eq!(verifier.seen_len(), 1);
    assert_eq!(verifier.verify(b2.as_bytes(), Some(&sign(&b2)), None, NOW), DUP);
    // the forgotten delivery is accepted again, then remembered again
    assert_eq!(verifier.verify(b1.as_bytes(), Some(&sign(&b1)), None, NOW), OK);
    assert_eq!(verifier.verify(b1.as_bytes(), Some(&sign(&b1)), None, NOW), DUP);
    assert_eq!(verifier.seen_len(), 2);
}

#[test]
fn seen_set_is_bounded() {
    let mut verifier = WebhookVerifier::with_capacity(test_key(), 3);
    assert_eq!(verifier.seen_capacity(), 3);
    let bodies: Vec<String> =
        (1..=5).map(|i| body(Some(&format!("wh_{i}")), "2026-11-22T10:00:00.000Z")).collect();
    for b in &bodies {
        assert_eq!(verifier.verify(b.as_bytes(), Some(&sign(b)), None, NOW), OK);
        assert!(verifier.seen_len() <= 3);
    }
    assert_eq!(verifier.seen_len(), 3);
    // the three most recent ids are remembered
    for b in &bodies[2..] {
        assert_eq!(verifier.verify(b.as_bytes(), Some(&sign(b)), None, NOW), DUP);
    }
    // documented: an evicted id (the oldest) is forgotten, so a still-fresh replay of it
    // is accepted again (and evicts the next-oldest)
    let first = &bodies[0];
    assert_eq!(verifier.verify(first.as_bytes(), Some(&sign(first)), None, NOW), OK);
    assert_eq!(verifier.seen_len(), 3);
    assert_eq!(verifier.verify(first.as_bytes(), Some(&sign(first)), None, NOW), DUP);

    // ids older than 2 × max_age are dropped: their replays are stale anyway
    let mut verifier = WebhookVerifier::new(test_key()).with_max_age_ms(1_000);
    let b = body(Some("old"), "2026-11-22T10:00:00.000Z");
    assert_eq!(verifier.verify(b.as_bytes(), Some(&sign(&b)), None, NOW), OK);
    let later = body(Some("new"), "2026-11-22T10:00:05.000Z");
    assert_eq!(verifier.verify(later.as_bytes(), Some(&sign(&later)), None, NOW + 5_000), OK);
    assert_eq!(verifier.seen_len(), 1);
    assert_eq!(verifier.verify(b.as_bytes(), Some(&sign(&b)), None, NOW + 5_000), STALE);

    // capacity 0 disables deduplication
    let mut verifier = WebhookVerifier::with_capacity(test_key(), 0);
    let b = &bodies[0];
    assert_eq!(verifier.verify(b.as_bytes(), Some(&sign(b)), None, NOW), OK);
    assert_eq!(verifier.verify(b.as_bytes(), Some(&sign(b)), None, NOW), OK);
}

#[test]
fn header_lookup_is_case_insensitive() {
    let mut verifier = WebhookVerifier::new(test_key());
    let b = body(Some("wh_h"), "2026-11-22T10:00:00.000Z");
    let headers = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("X-GHL-Signature".to_string(), sign(&b)),
    ];
    assert_eq!(verifier.verify_headers(b.as_bytes(), &headers, NOW), OK);
    assert_eq!(verifier.verify_headers(b.as_bytes(), &headers, NOW), DUP);
    let headers = vec![("x-ghl-signature".to_string(), "N/A".to_string())];
    assert_eq!(verifier.verify_headers(b.as_bytes(), &headers, NOW), BAD);
    assert_eq!(verifier.verify_headers(b.as_bytes(), &[], NOW), BAD);
}

// ---------------------------------------------------------------------------------------
// Legacy RSA

/// A 2048-bit RSA test key (PKCS#8 DER, base64), generated once with openssl. Test only.
const TEST_RSA_PKCS8: &[&str] = &[
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQDl9Y8nsgimCHZsqdGmBFVbes+S",
    "sv7V81rZgeZPQiAvX+41fdLw1Jj74CW3iJNhB9h+7wjYTIkLee4nG2tldCQJwN9qlSSv+8W6Qn62",
    "xKhZNnSavO1HNTtLmPXdtaFVPHsscaICiroMXcgI+uJ8wB2rKT7rGwwGxl3D5V5/OLBTdNEChTmC",
    "2vRme9G4vhjhXETiyqX6y49UngPBUbcDOsKNLjvtz2tpq27BEYYrdvijLIb3KToyFeCRvSmIH9be",
    "oYJ4BAmBgcIZqa8upJ411EVR7bSQlRGixOhh5uQmLONp8wu3QcKceKwR5QeQ4ojiuZeaUC8U9F9Q",
    "M6WL1Yt0qm+/AgMBAAECggEACxt0yjCNvWNMQQxkzXWJH+2LKCVQLMpf2YCuPKbPgipKibfln+9M",
    "4mGdwMMuhzHHUb4++Z+cwPqnN6lZ4yEceoIf6HiCuKNbFhePIknWbdS1BiJY/acDEbA2M/rJa6IL",
    "uwZUEnZb7Sv8dP6VQPxQkotf+CAq0Qr0zXj/OvrkfWtgFSfTaQ/i6Ni4egAhFm41xnf63ClMm7QF",
    "KOg0ourBddrKOAlzRbTt/hIWwJr5arA/5qQLLcOAMzC8wmP9n1odqxZ1/grnnOGUhqAuG524gLeY",
    "Cx6ROdPi9TH/UgTBqIopzn+epbnkZ6Nk3Moik5bOKexTYqH7+N8p/i5icRBzLQKBgQD9TTdviuU9",
    "6T3B6kgX2BzVayQ9h5UJlHT9ksxpTnTzdQ+13MSSBmX5LNZLAA1RbsXKyY4TgRiofgsCZ7AQR3SN",
    "bFVA5F36ReqYR+b+P6+H059JgdotQ94esB//Z6zrqXzUg1vGrZizwwXmRCYmiJV2h6F9rGwPxbdd",
    "Jiia8rqZkwKBgQDoaK9lX34GVNYdfxOdwtMhnR0PmdEBpWv06+Sl4xSg6E2/N3FepueCriTsv6Hw",
    "Lazstcx/YgssIgPrHAJGLb1kjTBLJArcBaD44Za04iQ+0AUBgKEQ5jDsn94P41Sv34fwYuQSYzS2",
    "joi36Kg3rI8kiDCrbVraKsM36W0AFF08pQKBgQCQ6jpK8FXSo7wXUufH7HYii1eCdC0J/Asqf2++",
    "14oFNvW0AAfd2xdABSzcX70+13cFW2aTNgpbazD1QUjzJ05BErd7lqtFYfajBI/c6aaMuL+qmEWw",
    "G+HaAL1tq2y8royiMDyzX+G7Blo7sMV6yi1oUJRNh/WS2HTdL9WPQEsNTQKBgDwZDfoF1n3mpDOe",
    "b8Ek5xnTGfe1y9FEKIV+FnM7JFNznt8qhBt4x3cIdy3tY//Kn+PaIxZxkPgJl7/NT108aLQ+ulVD",
    "7bb1kamqFCGUNNE1U4YO8BeBnvchY/fxzi1ofSuRNu72TmRCuWHtPMqgyaclvIgn0A2Ib1DfALu7",
    "iFytAoGAdsFNrlws/Kk+mZUBztE0RHWD0NPr0QtvWCwvR7IIrIPeCm6+z/YUlhTf76Q1lRNGKO+/",
    "WhxHBdNtjzBztvmLfZZz9/emoi05HIUcCo/Hv6coDM69BPhsrYLtT9nvOtR/7JM++LTz6fEnLtfU",
    "cgcJqQjYWnVVtIg51UXzMG5chnM=",];

fn rsa_test_keys() -> (rsa::RsaPrivateKey, RsaWebhookKey) {
    use rsa::pkcs8::{DecodePrivateKey as _, EncodePublicKey as _};
    let der = STANDARD.decode(TEST_RSA_PKCS8.concat()).unwrap();
    let private = rsa::RsaPrivateKey::from_pkcs8_der(&der).unwrap();
    let spki = private.to_public_key().to_public_key_der().unwrap();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        STANDARD.encode(spki.as_bytes())
    );
    (private, RsaWebhookKey::parse(&pem).unwrap())
}

fn rsa_sign(private: &rsa::RsaPrivateKey, body: &str) -> String {
    use sha2::Digest as _;
    let hashed = sha2::Sha256::digest(body.as_bytes());
    let sig = private.sign(rsa::Pkcs1v15Sign::new::<sha2::Sha256>(), &hashed).unwrap();
    STANDARD.encode(sig)
}

#[test]
fn platform_rsa_key_parses() {
    let key = RsaWebhookKey::platform().unwrap();
    assert_eq!(key.bits(), 4096);
    assert_eq!(RsaWebhookKey::parse(PLATFORM_RSA_KEY).unwrap(), key);
    let b = body(None, "2026-11-22T10:00:00.000Z");
    let garbage = STANDARD.encode([0x55u8; 512]);
    assert_eq!(verify_legacy_webhook(&key, b.as_bytes(), Some(&garbage), None, 1), BAD);
    assert_eq!(verify_legacy_webhook(&key, b.as_bytes(), Some("N/A"), None, 1), BAD);
    assert_eq!(verify_legacy_webhook(&key, b.as_bytes(), None, None, 1), BAD);
    assert!(format!("{key:?}").contains("4096"));
    assert!(WebhookVerifier::platform().is_ok());
}

#[test]
fn legacy_rsa_round_trip() {
    let (private, key) = rsa_test_keys();
    assert_eq!(key.bits(), 2048);
    let b = body(Some("wh_rsa"), "2026-11-22T10:00:00.000Z");
    let sig = rsa_sign(&private, &b);
    assert_eq!(verify_legacy_webhook(&key, b.as_bytes(), Some(&sig), Some(NOW), 300_000), OK);
    assert_eq!(verify_legacy_webhook(&key, b.as_bytes(), Some(&sig), Some(NOW + 300_001), 300_000), STALE);
    let tampered = b.replace("loc_1", "loc_2");
    assert_eq!(verify_legacy_webhook(&key, tampered.as_bytes(), Some(&sig), None, 1), BAD);
    // the platform key does not accept our signature
    let platform = RsaWebhookKey::platform().unwrap();
    assert_eq!(verify_legacy_webhook(&platform, b.as_bytes(), Some(&sig), None, 1), BAD);

    // through the verifier: x-wh-signature is used when x-ghl-signature is absent or N/A
    let mut verifier = WebhookVerifier::new(test_key()).with_rsa_key(key.clone());
    assert_eq!(verifier.verify(b.as_bytes(), Some("N/A"), Some(&sig), NOW), OK);
    assert_eq!(verifier.verify(b.as_bytes(), None, Some(&sig), NOW), DUP);
    // a present x-ghl-signature is preferred: a bad one is not rescued by x-wh-signature
    let b2 = body(Some("wh_rsa2"), "2026-11-22T10:00:00.000Z");
    let sig2 = rsa_sign(&private, &b2);
    assert_eq!(verifier.verify(b2.as_bytes(), Some("AAAA"), Some(&sig2), NOW), BAD);
    let headers = vec![
        ("X-Wh-Signature".to_string(), sig2.clone()),
        ("X-GHL-SIGNATURE".to_string(), "N/A".to_string()),
    ];
    assert_eq!(verifier.verify_headers(b2.as_bytes(), &headers, NOW), OK);
    // without an RSA key the legacy header is ignored
    let mut ed_only = WebhookVerifier::new(test_key());
    assert_eq!(ed_only.verify(b2.as_bytes(), None, Some(&sig2), NOW), BAD);
}

// ---------------------------------------------------------------------------------------
// Typed events

#[test]
fn typed_events() {
    let install = br#"{"type":"INSTALL","appId":"app_1","installType":"Location","locationId":"loc_1","companyId":"comp_1","userId":"u_1","companyName":"Acme","planId":"p1","timestamp":"2026-11-22T10:00:00.000Z","webhookId":"wh_1"}"#;
    let WebhookEvent::Install(ev) = parse_webhook_event(install).unwrap() else { panic!("not install") };
    assert_eq!(ev.app_id.as_deref(), Some("app_1"));
    assert_eq!(ev.install_type.as_deref(), Some("Location"));
    assert_eq!(ev.company_name.as_deref(), Some("Acme"));
    assert_eq!(ev.webhook_id.as_deref(), Some("wh_1"));
    let json = serde_json::to_value(WebhookEvent::Install(ev)).unwrap();
    assert_eq!(json["type"], "INSTALL");
    assert_eq!(json["app_id"], "app_1");
    assert_eq!(json["location_id"], "loc_1");
    assert_eq!(json["plan_id"], "p1");
    assert!(json["version_id"].is_null());

    let uninstall = br#"{"type":"UNINSTALL","appId":"app_1","locationId":"loc_1","timestamp":"t"}"#;
    let ev = parse_webhook_event(uninstall).unwrap();
    assert_eq!(ev.event_type(), "UNINSTALL");
    let json = serde_json::to_value(&ev).unwrap();
    assert_eq!(json["type"], "UNINSTALL");
    assert_eq!(json["app_id"], "app_1");
    assert!(json["company_id"].is_null());

    let other = br#"{"type":"ContactCreate","id":"c1","locationId":"loc_1"}"#;
    let ev = parse_webhook_event(other).unwrap();
    let WebhookEvent::Other { event_type, body } = &ev else { panic!("not other") };
    assert_eq!(event_type, "ContactCreate");
    assert_eq!(body["id"], "c1");
    let json = serde_json::to_value(&ev).unwrap();
    assert_eq!(json, json!({"type": "ContactCreate", "body": {"type":"ContactCreate","id":"c1","locationId":"loc_1"}}));

    for bad in [&b"not json"[..], b"[]", b"{}", br#"{"type":5}"#, b""] {
        assert_eq!(parse_webhook_event(bad).unwrap_err().kind(), ErrorKind::MalformedResponse);
    }
}

#[test]
fn reasons_and_debug() {
    assert_eq!(VerifyReason::Ok.as_str(), "ok");
    assert_eq!(VerifyReason::BadSignature.as_str(), "bad_signature");
    assert_eq!(VerifyReason::Stale.as_str(), "stale");
    assert_eq!(VerifyReason::Duplicate.as_str(), "duplicate");
    assert_eq!(serde_json::to_value(VerifyReason::BadSignature).unwrap(), "bad_signature");
    assert!(format!("{:?}", WebhookKey::platform()).contains("8b61d1d6"));
}
