//! Simulated-clock tests of minted location sessions (a location token obtained from the
//! company's token through `POST /oauth/locationToken`, renewed the same way) and of the
//! webhook plan (INSTALL mints, UNINSTALL forgets). A small in-test platform: company tokens
//! with single-use refresh tokens, location tokens minted from a live company token, access
//! tokens that expire; calls, and the mint calls they ask for, driven by one discrete-event
//! loop. No sleeping, no I/O.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

use hoopauth::*;
use std::collections::{BTreeMap, HashMap};

const T0: u64 = 1_767_225_600_000;
const COMPANY: &str = "comp_1";

#[derive(Default)]
struct Platform {
    company_ttl_ms: u64,
    location_ttl_ms: u64,
    /// access token -> (resource, expiry)
    access: HashMap<String, (String, u64)>,
    /// company refresh tokens -> spent
    refresh: HashMap<String, bool>,
    next: u32,
    mints: Vec<(u64, String)>,
    refreshes: u32,
    invalid_grants: u32,
    api_ok: u32,
    unauthorized: u32,
    /// The company's refresh tokens are all revoked (the app was uninstalled from the company).
    revoked: bool,
}

impl Platform {
    fn token(&mut self, resource: &str, ttl: u64, now: u64) -> String {
        self.next += 1;
        let at = format!("at-{}-{resource}", self.next);
        self.access.insert(at.clone(), (resource.to_owned(), now + ttl));
        at
    }

    fn company_tokens(&mut self, now: u64) -> TokenSet {
        let at = self.token(COMPANY, self.company_ttl_ms, now);
        let rt = format!("rt-{}", self.next);
        self.refresh.insert(rt.clone(), false);
        let body = format!(
            r#"{{"access_token":"{at}","refresh_token":"{rt}","expires_in":{},"userType":"Company","companyId":"{COMPANY}","approvedLocations":["loc_1","loc_2","loc_3"],"isBulkInstallation":true}}"#,
            self.company_ttl_ms / 1000
        );
        parse_token_response(200, &[], body.as_bytes(), now).unwrap()
    }

    fn bearer(req: &Request) -> String {
        req.header("authorization").unwrap_or("").trim_start_matches("Bearer ").to_owned()
    }

    fn live(&self, token: &str, now: u64) -> Option<String> {
        self.access.get(token).filter(|(_, exp)| now < *exp).map(|(r, _)| r.clone())
    }

