#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let _ = hoopauth::parse_callback(&s, None);
    let _ = hoopauth::parse_callback(&s, Some("expected"));
    if let Ok(state) = hoopauth::generate_state(data) {
        assert!(hoopauth::states_equal(&state, &state));
        let cb = format!("https://myapp.com/cb?code={}&state={state}", s.len());
        assert!(hoopauth::parse_callback(&cb, Some(&state)).is_ok(), "{cb}");
    }
});
