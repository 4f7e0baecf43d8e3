//! The install scene (`hoopauth-demo install -- COMMAND`): the app's whole life over webhooks.
//!
//! The runner starts a fresh emulator whose minted location tokens live
//! [`InstallPlan::location_token_ttl_secs`], then runs the driver with these arguments
//! appended:
//!
//! ```text
//! --base-url URL --client-id ID --client-secret S --webhook-key SPKI_BASE64 --calls N
//! --approved a,b,c --uninstall LOC --max N --interval-ms MS
//! ```
//!
//! The driver: serves its webhook endpoint on loopback, installs the app company-wide with a
//! bulk consent (`approved_locations=a,b,c` on the emulator's consent page, the code
//! exchanged with `userType` Company), asks the emulator for a bulk `INSTALL` delivered
//! twice (`POST /_emulator/webhooks/send {"type":"INSTALL","bulk":true,"times":2}`) and
//! answers each delivery with its client's webhook handling (verify, parse, apply: a location
//! token minted per approved location; the repeat answered as a duplicate); makes `N` API
//! calls spread over the approved locations (the minted tokens come due and are minted
//! again); then asks for `UNINSTALL` of `LOC` delivered twice (with the platform's
//! revocation) and answers it the same way. It prints one JSON line:
//!
//! ```text
//! {"calls", "ok", "failed", "failures", "wall_ms",
//!  "webhooks": [{"type", "status", "reason"}, ...]   (in delivery order)
//!  "reauthorizations",                                 (calls that ended asking for it)
//!  "stored_after_uninstall": ["comp_1", "loc_1", ...], (resources its store holds at the end)
//!  "uninstalled_call": "<error kind>" | "ok"}          (one call to LOC after the uninstall)
//! ```
//!
//! [`judge_install`] decides, from that line and the emulator's counters: every call
//! answered 200, 0 × 429, no refused grant, at most `max` requests of any resource in any
//! interval; each approved location minted (its first token) and minted again as its tokens
//! came due, never refreshed and within the due points the run crossed; the install applied
//! once and its repeat a duplicate, the same for the uninstall; no re-authorization; nothing
//! left in the store for the uninstalled location (the others kept), and a call to it after
//! the uninstall refused without a request reaching the platform.

use crate::verdict::Verdict;
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

/// What the install scene asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InstallPlan {
    pub calls: usize,
    /// The company's locations (the emulator's).
    pub locations: Vec<String>,
    /// The locations the bulk install approves.
    pub approved: Vec<String>,
    /// The location uninstalled at the end.
    pub uninstall: String,
    pub max: u64,
    pub interval_ms: u64,
    /// The life of a minted location token: the driver renews it after half of it at most.
    pub location_token_ttl_secs: u64,
}

impl InstallPlan {
    /// 150 calls over three approved locations of four, 20 per 1 s, 2 s location tokens:
    /// 50 calls per location take at least 2 s, so each location's token comes due mid-run.
    pub fn standard() -> Self {
        InstallPlan {
            calls: 150,
            locations: vec![
                "loc_1".into(),
                "loc_2".into(),
                "loc_3".into(),
                "loc_4".into(),
            ],
            approved: vec!["loc_1".into(), "loc_2".into(), "loc_3".into()],
            uninstall: "loc_2".into(),
            max: 20,
            interval_ms: 1000,
            location_token_ttl_secs: 2,
        }
    }

    /// The most mints a correct client makes for one location in `wall_ms`: its first, then
    /// one per due point crossed (a token is renewed after half its life at the earliest),
    /// plus two for renewals racing the run's start and end (a repeated mint doubles the
    /// count instead).
    pub fn mint_bound(&self, wall_ms: u64) -> u64 {
        let half = (self.location_token_ttl_secs * 1000 / 2).max(1);
        3 + wall_ms / half
    }

    /// The contract's arguments for a driver against the emulator.
    pub fn args(
        &self,
        base_url: &str,
        client_id: &str,
        client_secret: &str,
        webhook_key: &str,
    ) -> Vec<String> {
        [
            ("--base-url", base_url.to_owned()),
            ("--client-id", client_id.to_owned()),
            ("--client-secret", client_secret.to_owned()),
            ("--webhook-key", webhook_key.to_owned()),
            ("--calls", self.calls.to_string()),
            ("--approved", self.approved.join(",")),
            ("--uninstall", self.uninstall.clone()),
            ("--max", self.max.to_string()),
            ("--interval-ms", self.interval_ms.to_string()),
        ]
        .into_iter()
        .flat_map(|(k, v)| [k.to_owned(), v])
        .collect()
    }
}

