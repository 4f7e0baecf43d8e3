//! Emulator configuration and the hand-written command-line flag parser.

/// RFC 8032 test 1 secret key: the default webhook signing seed (not a secret).
pub const DEFAULT_WEBHOOK_SEED: &str =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

/// Everything the emulator can be told at start. `Default` gives the platform's defaults.
#[derive(Clone, Debug)]
pub struct EmulatorConfig {
    /// Port on 127.0.0.1; 0 picks a free port.
    pub port: u16,
    pub client_id: String,
    pub client_secret: String,
    pub company_id: String,
    /// Locations of the company; the first one installs by default.
    pub locations: Vec<String>,
    /// `expires_in` of access tokens.
    pub token_ttl_secs: u64,
    /// `expires_in` of location tokens minted from a company token (0: `token_ttl_secs`).
    pub location_token_ttl_secs: u64,
    /// Lifetime of authorization codes.
    pub code_ttl_secs: u64,
    /// How long a spent refresh token still returns the same new pair (platform: 30 s).
    pub refresh_grace_ms: u64,
    /// Burst limit: allowed requests per sliding `interval_ms`.
    pub max: u64,
    pub interval_ms: u64,
    /// Requests per resource per 86,400,000 ms from its first request.
    pub daily_limit: u64,
    /// Delay added before answering API routes (after the request is counted).
    pub latency_ms: u64,
    /// Extra delay before the first `burst_delay_count` API requests of each burst (per
    /// location) reach the rate limiter: the lowest such delay (this and the max both 0 = off).
    pub burst_delay_ms: u64,
    /// The highest such delay; request k of the burst (0-based) waits
    /// `burst_delay_ms + (max - burst_delay_ms) * k / (burst_delay_count - 1)`.
    /// Below `burst_delay_ms` it counts as `burst_delay_ms` (one fixed delay).
    pub burst_delay_max_ms: u64,
    /// How many requests at the start of each burst are delayed.
    pub burst_delay_count: u64,
    /// A request that arrives at least this long after the previous API request of its
    /// location starts a new burst.
    pub burst_gap_ms: u64,
    /// Fraction of API requests answered 503 (chosen by the seeded PRNG).
    pub fail_rate: f64,
    /// The next N successful refresh rotations drop the connection without an answer.
    pub drop_after_rotate: u64,
    /// Locations whose refreshes answer 400 "Location is not active".
    pub paused_locations: Vec<String>,
    /// Authorization page answers `error=access_denied`.
    pub deny: bool,
    /// Seed of the PRNG behind tokens, codes, ids and faults.
    pub seed: u64,
    /// Ed25519 seed of the webhook signing key.
    pub webhook_seed: [u8; 32],
    /// Where INSTALL events go after each successful code exchange.
    pub webhook_url: Option<String>,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        EmulatorConfig {
            port: 0,
            client_id: "65f1c0ffee-emulator".into(),
            client_secret: "emulator-secret".into(),
            company_id: "comp_1".into(),
            locations: vec!["loc_1".into(), "loc_2".into(), "loc_3".into()],
            token_ttl_secs: 86399,
            location_token_ttl_secs: 0,
            code_ttl_secs: 600,
            refresh_grace_ms: 30_000,
            max: 100,
            interval_ms: 10_000,
            daily_limit: 200_000,
            latency_ms: 0,
            burst_delay_ms: 0,
            burst_delay_max_ms: 0,
            burst_delay_count: 10,
            burst_gap_ms: 500,
            fail_rate: 0.0,
            drop_after_rotate: 0,
            paused_locations: Vec::new(),
            deny: false,
            seed: 1,
            webhook_seed: parse_hex32(DEFAULT_WEBHOOK_SEED).unwrap_or([0; 32]),
            webhook_url: None,
        }
    }
}

pub const USAGE: &str = "hoopauth-emulator [flags]
  --port N                 127.0.0.1 port, 0 = free port (default 0)
  --client-id ID           (default 65f1c0ffee-emulator)
  --client-secret S        (default emulator-secret)
  --company-id ID          (default comp_1)
  --locations a,b,c        (default loc_1,loc_2,loc_3)
  --token-ttl-secs N       (default 86399)
  --location-token-ttl-secs N  expires_in of minted location tokens (default 0 = token ttl)
  --code-ttl-secs N        (default 600)
  --refresh-grace-ms N     (default 30000)
  --max N                  burst max (default 100)
  --interval-ms N          burst window (default 10000)
  --daily-limit N          (default 200000)
  --latency-ms N           delay before API answers (default 0)
  --burst-delay-ms N       delay before the first requests of a burst are counted (default 0)
  --burst-delay-max-ms N   spread that delay up to N over those requests (default 0 = fixed)
  --burst-delay-count N    how many requests of each burst are delayed (default 10)
  --burst-gap-ms N         quiet time per location that starts a new burst (default 500)
  --fail-rate F            fraction of API requests answered 503 (default 0.0)
  --drop-after-rotate N    drop the connection after the next N refresh rotations
  --paused-locations a,b   refreshes for these answer 400 Location is not active
  --deny                   the authorization page denies
  --seed N                 PRNG seed (default 1)
  --webhook-seed HEX64     Ed25519 seed of the webhook key
  --webhook-url URL        send INSTALL events here after code exchanges
";

