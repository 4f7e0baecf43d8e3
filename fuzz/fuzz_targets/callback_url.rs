#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let _ = hoopauth::parse_callback(&s, None);
    let _ = hoopauth::parse_callback(&s, Some("expected"));
});
