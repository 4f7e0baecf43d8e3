//! Pacing under the platform's limits (SPEC §8, §9): an exact sliding window per resource,
//! a daily budget, server blocks, limits learned from the server's headers.

use crate::classify::{classify_response, RateLimitScope, ResponseKind};
use crate::http::header;
use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};

pub const DAY_MS: u64 = 86_400_000;

/// The five `X-RateLimit-*` headers; `None` when absent or not a non-negative integer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct RateLimitHeaders {
    pub max: Option<u64>,
    pub interval_ms: Option<u64>,
    pub remaining: Option<u64>,
    pub daily_limit: Option<u64>,
    pub daily_remaining: Option<u64>,
}

fn non_negative_int(v: &str) -> Option<u64> {
    let v = v.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse().ok()
}

/// Read the rate-limit headers (names case-insensitive).
pub fn parse_rate_limit_headers(headers: &[(String, String)]) -> RateLimitHeaders {
    let get = |n: &str| header(headers, n).and_then(non_negative_int);
    RateLimitHeaders {
        max: get("x-ratelimit-max"),
        interval_ms: get("x-ratelimit-interval-milliseconds"),
        remaining: get("x-ratelimit-remaining"),
        daily_limit: get("x-ratelimit-limit-daily"),
        daily_remaining: get("x-ratelimit-daily-remaining"),
    }
}

/// Limits for one resource. The server's headers replace them once seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Limits {
    pub max: u32,
    pub interval_ms: u64,
    /// Widens the window to absorb clock skew and network jitter between client and server.
    pub margin_ms: u64,
    pub daily_max: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max: 100, interval_ms: 10_000, margin_ms: 50, daily_max: 200_000 }
    }
}

/// A pacing verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Decision {
    /// Send now; the send has been counted.
    Allow,
    /// Do not send; try again in `wait_ms`.
    Wait { wait_ms: u64, daily_exhausted: bool },
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow)
    }
}

/// The limiter for one resource (location or company).
#[derive(Clone, Debug)]
pub struct RateLimiter {
    limits: Limits,
    /// Times of the most recent allowed sends as offsets from `base`, oldest first; at most
    /// `limits.max` entries (4 bytes each keeps a tracked resource under 1 KB).
    sends: VecDeque<u32>,
    base: u64,
    blocked_until: u64,
    /// The latest send dropped from the history. Sends are dropped only once outside the
    /// window, so only a longer window (learned from the server) can bring one back into it.
    evicted_latest: Option<u64>,
    day_start: Option<u64>,
    day_count: u64,
    day_exhausted: bool,
    /// The latest time seen: a clock going backwards counts as no time passing.
    last_now: u64,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(Limits::default())
    }
}