/// One webhook delivery as the driver answered it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebhookAnswer {
    pub event_type: String,
    pub status: u64,
    pub reason: String,
}

/// The driver's JSON line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InstallLine {
    pub calls: Option<u64>,
    pub ok: Option<u64>,
    pub failed: Option<u64>,
    pub failures: BTreeMap<String, u64>,
    pub wall_ms: Option<u64>,
    pub webhooks: Vec<WebhookAnswer>,
    pub reauthorizations: Option<u64>,
    pub stored_after_uninstall: Option<Vec<String>>,
    pub uninstalled_call: Option<String>,
}

impl InstallLine {
    /// The last JSON object line of `stdout`.
    pub fn parse(stdout: &str) -> Option<Self> {
        stdout
            .lines()
            .rev()
            .map(str::trim)
            .filter(|l| l.starts_with('{'))
            .find_map(|l| {
                serde_json::from_str::<Value>(l)
                    .ok()
                    .filter(Value::is_object)
            })
            .map(|v| Self::from_json(&v))
    }

    pub fn from_json(v: &Value) -> Self {
        let n = |k: &str| v.get(k).and_then(Value::as_u64);
        let text = |v: &Value, k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        InstallLine {
            calls: n("calls"),
            ok: n("ok"),
            failed: n("failed"),
            failures: v
                .get("failures")
                .and_then(Value::as_object)
                .map(|m| {
                    m.iter()
                        .map(|(k, c)| (k.clone(), c.as_u64().unwrap_or(0)))
                        .collect()
                })
                .unwrap_or_default(),
            wall_ms: n("wall_ms"),
            webhooks: v
                .get("webhooks")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .map(|w| WebhookAnswer {
                            event_type: text(w, "type"),
                            status: w.get("status").and_then(Value::as_u64).unwrap_or(0),
                            reason: text(w, "reason"),
                        })
                        .collect()
                })
                .unwrap_or_default(),
            reauthorizations: n("reauthorizations"),
            stored_after_uninstall: v
                .get("stored_after_uninstall")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|s| s.as_str().map(String::from))
                        .collect()
                }),
            uninstalled_call: v
                .get("uninstalled_call")
                .and_then(Value::as_str)
                .map(String::from),
        }
    }
}

/// The emulator's counters the install verdict reads, per resource.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InstallCounters {
    pub requests: u64,
    pub ok: u64,
    pub rate_limited: u64,
    pub refreshes: u64,
    pub invalid_grants: u64,
    /// Code exchanges and location-token mints.
    pub token_exchanges: u64,
    /// The most requests admitted within any interval.
    pub max_in_interval: u64,
}

/// `GET /_emulator/stats` → counters per resource.
pub fn counters(stats: &Value) -> BTreeMap<String, InstallCounters> {
    let peaks = stats
        .get("max_in_interval_by_location")
        .and_then(Value::as_object);
    let mut out = BTreeMap::new();
    if let Some(res) = stats.get("resources").and_then(Value::as_object) {
        for (k, c) in res {
            let n = |f: &str| c.get(f).and_then(Value::as_u64).unwrap_or(0);
            out.insert(
                k.clone(),
                InstallCounters {
                    requests: n("requests"),
                    ok: n("ok"),
                    rate_limited: n("rate_limited"),
                    refreshes: n("refreshes"),
                    invalid_grants: n("invalid_grants"),
                    token_exchanges: n("token_exchanges"),
                    max_in_interval: 0,
                },
            );
        }
    }
    if let Some(p) = peaks {
        for (k, v) in p {
            out.entry(k.clone()).or_default().max_in_interval = v.as_u64().unwrap_or(0);
        }
    }
    out
}

/// Everything known about one install-scene run.
#[derive(Clone, Debug, Default)]
pub struct InstallEvidence {
    pub exit_failure: Option<String>,
    pub line: Option<InstallLine>,
    pub measured_wall_ms: u64,
    pub stats: BTreeMap<String, InstallCounters>,
}

