//! A `RateLimiter` fed an arbitrary sequence of acquire / check / answered(send_id) /
//! observe(status, headers) / is_idle at arbitrary (possibly decreasing) times. Checked
//! from the outside (SPEC §9: a send counts from when it is sent until its mark, the time
//! its answer arrived, or `sent + answer_timeout_ms`, has left the window):
//! - never a panic;
//! - while no header changed the limits: an allowed send finds fewer than `max` sends whose
//!   mark lies in the window `(t - interval - margin, t]` (sends in flight count as marked
//!   now), and the day's allowed sends never exceed `daily_max` while no header was seen;
//! - always (limits in force): sends *sent* within one window never exceed `max`;
//! - `check` answers what `acquire` answers at the same time;
//! - with nothing in flight, a `Wait { wait_ms }` that is not the daily limit is exact:
//!   allowed at `now + wait_ms`, not at `now + wait_ms - 1`;
//! - an idle limiter allows (unless the daily budget is spent).
//! The same operations also go to a `RateLimiters` under a few keys (no panic, bounded).
#![no_main]
use arbitrary::Arbitrary;
use hoopauth::{Decision, Limits, RateLimiter, RateLimiters};
use libfuzzer_sys::fuzz_target;

mod common;
use common::{Dt, Header, Status, T0};

const DAY_MS: u64 = 86_400_000;

#[derive(Arbitrary, Debug)]
enum Op {
    Acquire(Dt),
    Check(Dt),
    /// The answer to the n-th oldest unanswered send (or to an unknown id).
    Answered { dt: Dt, which: u8, unknown: Option<u64> },
    Observe { dt: Dt, status: Status, headers: Vec<Header> },
    IsIdle(Dt),
}

#[derive(Arbitrary, Debug)]
struct Input {
    max: u16,
    interval_ms: u32,
    margin_ms: u16,
    daily_max: u32,
    answer_timeout_ms: u32,
    /// Start near T0, or anywhere (up to u64::MAX).
    start: Option<u64>,
    ops: Vec<(u8, Op)>,
}

struct Sent {
    id: u64,
    at: u64,
    answered: Option<u64>,
}

impl Sent {
    /// The send's mark as seen at `t`.
    fn mark(&self, t: u64, timeout: u64) -> u64 {
        match self.answered {
            Some(a) => a,
            None => t.min(self.at.saturating_add(timeout)),
        }
    }
}

