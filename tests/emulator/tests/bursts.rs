//! The most requests in any sliding interval (`max_in_interval` in the stats) and the
//! burst-delay knob (the first requests of a burst reach the rate limiter late).
mod common;
use common::*;
use hoopauth_emulator::{EmulatorConfig, Running};
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// One `GET /contacts/` on its own connection, timed from the client.
async fn timed(addr: SocketAddr, at: String, loc: &'static str) -> (Resp, Instant, Instant) {
    let auth = bearer(&at);
    let sent = Instant::now();
    let resp = request(
        addr,
        "GET",
        &format!("/contacts/?locationId={loc}"),
        &[("Authorization", &auth), VERSION],
        b"",
    )
    .await;
    (resp, sent, Instant::now())
}

/// `n` sequential requests; their statuses.
async fn seq(r: &Running, at: &str, loc: &'static str, n: usize) -> Vec<u16> {
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        out.push(timed(r.addr(), at.to_string(), loc).await.0.status);
    }
    out
}

/// `n` requests at once, one connection each; answers in the order they were started.
async fn burst(
    r: &Running,
    at: &str,
    loc: &'static str,
    n: usize,
) -> Vec<(Resp, Instant, Instant)> {
    let tasks: Vec<_> = (0..n)
        .map(|_| tokio::spawn(timed(r.addr(), at.to_string(), loc)))
        .collect();
    let mut out = Vec::with_capacity(n);
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn count(statuses: &[u16], status: u16) -> usize {
    statuses.iter().filter(|&&s| s == status).count()
}

async fn control(r: &Running, knobs: Value) -> Value {
    let resp = post_json(r, "/_emulator/control", &[], &knobs).await;
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()
}

async fn reset(r: &Running) {
    assert_eq!(
        request(r.addr(), "POST", "/_emulator/reset", &[], b"")
            .await
            .status,
        200
    );
}

fn ms(d: Duration) -> u128 {
    d.as_millis()
}

#[tokio::test]
async fn max_in_interval_counts_every_request_over_a_sliding_interval() {
    let r = emu(EmulatorConfig {
        max: 100,
        interval_ms: 2000,
        ..Default::default()
    })
    .await;
    let at = s(
        &install(&r, SCOPES, Some("loc_1"), "Location").await,
        "access_token",
    );
    let at2 = s(
        &install(&r, SCOPES, Some("loc_2"), "Location").await,
        "access_token",
    );
    let st = stats(&r).await;
    assert_eq!(
        st["max_in_interval"], 0,
        "token requests are not API requests"
    );
    assert_eq!(st["max_in_interval_by_location"], json!({}));

    // A: 100 allowed. B, 1.2 s later: 30 refused, still in A's interval -> 130.
    let t0 = Instant::now();
    assert_eq!(count(&seq(&r, &at, "loc_1", 100).await, 200), 100);
    let a_took = t0.elapsed();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let tb = Instant::now();
    assert_eq!(count(&seq(&r, &at, "loc_1", 30).await, 429), 30);
    let b_took = tb.elapsed();
    assert!(
        a_took + b_took < Duration::from_millis(800),
        "A and B must share an interval (took {} + {} ms)",
        ms(a_took),
        ms(b_took)
    );
    assert_eq!(stats(&r).await["max_in_interval"], 130);

    // C, 1.2 s after B: A has left the interval (>= 2.4 s ago), B has not. The limiter's
    // window is empty (B was refused), so 100 of C pass and 20 are refused: B + C = 150.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let c = seq(&r, &at, "loc_1", 120).await;
    let bc_took = tb.elapsed();
    assert_eq!((count(&c, 200), count(&c, 429)), (100, 20));
    assert!(
        bc_took < Duration::from_millis(2000),
        "B and C must share an interval (took {} ms)",
        ms(bc_took)
    );
    assert_eq!(seq(&r, &at2, "loc_2", 7).await, vec![200; 7]);

    let st = stats(&r).await;
    assert_eq!(st["max_in_interval"], 150, "{st}");
    assert_eq!(
        st["max_in_interval_by_location"],
        json!({"loc_1": 150, "loc_2": 7})
    );
    assert_eq!(st["resources"]["loc_1"]["requests"], 250);
    assert_eq!(st["resources"]["loc_1"]["rate_limited"], 50);
    assert_eq!(st["totals"]["burst_delayed"], 0);

    reset(&r).await;
    let st = stats(&r).await;
    assert_eq!(st["max_in_interval"], 0);
    assert_eq!(st["max_in_interval_by_location"], json!({}));
    assert_eq!(seq(&r, &at2, "loc_2", 3).await, vec![200; 3]);
    let st = stats(&r).await;
    assert_eq!(st["max_in_interval"], 3);
    assert_eq!(st["max_in_interval_by_location"], json!({"loc_2": 3}));
}

#[tokio::test]
async fn burst_delay_slows_the_first_requests_of_each_burst_only() {
    let r = emu(EmulatorConfig::default()).await;
    let at = s(
        &install(&r, SCOPES, Some("loc_1"), "Location").await,
        "access_token",
    );
    let k = control(
        &r,
        json!({"burst_delay_ms": 70, "burst_delay_max_ms": 190, "burst_delay_count": 10}),
    )
    .await;
    assert_eq!(
        (
            &k["burst_delay_ms"],
            &k["burst_delay_max_ms"],
            &k["burst_delay_count"],
            &k["burst_gap_ms"]
        ),
        (&json!(70), &json!(190), &json!(10), &json!(500))
    );
    for bad in [json!({"burst_delay_ms": -1}), json!({"burst_gap_ms": "x"})] {
        assert_eq!(
            post_json(&r, "/_emulator/control", &[], &bad).await.status,
            400
        );
    }
    // Request k of a burst waits 70 + 120 * k / 9 ms; it is never answered sooner.
    let want = |k: usize| Duration::from_micros(70_000 + 120_000 * k as u64 / 9);

    // One after another: the first 10 are late, the next 5 are not.
    let mut took = Vec::new();
    for _ in 0..15 {
        let (resp, sent, done) = timed(r.addr(), at.clone(), "loc_1").await;
        assert_eq!(resp.status, 200);
        took.push(done - sent);
    }
    let shown: Vec<u128> = took.iter().map(|d| ms(*d)).collect();
    for (k, d) in took.iter().enumerate().take(10) {
        assert!(*d >= want(k), "request {k} not delayed: {shown:?} ms");
    }
    for d in &took[10..] {
        assert!(*d < want(0), "a later request was delayed: {shown:?} ms");
    }
    assert_eq!(stats(&r).await["totals"]["burst_delayed"], 10);

    // 600 ms of quiet (> burst_gap_ms): the next burst starts late again.
    tokio::time::sleep(Duration::from_millis(600)).await;
    for k in 0..2 {
        let (_, sent, done) = timed(r.addr(), at.clone(), "loc_1").await;
        assert!(done - sent >= want(k), "new burst, request {k}");
    }

    // 20 at once (one quiet gap later): 10 of them are late, by 70..190 ms, and are
    // counted after the other 10.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let mut took: Vec<Duration> = burst(&r, &at, "loc_1", 20)
        .await
        .into_iter()
        .map(|(resp, sent, done)| {
            assert_eq!(resp.status, 200);
            done - sent
        })
        .collect();
    took.sort();
    let shown: Vec<u128> = took.iter().map(|d| ms(*d)).collect();
    for (k, d) in took[10..].iter().enumerate() {
        assert!(*d >= want(k), "{shown:?} ms");
    }
    assert!(took[9] < want(0), "more than 10 delayed: {shown:?} ms");
    let st = stats(&r).await;
    assert_eq!(st["totals"]["burst_delayed"], 22);
    assert_eq!(st["resources"]["loc_1"]["burst_delayed"], 22);
}

#[tokio::test]
async fn a_burst_delay_happens_before_the_request_is_counted() {
    // A is sent first but held 600 ms; B goes 300 ms after A and is not held (second of
    // its burst). The limiter (1 per second) counts B first and refuses A.
    let r = emu(EmulatorConfig {
        max: 1,
        interval_ms: 1000,
        burst_delay_ms: 600,
        burst_delay_count: 1,
        burst_gap_ms: 5000,
        ..Default::default()
    })
    .await;
    let at = s(
        &install(&r, SCOPES, Some("loc_1"), "Location").await,
        "access_token",
    );
    let addr = r.addr();
    let (a, b) = tokio::join!(timed(addr, at.clone(), "loc_1"), async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        timed(addr, at.clone(), "loc_1").await
    });
    assert!(a.2 - a.1 >= Duration::from_millis(600));
    assert!(b.2 < a.2, "B answered before A");
    assert_eq!((a.0.status, b.0.status), (429, 200));
    let st = stats(&r).await;
    assert_eq!(st["max_in_interval"], 2);
    assert_eq!(st["totals"]["burst_delayed"], 1);
}