impl RateLimiter {
    pub fn new(limits: Limits) -> Self {
        RateLimiter {
            limits,
            sends: VecDeque::new(),
            base: 0,
            blocked_until: 0,
            evicted_latest: None,
            day_start: None,
            day_count: 0,
            day_exhausted: false,
            last_now: 0,
        }
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn clock(&mut self, now_ms: u64) -> u64 {
        if now_ms > self.last_now {
            self.last_now = now_ms;
        }
        self.roll_day(self.last_now);
        self.last_now
    }

    fn roll_day(&mut self, t: u64) {
        if let Some(start) = self.day_start {
            if t >= start.saturating_add(DAY_MS) {
                self.day_start = None;
                self.day_count = 0;
                self.day_exhausted = false;
            }
        }
    }

    /// What the answer would be at `now_ms`, without counting a send.
    pub fn check(&mut self, now_ms: u64) -> Decision {
        let t = self.clock(now_ms);
        self.decide(t)
    }

    fn decide(&self, t: u64) -> Decision {
        let mut wait = 0u64;
        let mut daily = false;
        if self.day_exhausted || self.day_count >= self.limits.daily_max {
            let end = self.day_start.unwrap_or(t).saturating_add(DAY_MS);
            wait = end.saturating_sub(t).max(1);
            daily = true;
        }
        if self.blocked_until > t {
            wait = wait.max(self.blocked_until - t);
        }
        let max = self.limits.max.max(1) as usize;
        if self.sends.len() >= max {
            let idx = self.sends.len() - max;
            if let Some(oldest) = self.sends.get(idx).map(|&o| self.base + u64::from(o)) {
                let free_at = oldest.saturating_add(self.limits.interval_ms).saturating_add(self.limits.margin_ms);
                if free_at > t {
                    wait = wait.max(free_at - t);
                }
            }
        }
        if wait == 0 {
            Decision::Allow
        } else {
            Decision::Wait { wait_ms: wait, daily_exhausted: daily }
        }
    }

    /// `t` as an offset from `base`, rebasing when offsets would overflow.
    fn offset(&mut self, t: u64) -> u32 {
        if self.sends.is_empty() {
            self.base = t;
        }
        let mut off = t.saturating_sub(self.base);
        if off > u64::from(u32::MAX / 2) {
            // Entries older than the window decide nothing: drop them, then rebase on the oldest.
            let window = self.limits.interval_ms.saturating_add(self.limits.margin_ms);
            let base = self.base;
            while let Some(oldest) = self.sends.front().map(|&o| base + u64::from(o)) {
                if oldest.saturating_add(window) > t {
                    break;
                }
                self.sends.pop_front();
                self.evicted_latest = Some(oldest);
            }
            let new_base = self.sends.front().map_or(t, |&o| base + u64::from(o));
            for o in self.sends.iter_mut() {
                *o = u32::try_from(base + u64::from(*o) - new_base).unwrap_or(u32::MAX);
            }
            self.base = new_base;
            off = t - new_base;
        }
        u32::try_from(off).unwrap_or(u32::MAX)
    }

    /// Ask to send at `now_ms`; an allowed send is counted in both windows.
    pub fn acquire(&mut self, now_ms: u64) -> Decision {
        let t = self.clock(now_ms);
        let d = self.decide(t);
        if d == Decision::Allow {
            let max = self.limits.max.max(1) as usize;
            let window = self.limits.interval_ms.saturating_add(self.limits.margin_ms);
            // Drop sends that no longer decide anything: the oldest, once outside the window.
            while self.sends.len() >= max {
                match self.sends.front().map(|&o| self.base + u64::from(o)) {
                    Some(oldest) if oldest.saturating_add(window) <= t => {
                        self.sends.pop_front();
                        self.evicted_latest = Some(oldest);
                    }
                    _ => break,
                }
            }
            if self.sends.capacity() == 0 {
                self.sends.reserve_exact(max.min(1024));
            }
            let offset = self.offset(t);
            self.sends.push_back(offset);
            if self.day_start.is_none() {
                self.day_start = Some(t);
            }
            self.day_count = self.day_count.saturating_add(1);
        }
        d
    }

    /// Feed a response's status and headers, received at `now_ms`.
    pub fn observe(&mut self, now_ms: u64, status: u16, headers: &[(String, String)]) {
        let t = self.clock(now_ms);
        let rl = parse_rate_limit_headers(headers);
        if let (Some(max), Some(interval)) = (rl.max, rl.interval_ms) {
            if max > 0 && interval > 0 {
                if interval > self.limits.interval_ms {
                    // A longer window may hold sends the history has dropped: wait until the
                    // latest of them has left it.
                    if let Some(ev) = self.evicted_latest {
                        let until = ev.saturating_add(interval).saturating_add(self.limits.margin_ms);
                        self.blocked_until = self.blocked_until.max(until);
                    }
                }
                // A smaller max keeps the longer history: the decision reads the max-th most
                // recent send, and sends are dropped only once outside the window.
                self.limits.max = u32::try_from(max).unwrap_or(u32::MAX);
                self.limits.interval_ms = interval;
            }
        }
        if let Some(daily) = rl.daily_limit {
            if daily > 0 {
                self.limits.daily_max = daily;
            }
        }
        if rl.daily_remaining == Some(0) {
            self.day_exhausted = true;
            if self.day_start.is_none() {
                self.day_start = Some(t);
            }
        }
        let mut block: Option<u64> = None;
        if status == 429 {
            let c = classify_response(status, headers, &[], Some(t));
            if c.kind == ResponseKind::RateLimited && c.rate_limit_scope == Some(RateLimitScope::Burst) {
                block = Some(c.retry_after_ms.unwrap_or(self.limits.interval_ms));
            }
        } else if rl.remaining == Some(0) {
            let retry = header(headers, "retry-after").and_then(|v| crate::classify::parse_retry_after(v, Some(t)));
            block = Some(retry.or(rl.interval_ms).unwrap_or(self.limits.interval_ms));
        }
        if let Some(ms) = block {
            let until = t.saturating_add(ms).saturating_add(self.limits.margin_ms);
            self.blocked_until = self.blocked_until.max(until);
        }
    }

    /// True when forgetting this limiter changes no decision but the daily count:
    /// no send in the window, no active block, day not exhausted.
    pub fn is_idle(&self, now_ms: u64) -> bool {
        let t = now_ms.max(self.last_now);
        let window = self.limits.interval_ms.saturating_add(self.limits.margin_ms);
        let last_send_old = self.sends.back().is_none_or(|&o| (self.base + u64::from(o)).saturating_add(window) <= t);
        last_send_old && self.blocked_until <= t && !self.day_exhausted
    }

    /// Approximate heap + inline bytes held.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.sends.capacity() * std::mem::size_of::<u32>()
    }
}