fuzz_target!(|input: Input| {
    let limits = Limits {
        max: u32::from(input.max % 64),
        interval_ms: u64::from(input.interval_ms % 100_000),
        margin_ms: u64::from(input.margin_ms % 1000),
        daily_max: u64::from(input.daily_max % 500),
        answer_timeout_ms: u64::from(input.answer_timeout_ms % 200_000),
    };
    let timeout = limits.answer_timeout_ms;
    let mut l = RateLimiter::new(limits);
    let mut many = RateLimiters::new(limits);
    let mut now = input.start.unwrap_or(T0);
    let mut clock = 0u64; // the limiter's clock: time never goes back
    let mut sends: Vec<Sent> = Vec::new();
    let mut headers_seen = false;
    let mut limits_changed = false;
    let (mut day_start, mut day_count): (Option<u64>, u64) = (None, 0);

    for (key, op) in input.ops.iter().take(256) {
        let key = ["loc_a", "loc_b", "a-location-id-longer-than-thirty-bytes"][usize::from(*key) % 3];
        match op {
            Op::Acquire(dt) | Op::Check(dt) => {
                now = dt.apply(now);
                clock = clock.max(now);
                if let Some(start) = day_start {
                    if clock >= start.saturating_add(DAY_MS) {
                        day_start = None;
                        day_count = 0;
                    }
                }
                let checked = l.check(now);
                let acquire = matches!(op, Op::Acquire(_));
                let d = if acquire { l.acquire(now) } else { l.check(now) };
                assert_eq!(checked, d, "check and acquire disagree at {now}");
                if let Decision::Allow { send_id } = many.acquire(key, now) {
                    many.answered(key, send_id, now);
                }
                match d {
                    Decision::Allow { send_id } => {
                        if !acquire {
                            continue;
                        }
                        let cur = l.limits();
                        let window = cur.interval_ms.saturating_add(cur.margin_ms);
                        if !limits_changed {
                            let marked = sends
                                .iter()
                                .map(|s| s.mark(clock, timeout))
                                .filter(|&m| m <= clock && m.saturating_add(window) > clock)
                                .count();
                            assert!(
                                marked < cur.max.max(1) as usize,
                                "send allowed at {clock} with {marked} marks in the {window} ms window, max {}",
                                cur.max
                            );
                        }
                        assert!(sends.iter().all(|s| s.id != send_id), "send id {send_id} given twice");
                        sends.push(Sent { id: send_id, at: clock, answered: None });
                        day_start.get_or_insert(clock);
                        day_count += 1;
                        let in_window = sends.iter().filter(|s| s.at.saturating_add(window) > clock).count();
                        assert!(
                            in_window <= cur.max.max(1) as usize,
                            "{in_window} sends within {window} ms at {clock}, max {} (limits changed: {limits_changed})",
                            cur.max
                        );
                        if !headers_seen {
                            assert!(day_count <= limits.daily_max, "{day_count} sends in a day, daily max {}", limits.daily_max);
                        }
                    }
                    Decision::Wait { wait_ms, daily_exhausted } => {
                        assert!(wait_ms > 0);
                        if !daily_exhausted && l.in_flight() == 0 {
                            if let Some(at) = clock.checked_add(wait_ms) {
                                let mut probe = l.clone();
                                assert!(probe.check(at).is_allowed(), "told to wait {wait_ms} ms at {clock}");
                                let mut probe = l.clone();
                                assert!(!probe.check(at - 1).is_allowed(), "told to wait {wait_ms} ms at {clock}, allowed earlier");
                            }
                        }
                    }
                }
            }
            Op::Answered { dt, which, unknown } => {
                now = dt.apply(now);
                clock = clock.max(now);
                let open: Vec<usize> = (0..sends.len()).filter(|&i| sends[i].answered.is_none()).collect();
                let id = match (unknown, open.get(usize::from(*which) % open.len().max(1))) {
                    (Some(id), _) => *id,
                    (None, Some(&i)) => sends[i].id,
                    (None, None) => u64::MAX,
                };
                let before = l.in_flight();
                l.answered(id, now);
                assert!(l.in_flight() <= before);
                if let Some(s) = sends.iter_mut().find(|s| s.id == id && s.answered.is_none()) {
                    // Past its timeout the send already has its final mark.
                    s.answered = Some(if clock < s.at.saturating_add(timeout) { clock.max(s.at) } else { s.at.saturating_add(timeout) });
                }
            }
            Op::Observe { dt, status, headers } => {
                now = dt.apply(now);
                clock = clock.max(now);
                let h = common::headers(headers, now);
                headers_seen |= !h.is_empty();
                let before = l.limits();
                l.observe(now, status.code(), &h);
                many.observe(key, now, status.code(), &h);
                limits_changed |= l.limits() != before;
            }
            Op::IsIdle(dt) => {
                now = dt.apply(now);
                if l.is_idle(now) {
                    assert_eq!(l.in_flight(), 0);
                    let mut probe = l.clone();
                    match probe.check(now) {
                        Decision::Allow { .. } | Decision::Wait { daily_exhausted: true, .. } => {}
                        d => panic!("idle at {now} but {d:?}"),
                    }
                }
                let _ = many.evict_idle(now);
            }
        }
        let open = sends.iter().filter(|s| s.answered.is_none() && s.at.saturating_add(timeout) > clock).count();
        // A send past its timeout leaves `in_flight()` at the limiter's next look at the clock.
        let mut probe = l.clone();
        let _ = probe.check(0);
        assert_eq!(probe.in_flight(), open, "sends in flight at {clock}");
        assert!(l.memory_bytes() < 64 * 1024);
        assert!(many.len() <= 3);
        let _ = many.memory_bytes();
    }
});
