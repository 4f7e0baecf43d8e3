//! Pacing under the platform's limits (SPEC §8, §9): an exact sliding window per resource,
//! a daily budget, server blocks, limits learned from the server's headers.

use crate::classify::{classify_response, RateLimitScope, ResponseKind};
use crate::headers::parse_rate_limit_headers;
use crate::headers::parse_retry_after;
use crate::http::header;
use std::borrow::Borrow;
use std::collections::{HashMap, VecDeque};
use std::hash::{Hash, Hasher};

/// One day in milliseconds: the daily budget's window.
pub const DAY_MS: u64 = 86_400_000;

/// Limits for one resource. The server's headers replace them once seen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Limits {
    /// Sends allowed in any sliding interval.
    pub max: u32,
    /// The sliding interval (ms).
    pub interval_ms: u64,
    /// Widens the window to absorb clock skew and network jitter between client and server.
    pub margin_ms: u64,
    /// Sends allowed per day.
    pub daily_max: u64,
    /// A send whose answer has not arrived holds its slot until this long after it was sent
    /// (a lost request does not hold a slot forever).
    pub answer_timeout_ms: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max: 100, interval_ms: 10_000, margin_ms: 50, daily_max: 200_000, answer_timeout_ms: 60_000 }
    }
}

/// A pacing verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Decision {
    /// Send now; the send has been counted. Report its answer with
    /// [`RateLimiter::answered`] and this id (sends are numbered from 0 per limiter).
    Allow {
        /// The id of this send.
        send_id: u64,
    },
    /// Do not send; try again in `wait_ms`.
    Wait {
        /// How long to wait before asking again.
        wait_ms: u64,
        /// The daily budget is used up.
        daily_exhausted: bool,
    },
}

impl Decision {
    /// Whether the send may go out now.
    pub fn is_allowed(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }
}

/// The limiter for one resource (location or company).
///
/// Each allowed send has a *mark*, the latest time the server may have counted it (SPEC §9):
/// the time its answer arrived, or, while it is in flight, the current time (until
/// `sent + answer_timeout_ms`, where its mark stays). A send is allowed when fewer than `max`
/// marks lie in `(t - interval - margin, t]`.
#[derive(Clone, Debug)]
pub struct RateLimiter {
    limits: Limits,
    /// Marks of answered (or timed-out) sends inside the window, ascending.
    marks: Marks,
    /// Sends without an answer: (id, sent at), in send order.
    in_flight: VecDeque<(u64, u64)>,
    next_id: u64,
    blocked_until: u64,
    /// The latest mark dropped from the history. Marks are dropped only once outside the
    /// window, so only a longer window (learned from the server) can bring one back into it.
    evicted_latest: Option<u64>,
    day_start: Option<u64>,
    day_count: u64,
    day_exhausted: bool,
    /// The latest time seen: a clock going backwards counts as no time passing.
    last_now: u64,
    /// Counts the changes a shared store must see (sends, answers, what responses taught);
    /// the passing of time alone is not one: every reader recomputes it.
    changes: u64,
}

impl Default for RateLimiter {
    fn default() -> Self {
        RateLimiter::new(Limits::default())
    }
}

impl RateLimiter {
    /// A limiter with these limits and no history.
    pub fn new(limits: Limits) -> Self {
        RateLimiter {
            limits,
            marks: Marks::default(),
            in_flight: VecDeque::new(),
            next_id: 0,
            blocked_until: 0,
            evicted_latest: None,
            day_start: None,
            day_count: 0,
            day_exhausted: false,
            last_now: 0,
            changes: 0,
        }
    }

    /// How many changes a shared store must see this limiter has had (coordinated mode, `shared.rs`).
    pub fn changes(&self) -> u64 {
        self.changes
    }

    /// The limits in force (the server's, once learned).
    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn window(&self) -> u64 {
        self.limits.interval_ms.saturating_add(self.limits.margin_ms)
    }

