#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let _ = hoopauth::WebhookKey::parse(&s);
    let _ = hoopauth::parse_webhook_event(data);
    let key = hoopauth::WebhookKey::platform();
    let (sig, body) = s.split_at(s.char_indices().nth(88).map_or(s.len(), |(i, _)| i));
    let _ = hoopauth::verify_webhook(&key, body.as_bytes(), Some(sig), Some(1_795_341_660_000), 300_000);
    let mut v = hoopauth::WebhookVerifier::new(key);
    let headers = vec![("x-ghl-signature".to_owned(), sig.to_owned())];
    let _ = v.verify_headers(body.as_bytes(), &headers, 1_795_341_660_000);
});
