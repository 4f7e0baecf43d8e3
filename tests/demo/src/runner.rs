//! `hoopauth-demo run`: one driver, in any language, against a fresh emulator, judged by
//! [`crate::verdict::judge`].
//!
//! The runner starts the emulator in-process (the `hoopauth_emulator` library on a small
//! tokio runtime, on a free loopback port) with the plan's limits and token life, runs the
//! driver command with the driver contract's arguments appended:
//!
//! ```text
//! --base-url URL --client-id ID --client-secret S --calls N --locations a,b,c
//! --max N --interval-ms MS --refresh-leeway-ms MS
//! ```
//!
//! (the last three are the limits to pace by until the server's headers arrive, and the
//! refresh leeway), reads the driver's JSON line from its stdout (its stderr passes
//! through), reads `GET /_emulator/stats`, stops the emulator and judges.

use crate::verdict::{judge, DriverLine, Evidence, Plan, Stats, Verdict};
use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// One runner invocation.
#[derive(Clone, Debug)]
pub struct RunnerOptions {
    /// The driver's name in the summary (`rust`, `python`, `node`, `wasm`).
    pub name: String,
    pub plan: Plan,
    /// The driver command; the contract's arguments are appended.
    pub command: Vec<String>,
    /// The driver is killed after this long.
    pub timeout: Duration,
    /// Append the verdict's JSON line to this file (read back by `hoopauth-demo summary`).
    pub rows: Option<PathBuf>,
}

/// The contract's arguments for a driver against `base_url`.
pub fn contract_args(plan: &Plan, base_url: &str, client_id: &str, client_secret: &str) -> Vec<String> {
    [
        ("--base-url", base_url.to_owned()),
        ("--client-id", client_id.to_owned()),
        ("--client-secret", client_secret.to_owned()),
        ("--calls", plan.calls.to_string()),
        ("--locations", plan.locations.join(",")),
        ("--max", plan.max.to_string()),
        ("--interval-ms", plan.interval_ms.to_string()),
        ("--refresh-leeway-ms", plan.refresh_leeway_ms.to_string()),
    ]
    .into_iter()
    .flat_map(|(k, v)| [k.to_owned(), v])
    .collect()
}

fn describe(status: ExitStatus) -> Option<String> {
    if status.success() {
        return None;
    }
    Some(match status.code() {
        Some(c) => format!("exited {c}"),
        None => {
            #[cfg(unix)]
            {
                use std::os::unix::process::ExitStatusExt;
                if let Some(sig) = status.signal() {
                    return Some(format!("killed by signal {sig}"));
                }
            }
            "was killed".to_owned()
        }
    })
}

/// Run the driver process; returns (how it failed, its stdout, the time it took).
pub(crate) fn run_process(command: &[String], extra: &[String], timeout: Duration) -> (Option<String>, String, u64) {
    let Some((program, args)) = command.split_first() else {
        return (Some("command is empty".into()), String::new(), 0);
    };
    let started = Instant::now();
    let spawned = Command::new(program)
        .args(args)
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => return (Some(format!("could not start ({program}: {e})")), String::new(), 0),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    if let Some(mut out) = child.stdout.take() {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = out.read_to_end(&mut buf);
            let _ = tx.send(String::from_utf8_lossy(&buf).into_owned());
        });
    }
    let failure = loop {
        match child.try_wait() {
            Ok(Some(status)) => break describe(status),
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                break Some(format!("timed out after {} s", timeout.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => {
                let _ = child.kill();
                break Some(format!("could not be waited for: {e}"));
            }
        }
    };
    let wall_ms = started.elapsed().as_millis() as u64;
    // A process the driver started may still hold its stdout open: do not wait for it long.
    let stdout = rx.recv_timeout(Duration::from_secs(if failure.is_some() { 1 } else { 10 })).unwrap_or_default();
    (failure, stdout, wall_ms)
}

/// Start a fresh emulator, run the driver, judge. `Err` only when the emulator cannot
/// start or be read; a driver that fails is a verdict with problems.
pub fn run_driver(opts: &RunnerOptions) -> Result<Verdict, String> {
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
        token_ttl_secs: plan.token_ttl_ms / 1000,
        ..Default::default()
    };
    let emulator = rt.block_on(hoopauth_emulator::start(cfg)).map_err(|e| format!("the emulator did not start: {e}"))?;
    let base_url = emulator.base_url();

    println!(
        "\n==> demo: {} driver — {} calls over {} (limits {}/{} ms, tokens {}s)",
        opts.name,
        plan.calls,
        plan.locations.join(","),
        plan.max,
        plan.interval_ms,
        plan.token_ttl_ms / 1000
    );
    let _ = std::io::stdout().flush();
    let extra = contract_args(plan, &base_url, emulator.client_id(), emulator.client_secret());
    let (exit_failure, stdout, measured_wall_ms) = run_process(&opts.command, &extra, opts.timeout);

    let stats = crate::emulator_stats(&base_url);
    rt.block_on(emulator.shutdown());
    let stats = stats?;
    let line = DriverLine::parse(&stdout);
    if line.is_none() && !stdout.trim().is_empty() {
        // Show what the driver printed instead (its last lines).
        let lines: Vec<&str> = stdout.lines().collect();
        for l in &lines[lines.len().saturating_sub(5)..] {
            eprintln!("  {}: {l}", opts.name);
        }
    }
    let ev = Evidence { exit_failure, line, measured_wall_ms, stats: Stats::from_json(&stats) };
    let verdict = judge(&opts.name, plan, &ev);
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

/// Read the rows `run --rows FILE` appended.
pub fn read_rows(path: &std::path::Path) -> Result<Vec<Verdict>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("{}: bad row: {e}", path.display())))
        .collect()
}
