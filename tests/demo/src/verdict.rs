//! The demo's verdict, in one place: what a run asked for ([`Plan`]), what the emulator
//! counted ([`Stats`]) and what the driver said ([`DriverLine`]) go in; [`judge`] decides.
//! The Rust driver judges its own run with it, and the runner (`hoopauth-demo run`) judges
//! every driver — Rust, Python, Node, WASM — with it.
//!
//! A run fails on: a driver that did not exit 0 or printed no JSON line, fewer calls made or
//! answered 200 than asked, any 429, any refused grant (`invalid_grant`), and, for some
//! location, more refreshes than token lives crossed in the run
//! (`floor(wall_ms / (token_ttl − refresh_leeway))`): a repeated refresh. When the driver
//! reports the refreshes it sent (and persisted) per location, they must match the emulator's.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// What a demo run asks for: the load, and the platform the emulator plays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    /// API calls in all, spread evenly over the locations (the first ones get the remainder).
    pub calls: usize,
    pub locations: Vec<String>,
    /// The platform's limit: `max` requests per resource in any `interval_ms`.
    pub max: u64,
    pub interval_ms: u64,
    /// The access tokens' life.
    pub token_ttl_ms: u64,
    /// The drivers refresh this long before expiry.
    pub refresh_leeway_ms: u64,
}

impl Plan {
    /// `make demo`: 1,000 calls over three locations, the platform's 100 per 10 s, 8 s tokens
    /// refreshed 1 s early (four refreshes per location in the 30 s the limits take).
    pub fn full() -> Self {
        Plan {
            calls: 1000,
            locations: vec!["loc_1".into(), "loc_2".into(), "loc_3".into()],
            max: 100,
            interval_ms: 10_000,
            token_ttl_ms: 8_000,
            refresh_leeway_ms: 1_000,
        }
    }

    /// `scripts/demo.sh --short` (CI): 150 calls, 20 per 1 s, 2 s tokens.
    pub fn short() -> Self {
        Plan { calls: 150, max: 20, interval_ms: 1_000, token_ttl_ms: 2_000, ..Plan::full() }
    }

    /// Calls per location, in the order of `locations`.
    pub fn calls_per_location(&self) -> Vec<usize> {
        let n = self.locations.len();
        (0..n).map(|i| self.calls / n + usize::from(i < self.calls % n)).collect()
    }

    /// The least time the limits allow: the busiest location's [`ideal_ms`].
    pub fn ideal_ms(&self) -> u64 {
        self.calls_per_location().into_iter().map(|n| ideal_ms(n as u64, self.max, self.interval_ms)).max().unwrap_or(0)
    }

    /// The most refreshes a correct client may make for one location in `wall_ms`:
    /// `floor(wall_ms / (token_ttl − refresh_leeway))`; `None` when the leeway is not
    /// shorter than the token's life (every call would refresh).
    pub fn refresh_bound(&self, wall_ms: u64) -> Option<u64> {
        let life = self.token_ttl_ms.checked_sub(self.refresh_leeway_ms).filter(|l| *l > 0)?;
        Some(wall_ms / life)
    }
}

/// `(ceil(n / max) − 1) · interval`: the least time `n` calls to one resource need.
pub fn ideal_ms(n: u64, max: u64, interval_ms: u64) -> u64 {
    if n == 0 || max == 0 {
        return 0;
    }
    (n.div_ceil(max) - 1) * interval_ms
}

/// The emulator's counters for one resource (or all of them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub requests: u64,
    pub ok: u64,
    pub rate_limited: u64,
    pub refreshes: u64,
    pub invalid_grants: u64,
}

impl Counters {
    fn from_json(v: Option<&Value>) -> Self {
        let n = |k: &str| v.and_then(|v| v.get(k)).and_then(Value::as_u64).unwrap_or(0);
        Counters {
            requests: n("requests"),
            ok: n("ok"),
            rate_limited: n("rate_limited"),
            refreshes: n("refreshes"),
            invalid_grants: n("invalid_grants"),
        }
    }
}

/// `GET /_emulator/stats`, the part the verdict reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub resources: BTreeMap<String, Counters>,
    pub totals: Counters,
}

impl Stats {
    pub fn from_json(v: &Value) -> Self {
        let resources = v
            .get("resources")
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, c)| (k.clone(), Counters::from_json(Some(c)))).collect())
            .unwrap_or_default();
        Stats { resources, totals: Counters::from_json(v.get("totals")) }
    }

    /// One resource's counters (zeros when the emulator never saw it).
    pub fn resource(&self, id: &str) -> Counters {
        self.resources.get(id).copied().unwrap_or_default()
    }
}