    fn clock(&mut self, now_ms: u64) -> u64 {
        if now_ms > self.last_now {
            self.last_now = now_ms;
        }
        let t = self.last_now;
        self.roll_day(t);
        self.expire(t);
        t
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

    /// Sends in flight past their answer timeout get their final mark; marks that left the
    /// window are dropped.
    fn expire(&mut self, t: u64) {
        let timeout = self.limits.answer_timeout_ms;
        let mut i = 0;
        while let Some(&(_, sent)) = self.in_flight.get(i) {
            let until = sent.saturating_add(timeout);
            if until <= t {
                self.in_flight.remove(i);
                self.insert_mark(until);
            } else {
                i += 1;
            }
        }
        let window = self.window();
        while let Some(m) = self.mark(0) {
            if m.saturating_add(window) > t {
                break;
            }
            self.marks.pop_front();
            self.evicted_latest = Some(self.evicted_latest.map_or(m, |e| e.max(m)));
        }
    }

    /// The `i`-th mark (ascending) as a time.
    fn mark(&self, i: usize) -> Option<u64> {
        self.marks.get(i)
    }

    fn insert_mark(&mut self, mark: u64) {
        let reserve = (self.limits.max.max(1) as usize).min(1024);
        self.marks.insert(mark, reserve);
    }

    /// The number of sends whose answers have not arrived (and have not timed out).
    pub fn in_flight(&self) -> usize {
        self.in_flight.len()
    }

    /// Sends counted in the window at `t` (marks in `(t - interval - margin, t]`, in-flight
    /// sends included).
    /// Call after [`RateLimiter::clock`] at `t`, which has dropped the marks outside the window.
    fn in_window(&self) -> usize {
        self.in_flight.len() + self.marks.len()
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
        if self.in_window() >= max {
            // The max-th most recent mark decides; sends in flight are the most recent (mark t).
            let mark = if self.in_flight.len() >= max {
                t
            } else {
                let k = max - self.in_flight.len();
                self.marks.len().checked_sub(k).and_then(|i| self.mark(i)).unwrap_or(t)
            };
            let free_at = mark.saturating_add(self.window());
            if free_at > t {
                wait = wait.max(free_at - t);
            }
        }
        if wait == 0 {
            let send_id = self.next_id;
            Decision::Allow { send_id }
        } else {
            Decision::Wait { wait_ms: wait, daily_exhausted: daily }
        }
    }

    /// Ask to send at `now_ms`; an allowed send is counted in both windows and holds its slot
    /// until [`RateLimiter::answered`] is called with its id (or its answer timeout passes).
    pub fn acquire(&mut self, now_ms: u64) -> Decision {
        let t = self.clock(now_ms);
        let d = self.decide(t);
        if let Decision::Allow { send_id } = d {
            self.changes += 1;
            self.next_id = self.next_id.wrapping_add(1);
            self.in_flight.push_back((send_id, t));
            if self.day_start.is_none() {
                self.day_start = Some(t);
            }
            self.day_count = self.day_count.saturating_add(1);
        }
        d
    }

    /// The answer of send `send_id` (or its transport error) arrived at `now_ms`: its mark is
    /// fixed at that time (never before the send). Unknown or already answered ids are ignored.
    pub fn answered(&mut self, send_id: u64, now_ms: u64) {
        let t = self.clock(now_ms);
        if let Some(i) = self.in_flight.iter().position(|&(id, _)| id == send_id) {
            if let Some((_, sent)) = self.in_flight.remove(i) {
                self.changes += 1;
                self.insert_mark(t.max(sent));
            }
        }
    }

    /// Feed a response's status and headers, received at `now_ms`. Report the send's answer
    /// ([`RateLimiter::answered`]) first.
    pub fn observe(&mut self, now_ms: u64, status: u16, headers: &[(String, String)]) {
        let t = self.clock(now_ms);
        let before = (self.limits, self.blocked_until, self.day_exhausted, self.day_start);
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
        } else if rl.remaining == Some(0) && self.in_window() < self.limits.max.max(1) as usize {
            // When the own window already holds `max` sends, the server is counting what this
            // limiter sent: the window keeps it out until the oldest mark ages out.
            let retry = header(headers, "retry-after").and_then(|v| parse_retry_after(v, Some(t)));
            block = Some(retry.or(rl.interval_ms).unwrap_or(self.limits.interval_ms));
        }
        if let Some(ms) = block {
            let until = t.saturating_add(ms).saturating_add(self.limits.margin_ms);
            self.blocked_until = self.blocked_until.max(until);
        }
        if before != (self.limits, self.blocked_until, self.day_exhausted, self.day_start) {
            self.changes += 1;
        }
    }

