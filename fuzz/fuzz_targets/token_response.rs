#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (status, body) = match data.split_first() {
        Some((s, rest)) => (200 + u16::from(*s) * 2, rest),
        None => (200, data),
    };
    let _ = hoopauth::parse_token_response(status, &[], body, 1_767_225_600_000);
    let _ = hoopauth::classify_response(status, &[], body, Some(0));
});