/// Paces bursts of `max` on one location: each next burst goes `interval` after the
/// previous one's last send, or after its last answer.
async fn paced(r: &Running, at: &str, max: usize, interval: Duration, on_answers: bool) -> Value {
    let first = burst(r, at, "loc_1", max).await;
    let last_send = first.iter().map(|x| x.1).max().unwrap();
    let last_answer = first.iter().map(|x| x.2).max().unwrap();
    let from = if on_answers { last_answer } else { last_send };
    tokio::time::sleep_until((from + interval).into()).await;
    burst(r, at, "loc_1", max).await;
    stats(r).await
}

#[tokio::test]
async fn late_first_requests_break_pacing_on_send_times_and_the_counter_shows_it() {
    // Only the first burst of a run is late (the gap exceeds the pause between windows),
    // as when the first requests of a run pay for new connections.
    let r = emu(EmulatorConfig {
        max: 20,
        interval_ms: 1000,
        burst_delay_ms: 70,
        burst_delay_max_ms: 190,
        burst_delay_count: 10,
        burst_gap_ms: 5000,
        ..Default::default()
    })
    .await;
    let at = s(
        &install(&r, SCOPES, Some("loc_1"), "Location").await,
        "access_token",
    );
    let interval = Duration::from_millis(1000);

    // Pacing on send times: the late requests of the first burst are still in the
    // interval when the second burst arrives.
    let st = paced(&r, &at, 20, interval, false).await;
    let peak = st["max_in_interval"].as_u64().unwrap();
    assert!(peak > 20, "{st}");
    assert!(st["totals"]["rate_limited"].as_u64().unwrap() > 0, "{st}");
    assert_eq!(st["totals"]["burst_delayed"], 10);

    // Pacing on answer times: a request is counted before it is answered, so the second
    // burst never shares an interval with the first.
    reset(&r).await;
    let st = paced(&r, &at, 20, interval, true).await;
    assert_eq!(st["max_in_interval"], 20, "{st}");
    assert_eq!(st["totals"]["rate_limited"], 0, "{st}");
    assert_eq!(st["totals"]["burst_delayed"], 10);
}