/// A resource id stored inline when short (location and company ids are about 20 bytes), so
/// that a lookup touches the map entry only, not a separate heap string.
#[derive(Clone, Debug)]
enum ResourceKey {
    Inline { len: u8, bytes: [u8; 30] },
    Heap(Box<str>),
}

impl ResourceKey {
    fn new(s: &str) -> Self {
        let mut bytes = [0u8; 30];
        match (bytes.get_mut(..s.len()), u8::try_from(s.len())) {
            (Some(dst), Ok(len)) => {
                dst.copy_from_slice(s.as_bytes());
                ResourceKey::Inline { len, bytes }
            }
            _ => ResourceKey::Heap(s.into()),
        }
    }
    fn as_str(&self) -> &str {
        match self {
            ResourceKey::Inline { len, bytes } => {
                bytes.get(..usize::from(*len)).and_then(|b| std::str::from_utf8(b).ok()).unwrap_or("")
            }
            ResourceKey::Heap(s) => s,
        }
    }
}

impl PartialEq for ResourceKey {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}
impl Eq for ResourceKey {}
impl Hash for ResourceKey {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state)
    }
}
impl Borrow<str> for ResourceKey {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

/// Limiters for many resources, keyed by location or company id, with idle ones evicted
/// so that memory follows the resources active within one window.
#[derive(Debug)]
pub struct RateLimiters {
    limits: Limits,
    map: HashMap<ResourceKey, RateLimiter, foldhash::fast::RandomState>,
    ops_since_sweep: u64,
    last_sweep: u64,
}

impl Default for RateLimiters {
    fn default() -> Self {
        RateLimiters::new(Limits::default())
    }
}

impl RateLimiters {
    pub fn new(limits: Limits) -> Self {
        RateLimiters {
            limits,
            map: HashMap::with_hasher(foldhash::fast::RandomState::default()),
            ops_since_sweep: 0,
            last_sweep: 0,
        }
    }

    /// The limiter for `key`, created with the default limits on first use.
    pub fn get_mut(&mut self, key: &str) -> &mut RateLimiter {
        let limits = self.limits;
        self.map.entry(ResourceKey::new(key)).or_insert_with(|| RateLimiter::new(limits))
    }

    /// Sweep idle limiters at most once a window and only after as many operations as there
    /// are limiters, so the sweep costs O(1) per operation, amortised.
    fn tick(&mut self, now_ms: u64) {
        self.ops_since_sweep += 1;
        let window = self.limits.interval_ms.saturating_add(self.limits.margin_ms);
        if self.ops_since_sweep >= (self.map.len() as u64).max(1024) && now_ms >= self.last_sweep.saturating_add(window) {
            self.ops_since_sweep = 0;
            self.last_sweep = now_ms;
            self.evict_idle(now_ms);
        }
    }

    /// Approximate bytes held per tracked resource (map entry, key, limiter, send history).
    pub fn memory_bytes(&self) -> usize {
        let entry = std::mem::size_of::<(ResourceKey, RateLimiter)>() + 1;
        self.map
            .iter()
            .map(|(k, l)| {
                let heap_key = if let ResourceKey::Heap(s) = k { s.len() } else { 0 };
                entry + heap_key + l.memory_bytes() - std::mem::size_of::<RateLimiter>()
            })
            .sum()
    }

    pub fn acquire(&mut self, key: &str, now_ms: u64) -> Decision {
        self.tick(now_ms);
        match self.map.get_mut(key) {
            Some(l) => l.acquire(now_ms),
            None => {
                let mut l = RateLimiter::new(self.limits);
                let d = l.acquire(now_ms);
                self.map.insert(ResourceKey::new(key), l);
                d
            }
        }
    }

    pub fn observe(&mut self, key: &str, now_ms: u64, status: u16, headers: &[(String, String)]) {
        self.tick(now_ms);
        if let Some(l) = self.map.get_mut(key) {
            l.observe(now_ms, status, headers);
        } else {
            let mut l = RateLimiter::new(self.limits);
            l.observe(now_ms, status, headers);
            self.map.insert(ResourceKey::new(key), l);
        }
    }

    /// Drop every limiter that is idle at `now_ms`; returns how many were dropped.
    pub fn evict_idle(&mut self, now_ms: u64) -> usize {
        let before = self.map.len();
        self.map.retain(|_, l| !l.is_idle(now_ms));
        before - self.map.len()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    pub fn get(&self, key: &str) -> Option<&RateLimiter> {
        self.map.get(key)
    }
}