/// What a driver says about its run: its JSON line on stdout. Every field is optional; the
/// emulator's counters decide what the driver does not say.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DriverLine {
    /// Calls made.
    pub calls: Option<u64>,
    /// Calls that succeeded, as the driver counted them.
    pub ok: Option<u64>,
    /// Calls that failed.
    pub failed: Option<u64>,
    /// Why they failed (error kind → count), when the driver says (`failures`).
    pub failures: BTreeMap<String, u64>,
    /// The run's time from before the first authorization to the last answer
    /// (`wall_ms`, or `wall_time_s` in seconds).
    pub wall_ms: Option<u64>,
    /// Refresh requests sent, per location (`refresh_sends_by_location`).
    pub refresh_sends: Option<BTreeMap<String, u64>>,
    /// Refreshed token sets persisted, per location (`persists_by_location`).
    pub persists: Option<BTreeMap<String, u64>>,
}

impl DriverLine {
    /// The last line of `stdout` that is a JSON object; `None` when there is none.
    pub fn parse(stdout: &str) -> Option<Self> {
        stdout
            .lines()
            .rev()
            .map(str::trim)
            .filter(|l| l.starts_with('{'))
            .find_map(|l| serde_json::from_str::<Value>(l).ok().filter(Value::is_object))
            .map(|v| Self::from_json(&v))
    }

    pub fn from_json(v: &Value) -> Self {
        let n = |k: &str| v.get(k).and_then(Value::as_u64);
        let map = |k: &str| {
            v.get(k).and_then(Value::as_object).map(|m| {
                m.iter().map(|(k, c)| (k.clone(), c.as_u64().unwrap_or(0))).collect::<BTreeMap<_, _>>()
            })
        };
        let secs = v.get("wall_time_s").and_then(Value::as_f64).filter(|s| *s >= 0.0).map(|s| (s * 1000.0).round() as u64);
        DriverLine {
            calls: n("calls"),
            ok: n("ok"),
            failed: n("failed"),
            failures: map("failures").unwrap_or_default(),
            wall_ms: n("wall_ms").or(secs),
            refresh_sends: map("refresh_sends_by_location"),
            persists: map("persists_by_location"),
        }
    }
}

/// Everything known about one driver's run.
#[derive(Clone, Debug, Default)]
pub struct Evidence {
    /// Why the driver process failed (`exited 1`, `timed out after 900 s`); `None` when it
    /// exited 0.
    pub exit_failure: Option<String>,
    /// The driver's JSON line, if it printed one.
    pub line: Option<DriverLine>,
    /// The run's time as measured from outside (used when the driver does not say).
    pub measured_wall_ms: u64,
    pub stats: Stats,
}

/// The judgement of one run: the numbers people read, and why it failed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub driver: String,
    pub calls: usize,
    /// Calls answered 200 (the emulator's count).
    pub ok: u64,
    pub rate_limited: u64,
    pub invalid_grants: u64,
    /// Refreshes per location (the emulator's count), in the plan's order.
    pub refreshes: Vec<(String, u64)>,
    /// The most refreshes allowed per location ([`Plan::refresh_bound`]).
    pub max_refreshes: u64,
    pub wall_ms: u64,
    pub ideal_ms: u64,
    /// Empty when the run passed.
    pub problems: Vec<String>,
    /// The install scene ([`crate::install`]): location tokens minted per location (the
    /// emulator's count); empty for the journey.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mints: Vec<(String, u64)>,
    /// The install scene: the most mints allowed per location.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub max_mints: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Decide one run. The one place the demo's pass/fail rules live.
