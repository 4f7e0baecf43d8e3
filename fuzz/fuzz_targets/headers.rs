#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let headers: Vec<(String, String)> = s
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    let _ = hoopauth::parse_rate_limit_headers(&headers);
    let _ = hoopauth::classify_response(429, &headers, b"", Some(1_445_412_475_000));
    let mut l = hoopauth::RateLimiter::default();
    l.observe(10, 429, &headers);
    l.observe(20, 200, &headers);
    let _ = l.acquire(30);
});
