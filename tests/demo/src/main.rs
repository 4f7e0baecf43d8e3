//! `hoopauth-demo --base-url URL --client-id ID --client-secret S [--calls N]
//! [--locations a,b,c] [--workers-per-location K] [--refresh-leeway-ms MS] [--verbose]`
//!
//! Prints a human summary on stderr and one JSON line on stdout; exits 1 when the run saw a
//! 429, a refused grant, a repeated refresh or a failed call, 2 on bad arguments.

use hoopauth_demo::{run, Options};

const USAGE: &str = "hoopauth-demo --base-url URL --client-id ID --client-secret S [--calls N] \
[--locations a,b,c] [--workers-per-location K] [--refresh-leeway-ms MS] [--verbose]";

fn parse(args: Vec<String>) -> Result<Options, String> {
    let mut base = None;
    let mut id = None;
    let mut secret = None;
    let mut rest: Vec<(String, String)> = Vec::new();
    let mut verbose = false;
    let mut it = args.into_iter();
    while let Some(a) = it.next() {
        let (name, inline) = match a.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_owned(), Some(v.to_owned())),
            _ => (a.clone(), None),
        };
        match name.as_str() {
            "--help" | "-h" => return Err(USAGE.into()),
            "--verbose" | "-v" => {
                verbose = true;
                continue;
            }
            _ => {}
        }
        let value = match inline {
            Some(v) => v,
            None => it.next().ok_or_else(|| format!("{name} needs a value\n{USAGE}"))?,
        };
        match name.as_str() {
            "--base-url" => base = Some(value),
            "--client-id" => id = Some(value),
            "--client-secret" => secret = Some(value),
            "--calls" | "--locations" | "--workers-per-location" | "--refresh-leeway-ms" | "--redirect-port" => {
                rest.push((name, value))
            }
            _ => return Err(format!("unknown flag {name}\n{USAGE}")),
        }
    }
    let (Some(base), Some(id), Some(secret)) = (base, id, secret) else {
        return Err(format!("--base-url, --client-id and --client-secret are required\n{USAGE}"));
    };
    let mut o = Options::new(&base, &id, &secret);
    o.verbose = verbose;
    let num = |n: &str, v: &str| v.parse::<u64>().map_err(|_| format!("{n}: not a number: {v}"));
    for (n, v) in rest {
        match n.as_str() {
            "--calls" => o.calls = num(&n, &v)? as usize,
            "--workers-per-location" => o.workers_per_location = num(&n, &v)?.max(1) as usize,
            "--refresh-leeway-ms" => o.refresh_leeway_ms = num(&n, &v)?,
            "--redirect-port" => o.redirect_port = u16::try_from(num(&n, &v)?).map_err(|_| "bad port".to_owned())?,
            "--locations" => {
                o.locations = v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
                if o.locations.is_empty() {
                    return Err("--locations is empty".into());
                }
            }
            _ => {}
        }
    }
    Ok(o)
}

fn main() {
    let opts = match parse(std::env::args().skip(1).collect()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
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
