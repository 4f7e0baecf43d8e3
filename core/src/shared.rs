//! Coordinated mode: many processes, one client. A shared store (Redis, SQLite, a Durable
//! Object) keeps one [`SharedRecord`] per resource — its token session and its rate limiter —
//! and offers two operations: read (the record, its revision and the store's clock) and
//! compare-and-set on the revision. The core decides everything; a driver wraps each
//! [`Pool::step`](crate::Pool::step) in a transaction:
//!
//! 1. read the record at the store's clock `now`; [`Pool::load_shared`](crate::Pool::load_shared);
//! 2. keep a copy of the call, step it at `now`;
//! 3. [`Pool::export_shared`](crate::Pool::export_shared): `None` → nothing changed, done;
//!    `Some(record)` → compare-and-set; on a lost race put the call copy back and start again
//!    at 1 (bounded); when the store is unreachable, put the copy back and end the call
//!    ([`Pool::abort`](crate::Pool::abort), `store_unavailable`) — except after a step that
//!    answered `Persist`, whose tokens exist nowhere else: feed `PersistFailed` instead, so the
//!    tokens stay in memory, unsaved, until the store is back.
//! 4. a `Persist` step was saved by that write: feed `Resume`.
//!
//! Every process uses the store's clock for shared decisions, so hosts whose clocks disagree
//! still share one window. The record is JSON, optionally sealed ([`crate::seal`]).

use crate::ratelimit::LimiterState;
use crate::session::StoredSession;

/// The format of [`SharedRecord`].
pub const SHARED_FORMAT: u32 = 1;

/// How long the refresh lease lasts in coordinated mode: shorter than the platform's 30 s
/// grace, so that when a process dies after the token endpoint answered, another one replays
/// the same refresh token inside the grace and gets the same new pair.
pub const SHARED_LEASE_MS: u64 = 12_000;

/// How long a store keeps a resource's record after its last write: an unused refresh token
/// lives a year, so an idle record is useless after that (daily counts need only a day).
pub const SHARED_TTL_MS: u64 = 366 * 86_400_000;

/// What a shared store keeps per resource.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SharedRecord {
    /// [`SHARED_FORMAT`].
    pub format: u32,
    /// The token session (`None` before any tokens are known).
    pub session: Option<StoredSession>,
    /// The pacing state.
    pub limiter: Option<LimiterState>,
}

/// Redis: read a resource's record. `KEYS[1]` = the resource's key (`{prefix}{{resource}}`:
/// the braces keep each resource in one Cluster hash slot). Returns `[rev, data|nil, seconds,
/// microseconds]`: the record's revision (`"0"` when absent), its text, and the server's clock
/// (`TIME`), which every process uses as `now` for shared decisions. A pure read: the rules
/// stay in the core.
pub const REDIS_READ_SCRIPT: &str = r#"local r = redis.call('HMGET', KEYS[1], 'rev', 'data')
local t = redis.call('TIME')
return {r[1] or '0', r[2] or false, t[1], t[2]}"#;

/// Redis: compare-and-set a resource's record. `KEYS[1]` = the key, `ARGV` = expected
/// revision, new data, time-to-live in ms. Returns 1 when written (revision + 1), 0 when
/// another process wrote first (read again and step again).
pub const REDIS_CAS_SCRIPT: &str = r#"local cur = redis.call('HGET', KEYS[1], 'rev') or '0'
if cur ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'rev', tostring(tonumber(cur) + 1), 'data', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1"#;

/// The Redis key of a resource's record under `prefix` (e.g. `"hoopauth:"`).
pub fn redis_key(prefix: &str, resource: &str) -> String {
    format!("{prefix}{{{resource}}}")
}

/// The Redis key that marks a webhook delivery as seen (`SET key 1 NX PX max_age_ms`).
pub fn redis_webhook_key(prefix: &str, webhook_id: &str) -> String {
    format!("{prefix}webhook:{{{webhook_id}}}")
}

/// SQLite: the table a host's processes share (one file, `BEGIN IMMEDIATE` around each
/// compare-and-set). The clock is the host's own (one host, one clock).
pub const SQLITE_SCHEMA: &str = "CREATE TABLE IF NOT EXISTS hoopauth_shared (\
resource TEXT PRIMARY KEY, rev INTEGER NOT NULL, data TEXT NOT NULL, expires_at_ms INTEGER NOT NULL);\
CREATE TABLE IF NOT EXISTS hoopauth_webhooks (id TEXT PRIMARY KEY, expires_at_ms INTEGER NOT NULL);";
