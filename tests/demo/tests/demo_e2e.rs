//! The demo in a short form against an in-process emulator with small limits and
//! short-lived tokens: no 429, no refused grant, no repeated refresh, every call done —
//! and the checks do fail when the platform is overrun.

use hoopauth_demo::{check, ideal_ms, run, LocationReport, Options, Report};
use hoopauth_emulator::{start, EmulatorConfig, Running};

fn emulator(rt: &tokio::runtime::Runtime, max: u64, interval_ms: u64, ttl_secs: u64) -> Running {
    let cfg = EmulatorConfig { max, interval_ms, token_ttl_secs: ttl_secs, ..Default::default() };
    match rt.block_on(start(cfg)) {
        Ok(r) => r,
        Err(e) => unreachable!("the emulator did not start: {e}"),
    }
}

fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => unreachable!("no tokio runtime: {e}"),
    }
}

fn options(emu: &Running, calls: usize, leeway_ms: u64) -> Options {
    let mut o = Options::new(&emu.base_url(), emu.client_id(), emu.client_secret());
    o.calls = calls;
    o.refresh_leeway_ms = leeway_ms;
    o
}

#[test]
fn short_demo_paces_refreshes_once_per_expiry_and_never_hits_429() {
    let rt = runtime();
    let emu = emulator(&rt, 10, 500, 1);
    // 30 calls per location at 10 per 500 ms: bursts at ~0, ~0.55, ~1.1 s; the 1 s tokens
    // (refreshed 400 ms early) expire before the last burst.
    let report = run(&options(&emu, 90, 400)).unwrap_or_else(|e| unreachable!("{e}"));
    eprint!("{}", report.human());
    assert!(report.passed(), "{:?}", report.problems);
    assert_eq!((report.calls, report.ok, report.failed), (90, 90, 0));
    assert_eq!((report.rate_limited, report.invalid_grants), (0, 0));
    assert_eq!((report.max, report.interval_ms), (10, 500), "limits learned from the headers");
    assert_eq!(report.ideal_ms, 1000);
    assert!(report.wall_ms >= report.ideal_ms, "faster than the limits allow: {}", report.wall_ms);
    for (loc, l) in &report.locations {
        assert!(l.emu_refreshes >= 1, "{loc}: the token expired mid-run but was never refreshed");
        assert!(l.emu_refreshes <= l.expiries_crossed, "{loc}: repeated refresh");
        assert_eq!(l.emu_refreshes, l.persists, "{loc}: every refresh persisted once");
    }
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap_or_default();
    assert_eq!(json["pass"], true);
    assert_eq!(json["calls"], 90);
    let line = report.to_json() + &report.human();
    assert!(!line.contains(emu.client_secret()), "the client secret leaked into the report");
}

#[test]
fn two_drivers_sharing_an_app_overrun_the_limit_and_the_report_says_so() {
    // Each driver paces itself; together they send twice the limit, so the platform answers
    // 429 and the report must fail.
    let rt = runtime();
    let emu = emulator(&rt, 10, 500, 3600);
    let opts = options(&emu, 60, 1000);
    let (a, b) = std::thread::scope(|s| {
        let ha = s.spawn(|| run(&opts));
        let hb = s.spawn(|| run(&opts));
        (ha.join(), hb.join())
    });
    let reports: Vec<Report> = [a, b].into_iter().filter_map(|r| r.ok()).filter_map(|r| r.ok()).collect();
    assert_eq!(reports.len(), 2);
    for r in &reports {
        assert!(r.rate_limited > 0, "the emulator saw no 429");
        assert!(!r.passed());
        assert!(r.problems.iter().any(|p| p.contains("429")), "{:?}", r.problems);
    }
}

#[test]
fn check_flags_repeated_refreshes_and_disagreements() {
    let mut r = Report { calls: 3, ok: 3, refresh_leeway_ms: 1000, ..Default::default() };
    let l = LocationReport {
        calls: 3,
        ok: 3,
        token_ttl_ms: 8000,
        expiries_crossed: 1,
        emu_refreshes: 2,
        refresh_sends: 2,
        persists: 2,
        emu_requests: 3,
        ..Default::default()
    };
    r.locations.insert("loc_1".into(), l.clone());
    check(&mut r, 3);
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert!(r.problems[0].contains("repeated"));

    let mut r2 = Report { calls: 3, ok: 3, refresh_leeway_ms: 1000, ..Default::default() };
    r2.locations.insert("loc_1".into(), LocationReport { emu_refreshes: 1, ..l.clone() });
    check(&mut r2, 3);
    assert!(r2.problems.iter().any(|p| p.contains("disagree")), "{:?}", r2.problems);

    let mut ok = Report { calls: 3, ok: 3, refresh_leeway_ms: 1000, ..Default::default() };
    ok.locations.insert("loc_1".into(), LocationReport { expiries_crossed: 2, ..l });
    check(&mut ok, 3);
    assert!(ok.passed(), "{:?}", ok.problems);

    let mut bad = Report { calls: 3, ok: 3, rate_limited: 1, invalid_grants: 1, ..Default::default() };
    check(&mut bad, 4);
    assert_eq!(bad.problems.len(), 3, "{:?}", bad.problems);
}

#[test]
fn ideal_time_is_whole_windows_after_the_first() {
    assert_eq!(ideal_ms(0, 100, 10_000), 0);
    assert_eq!(ideal_ms(100, 100, 10_000), 0);
    assert_eq!(ideal_ms(101, 100, 10_000), 10_000);
    assert_eq!(ideal_ms(334, 100, 10_000), 30_000);
    assert_eq!(ideal_ms(50, 20, 1000), 2000);
}