    /// True when forgetting this limiter changes no decision but the daily count:
    /// nothing in flight, no send in the window, no active block, day not exhausted.
    pub fn is_idle(&self, now_ms: u64) -> bool {
        let t = now_ms.max(self.last_now);
        let window = self.window();
        let last_old = self.marks.len().checked_sub(1).and_then(|i| self.mark(i)).is_none_or(|m| m.saturating_add(window) <= t);
        self.in_flight.is_empty() && last_old && self.blocked_until <= t && !self.day_exhausted
    }

    /// Approximate heap + inline bytes held.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.marks.heap_bytes()
            + self.in_flight.capacity() * std::mem::size_of::<(u64, u64)>()
    }
}

/// Ascending mark times. Stored as 4-byte offsets from a base while they span less than
/// `u32::MAX / 2` ms (always, for windows under ~24 days: it keeps a tracked resource under
/// 1 KB); a longer window learned from a server (or configured) that holds marks further
/// apart switches to full times rather than lose or shift one.
#[derive(Clone, Debug)]
enum Marks {
    Compact { base: u64, offsets: VecDeque<u32> },
    Wide(VecDeque<u64>),
}

impl Default for Marks {
    fn default() -> Self {
        Marks::Compact { base: 0, offsets: VecDeque::new() }
    }
}

impl Marks {
    const SPAN: u64 = (u32::MAX / 2) as u64;

    fn len(&self) -> usize {
        match self {
            Marks::Compact { offsets, .. } => offsets.len(),
            Marks::Wide(m) => m.len(),
        }
    }

    fn get(&self, i: usize) -> Option<u64> {
        match self {
            Marks::Compact { base, offsets } => offsets.get(i).map(|&o| base + u64::from(o)),
            Marks::Wide(m) => m.get(i).copied(),
        }
    }

    fn pop_front(&mut self) {
        match self {
            Marks::Compact { offsets, .. } => {
                offsets.pop_front();
            }
            Marks::Wide(m) => {
                m.pop_front();
                if m.is_empty() {
                    *self = Marks::default();
                }
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            Marks::Compact { offsets, .. } => offsets.capacity() * std::mem::size_of::<u32>(),
            Marks::Wide(m) => m.capacity() * std::mem::size_of::<u64>(),
        }
    }

    /// Insert `mark` in order (answers mostly arrive in order: the search ends near the back).
    fn insert(&mut self, mark: u64, reserve: usize) {
        if let Marks::Compact { base, offsets } = self {
            if offsets.is_empty() {
                *base = mark;
            }
            let lo = offsets.front().map_or(mark, |&o| (*base + u64::from(o)).min(mark));
            let hi = offsets.back().map_or(mark, |&o| (*base + u64::from(o)).max(mark));
            if hi - lo > Self::SPAN {
                let wide: VecDeque<u64> = offsets.iter().map(|&o| *base + u64::from(o)).collect();
                *self = Marks::Wide(wide);
            } else if mark < *base || mark - *base > Self::SPAN {
                // Rebase on the earliest of the marks and this one.
                for o in offsets.iter_mut() {
                    // Fits: every mark lies within SPAN of `lo`.
                    *o = u32::try_from(*base + u64::from(*o) - lo).unwrap_or(u32::MAX);
                }
                *base = lo;
            }
        }
        match self {
            Marks::Compact { base, offsets } => {
                let off = u32::try_from(mark - *base).unwrap_or(u32::MAX);
                let mut at = offsets.len();
                while at > 0 && offsets.get(at - 1).is_some_and(|&m| m > off) {
                    at -= 1;
                }
                if offsets.capacity() == 0 {
                    offsets.reserve_exact(reserve);
                }
                offsets.insert(at, off);
            }
            Marks::Wide(m) => {
                let mut at = m.len();
                while at > 0 && m.get(at - 1).is_some_and(|&x| x > mark) {
                    at -= 1;
                }
                m.insert(at, mark);
            }
        }
    }
}

/// The stored form of a [`RateLimiter`] (what a shared store keeps), with absolute times.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct LimiterState {
    /// The limits in force (learned ones included).
    pub limits: Limits,
    /// Marks of answered sends inside the window, ascending.
    pub marks: Vec<u64>,
    /// Sends awaiting answers: `[id, sent at]`.
    pub in_flight: Vec<[u64; 2]>,
    /// The id of the next allowed send.
    pub next_id: u64,
    /// Sends are blocked until this time.
    pub blocked_until: u64,
    /// The latest mark dropped from the window.
    pub evicted_latest: Option<u64>,
    /// The start of the daily window.
    pub day_start: Option<u64>,
    /// Sends counted in the daily window.
    pub day_count: u64,
    /// The server said the day is used up.
    pub day_exhausted: bool,
    /// The latest time seen.
    pub last_now: u64,
}

