//! Three modes:
//!
//! - the Rust driver: `hoopauth-demo --base-url URL --client-id ID --client-secret S
//!   [--calls N] [--locations a,b,c] [--max N --interval-ms MS] [--refresh-leeway-ms MS]
//!   [--workers-per-location K] [--verbose]` — prints a human summary on stderr and one JSON
//!   line on stdout; exits 1 when its run fails the verdict, 2 on bad arguments.
//! - the runner: `hoopauth-demo run [--name NAME] [--short] [--calls N] [--locations a,b,c]
//!   [--max N] [--interval-ms MS] [--token-ttl-secs S] [--refresh-leeway-ms MS]
//!   [--timeout-secs S] [--rows FILE] -- COMMAND [ARG...]` — a fresh emulator, the driver
//!   command with the contract's arguments appended, the verdict (see `runner` and
//!   `verdict`); exits 0 when the run passed, 1 when it failed, 2 on bad arguments.
//! - the install scene: `hoopauth-demo install [--name NAME] [--calls N] [--timeout-secs S]
//!   [--rows FILE] -- COMMAND [ARG...]` — a fresh emulator, the driver command with the
//!   install scene's arguments appended (see `install`), its verdict; exits as `run`.
//! - the summary: `hoopauth-demo summary FILE` — the table of the rows `run --rows FILE`
//!   wrote; exits 1 when any row failed.

use hoopauth_demo::install::{run_install, InstallOptions, InstallPlan};
use hoopauth_demo::install_driver::{run_install_driver, DriverArgs};
use hoopauth_demo::runner::{read_rows, run_driver, RunnerOptions};
use hoopauth_demo::verdict::{table, Plan};
use hoopauth_demo::{run, Options};
use std::time::Duration;

const USAGE: &str = "hoopauth-demo --base-url URL --client-id ID --client-secret S [--calls N] \
[--locations a,b,c] [--max N --interval-ms MS] [--refresh-leeway-ms MS] [--workers-per-location K] [--verbose]
hoopauth-demo run [--name NAME] [--short] [--calls N] [--locations a,b,c] [--max N] [--interval-ms MS] \
[--token-ttl-secs S] [--refresh-leeway-ms MS] [--timeout-secs S] [--rows FILE] -- COMMAND [ARG...]
  (defaults: the full demo, 1000 calls over loc_1,loc_2,loc_3, 100 per 10000 ms, 8 s tokens, leeway 1000 ms;
   --short: 150 calls, 20 per 1000 ms, 2 s tokens; timeout 900 s; the driver gets --base-url --client-id
   --client-secret --calls --locations --max --interval-ms --refresh-leeway-ms appended)
hoopauth-demo install [--name NAME] [--calls N] [--timeout-secs S] [--rows FILE] -- COMMAND [ARG...]
  (the install scene: bulk INSTALL of loc_1,loc_2,loc_3, 150 calls at 20 per 1000 ms, 2 s location tokens,
   UNINSTALL loc_2; the driver gets --base-url --client-id --client-secret --webhook-key --calls --approved
   --uninstall --max --interval-ms appended; `hoopauth-demo install-driver` is the Rust driver)
hoopauth-demo summary FILE";

/// `(flag, value)` pairs (value empty for a switch), and what follows `--`.
type Parsed = (Vec<(String, String)>, Vec<String>);

/// `--flag value` / `--flag=value` pairs and bare switches, until `--`.
fn pairs(args: Vec<String>, switches: &[&str]) -> Result<Parsed, String> {
    let mut out = Vec::new();
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        if a == "--" {
            return Ok((out, it.collect()));
        }
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (a.clone(), None),
        };
        if name == "--help" || name == "-h" {
            return Err(USAGE.into());
        }
        if switches.contains(&name.as_str()) {
            out.push((name, String::new()));
            continue;
        }
        if !name.starts_with('-') {
            return Err(format!("unexpected argument {name}\n{USAGE}"));
        }
        let value = match inline {
            Some(v) => v,
            None => it.next().ok_or_else(|| format!("{name} needs a value\n{USAGE}"))?,
        };
        out.push((name, value));
    }
    Ok((out, Vec::new()))
}