pub fn judge(driver: &str, plan: &Plan, ev: &Evidence) -> Verdict {
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
    let failed = line.failed.unwrap_or(0).max(line.ok.map_or(0, |ok| asked.saturating_sub(ok)));
    if failed > 0 {
        let why = if line.failures.is_empty() { String::new() } else { format!(": {:?}", line.failures) };
        p.push(format!("{failed} calls failed{why}"));
    }
    let ok: u64 = plan.locations.iter().map(|l| ev.stats.resource(l).ok).sum();
    if ok < asked {
        p.push(format!("{ok} of {asked} calls answered 200"));
    }
    let totals = ev.stats.totals;
    if totals.rate_limited > 0 {
        p.push(format!("{} requests answered 429", totals.rate_limited));
    }
    if totals.invalid_grants > 0 {
        p.push(format!("{} grants refused (invalid_grant)", totals.invalid_grants));
    }
    let bound = plan.refresh_bound(wall_ms);
    if bound.is_none() {
        p.push(format!(
            "refresh leeway {} ms >= token life {} ms: every call would refresh",
            plan.refresh_leeway_ms, plan.token_ttl_ms
        ));
    }
    let max_refreshes = bound.unwrap_or(0);
    let mut refreshes = Vec::new();
    for loc in &plan.locations {
        let n = ev.stats.resource(loc).refreshes;
        refreshes.push((loc.clone(), n));
        if bound.is_some() && n > max_refreshes {
            p.push(format!("{loc}: {n} refreshes for {max_refreshes} token lives crossed (a refresh is repeated)"));
        }
        let said = |m: &Option<BTreeMap<String, u64>>| m.as_ref().map(|m| m.get(loc).copied().unwrap_or(0));
        let (sent, persisted) = (said(&line.refresh_sends), said(&line.persists));
        if sent.is_some_and(|s| s != n) || persisted.is_some_and(|s| s != n) {
            let show = |v: Option<u64>| v.map_or("-".to_owned(), |v| v.to_string());
            p.push(format!("{loc}: refreshes disagree: emulator {n}, sent {}, persisted {}", show(sent), show(persisted)));
        }
    }
    Verdict {
        driver: driver.to_owned(),
        calls: plan.calls,
        ok,
        rate_limited: totals.rate_limited,
        invalid_grants: totals.invalid_grants,
        refreshes,
        max_refreshes,
        wall_ms,
        ideal_ms: plan.ideal_ms(),
        problems: p,
        mints: Vec::new(),
        max_mints: 0,
    }
}

fn secs(ms: u64) -> String {
    format!("{:.2} s", ms as f64 / 1000.0)
}

impl Verdict {
    pub fn passed(&self) -> bool {
        self.problems.is_empty()
    }

    /// One JSON line.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// A few lines for people.
    pub fn human(&self) -> String {
        let refreshes = self.refreshes.iter().map(|(l, n)| format!("{l} {n}")).collect::<Vec<_>>().join(", ");
        let mut s = format!(
            "{}: {}/{} calls answered 200, 429s {}, invalid grants {}, refreshes {} (at most {} each), \
             wall {} vs ideal {} (+{})\n",
            self.driver,
            self.ok,
            self.calls,
            self.rate_limited,
            self.invalid_grants,
            refreshes,
            self.max_refreshes,
            secs(self.wall_ms),
            secs(self.ideal_ms),
            secs(self.wall_ms.saturating_sub(self.ideal_ms)),
        );
        if !self.mints.is_empty() {
            let mints = self.mints.iter().map(|(l, n)| format!("{l} {n}")).collect::<Vec<_>>().join(", ");
            s.push_str(&format!("{}: location tokens minted {mints} (at most {} each)\n", self.driver, self.max_mints));
        }
        if self.passed() {
            s.push_str(&format!("{}: PASS\n", self.driver));
        }
        for p in &self.problems {
            s.push_str(&format!("FAIL {}: {p}\n", self.driver));
        }
        s
    }
}