impl RateLimiter {
    /// The stored form.
    pub fn to_state(&self) -> LimiterState {
        LimiterState {
            limits: self.limits,
            marks: (0..self.marks.len()).filter_map(|i| self.mark(i)).collect(),
            in_flight: self.in_flight.iter().map(|&(id, sent)| [id, sent]).collect(),
            next_id: self.next_id,
            blocked_until: self.blocked_until,
            evicted_latest: self.evicted_latest,
            day_start: self.day_start,
            day_count: self.day_count,
            day_exhausted: self.day_exhausted,
            last_now: self.last_now,
        }
    }

    /// Restore from the stored form (marks are sorted, whatever order they come in).
    pub fn from_state(state: &LimiterState) -> Self {
        let mut l = RateLimiter::new(state.limits);
        l.limits.max = l.limits.max.max(1);
        let mut marks = state.marks.clone();
        marks.sort_unstable();
        for m in marks {
            l.insert_mark(m);
        }
        l.in_flight = state.in_flight.iter().map(|&[id, sent]| (id, sent)).collect();
        l.next_id = state.next_id;
        l.blocked_until = state.blocked_until;
        l.evicted_latest = state.evicted_latest;
        l.day_start = state.day_start;
        l.day_count = state.day_count;
        l.day_exhausted = state.day_exhausted;
        l.last_now = state.last_now;
        l
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
    /// No limiters yet; each new one starts with `limits`.
    pub fn new(limits: Limits) -> Self {
        RateLimiters {
            limits,
            map: HashMap::with_hasher(foldhash::fast::RandomState::default()),
            ops_since_sweep: 0,
            last_sweep: 0,
        }
    }

    /// Drop `key`'s limiter (its pacing state); whether it had one.
    pub fn remove(&mut self, key: &str) -> bool {
        self.map.remove(&ResourceKey::new(key)).is_some()
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

    /// Ask `key`'s limiter for a send at `now_ms` (see [`RateLimiter::acquire`]); creates it on first use.
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

    /// Feed a response for `key` (see [`RateLimiter::observe`]); creates the limiter on first use.
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

    /// Replace the limiter of `key` (e.g. with the state read from a shared store).
    pub fn insert(&mut self, key: &str, limiter: RateLimiter) {
        self.map.insert(ResourceKey::new(key), limiter);
    }

    /// The default limits of new limiters.
    pub fn default_limits(&self) -> Limits {
        self.limits
    }

    /// Report the answer of send `send_id` of `key` (see [`RateLimiter::answered`]).
    pub fn answered(&mut self, key: &str, send_id: u64, now_ms: u64) {
        if let Some(l) = self.map.get_mut(key) {
            l.answered(send_id, now_ms);
        }
    }

    /// Drop every limiter that is idle at `now_ms`; returns how many were dropped.
    pub fn evict_idle(&mut self, now_ms: u64) -> usize {
        let before = self.map.len();
        self.map.retain(|_, l| !l.is_idle(now_ms));
        before - self.map.len()
    }

    /// How many resources have a limiter.
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// Whether no resource has a limiter.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    /// `key`'s limiter, if it has one.
    pub fn get(&self, key: &str) -> Option<&RateLimiter> {
        self.map.get(key)
    }
}