/// Decide one install-scene run. The row is a [`Verdict`] (so `hoopauth-demo summary` shows
/// it beside the journey's): `refreshes` holds the approved locations' refreshes (none
/// allowed), `mints` their mints, `problems` why it failed.
pub fn judge_install(driver: &str, plan: &InstallPlan, ev: &InstallEvidence) -> Verdict {
    let mut p = Vec::new();
    let line = ev.line.clone().unwrap_or_default();
    if let Some(why) = &ev.exit_failure {
        p.push(format!("driver {why}"));
    }
    if ev.line.is_none() {
        p.push("no JSON line from the driver".to_owned());
    }
    let wall_ms = line.wall_ms.unwrap_or(ev.measured_wall_ms);
    let asked = plan.calls as u64;
    if let Some(made) = line.calls.filter(|&c| c != asked) {
        p.push(format!("{made} calls made, {asked} asked"));
    }
    let failed = line
        .failed
        .unwrap_or(0)
        .max(line.ok.map_or(0, |ok| asked.saturating_sub(ok)));
    if failed > 0 {
        let why = if line.failures.is_empty() {
            String::new()
        } else {
            format!(": {:?}", line.failures)
        };
        p.push(format!("{failed} calls failed{why}"));
    }
    let get = |id: &str| ev.stats.get(id).copied().unwrap_or_default();
    let ok: u64 = plan.approved.iter().map(|l| get(l).ok).sum();
    if ok < asked {
        p.push(format!("{ok} of {asked} calls answered 200"));
    }
    let rate_limited: u64 = ev.stats.values().map(|c| c.rate_limited).sum();
    let invalid_grants: u64 = ev.stats.values().map(|c| c.invalid_grants).sum();
    if rate_limited > 0 {
        p.push(format!("{rate_limited} requests answered 429"));
    }
    if invalid_grants > 0 {
        p.push(format!("{invalid_grants} grants refused (invalid_grant)"));
    }
    for (id, c) in &ev.stats {
        if c.max_in_interval > plan.max {
            p.push(format!(
                "{id}: {} requests in one interval, limit {}",
                c.max_in_interval, plan.max
            ));
        }
    }
    let bound = plan.mint_bound(wall_ms);
    let mut refreshes = Vec::new();
    let mut mints = Vec::new();
    for loc in &plan.approved {
        let c = get(loc);
        refreshes.push((loc.clone(), c.refreshes));
        mints.push((loc.clone(), c.token_exchanges));
        if c.refreshes > 0 {
            p.push(format!(
                "{loc}: {} refreshes of a minted location token (it must be minted again)",
                c.refreshes
            ));
        }
        if c.token_exchanges == 0 {
            p.push(format!(
                "{loc}: no location token minted after the bulk INSTALL"
            ));
        } else if c.token_exchanges < 2 && wall_ms > plan.location_token_ttl_secs * 1000 {
            p.push(format!(
                "{loc}: its token came due in the run but was never minted again"
            ));
        }
        if c.token_exchanges > bound {
            p.push(format!(
                "{loc}: {} mints, at most {bound} due points in {wall_ms} ms (a mint is repeated)",
                c.token_exchanges
            ));
        }
    }
    for loc in plan.locations.iter().filter(|l| !plan.approved.contains(l)) {
        if get(loc).token_exchanges > 0 || get(loc).requests > 0 {
            p.push(format!(
                "{loc}: not approved, yet a token was minted or a request sent for it"
            ));
        }
    }
    // The webhooks: INSTALL applied, its repeat a duplicate; the same for UNINSTALL.
    let hooks = &line.webhooks;
    let expect = [
        ("INSTALL", false),
        ("INSTALL", true),
        ("UNINSTALL", false),
        ("UNINSTALL", true),
    ];
    if hooks.len() != expect.len() {
        p.push(format!(
            "{} webhook deliveries answered, 4 expected (INSTALL twice, UNINSTALL twice)",
            hooks.len()
        ));
    }
    for (i, (h, (ty, dup))) in hooks.iter().zip(expect).enumerate() {
        if h.event_type != ty {
            p.push(format!(
                "delivery {}: type {:?}, expected {ty}",
                i + 1,
                h.event_type
            ));
        }
        if !(200..300).contains(&h.status) {
            p.push(format!(
                "delivery {} ({ty}): answered {} {:?}",
                i + 1,
                h.status,
                h.reason
            ));
        }
        if dup != (h.reason == "duplicate") {
            let want = if dup { "a duplicate" } else { "applied" };
            p.push(format!(
                "delivery {} ({ty}): reason {:?}, expected {want}",
                i + 1,
                h.reason
            ));
        }
    }
    match line.reauthorizations {
        Some(0) => {}
        Some(n) => p.push(format!("{n} calls asked for re-authorization")),
        None => p.push("the driver did not report re-authorizations".to_owned()),
    }
    match &line.stored_after_uninstall {
        None => p.push("the driver did not report its store after the uninstall".to_owned()),
        Some(ids) => {
            if ids.contains(&plan.uninstall) {
                p.push(format!(
                    "{}: tokens left in the store after UNINSTALL",
                    plan.uninstall
                ));
            }
            for loc in plan.approved.iter().filter(|l| **l != plan.uninstall) {
                if !ids.contains(loc) {
                    p.push(format!(
                        "{loc}: its tokens are gone from the store, yet only {} was uninstalled",
                        plan.uninstall
                    ));
                }
            }
        }
    }
    match line.uninstalled_call.as_deref() {
        None => p.push("the driver did not report its call after the uninstall".to_owned()),
        Some("ok") => p.push(format!(
            "{}: a call succeeded after UNINSTALL",
            plan.uninstall
        )),
        Some(_) => {}
    }
    // The emulator revoked the uninstalled location's tokens: a request with one of them
    // would be counted under `unknown` (an unknown token).
    let stale = get("unknown").requests;
    if stale > 0 {
        p.push(format!(
            "{stale} requests reached the platform with a revoked or unknown token"
        ));
    }
    let ideal = crate::ideal_ms(
        asked.div_ceil(plan.approved.len().max(1) as u64),
        plan.max,
        plan.interval_ms,
    );
    Verdict {
        driver: driver.to_owned(),
        calls: plan.calls,
        ok,
        rate_limited,
        invalid_grants,
        refreshes,
        max_refreshes: 0,
        wall_ms,
        ideal_ms: ideal,
        problems: p,
        mints,
        max_mints: bound,
    }
}