fn num(name: &str, v: &str) -> Result<u64, String> {
    v.parse::<u64>().map_err(|_| format!("{name}: not a number: {v}"))
}

fn locations(v: &str) -> Result<Vec<String>, String> {
    let l: Vec<String> = v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
    if l.is_empty() {
        return Err("--locations is empty".into());
    }
    Ok(l)
}

fn parse_driver(args: Vec<String>) -> Result<Options, String> {
    let (flags, rest) = pairs(args, &["--verbose", "-v"])?;
    if !rest.is_empty() {
        return Err(format!("unexpected arguments after --\n{USAGE}"));
    }
    let get = |n: &str| flags.iter().rev().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let (Some(base), Some(id), Some(secret)) = (get("--base-url"), get("--client-id"), get("--client-secret")) else {
        return Err(format!("--base-url, --client-id and --client-secret are required\n{USAGE}"));
    };
    let mut o = Options::new(&base, &id, &secret);
    for (n, v) in &flags {
        match n.as_str() {
            "--base-url" | "--client-id" | "--client-secret" => {}
            "--verbose" | "-v" => o.verbose = true,
            "--calls" => o.calls = num(n, v)? as usize,
            "--workers-per-location" => o.workers_per_location = num(n, v)?.max(1) as usize,
            "--refresh-leeway-ms" => o.refresh_leeway_ms = num(n, v)?,
            "--max" => o.max = Some(u32::try_from(num(n, v)?).map_err(|_| "--max: too large".to_owned())?),
            "--interval-ms" => o.interval_ms = Some(num(n, v)?),
            "--redirect-port" => o.redirect_port = u16::try_from(num(n, v)?).map_err(|_| "bad port".to_owned())?,
            "--locations" => o.locations = locations(v)?,
            _ => return Err(format!("unknown flag {n}\n{USAGE}")),
        }
    }
    Ok(o)
}

fn parse_run(args: Vec<String>) -> Result<RunnerOptions, String> {
    let (flags, command) = pairs(args, &["--short"])?;
    if command.is_empty() {
        return Err(format!("run: no driver command (after --)\n{USAGE}"));
    }
    let short = flags.iter().any(|(k, _)| k == "--short");
    let mut o = RunnerOptions {
        name: "driver".into(),
        plan: if short { Plan::short() } else { Plan::full() },
        command,
        timeout: Duration::from_secs(900),
        rows: None,
    };
    for (n, v) in &flags {
        match n.as_str() {
            "--short" => {}
            "--name" => o.name = v.clone(),
            "--calls" => o.plan.calls = num(n, v)? as usize,
            "--locations" => o.plan.locations = locations(v)?,
            "--max" => o.plan.max = num(n, v)?.max(1),
            "--interval-ms" => o.plan.interval_ms = num(n, v)?,
            "--token-ttl-secs" => o.plan.token_ttl_ms = num(n, v)?.saturating_mul(1000),
            "--refresh-leeway-ms" => o.plan.refresh_leeway_ms = num(n, v)?,
            "--timeout-secs" => o.timeout = Duration::from_secs(num(n, v)?),
            "--rows" => o.rows = Some(v.into()),
            _ => return Err(format!("run: unknown flag {n}\n{USAGE}")),
        }
    }
    Ok(o)
}

fn parse_install(args: Vec<String>) -> Result<InstallOptions, String> {
    let (flags, command) = pairs(args, &[])?;
    if command.is_empty() {
        return Err(format!("install: no driver command (after --)\n{USAGE}"));
    }
    let mut o = InstallOptions {
        name: "driver".into(),
        plan: InstallPlan::standard(),
        command,
        timeout: Duration::from_secs(300),
        rows: None,
    };
    for (n, v) in &flags {
        match n.as_str() {
            "--name" => o.name = v.clone(),
            "--calls" => o.plan.calls = num(n, v)? as usize,
            "--timeout-secs" => o.timeout = Duration::from_secs(num(n, v)?),
            "--rows" => o.rows = Some(v.into()),
            _ => return Err(format!("install: unknown flag {n}\n{USAGE}")),
        }
    }
    Ok(o)
}

