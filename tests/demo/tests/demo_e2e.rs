//! The demo in a short form against an in-process emulator with small limits and
//! short-lived tokens: no 429, no refused grant, no repeated refresh, every call done —
//! and the checks do fail when the platform is overrun.

use hoopauth_demo::runner::{read_rows, run_driver, RunnerOptions};
use hoopauth_demo::verdict::Plan;
use hoopauth_demo::{run, Options, Report};
use std::time::Duration;
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
fn the_runner_judges_a_driver_process_against_its_own_emulator() {
    // The Rust driver as an external driver: the runner starts the emulator, appends the
    // contract's arguments, reads the JSON line and the emulator's counters.
    let plan = Plan {
        calls: 60,
        locations: vec!["loc_1".into(), "loc_2".into()],
        max: 10,
        interval_ms: 500,
        token_ttl_ms: 1000,
        refresh_leeway_ms: 400,
    };
    let opts = RunnerOptions {
        name: "rust".into(),
        plan: plan.clone(),
        command: vec![env!("CARGO_BIN_EXE_hoopauth-demo").into()],
        timeout: Duration::from_secs(120),
        rows: None,
    };
    let v = run_driver(&opts).unwrap_or_else(|e| unreachable!("{e}"));
    assert!(v.passed(), "{:?}", v.problems);
    assert_eq!((v.ok, v.calls, v.rate_limited, v.invalid_grants), (60, 60, 0, 0));
    assert_eq!(v.ideal_ms, 1000, "30 calls per location at 10 per 500 ms");
    assert!(v.refreshes.iter().all(|(_, n)| *n >= 1 && *n <= v.max_refreshes), "{:?}", v.refreshes);
}

#[test]
fn the_runner_fails_a_driver_that_does_nothing() {
    let dir = std::env::temp_dir().join(format!("hoopauth-demo-runner-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let rows = dir.join("rows.jsonl");
    let _ = std::fs::remove_file(&rows);
    let mut plan = Plan::short();
    plan.calls = 3;
    let base = RunnerOptions {
        name: "idle".into(),
        plan,
        command: vec!["sh".into(), "-c".into(), r#"echo '{"calls": 3, "ok": 3, "wall_ms": 5}'"#.into(), "sh".into()],
        timeout: Duration::from_secs(60),
        rows: Some(rows.clone()),
    };
    // Says it made its calls, but the emulator answered none.
    let v = run_driver(&base).unwrap_or_else(|e| unreachable!("{e}"));
    assert_eq!(v.problems, vec!["0 of 3 calls answered 200".to_owned()]);
    // Exits 3 and prints nothing; a missing program; a driver that outlives its timeout.
    let quiet = RunnerOptions { name: "quiet".into(), command: vec!["sh".into(), "-c".into(), "exit 3".into()], ..base.clone() };
    let v = run_driver(&quiet).unwrap_or_else(|e| unreachable!("{e}"));
    assert!(v.problems.iter().any(|p| p == "driver exited 3"), "{:?}", v.problems);
    assert!(v.problems.iter().any(|p| p.contains("no JSON line")), "{:?}", v.problems);
    let missing = RunnerOptions { name: "missing".into(), command: vec!["/nonexistent/driver".into()], ..base.clone() };
    let v = run_driver(&missing).unwrap_or_else(|e| unreachable!("{e}"));
    assert!(v.problems.iter().any(|p| p.contains("could not start")), "{:?}", v.problems);
    let slow = RunnerOptions {
        name: "slow".into(),
        command: vec!["sh".into(), "-c".into(), "exec sleep 30".into(), "sh".into()],
        timeout: Duration::from_secs(1),
        ..base
    };
    let v = run_driver(&slow).unwrap_or_else(|e| unreachable!("{e}"));
    assert!(v.problems.iter().any(|p| p.contains("timed out after 1 s")), "{:?}", v.problems);
    // Every run appended its row.
    let rows = read_rows(&rows).unwrap_or_default();
    let names: Vec<&str> = rows.iter().map(|r| r.driver.as_str()).collect();
    assert_eq!(names, ["idle", "quiet", "missing", "slow"]);
    assert!(rows.iter().all(|r| !r.passed()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_install_scene_passes_with_the_rust_driver() {
    // A bulk INSTALL over webhooks, location tokens minted and minted again as they come due,
    // paced calls, one location uninstalled: the Rust driver over the core, judged by the runner.
    let opts = hoopauth_demo::install::InstallOptions {
        name: "rust".into(),
        plan: hoopauth_demo::install::InstallPlan::standard(),
        command: vec![env!("CARGO_BIN_EXE_hoopauth-demo").into(), "install-driver".into()],
        timeout: Duration::from_secs(120),
        rows: None,
    };
    let v = hoopauth_demo::install::run_install(&opts).unwrap_or_else(|e| unreachable!("{e}"));
    assert!(v.passed(), "{:?}", v.problems);
    assert_eq!((v.ok, v.calls, v.rate_limited, v.invalid_grants), (150, 150, 0, 0));
    assert!(v.refreshes.iter().all(|(_, n)| *n == 0), "{:?}", v.refreshes);
    assert!(v.mints.iter().all(|(_, n)| *n >= 2 && *n <= v.max_mints), "{:?}", v.mints);
    // A driver that answers nothing fails the scene.
    let idle = hoopauth_demo::install::InstallOptions {
        name: "idle".into(),
        command: vec!["sh".into(), "-c".into(), r#"echo '{"calls": 150, "ok": 150}'"#.into()],
        ..opts
    };
    let v = hoopauth_demo::install::run_install(&idle).unwrap_or_else(|e| unreachable!("{e}"));
    assert!(v.problems.iter().any(|p| p.contains("no location token minted")), "{:?}", v.problems);
    assert!(v.problems.iter().any(|p| p.contains("webhook deliveries")), "{:?}", v.problems);
}