    fn handle(&mut self, req: &Request, now: u64) -> Response {
        if req.url.ends_with("/oauth/token") {
            let form: HashMap<String, String> = url::form_urlencoded::parse(&req.body).into_owned().collect();
            let rt = form.get("refresh_token").cloned().unwrap_or_default();
            if self.revoked || self.refresh.get(&rt) != Some(&false) {
                self.invalid_grants += 1;
                return Response::new(400, vec![], r#"{"error":"invalid_grant","error_description":"refresh token is invalid"}"#);
            }
            self.refresh.insert(rt, true);
            self.refreshes += 1;
            let ts = self.company_tokens(now);
            let body = format!(
                r#"{{"access_token":"{}","refresh_token":"{}","expires_in":{},"userType":"Company","companyId":"{COMPANY}"}}"#,
                ts.access_token.expose(),
                ts.refresh_token.as_ref().unwrap().expose(),
                self.company_ttl_ms / 1000
            );
            return Response::new(200, vec![], body);
        }
        if req.url.ends_with("/oauth/locationToken") {
            if self.live(&Self::bearer(req), now).as_deref() != Some(COMPANY) {
                self.unauthorized += 1;
                return Response::new(401, vec![], r#"{"statusCode":401,"message":"Invalid JWT"}"#);
            }
            let form: HashMap<String, String> = url::form_urlencoded::parse(&req.body).into_owned().collect();
            let location = form.get("locationId").cloned().unwrap_or_default();
            assert_eq!(form.get("companyId").map(String::as_str), Some(COMPANY));
            let at = self.token(&location, self.location_ttl_ms, now);
            self.mints.push((now, location.clone()));
            // The platform's answer may carry a refresh token: a minted session drops it.
            let body = format!(
                r#"{{"access_token":"{at}","refresh_token":"rt-minted-{}","token_type":"Bearer","expires_in":{},"locationId":"{location}","userType":"Location"}}"#,
                self.next,
                self.location_ttl_ms / 1000
            );
            return Response::new(201, vec![], body);
        }
        match self.live(&Self::bearer(req), now) {
            Some(r) if r != COMPANY => {
                self.api_ok += 1;
                Response::new(200, vec![], r#"{"contacts":[]}"#)
            }
            _ => {
                self.unauthorized += 1;
                Response::new(401, vec![], r#"{"statusCode":401,"message":"Invalid JWT"}"#)
            }
        }
    }
}

fn pool(leeway_ms: u64, limits: Limits) -> Pool {
    let config = Config::new(ConfigOptions {
        client_id: "65f1c0ffee-sim".into(),
        client_secret: Some("sim-secret".into()),
        ..Default::default()
    })
    .unwrap();
    Pool::new(config, SessionOptions { refresh_leeway_ms: leeway_ms, lease_ms: 30_000 }, limits)
}

struct Task {
    call: Call,
    resource: String,
    /// The location call a mint call answers to.
    parent: Option<usize>,
}

#[derive(Default)]
struct Tally {
    done: u32,
    reauthorize: u32,
    failed: Vec<ErrorKind>,
    persists: u32,
    mint_steps: u32,
    send_refresh: u32,
}

/// Run `starts` (time, location) calls to the end, each one-way trip `latency` ms.
fn run(p: &mut Platform, pool: &mut Pool, starts: &[(u64, &str)], latency: u64, options: CallOptions) -> Tally {
    let mut tasks: Vec<Task> = Vec::new();
    let mut queue: BTreeMap<(u64, u64), (usize, Event)> = BTreeMap::new();
    let mut seq = 0;
    for (at, location) in starts {
        tasks.push(Task {
            call: Call::new(ApiRequest::new(Method::Get, "/contacts/"), options),
            resource: (*location).to_owned(),
            parent: None,
        });
        queue.insert((*at, seq), (tasks.len() - 1, Event::Start));
        seq += 1;
    }
    let mut tally = Tally::default();
    while let Some(((now, _), (i, event))) = queue.pop_first() {
        let resource = tasks[i].resource.clone();
        let step = pool.step(&mut tasks[i].call, &resource, event, now, 7);
        let next: Vec<(u64, usize, Event)> = match step {
            Step::Send(req) => {
                let answer = p.handle(&req, now + latency);
                vec![(now + 2 * latency, i, Event::Response(answer))]
            }
            Step::SendRefresh(req) => {
                tally.send_refresh += 1;
                assert!(!tasks[i].resource.starts_with("loc_"), "a minted location is never refreshed");
                let answer = p.handle(&req, now + latency);
                vec![(now + 2 * latency, i, Event::Response(answer))]
            }
            Step::Persist(stored) => {
                tally.persists += 1;
                if tasks[i].resource.starts_with("loc_") {
                    assert!(stored.minted_from.is_some());
                }
                vec![(now, i, Event::Resume)]
            }
            Step::Wait { wait_ms, .. } => vec![(now + wait_ms, i, Event::Resume)],
            Step::Mint { company_id, location_id } => {
                tally.mint_steps += 1;
                assert_eq!(location_id, resource);
                tasks.push(Task {
                    call: Call::location_token(&company_id, &location_id, options),
                    resource: company_id,
                    parent: Some(i),
                });
                vec![(now, tasks.len() - 1, Event::Start)]
            }
            Step::Done(resp) => match tasks[i].parent {
                Some(parent) => vec![(now, parent, Event::Response(resp))],
                None => {
                    tally.done += 1;
                    vec![]
                }
            },
            Step::Fail(e) | Step::Reauthorize(e) if tasks[i].parent.is_some() => {
                vec![(now, tasks[i].parent.unwrap(), Event::MintFailed(e))]
            }
            Step::Reauthorize(_) => {
                tally.reauthorize += 1;
                vec![]
            }
            Step::Fail(e) => {
                tally.failed.push(e.kind());
                vec![]
            }
        };
        for (at, task, ev) in next {
            queue.insert((at, seq), (task, ev));
            seq += 1;
        }
    }
    tally
}

fn setup(company_ttl_ms: u64, location_ttl_ms: u64) -> (Platform, Pool) {
    let mut p = Platform { company_ttl_ms, location_ttl_ms, ..Platform::default() };
    let mut pool = pool(300_000, Limits::default());
    let company = p.company_tokens(T0);
    pool.load_tokens(None, company).unwrap();
    (p, pool)
}

#[test]
fn a_minted_location_token_is_minted_again_once_per_due_point_never_refreshed() {
    // Location tokens live 60 s (minted again at half their life, 30 s), the company's 100 s
    // (refreshed at 50 s): over 5 minutes, 10 calls start every second on each of two locations.
    let (mut p, mut pool) = setup(100_000, 60_000);
    for l in ["loc_1", "loc_2"] {
        assert!(pool.expect_minted(l, COMPANY).unwrap(), "no tokens yet: a mint is needed");
    }
    let mut starts = Vec::new();
    for s in 0..300u64 {
        for k in 0..10 {
            starts.push((T0 + s * 1_000 + k, if k % 2 == 0 { "loc_1" } else { "loc_2" }));
        }
    }
    let t = run(&mut p, &mut pool, &starts, 40, CallOptions::default());
assert_eq!(t.done as usize, starts.len(), "every call ok: {:?}", t.failed);
assert_eq!(t.reauthorize, 0);
    assert_eq!(p.invalid_grants, 0);
assert_eq!(p.unauthorized, 0, "no token was used past its life");
    assert!(p.refreshes >= 3, "the company refreshed meanwhile ({} times)", p.refreshes);
    assert_eq!(t.send_refresh, p.refreshes, "only the company refreshes");
    for l in ["loc_1", "loc_2"] {
        let times: Vec<u64> = p.mints.iter().filter(|(_, r)| r == l).map(|(t, _)| *t).collect();
        // One mint per due point: the first, then one every 30 s (half the life).
        assert_eq!(times.len(), 10, "{l}: {times:?}");
        for w in times.windows(2) {
            assert!(w[1] - w[0] >= 29_000 && w[1] - w[0] < 32_000, "{l}: mints {w:?}");
        }
        let s = pool.session(l).unwrap();
        assert!(s.token_set().unwrap().refresh_token.is_none(), "the minted answer's refresh token is dropped");
        assert_eq!(s.minted_from().unwrap().company_id, COMPANY);
    }
    assert_eq!(t.mint_steps as usize, p.mints.len(), "concurrent calls share one mint");
}

#[test]
fn a_401_on_a_minted_token_mints_again_once_not_reauthorize() {
    let (mut p, mut pool) = setup(3_600_000, 3_600_000);
    pool.expect_minted("loc_1", COMPANY).unwrap();
    let t = run(&mut p, &mut pool, &[(T0, "loc_1")], 10, CallOptions::default());
    assert_eq!((t.done, p.mints.len()), (1, 1));
    // The platform drops the location's token (e.g. revoked); the next call's 401 mints again.
    p.access.retain(|_, (r, _)| r != "loc_1");
    let t = run(&mut p, &mut pool, &[(T0 + 1_000, "loc_1")], 10, CallOptions::default());
    assert_eq!((t.done, t.reauthorize, p.mints.len()), (1, 0, 2));
    assert_eq!(p.unauthorized, 1);
    // A token the platform keeps refusing: minted again once, then the 401 is the answer.
    p.access.clear();
    let before = p.mints.len();
    p.company_ttl_ms = 0; // every company token is born dead
    let t = run(&mut p, &mut pool, &[(T0 + 2_000, "loc_1")], 10, CallOptions::default());
    assert_eq!(t.done, 0);
    assert_eq!(p.mints.len(), before, "the company's token is refused too: nothing minted");
    assert!(t.reauthorize + t.failed.len() as u32 == 1);
}

#[test]
fn a_company_that_must_authorize_again_ends_the_location_call_with_reauthorize() {
    let (mut p, mut pool) = setup(100_000, 60_000);
    pool.expect_minted("loc_1", COMPANY).unwrap();
    p.revoked = true;
    // The company's token is due at T0 + 50 s; its refresh is refused for good.
    let t = run(&mut p, &mut pool, &[(T0 + 60_000, "loc_1")], 10, CallOptions::default());
    assert_eq!((t.done, t.reauthorize), (0, 1));
    assert!(pool.session(COMPANY).unwrap().needs_reauthorization());
    let loc = pool.session("loc_1").unwrap();
    assert!(!loc.needs_reauthorization(), "the location itself is fine once the company is back");
    assert!(!loc.refresh_in_flight(T0 + 60_100), "the lease is free");
    // The company authorizes again: the location mints without anything else.
    p.revoked = false;
    let fresh = p.company_tokens(T0 + 70_000);
    pool.load_tokens(Some(COMPANY), fresh).unwrap();
    let t = run(&mut p, &mut pool, &[(T0 + 70_000, "loc_1")], 10, CallOptions::default());
    assert_eq!((t.done, t.reauthorize, p.mints.len()), (1, 0, 1));
}

#[test]
fn abort_mid_mint_releases_the_lease() {
    let (_p, mut pool) = setup(3_600_000, 3_600_000);
    pool.expect_minted("loc_1", COMPANY).unwrap();
    let mut first = Call::new(ApiRequest::new(Method::Get, "/contacts/"), CallOptions::default());
    let step = pool.step(&mut first, "loc_1", Event::Start, T0, 0);
    assert!(matches!(&step, Step::Mint { company_id, location_id } if company_id == COMPANY && location_id == "loc_1"), "{step:?}");
    let mut second = Call::new(ApiRequest::new(Method::Get, "/contacts/"), CallOptions::default());
    let w = pool.step(&mut second, "loc_1", Event::Start, T0 + 5, 0);
    assert!(matches!(w, Step::Wait { reason: WaitReason::Refresh, .. }), "single-flight: {w:?}");
    pool.abort(&mut first, "loc_1", T0 + 10);
    assert!(!pool.session("loc_1").unwrap().refresh_in_flight(T0 + 10));
    let again = pool.step(&mut second, "loc_1", Event::Resume, T0 + 11, 0);
    assert!(matches!(again, Step::Mint { .. }), "the lease is free at once: {again:?}");
    // A late answer to the aborted call's mint changes nothing.
    let late = pool.step(&mut first, "loc_1", Event::Response(Response::new(201, vec![], "{}")), T0 + 12, 0);
    assert!(matches!(late, Step::Fail(_)));
    assert!(pool.session("loc_1").unwrap().refresh_in_flight(T0 + 12), "the second call's lease stands");
}

#[test]
fn coordinated_mode_saves_the_lease_before_minting() {
    let (mut p, mut pool) = setup(3_600_000, 3_600_000);
    pool.expect_minted("loc_1", COMPANY).unwrap();
    let options = CallOptions { coordinate_refresh: true, ..CallOptions::default() };
    let mut c = Call::new(ApiRequest::new(Method::Get, "/contacts/"), options);
    let Step::Persist(lease) = pool.step(&mut c, "loc_1", Event::Start, T0, 0) else { panic!("the lease is saved first") };
    assert!(lease.refresh_lease_until_ms.is_some());
    assert!(lease.minted_from.is_some());
    let Step::Mint { company_id, location_id } = pool.step(&mut c, "loc_1", Event::Resume, T0, 0) else { panic!() };
    // Another process took the lease over meanwhile? Conflict → decide again. Here: mint.
    let mut m = Call::location_token(&company_id, &location_id, options);
    let Step::Send(req) = pool.step(&mut m, &company_id, Event::Start, T0 + 1, 0) else { panic!() };
    assert!(req.url.ends_with("/oauth/locationToken"));
    assert_eq!(req.header("version"), Some(DEFAULT_API_VERSION));
    let answer = p.handle(&req, T0 + 2);
    let Step::Done(resp) = pool.step(&mut m, &company_id, Event::Response(answer), T0 + 3, 0) else { panic!() };
    let Step::Persist(saved) = pool.step(&mut c, "loc_1", Event::Response(resp), T0 + 3, 0) else { panic!() };
    assert!(saved.refresh_lease_until_ms.is_none());
    let Step::Send(api) = pool.step(&mut c, "loc_1", Event::Resume, T0 + 4, 0) else { panic!() };
    assert!(api.header("authorization").unwrap().ends_with("-loc_1"));
    assert_eq!(c.stats().mints, 1);
    assert_eq!(c.stats().refreshes, 0);
}

#[test]
fn a_token_call_mints_the_first_token_and_saves_it() {
    let (mut p, mut pool) = setup(3_600_000, 3_600_000);
    assert!(pool.expect_minted("loc_3", COMPANY).unwrap());
    let mut c = Call::token(CallOptions::default());
    assert!(c.is_token_only());
    let Step::Mint { company_id, location_id } = pool.step(&mut c, "loc_3", Event::Start, T0, 0) else { panic!() };
    let mut m = Call::location_token(&company_id, &location_id, CallOptions::default());
    let Step::Send(req) = pool.step(&mut m, COMPANY, Event::Start, T0, 0) else { panic!() };
    let answer = p.handle(&req, T0 + 1);
    let Step::Done(resp) = pool.step(&mut m, COMPANY, Event::Response(answer), T0 + 2, 0) else { panic!() };
    assert!(matches!(pool.step(&mut c, "loc_3", Event::Response(resp), T0 + 2, 0), Step::Persist(_)));
    let Step::Done(done) = pool.step(&mut c, "loc_3", Event::Resume, T0 + 3, 0) else { panic!() };
    assert_eq!(done.status, 204);
    // A second token call: the token is there, nothing is sent.
    let mut again = Call::token(CallOptions::default());
    assert!(matches!(pool.step(&mut again, "loc_3", Event::Start, T0 + 4, 0), Step::Done(_)));
    // A location holding its own OAuth tokens is not made a minted one.
    let own = parse_token_response(200, &[], br#"{"access_token":"a","refresh_token":"r","expires_in":86399,"locationId":"loc_9"}"#, T0).unwrap();
    pool.load_tokens(None, own).unwrap();
    assert!(!pool.expect_minted("loc_9", COMPANY).unwrap());
    assert!(pool.session("loc_9").unwrap().minted_from().is_none());
    assert!(pool.expect_minted(COMPANY, COMPANY).is_err());
}

#[test]
fn the_stored_form_round_trips_and_older_records_load() {
    let (mut p, mut pool) = setup(3_600_000, 60_000);
    pool.expect_minted("loc_1", COMPANY).unwrap();
    run(&mut p, &mut pool, &[(T0, "loc_1")], 10, CallOptions::default());
    let json = pool.stored_json("loc_1").unwrap();
    assert!(json.contains(r#""minted_from":{"company_id":"comp_1","location_id":"loc_1"}"#), "{json}");
    let mut other = self::pool(300_000, Limits::default());
    other.load_stored("loc_1", &json).unwrap();
    assert_eq!(other.stored_json("loc_1").unwrap(), json);
    assert_eq!(other.stored("loc_1"), pool.stored("loc_1"));
    // Due after half its 60 s life: a mint, not a refresh and not a re-authorization.
    let mut s = other.session_mut_opt("loc_1").unwrap().clone();
    assert!(matches!(s.acquire(T0 + 29_000).unwrap(), Action::Use { .. }));
    assert_eq!(s.acquire(T0 + 30_001).unwrap(), Action::Mint { company_id: COMPANY.into(), location_id: "loc_1".into() });
    assert!(matches!(s.acquire(T0 + 30_002).unwrap(), Action::Wait { .. }));
    // A company session's record does not name the field at all (older readers see no change).
    assert!(!pool.stored_json(COMPANY).unwrap().contains("minted_from"));
    // A record written before the field existed loads as an ordinary session.
    let old = r#"{"format":1,"version":3,"credential":{"type":"oauth","tokens":{"access_token":"a","token_type":null,"expires_in":86399,"expires_at_ms":1767312000000,"refresh_token":"r","scopes":[],"user_type":"Location","location_id":"loc_1","company_id":null,"approved_locations":null,"plan_id":null,"is_bulk_installation":null,"user_id":null}},"bad":false,"refresh_lease_until_ms":null,"reauthorize":false}"#;
    other.load_stored("loc_old", old).unwrap();
    assert!(other.session("loc_old").unwrap().minted_from().is_none());
    // The shared record carries it too.
    other.load_shared("loc_1", None).unwrap();
    let rec = other.export_shared("loc_1", &[0; 24]).unwrap().unwrap();
    assert!(rec.contains("minted_from"), "{rec}");
}

// ---- the webhook plan ------------------------------------------------------------------

fn event(json: &str) -> WebhookEvent {
    parse_webhook_event(json.as_bytes()).unwrap()
}

#[test]
fn a_bulk_install_mints_every_approved_location_once() {
    let (mut p, mut pool) = setup(3_600_000, 3_600_000);
    let install = event(
        r#"{"type":"INSTALL","appId":"app","installType":"Company","companyId":"comp_1","isBulkInstallation":true,"webhookId":"w1","timestamp":"2026-01-01T00:00:00.000Z"}"#,
    );
    assert_eq!(webhook_reads(&install), ["comp_1"]);
    let plan = pool.plan_webhook(&install);
    assert_eq!(plan.mint, ["loc_1", "loc_2", "loc_3"], "the company token's approvedLocations");
    assert_eq!(plan.company_id.as_deref(), Some(COMPANY));
    let mut changed = 0;
    for l in &plan.mint {
        if pool.expect_minted(l, COMPANY).unwrap() {
            changed += 1;
        }
    }
    let starts: Vec<(u64, &str)> = plan.mint.iter().map(|l| (T0, l.as_str())).collect();
    let t = run(&mut p, &mut pool, &starts, 10, CallOptions::default());
    assert_eq!(t.done, 3);
    assert_eq!(plan.reply(changed), WebhookReply { status: 200, reason: "applied".into() });
    assert_eq!(p.mints.len(), 3);
    // The same INSTALL again (delivered twice past the duplicate memory): nothing new.
    let plan = pool.plan_webhook(&install);
    let changed = plan.mint.iter().filter(|l| pool.expect_minted(l, COMPANY).unwrap()).count();
    assert_eq!(plan.reply(changed).reason, "nothing_to_do");
    // An INSTALL for one location: only that location.
    let one = event(r#"{"type":"INSTALL","installType":"Location","locationId":"loc_7","companyId":"comp_1"}"#);
    assert_eq!(pool.plan_webhook(&one).mint, ["loc_7"]);
    // Without company tokens: nothing to mint from.
    let other = event(r#"{"type":"INSTALL","locationId":"loc_8","companyId":"comp_2"}"#);
    assert_eq!(pool.plan_webhook(&other).reply(0).reason, "no_company_tokens");
    let no_company = event(r#"{"type":"INSTALL","locationId":"loc_1"}"#);
    assert_eq!(pool.plan_webhook(&no_company).reply(0), WebhookReply { status: 200, reason: "nothing_to_do".into() });
    // The delivery's own approvedLocations count for a bulk install.
    let listed = event(r#"{"type":"INSTALL","companyId":"comp_1","isBulkInstallation":"true","approvedLocations":["loc_5","loc_1"]}"#);
    assert_eq!(pool.plan_webhook(&listed).mint, ["loc_5", "loc_1", "loc_2", "loc_3"]);
}

#[test]
fn uninstall_forgets_tokens_and_pacing_and_replies() {
    let (mut p, mut pool) = setup(3_600_000, 3_600_000);
    for l in ["loc_1", "loc_2"] {
        pool.expect_minted(l, COMPANY).unwrap();
    }
    run(&mut p, &mut pool, &[(T0, "loc_1"), (T0, "loc_2")], 10, CallOptions::default());
    assert!(pool.limiters().get("loc_1").is_some());
    let un = event(r#"{"type":"UNINSTALL","locationId":"loc_1","companyId":"comp_1","webhookId":"w2"}"#);
    let plan = pool.plan_webhook(&un);
    assert_eq!(plan.forget, ["loc_1"]);
    assert_eq!(plan.webhook_id.as_deref(), Some("w2"));
    let changed = plan.forget.iter().filter(|r| pool.forget(r)).count();
    assert_eq!(plan.reply(changed).reason, "applied");
    assert!(pool.session("loc_1").is_none() && pool.limiters().get("loc_1").is_none());
    assert!(pool.stored_json("loc_1").is_none());
    let changed = plan.forget.iter().filter(|r| pool.forget(r)).count();
    assert_eq!(plan.reply(changed).reason, "nothing_to_do", "twice changes nothing");
    // A company-level UNINSTALL: the company and what was minted from it.
    let all = event(r#"{"type":"UNINSTALL","companyId":"comp_1"}"#);
    assert_eq!(pool.plan_webhook(&all).forget, ["loc_2", "comp_1"]);
    let other = event(r#"{"type":"ContactCreate","locationId":"loc_2"}"#);
    assert_eq!(pool.plan_webhook(&other).reply(0).reason, "ignored");
}

#[test]
fn rejected_and_malformed_deliveries_have_their_answers() {
    let key = WebhookKey::platform();
    let mut v = WebhookVerifier::new(key);
    let bad = v.verify(br#"{"type":"INSTALL"}"#, Some("AAAA"), None, T0);
    assert_eq!(WebhookPlan::rejected(&bad), Some(WebhookReply { status: 401, reason: "bad_signature".into() }));
    let err = parse_webhook_event(b"[1]").unwrap_err();
    assert_eq!(WebhookPlan::malformed(&err).status, 400);
}

#[test]
fn a_bulk_install_is_paced_on_the_company_budget() {
    // The company may send 2 requests per second: minting 6 locations at once takes 3 windows.
    let mut p = Platform { company_ttl_ms: 3_600_000, location_ttl_ms: 3_600_000, ..Platform::default() };
    let limits = Limits { max: 2, interval_ms: 1_000, margin_ms: 0, ..Limits::default() };
    let mut pool = pool(300_000, limits);
    let company = p.company_tokens(T0);
    pool.load_tokens(None, company).unwrap();
    let locations: Vec<String> = (1..=6).map(|i| format!("loc_{i}")).collect();
    for l in &locations {
        assert!(pool.expect_minted(l, COMPANY).unwrap());
    }
    let starts: Vec<(u64, &str)> = locations.iter().map(|l| (T0, l.as_str())).collect();
    let t = run(&mut p, &mut pool, &starts, 20, CallOptions::default());
    assert_eq!(t.done, 6, "{:?}", t.failed);
    assert_eq!(p.mints.len(), 6);
    let times: Vec<u64> = p.mints.iter().map(|(t, _)| *t).collect();
    for w in times.windows(3) {
        assert!(w[2] - w[0] >= 1_000, "three mints within one window of the company: {times:?}");
    }
    assert!(times[5] - times[0] >= 2_000);
}

/// Several processes, one shared store (a record per resource, each step a transaction:
/// read, step, write back what changed — see `hoopauth::shared`).
fn run_fleet(p: &mut Platform, pools: &mut [Pool], store: &mut HashMap<String, String>, starts: &[(u64, usize, &str)], latency: u64) -> Tally {
    let mut tasks: Vec<(Task, usize)> = Vec::new();
    let mut queue: BTreeMap<(u64, u64), (usize, Event)> = BTreeMap::new();
    let mut seq = 0;
    for (at, proc_, location) in starts {
        let call = Call::new(ApiRequest::new(Method::Get, "/contacts/"), CallOptions::default());
        tasks.push((Task { call, resource: (*location).to_owned(), parent: None }, *proc_));
        queue.insert((*at, seq), (tasks.len() - 1, Event::Start));
        seq += 1;
    }
    let mut tally = Tally::default();
    while let Some(((now, _), (i, event))) = queue.pop_first() {
        let (resource, proc_) = (tasks[i].0.resource.clone(), tasks[i].1);
        let pool = &mut pools[proc_];
        pool.load_shared(&resource, store.get(&resource).map(String::as_str)).unwrap();
        let step = pool.step(&mut tasks[i].0.call, &resource, event, now, 7);
        if let Some(record) = pool.export_shared(&resource, &[1; 24]).unwrap() {
            store.insert(resource.clone(), record);
            pool.shared_written(&resource);
        }
        let parent = tasks[i].0.parent;
        let next: Vec<(u64, usize, Event)> = match step {
            Step::Send(req) => vec![(now + 2 * latency, i, Event::Response(p.handle(&req, now + latency)))],
            Step::SendRefresh(req) => {
                tally.send_refresh += 1;
                assert_eq!(resource, COMPANY, "only the company refreshes");
                vec![(now + 2 * latency, i, Event::Response(p.handle(&req, now + latency)))]
            }
            Step::Persist(_) => {
                tally.persists += 1;
                vec![(now, i, Event::Resume)] // saved by the write above
            }
            Step::Wait { wait_ms, .. } => vec![(now + wait_ms, i, Event::Resume)],
            Step::Mint { company_id, location_id } => {
                tally.mint_steps += 1;
                let call = Call::location_token(&company_id, &location_id, CallOptions::default());
                tasks.push((Task { call, resource: company_id, parent: Some(i) }, proc_));
                vec![(now, tasks.len() - 1, Event::Start)]
            }
            Step::Done(resp) => match parent {
                Some(parent) => vec![(now, parent, Event::Response(resp))],
                None => {
                    tally.done += 1;
                    vec![]
                }
            },
            Step::Fail(e) | Step::Reauthorize(e) if parent.is_some() => vec![(now, parent.unwrap(), Event::MintFailed(e))],
            Step::Reauthorize(_) => {
                tally.reauthorize += 1;
                vec![]
            }
            Step::Fail(e) => {
                tally.failed.push(e.kind());
                vec![]
            }
        };
        for (at, task, ev) in next {
            queue.insert((at, seq), (task, ev));
            seq += 1;
        }
    }
    tally
}

#[test]
fn coordinated_processes_mint_once_per_due_point_while_the_company_refreshes() {
    let mut p = Platform { company_ttl_ms: 100_000, location_ttl_ms: 60_000, ..Platform::default() };
    let mut pools: Vec<Pool> = (0..3).map(|_| pool(300_000, Limits::default())).collect();
    let mut store: HashMap<String, String> = HashMap::new();
    // Process 0 holds the company's tokens and prepares the location; the store carries both.
    let company = p.company_tokens(T0);
    pools[0].load_shared(COMPANY, None).unwrap();
    pools[0].load_tokens(None, company).unwrap();
    store.insert(COMPANY.into(), pools[0].export_shared(COMPANY, &[0; 24]).unwrap().unwrap());
    pools[0].load_shared("loc_1", None).unwrap();
    assert!(pools[0].expect_minted("loc_1", COMPANY).unwrap());
    store.insert("loc_1".into(), pools[0].export_shared("loc_1", &[0; 24]).unwrap().unwrap());
    // Eight calls a second over three processes (within the location's 100 per 10 s), for
    // five minutes.
    let mut starts = Vec::new();
    for s in 0..300u64 {
        for k in 0..8u64 {
            starts.push((T0 + s * 1_000 + k * 120, (k % 3) as usize, "loc_1"));
        }
    }
    let t = run_fleet(&mut p, &mut pools, &mut store, &starts, 30);
    assert_eq!(t.done as usize, starts.len(), "{:?}", t.failed);
    assert_eq!((t.reauthorize, p.invalid_grants, p.unauthorized), (0, 0, 0));
    let times: Vec<u64> = p.mints.iter().map(|(t, _)| *t).collect();
    assert_eq!(times.len(), 10, "one mint per due point across the processes: {times:?}");
    assert_eq!(t.mint_steps as usize, times.len(), "every mint step of any process was the only one");
    for w in times.windows(2) {
        assert!(w[1] - w[0] >= 29_000, "mints {w:?}");
    }
    assert!(p.refreshes >= 3 && t.send_refresh == p.refreshes, "the company refreshed once per its own due point");
    assert!(store["loc_1"].contains("minted_from") && !store["loc_1"].contains("rt-minted"));
}