/// `install-driver`: the install scene's contract arguments.
fn parse_install_driver(args: Vec<String>) -> Result<DriverArgs, String> {
    let (flags, rest) = pairs(args, &[])?;
    if !rest.is_empty() {
        return Err(format!("install-driver: unexpected arguments after --\n{USAGE}"));
    }
    let mut a = DriverArgs::default();
    for (n, v) in &flags {
        match n.as_str() {
            "--base-url" => a.base_url = v.clone(),
            "--client-id" => a.client_id = v.clone(),
            "--client-secret" => a.client_secret = v.clone(),
            "--webhook-key" => a.webhook_key = v.clone(),
            "--calls" => a.calls = num(n, v)? as usize,
            "--approved" => a.approved = locations(v)?,
            "--uninstall" => a.uninstall = v.clone(),
            "--max" => a.max = u32::try_from(num(n, v)?).map_err(|_| "--max: too large".to_owned())?,
            "--interval-ms" => a.interval_ms = num(n, v)?,
            _ => return Err(format!("install-driver: unknown flag {n}\n{USAGE}")),
        }
    }
    if a.base_url.is_empty() || a.webhook_key.is_empty() || a.uninstall.is_empty() || a.approved.is_empty() {
        return Err(format!("install-driver: --base-url, --webhook-key, --approved and --uninstall are required\n{USAGE}"));
    }
    Ok(a)
}

fn exit_on_bad_args<T>(r: Result<T, String>) -> T {
    r.unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(if e == USAGE { 0 } else { 2 })
    })
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("run") => {
            args.remove(0);
            let opts = exit_on_bad_args(parse_run(args));
            match run_driver(&opts) {
                Ok(v) => {
                    print!("{}", v.human());
                    std::process::exit(if v.passed() { 0 } else { 1 });
                }
                Err(e) => {
                    eprintln!("hoopauth-demo run: {e}");
                    std::process::exit(1);
                }
            }
        }
        Some("install") => {
            args.remove(0);
            let opts = exit_on_bad_args(parse_install(args));
            match run_install(&opts) {
                Ok(v) => {
                    print!("{}", v.human());
                    std::process::exit(if v.passed() { 0 } else { 1 });
                }
                Err(e) => {
                    eprintln!("hoopauth-demo install: {e}");
                    std::process::exit(1);
                }
            }
        }
        Some("install-driver") => {
            args.remove(0);
            let a = exit_on_bad_args(parse_install_driver(args));
            match run_install_driver(&a) {
                Ok(line) => {
                    eprintln!("install-driver: {line}");
                    println!("{line}");
                    std::process::exit(0);
                }
                Err(e) => {
                    eprintln!("hoopauth-demo install-driver: {e}");
                    std::process::exit(1);
                }
            }
        }
        Some("summary") => {
            let [_, path] = args.as_slice() else {
                eprintln!("{USAGE}");
                std::process::exit(2);
            };
            match read_rows(path.as_ref()) {
                Ok(rows) => {
                    print!("{}", table(&rows));
                    std::process::exit(if !rows.is_empty() && rows.iter().all(|r| r.passed()) { 0 } else { 1 });
                }
                Err(e) => {
                    eprintln!("hoopauth-demo summary: {e}");
                    std::process::exit(1);
                }
            }
        }
        _ => {}
    }
    let opts = exit_on_bad_args(parse_driver(args));
    match run(&opts) {
        Ok(report) => {
            eprint!("{}", report.human());
            println!("{}", report.to_json());
            std::process::exit(if report.passed() { 0 } else { 1 });
        }
        Err(e) => {
            eprintln!("hoopauth-demo: {e}");
            std::process::exit(1);
        }
    }
}