const VALUE_FLAGS: &[&str] = &[
    "--port",
    "--client-id",
    "--client-secret",
    "--company-id",
    "--locations",
    "--token-ttl-secs",
    "--location-token-ttl-secs",
    "--code-ttl-secs",
    "--refresh-grace-ms",
    "--max",
    "--interval-ms",
    "--daily-limit",
    "--latency-ms",
    "--burst-delay-ms",
    "--burst-delay-max-ms",
    "--burst-delay-count",
    "--burst-gap-ms",
    "--fail-rate",
    "--drop-after-rotate",
    "--paused-locations",
    "--seed",
    "--webhook-seed",
    "--webhook-url",
];

/// Parses `--flag value` / `--flag=value` arguments (without the program name).
pub fn parse_args<I: IntoIterator<Item = String>>(args: I) -> Result<EmulatorConfig, String> {
    let mut cfg = EmulatorConfig::default();
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        if name == "--help" || name == "-h" {
            return Err(USAGE.to_string());
        }
        if name == "--deny" {
            cfg.deny = match inline.as_deref() {
                None | Some("true") | Some("1") => true,
                Some("false") | Some("0") => false,
                Some(v) => return Err(format!("--deny: expected true/false, got {v:?}")),
            };
            continue;
        }
        if !VALUE_FLAGS.contains(&name.as_str()) {
            return Err(format!("unknown flag {name}\n{USAGE}"));
        }
        let value = match inline {
            Some(v) => v,
            None => it
                .next()
                .ok_or_else(|| format!("{name} needs a value\n{USAGE}"))?,
        };
        let v = value.as_str();
        match name.as_str() {
            "--port" => cfg.port = num(&name, v)?,
            "--client-id" => cfg.client_id = nonempty(&name, v)?,
            "--client-secret" => cfg.client_secret = nonempty(&name, v)?,
            "--company-id" => cfg.company_id = nonempty(&name, v)?,
            "--locations" => {
                cfg.locations = list(v);
                if cfg.locations.is_empty() {
                    return Err("--locations needs at least one location".into());
                }
            }
            "--token-ttl-secs" => cfg.token_ttl_secs = num(&name, v)?,
            "--location-token-ttl-secs" => cfg.location_token_ttl_secs = num(&name, v)?,
            "--code-ttl-secs" => cfg.code_ttl_secs = num(&name, v)?,
            "--refresh-grace-ms" => cfg.refresh_grace_ms = num(&name, v)?,
            "--max" => cfg.max = num(&name, v)?,
            "--interval-ms" => cfg.interval_ms = num(&name, v)?,
            "--daily-limit" => cfg.daily_limit = num(&name, v)?,
            "--latency-ms" => cfg.latency_ms = num(&name, v)?,
            "--burst-delay-ms" => cfg.burst_delay_ms = num(&name, v)?,
            "--burst-delay-max-ms" => cfg.burst_delay_max_ms = num(&name, v)?,
            "--burst-delay-count" => cfg.burst_delay_count = num(&name, v)?,
            "--burst-gap-ms" => cfg.burst_gap_ms = num(&name, v)?,
            "--fail-rate" => {
                let f: f64 = num(&name, v)?;
                if !(0.0..=1.0).contains(&f) {
                    return Err("--fail-rate must be within 0.0..=1.0".into());
                }
                cfg.fail_rate = f;
            }
            "--drop-after-rotate" => cfg.drop_after_rotate = num(&name, v)?,
            "--paused-locations" => cfg.paused_locations = list(v),
            "--seed" => cfg.seed = num(&name, v)?,
            "--webhook-seed" => {
                cfg.webhook_seed = parse_hex32(v).ok_or("--webhook-seed needs 64 hex characters")?
            }
            "--webhook-url" => cfg.webhook_url = Some(nonempty(&name, v)?),
            _ => return Err(format!("unknown flag {name}\n{USAGE}")),
        }
    }
    Ok(cfg)
}

fn num<T: std::str::FromStr>(name: &str, v: &str) -> Result<T, String> {
    v.trim()
        .parse()
        .map_err(|_| format!("{name}: not a valid number: {v:?}"))
}

fn nonempty(name: &str, v: &str) -> Result<String, String> {
    if v.is_empty() {
        Err(format!("{name} must not be empty"))
    } else {
        Ok(v.to_string())
    }
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// 64 hex characters → 32 bytes.
pub fn parse_hex32(s: &str) -> Option<[u8; 32]> {
    let s = s.trim().as_bytes();
    if s.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in s.chunks(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_parse() {
        let args = [
            "--port=0",
            "--locations",
            "a, b",
            "--deny",
            "--max",
            "5",
            "--fail-rate",
            "0.5",
            "--burst-delay-ms=70",
            "--burst-delay-max-ms",
            "190",
            "--burst-delay-count=12",
            "--burst-gap-ms",
            "800",
        ];
        let cfg = parse_args(args.iter().map(|s| s.to_string())).unwrap();
        assert_eq!(cfg.locations, vec!["a", "b"]);
        assert!(cfg.deny);
        assert_eq!(cfg.max, 5);
        assert_eq!(cfg.fail_rate, 0.5);
        assert_eq!(
            (
                cfg.burst_delay_ms,
                cfg.burst_delay_max_ms,
                cfg.burst_delay_count,
                cfg.burst_gap_ms
            ),
            (70, 190, 12, 800)
        );
        let d = EmulatorConfig::default();
        assert_eq!(
            (d.burst_delay_ms, d.burst_delay_count, d.burst_gap_ms),
            (0, 10, 500)
        );
        assert!(parse_args(["--nope".to_string()])
            .unwrap_err()
            .starts_with("unknown flag --nope"));
        assert!(parse_args(["--max".to_string()]).is_err());
        assert!(parse_args(["--webhook-seed".to_string(), "zz".to_string()]).is_err());
    }
}