/// The demo's closing table, one row per driver.
pub fn table(rows: &[Verdict]) -> String {
    let head = ["driver", "calls", "429s", "refreshes (max)", "invalid grants", "wall", "ideal", "result"];
    let mut cells: Vec<Vec<String>> = vec![head.iter().map(|s| (*s).to_owned()).collect()];
    for r in rows {
        let refr = r.refreshes.iter().map(|(_, n)| n.to_string()).collect::<Vec<_>>().join("/");
        cells.push(vec![
            r.driver.clone(),
            format!("{}/{}", r.ok, r.calls),
            r.rate_limited.to_string(),
            format!("{refr} ({})", r.max_refreshes),
            r.invalid_grants.to_string(),
            secs(r.wall_ms),
            secs(r.ideal_ms),
            (if r.passed() { "ok" } else { "FAIL" }).to_owned(),
        ]);
    }
    let widths: Vec<usize> =
        (0..head.len()).map(|i| cells.iter().map(|r| r.get(i).map_or(0, |c| c.chars().count())).max().unwrap_or(0)).collect();
    let render = |row: &[String]| {
        let padded: Vec<String> = row.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        padded.join("  ").trim_end().to_owned() + "\n"
    };
    let mut out = String::new();
    for (i, row) in cells.iter().enumerate() {
        out.push_str(&render(row));
        if i == 0 {
            out.push_str(&render(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan() -> Plan {
        Plan::short()
    }

    /// A clean short run: 50 calls per location, two refreshes each in 2.1 s of 1 s lives.
    fn clean() -> Evidence {
        let per = json!({"requests": 52, "ok": 50, "rate_limited": 0, "refreshes": 2, "invalid_grants": 0});
        let stats = json!({
            "resources": {"loc_1": per, "loc_2": per, "loc_3": per},
            "totals": {"requests": 156, "ok": 150, "rate_limited": 0, "refreshes": 6, "invalid_grants": 0},
        });
        let line = json!({
            "driver": "rust", "calls": 150, "ok": 150, "failed": 0, "wall_ms": 2100,
            "refresh_sends_by_location": {"loc_1": 2, "loc_2": 2, "loc_3": 2},
            "persists_by_location": {"loc_1": 2, "loc_2": 2, "loc_3": 2},
        });
        Evidence {
            exit_failure: None,
            line: DriverLine::parse(&format!("starting\n{line}\n")),
            measured_wall_ms: 2500,
            stats: Stats::from_json(&stats),
        }
    }

    fn problems(ev: &Evidence) -> Vec<String> {
        judge("t", &plan(), ev).problems
    }

    fn one_problem(ev: &Evidence, needle: &str) {
        let p = problems(ev);
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p.iter().any(|p| p.contains(needle)), "{p:?} lacks {needle:?}");
    }

    fn set(ev: &mut Evidence, loc: &str, f: impl Fn(&mut Counters)) {
        if let Some(c) = ev.stats.resources.get_mut(loc) {
            f(c);
        }
        let mut t = Counters::default();
        for c in ev.stats.resources.values() {
            t.requests += c.requests;
            t.ok += c.ok;
            t.rate_limited += c.rate_limited;
            t.refreshes += c.refreshes;
            t.invalid_grants += c.invalid_grants;
        }
        ev.stats.totals = t;
    }

    #[test]
    fn a_clean_run_passes() {
        let v = judge("rust", &plan(), &clean());
        assert!(v.passed(), "{:?}", v.problems);
        assert_eq!((v.ok, v.calls, v.rate_limited, v.invalid_grants), (150, 150, 0, 0));
        assert_eq!(v.max_refreshes, 2, "2100 ms / (2000 − 1000) ms");
        assert_eq!(v.wall_ms, 2100, "the driver's own time wins over the measured one");
        assert_eq!(v.ideal_ms, 2000);
        assert_eq!(v.refreshes, vec![("loc_1".into(), 2), ("loc_2".into(), 2), ("loc_3".into(), 2)]);
        assert!(v.human().contains("PASS"));
        let back: Verdict = serde_json::from_str(&v.to_json()).unwrap_or_default();
        assert_eq!(back, v);
    }

    #[test]
    fn a_driver_that_says_little_is_judged_by_the_emulator() {
        // The Python example's line: calls, ok and wall_time_s only.
        let mut ev = clean();
        ev.line = DriverLine::parse(r#"{"binding": "python", "calls": 150, "ok": 150, "wall_time_s": 2.456}"#);
        let v = judge("python", &plan(), &ev);
        assert!(v.passed(), "{:?}", v.problems);
        assert_eq!(v.wall_ms, 2456);
        // No time at all: the runner's measurement.
        ev.line = DriverLine::parse(r#"{"calls": 150}"#);
        assert_eq!(judge("x", &plan(), &ev).wall_ms, 2500);
    }

    #[test]
    fn a_failed_exit_fails() {
        let mut ev = clean();
        ev.exit_failure = Some("exited 1".into());
        one_problem(&ev, "driver exited 1");
    }

    #[test]
    fn no_json_line_fails() {
        let mut ev = clean();
        ev.line = DriverLine::parse("Traceback (most recent call last):\n{not json\n");
        assert!(ev.line.is_none());
        one_problem(&ev, "no JSON line");
    }

    #[test]
    fn a_429_fails() {
        let mut ev = clean();
        set(&mut ev, "loc_2", |c| c.rate_limited = 3);
        one_problem(&ev, "3 requests answered 429");
    }

    #[test]
    fn a_refused_grant_fails() {
        let mut ev = clean();
        set(&mut ev, "loc_3", |c| c.invalid_grants = 1);
        one_problem(&ev, "1 grants refused (invalid_grant)");
    }

    #[test]
    fn a_repeated_refresh_fails() {
        let mut ev = clean();
        set(&mut ev, "loc_1", |c| c.refreshes = 3);
        ev.line = None;
        let p = problems(&ev);
        assert!(p.iter().any(|p| p.contains("loc_1: 3 refreshes for 2 token lives")), "{p:?}");
        // A longer run allows more: floor(3000 / 1000) = 3.
        let mut ev = clean();
        set(&mut ev, "loc_1", |c| c.refreshes = 3);
        if let Some(l) = ev.line.as_mut() {
            l.wall_ms = Some(3000);
            l.refresh_sends = None;
            l.persists = None;
        }
        assert!(problems(&ev).is_empty(), "{:?}", problems(&ev));
    }

    #[test]
    fn a_leeway_as_long_as_the_token_fails() {
        let mut p = plan();
        p.refresh_leeway_ms = p.token_ttl_ms;
        assert_eq!(p.refresh_bound(10_000), None);
        let v = judge("t", &p, &clean());
        assert_eq!(v.problems.len(), 1, "{:?}", v.problems);
        assert!(v.problems[0].contains("every call would refresh"));
    }

    #[test]
    fn calls_that_did_not_succeed_fail() {
        // The emulator answered fewer 200s than asked.
        let mut ev = clean();
        set(&mut ev, "loc_1", |c| c.ok = 49);
        one_problem(&ev, "149 of 150 calls answered 200");
        // The driver made fewer calls.
        let mut ev = clean();
        if let Some(l) = ev.line.as_mut() {
            l.calls = Some(149);
        }
        one_problem(&ev, "149 calls made, 150 asked");
        // The driver counted failures (retried answers can still be 200s at the emulator).
        let mut ev = clean();
        if let Some(l) = ev.line.as_mut() {
            l.failed = Some(2);
            l.failures.insert("network".into(), 2);
        }
        one_problem(&ev, "2 calls failed");
        let mut ev = clean();
        ev.line = DriverLine::parse(r#"{"calls": 150, "ok": 148}"#);
        one_problem(&ev, "2 calls failed");
    }

    #[test]
    fn refreshes_the_driver_sent_must_match_the_emulator() {
        let mut ev = clean();
        if let Some(l) = ev.line.as_mut() {
            l.refresh_sends = Some([("loc_1".into(), 1), ("loc_2".into(), 2), ("loc_3".into(), 2)].into());
        }
        one_problem(&ev, "loc_1: refreshes disagree: emulator 2, sent 1");
        let mut ev = clean();
        if let Some(l) = ev.line.as_mut() {
            l.persists = Some([("loc_1".into(), 2), ("loc_2".into(), 2), ("loc_3".into(), 3)].into());
        }
        one_problem(&ev, "loc_3: refreshes disagree: emulator 2, sent 2, persisted 3");
    }

    #[test]
    fn every_failing_condition_is_reported_at_once() {
        let mut ev = clean();
        ev.exit_failure = Some("timed out after 900 s".into());
        set(&mut ev, "loc_1", |c| {
            c.rate_limited = 1;
            c.invalid_grants = 1;
            c.ok = 10;
        });
        let p = problems(&ev);
        assert_eq!(p.len(), 4, "{p:?}");
        let v = judge("t", &plan(), &ev);
        assert!(v.human().lines().filter(|l| l.starts_with("FAIL t: ")).count() == 4);
        assert!(table(&[v]).contains("FAIL"));
    }

    #[test]
    fn ideal_time_is_whole_windows_after_the_first() {
        assert_eq!(ideal_ms(0, 100, 10_000), 0);
        assert_eq!(ideal_ms(100, 100, 10_000), 0);
        assert_eq!(ideal_ms(101, 100, 10_000), 10_000);
        assert_eq!(ideal_ms(334, 100, 10_000), 30_000);
        assert_eq!(ideal_ms(50, 20, 1000), 2000);
        assert_eq!(Plan::full().ideal_ms(), 30_000, "334 calls on loc_1 at 100 per 10 s");
        assert_eq!(Plan::full().calls_per_location(), vec![334, 333, 333]);
    }

    #[test]
    fn the_table_lines_up() {
        let v = judge("rust", &plan(), &clean());
        let t = table(&[v.clone(), Verdict { driver: "python".into(), ..v }]);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 4, "{t}");
        assert!(lines[0].starts_with("driver  calls    429s  refreshes (max)"), "{t}");
        assert!(lines[2].starts_with("rust    150/150  0     2/2/2 (2)"), "{t}");
        assert!(lines[3].ends_with("ok"), "{t}");
    }
}