/// One `hoopauth-demo install` invocation.
#[derive(Clone, Debug)]
pub struct InstallOptions {
    pub name: String,
    pub plan: InstallPlan,
    pub command: Vec<String>,
    pub timeout: Duration,
    pub rows: Option<PathBuf>,
}

/// A fresh emulator, the driver, the verdict (appended to `rows` when given).
pub fn run_install(opts: &InstallOptions) -> Result<Verdict, String> {
    let plan = &opts.plan;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("no tokio runtime: {e}"))?;
    let cfg = hoopauth_emulator::EmulatorConfig {
        locations: plan.locations.clone(),
        max: plan.max,
        interval_ms: plan.interval_ms,
        location_token_ttl_secs: plan.location_token_ttl_secs,
        ..Default::default()
    };
    let emulator = rt
        .block_on(hoopauth_emulator::start(cfg))
        .map_err(|e| format!("the emulator did not start: {e}"))?;
    let base_url = emulator.base_url();
    println!(
        "\n==> install scene: {} driver — bulk INSTALL of {} (of {}), {} calls at {}/{} ms, {} s location tokens, UNINSTALL {}",
        opts.name,
        plan.approved.join(","),
        plan.locations.join(","),
        plan.calls,
        plan.max,
        plan.interval_ms,
        plan.location_token_ttl_secs,
        plan.uninstall
    );
    let _ = std::io::stdout().flush();
    let extra = plan.args(
        &base_url,
        emulator.client_id(),
        emulator.client_secret(),
        &emulator.webhook_public_key(),
    );
    let (exit_failure, stdout, measured_wall_ms) =
        crate::runner::run_process(&opts.command, &extra, opts.timeout);
    let stats = crate::emulator_stats(&base_url);
    rt.block_on(emulator.shutdown());
    let stats = stats?;
    let line = InstallLine::parse(&stdout);
    if line.is_none() && !stdout.trim().is_empty() {
        let lines: Vec<&str> = stdout.lines().collect();
        for l in &lines[lines.len().saturating_sub(5)..] {
            eprintln!("  {}: {l}", opts.name);
        }
    }
    let ev = InstallEvidence {
        exit_failure,
        line,
        measured_wall_ms,
        stats: counters(&stats),
    };
    let verdict = judge_install(&format!("{} install", opts.name), plan, &ev);
    if let Some(path) = &opts.rows {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        writeln!(f, "{}", verdict.to_json()).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(verdict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn passing() -> (InstallPlan, InstallEvidence) {
        let plan = InstallPlan::standard();
        let line = json!({
            "calls": 150, "ok": 150, "failed": 0, "wall_ms": 2600,
            "webhooks": [
                {"type": "INSTALL", "status": 200, "reason": "installed"},
                {"type": "INSTALL", "status": 200, "reason": "duplicate"},
                {"type": "UNINSTALL", "status": 200, "reason": "uninstalled"},
                {"type": "UNINSTALL", "status": 200, "reason": "duplicate"},
            ],
            "reauthorizations": 0,
            "stored_after_uninstall": ["comp_1", "loc_1", "loc_3"],
            "uninstalled_call": "unauthorized",
        });
        let stats = json!({
            "resources": {
                "loc_1": {"requests": 50, "ok": 50, "token_exchanges": 3},
                "loc_2": {"requests": 50, "ok": 50, "token_exchanges": 3},
                "loc_3": {"requests": 50, "ok": 50, "token_exchanges": 3},
                "comp_1": {"token_exchanges": 1},
            },
            "max_in_interval_by_location": {"loc_1": 20, "loc_2": 20, "loc_3": 20},
        });
        let ev = InstallEvidence {
            exit_failure: None,
            line: Some(InstallLine::from_json(&line)),
            measured_wall_ms: 2700,
            stats: counters(&stats),
        };
        (plan, ev)
    }

    #[test]
    fn a_clean_run_passes() {
        let (plan, ev) = passing();
        let v = judge_install("node install", &plan, &ev);
        assert!(v.passed(), "{:?}", v.problems);
        assert_eq!(
            v.mints,
            vec![
                ("loc_1".into(), 3),
                ("loc_2".into(), 3),
                ("loc_3".into(), 3)
            ]
        );
        assert_eq!(v.max_mints, 3 + 2600 / 1000);
        let back: Verdict = serde_json::from_str(&v.to_json()).unwrap_or_default();
        assert_eq!(back, v);
        assert!(v.human().contains("location tokens minted loc_1 3"));
    }

    #[test]
    fn each_rule_fails_a_run() {
        type Spoil = Box<dyn Fn(&mut InstallEvidence)>;
        let cases: Vec<(&str, Spoil)> = vec![
            (
                "refreshes of a minted",
                Box::new(|e| e.stats.entry("loc_1".into()).or_default().refreshes = 1),
            ),
            (
                "never minted again",
                Box::new(|e| e.stats.entry("loc_3".into()).or_default().token_exchanges = 1),
            ),
            (
                "no location token minted",
                Box::new(|e| e.stats.entry("loc_3".into()).or_default().token_exchanges = 0),
            ),
            (
                "a mint is repeated",
                Box::new(|e| e.stats.entry("loc_2".into()).or_default().token_exchanges = 9),
            ),
            (
                "answered 429",
                Box::new(|e| e.stats.entry("loc_2".into()).or_default().rate_limited = 2),
            ),
            (
                "in one interval",
                Box::new(|e| e.stats.entry("loc_2".into()).or_default().max_in_interval = 21),
            ),
            (
                "not approved",
                Box::new(|e| e.stats.entry("loc_4".into()).or_default().token_exchanges = 1),
            ),
            (
                "revoked or unknown token",
                Box::new(|e| e.stats.entry("unknown".into()).or_default().requests = 1),
            ),
            (
                "tokens left in the store",
                Box::new(|e| {
                    if let Some(l) = e.line.as_mut() {
                        l.stored_after_uninstall = Some(vec![
                            "comp_1".into(),
                            "loc_1".into(),
                            "loc_2".into(),
                            "loc_3".into(),
                        ]);
                    }
                }),
            ),
            (
                "expected a duplicate",
                Box::new(|e| {
                    if let Some(l) = e.line.as_mut() {
                        l.webhooks[1].reason = "installed".into();
                    }
                }),
            ),
            (
                "asked for re-authorization",
                Box::new(|e| {
                    if let Some(l) = e.line.as_mut() {
                        l.reauthorizations = Some(1);
                    }
                }),
            ),
            (
                "a call succeeded after UNINSTALL",
                Box::new(|e| {
                    if let Some(l) = e.line.as_mut() {
                        l.uninstalled_call = Some("ok".into());
                    }
                }),
            ),
            ("no JSON line", Box::new(|e| e.line = None)),
        ];
        for (want, spoil) in cases {
            let (plan, mut ev) = passing();
            spoil(&mut ev);
            let v = judge_install("x", &plan, &ev);
            assert!(
                v.problems.iter().any(|p| p.contains(want)),
                "{want}: {:?}",
                v.problems
            );
        }
    }
}
