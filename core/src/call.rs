//! The call loop, written once: pace, send, classify, refresh once, retry — as a sans-IO
//! state machine. A driver (in any language) is a short loop around [`Call::step`]: it does
//! the I/O each [`Step`] asks for and feeds back what happened as an [`Event`]. Every
//! binding's driver is this loop; the one below is compiled and run as a test.
//!
//! - [`Step::Send`] / [`Step::SendRefresh`]: send; feed [`Event::Response`], or
//!   [`Event::TransportError`] when no answer came.
//! - [`Step::Persist`]: save the session (compare-and-set on `version`); feed
//!   [`Event::Resume`] when written, [`Event::Conflict`] after reloading a newer session the
//!   store held, [`Event::PersistFailed`] when the store raised or timed out.
//! - [`Step::Wait`]: sleep, then [`Event::Resume`]; a [`WaitReason::Refresh`] wait may look
//!   at the store first (another process may have refreshed).
//! - [`Step::Mint`]: a minted location session came due: run [`Call::location_token`] on the
//!   company's resource (a second call, driven the same way, on the company's session and
//!   limiter), then feed its `Done` response as [`Event::Response`], its error as
//!   [`Event::MintFailed`]. (The driver below holds one session, so it has no company to ask.)
//! - [`Step::Done`] / [`Step::Reauthorize`] / [`Step::Fail`]: the end.
//! - Cancelled (a timeout, an abort signal): [`Call::abort`] releases what the call holds.
//!
//! ```
//! use hoopauth::{
//!     ApiRequest, Call, CallOptions, Config, ConfigOptions, Error, ErrorKind, Event, Limits, Method,
//!     RateLimiter, Request, Response, Secret, SessionOptions, Step, StoredSession, TokenSession,
//!     TokenSet, WaitReason,
//! };
//!
//! /// The host's side: clock, randomness, HTTP and the token store.
//! trait Host {
//!     fn now(&self) -> u64;
//!     fn random(&mut self) -> u64;
//!     fn sleep(&mut self, ms: u64, reason: WaitReason);
//!     /// `None`: no answer (connection lost, timeout).
//!     fn send(&mut self, request: &Request) -> Option<Response>;
//!     /// Compare-and-set: `Ok(true)` written, `Ok(false)` the store holds a version at least
//!     /// as new, `Err(())` the store failed.
//!     fn save(&mut self, stored: &StoredSession) -> Result<bool, ()>;
//!     fn load(&mut self) -> Option<StoredSession>;
//!     fn cancelled(&self) -> bool;
//! }
//!
//! #[derive(Debug)]
//! enum End {
//!     Done(Response),
//!     Reauthorize(Error),
//!     Fail(Error),
//!     Cancelled,
//! }
//!
//! /// Take the store's session when it is newer than ours.
//! fn reload(session: &mut TokenSession, host: &mut impl Host) -> Result<(), Error> {
//!     if let Some(stored) = host.load().filter(|s| s.version > session.version()) {
//!         *session = TokenSession::from_stored(session.config().clone(), session.options(), stored)?;
//!     }
//!     Ok(())
//! }
//!
//! fn drive(call: &mut Call, session: &mut TokenSession, limiter: &mut RateLimiter, host: &mut impl Host) -> End {
//!     let mut event = Event::Start;
//!     loop {
//!         if host.cancelled() {
//!             call.abort(session, limiter, host.now());
//!             return End::Cancelled;
//!         }
//!         let (now, random) = (host.now(), host.random());
//!         event = match call.step(session, limiter, event, now, random) {
//!             Step::Send(request) | Step::SendRefresh(request) => match host.send(&request) {
//!                 Some(response) => Event::Response(response),
//!                 None => Event::TransportError,
//!             },
//!             Step::Persist(stored) => match host.save(&stored) {
//!                 Ok(true) => Event::Resume,
//!                 Ok(false) => match reload(session, host) {
//!                     Ok(()) => Event::Conflict,
//!                     Err(e) => {
//!                         call.abort(session, limiter, now);
//!                         return End::Fail(e);
//!                     }
//!                 },
//!                 Err(()) => Event::PersistFailed,
//!             },
//!             Step::Wait { wait_ms, reason } => {
//!                 host.sleep(wait_ms, reason);
//!                 if reason == WaitReason::Refresh {
//!                     let _ = reload(session, host);
//!                 }
//!                 Event::Resume
//!             }
//!             Step::Mint { .. } => {
//!                 // A pool-based driver runs Call::location_token on the company here.
//!                 Event::MintFailed(Error::new(ErrorKind::InvalidArgument, "no company session in this driver"))
//!             }
//!             Step::Done(response) => return End::Done(response),
//!             Step::Reauthorize(error) => return End::Reauthorize(error),
//!             Step::Fail(error) => return End::Fail(error),
//!         };
//!     }
//! }
//!
//! // A tiny platform and store, in memory.
//! #[derive(Default)]
//! struct Fake {
//!     now: u64,
//!     sent: Vec<String>,
//!     waits: Vec<WaitReason>,
//!     store: Option<StoredSession>,
//!     store_down: bool,
//!     cancel_after_sends: Option<usize>,
//! }
//!
//! impl Host for Fake {
//!     fn now(&self) -> u64 { self.now }
//!     fn random(&mut self) -> u64 { 4 }
//!     fn sleep(&mut self, ms: u64, reason: WaitReason) {
//!         self.now += ms;
//!         self.waits.push(reason);
//!     }
//!     fn send(&mut self, request: &Request) -> Option<Response> {
//!         self.sent.push(format!("{} {}", request.method, request.url));
//!         self.now += 20;
//!         if request.url.ends_with("/oauth/token") {
//!             let body = r#"{"access_token":"new-access","refresh_token":"r2","expires_in":86399,"token_type":"Bearer"}"#;
//!             return Some(Response::new(200, vec![], body));
//!         }
//!         let auth = request.header("authorization").unwrap_or_default().to_owned();
//!         Some(Response::new(200, vec![], format!(r#"{{"auth":"{auth}"}}"#)))
//!     }
//!     fn save(&mut self, stored: &StoredSession) -> Result<bool, ()> {
//!         if self.store_down {
//!             return Err(());
//!         }
//!         if self.store.as_ref().is_some_and(|held| held.version >= stored.version) {
//!             return Ok(false);
//!         }
//!         self.store = Some(stored.clone());
//!         Ok(true)
//!     }
//!     fn load(&mut self) -> Option<StoredSession> { self.store.clone() }
//!     fn cancelled(&self) -> bool { self.cancel_after_sends.is_some_and(|n| self.sent.len() >= n) }
//! }
//!
//! const T0: u64 = 1_700_000_000_000;
//! let config = Config::new(ConfigOptions {
//!     client_id: "app-1".into(),
//!     client_secret: Some(Secret::new("s3cr3t")),
//!     ..Default::default()
//! })?;
//! let tokens = |access: &str, expires_at_ms: u64| TokenSet {
//!     access_token: Secret::new(access),
//!     refresh_token: Some(Secret::new("r1")),
//!     expires_in: Some(86_399),
//!     expires_at_ms: Some(expires_at_ms),
//!     ..Default::default()
//! };
//! let expired_session = || {
//!     let mut s = TokenSession::new(config.clone(), SessionOptions::default());
//!     s.load(tokens("old-access", T0 - 1));
//!     s
//! };
//! let get = || ApiRequest::new(Method::Get, "/contacts/");
//!
//! // 1. An expired token: refresh, persist the new tokens before any use, then send.
//! let (mut session, mut limiter) = (expired_session(), RateLimiter::default());
//! let mut host = Fake { now: T0, ..Fake::default() };
//! let mut call = Call::new(get(), CallOptions::default());
//! let End::Done(response) = drive(&mut call, &mut session, &mut limiter, &mut host) else { panic!() };
//! assert_eq!(response.body, br#"{"auth":"Bearer new-access"}"#);
//! assert_eq!(host.sent, [
//!     "POST https://services.leadconnectorhq.com/oauth/token",
//!     "GET https://services.leadconnectorhq.com/contacts/",
//! ]);
//! assert_eq!(host.store.as_ref().map(|s| s.version), Some(session.version()));
//! assert_eq!(call.stats().refreshes, 1);
//!
//! // 2. The store fails while saving the refreshed tokens (Event::PersistFailed): the call
//! //    ends with `store_error`, the tokens stay in memory, unsaved; the next call saves
//! //    them first, and refreshes nothing.
//! let (mut session, mut limiter) = (expired_session(), RateLimiter::default());
//! let mut host = Fake { now: T0, store_down: true, ..Fake::default() };
//! let End::Fail(error) = drive(&mut Call::new(get(), CallOptions::default()), &mut session, &mut limiter, &mut host)
//! else { panic!() };
//! assert_eq!(error.kind(), ErrorKind::StoreError);
//! assert!(session.is_unsaved() && host.store.is_none());
//! host.store_down = false;
//! let End::Done(_) = drive(&mut Call::new(get(), CallOptions::default()), &mut session, &mut limiter, &mut host)
//! else { panic!() };
//! assert!(!session.is_unsaved() && host.store.is_some());
//! assert_eq!(host.sent.iter().filter(|s| s.ends_with("/oauth/token")).count(), 1);
//!
//! // 3. Two processes, one store (`coordinate_refresh`): the lease is persisted before the
//! //    refresh is sent. Here another process already refreshed: the store refuses our lease,
//! //    the driver reloads its session and feeds Event::Conflict, and the call uses the
//! //    other process's tokens without refreshing.
//! let (mut session, mut limiter) = (expired_session(), RateLimiter::default());
//! let mut theirs = TokenSession::new(config.clone(), SessionOptions::default());
//! theirs.load(tokens("their-access", T0 + 86_399_000));
//! let mut newer = theirs.stored().clone();
//! newer.version = 50;
//! let mut host = Fake { now: T0, store: Some(newer), ..Fake::default() };
//! let options = CallOptions { coordinate_refresh: true, ..CallOptions::default() };
//! let mut call = Call::new(get(), options);
//! let End::Done(response) = drive(&mut call, &mut session, &mut limiter, &mut host) else { panic!() };
//! assert_eq!(response.body, br#"{"auth":"Bearer their-access"}"#);
//! assert_eq!(host.sent, ["GET https://services.leadconnectorhq.com/contacts/"]);
//! assert_eq!(call.stats().refreshes, 0);
//!
//! // 4. Waits: a full window makes the next call wait (WaitReason::RateLimit) in pieces of at
//! //    most `recheck_ms`, then send.
//! let mut session = TokenSession::new(config.clone(), SessionOptions::default());
//! session.load(tokens("fresh", T0 + 86_399_000));
//! let mut limiter = RateLimiter::new(Limits { max: 1, interval_ms: 10_000, margin_ms: 0, ..Limits::default() });
//! let mut host = Fake { now: T0, ..Fake::default() };
//! for _ in 0..2 {
//!     let End::Done(_) = drive(&mut Call::new(get(), CallOptions::default()), &mut session, &mut limiter, &mut host)
//!     else { panic!() };
//! }
//! assert_eq!(host.waits.len(), 10);
//! assert!(host.waits.iter().all(|r| *r == WaitReason::RateLimit));
//! assert!(host.now >= T0 + 10_000);
//!
//! // 5. Cancelled while the request is in flight: abort releases its rate-limit slot (and a
//! //    refresh lease or a save under way, had it held one).
//! let mut host = Fake { now: T0 + 60_000, cancel_after_sends: Some(1), ..Fake::default() };
//! let mut call = Call::new(get(), CallOptions::default());
//! let End::Cancelled = drive(&mut call, &mut session, &mut limiter, &mut host) else { panic!() };
//! assert!(call.is_finished());
//! assert_eq!(limiter.in_flight(), 0);
//! # Ok::<(), Error>(())
//! ```

use crate::api::ApiRequest;
use crate::classify::{classify_response, RateLimitScope, ResponseKind};
use crate::error::{Error, ErrorKind};
use crate::http::{Request, Response};
use crate::ratelimit::{Decision, RateLimiter};
use crate::secret::Secret;
use crate::session::{Action, StoredSession, TokenSession};

/// Retry bounds and waits of one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct CallOptions {
    /// Retries after a refresh on `unauthorized` (the platform's expired-token answer).
    pub max_auth_retries: u32,
    /// Retries after a burst 429.
    pub max_rate_limit_retries: u32,
    /// Retries after a 5xx or a lost connection, for idempotent methods only.
    pub max_server_retries: u32,
    /// Refresh requests this call may send (a lost answer is resent within the 30 s grace).
    pub max_refresh_attempts: u32,
    /// The first backoff wait after a server error (ms); doubles per retry.
    pub backoff_base_ms: u64,
    /// The longest backoff wait (ms).
    pub backoff_max_ms: u64,
    /// A pacing wait longer than this fails the call with `rate_limited` instead.
    pub max_wait_ms: u64,
    /// How often to look again while another caller refreshes.
    pub refresh_poll_ms: u64,
    /// A rate-limit or backoff wait is handed out in pieces of at most this long, so the
    /// driver asks again at least this often: a refresh that comes due, or a limit learned
    /// from another call's answer, applies to waiting calls too.
    pub recheck_ms: u64,
    /// Several processes share one token store: persist the refresh lease (a `Persist` step
    /// before `SendRefresh`) so the store's compare-and-set on `version` lets one of them
    /// refresh; the others get [`Event::Conflict`] and wait for the new tokens.
    pub coordinate_refresh: bool,
}

impl Default for CallOptions {
    fn default() -> Self {
        CallOptions {
            max_auth_retries: 1,
            max_rate_limit_retries: 3,
            max_server_retries: 2,
            max_refresh_attempts: 3,
            backoff_base_ms: 250,
            backoff_max_ms: 8_000,
            max_wait_ms: 120_000,
            refresh_poll_ms: 25,
            recheck_ms: 1_000,
            coordinate_refresh: false,
        }
    }
}

/// Why the driver should wait.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitReason {
    /// The limiter says so.
    RateLimit,
    /// The window is full and some of its sends still await their answers: wake early when
    /// an answer for this resource arrives (an answer can free a slot).
    InFlight,
    /// Another caller is refreshing the token (wake early when it finishes).
    Refresh,
    /// Backing off after a server error.
    Backoff,
}

impl WaitReason {
    /// The snake_case name (`rate_limit`, `in_flight`, `refresh`, `backoff`).
    pub fn as_str(self) -> &'static str {
        match self {
            WaitReason::RateLimit => "rate_limit",
            WaitReason::InFlight => "in_flight",
            WaitReason::Refresh => "refresh",
            WaitReason::Backoff => "backoff",
        }
    }
}

/// What the driver does next.
#[derive(Clone, Debug, PartialEq)]
pub enum Step {
    /// Send this API request; feed the answer as [`Event::Response`].
    Send(Request),
    /// Send this token refresh; feed the answer as [`Event::Response`].
    SendRefresh(Request),
    /// Store this session state, then feed [`Event::Resume`]: new tokens after a refresh (no
    /// request uses them before that, so a crash never leaves the store with a spent refresh
    /// token), tokens an earlier save failed to store, or, with `coordinate_refresh`, the
    /// refresh lease before the refresh is sent. A shared store writes only if `version` is
    /// newer than what it holds; otherwise the driver reloads the session from the store and
    /// feeds [`Event::Conflict`]. When the save raises, times out or is cancelled, feed
    /// [`Event::PersistFailed`] (or call [`Call::abort`]): the tokens stay in memory, marked
    /// unsaved, and the next call saves them first.
    Persist(Box<StoredSession>),
    /// Sleep, then feed [`Event::Resume`].
    Wait {
        /// How long to sleep (ms).
        wait_ms: u64,
        /// What the call waits for.
        reason: WaitReason,
    },
    /// Finished: the successful response.
    Done(Response),
    /// The resource is a minted location session that came due (or its token was refused),
    /// and this call holds its lease: run [`Call::location_token`]`(company_id, location_id)`
    /// as its own call on the resource `company_id` (it takes the company's token — refreshing
    /// it under the company's lease — and paces on the company's limiter). Feed its `Done`
    /// response as [`Event::Response`], its `Fail` / `Reauthorize` error as
    /// [`Event::MintFailed`] (or [`Event::TransportError`] when it could not be run).
    Mint {
        /// The company whose token mints the location token (the resource of the mint call).
        company_id: String,
        /// The location the token is for.
        location_id: String,
    },
    /// Finished: the user must authorize the app again.
    Reauthorize(Error),
    /// Finished with an error.
    Fail(Error),
}

impl Step {
    /// Old name of [`Step::as_str`].
    #[deprecated(note = "use as_str")]
    pub fn name(&self) -> &'static str {
        self.as_str()
    }
    /// The step's snake_case name (`send`, `send_refresh`, `persist`, `wait`, `mint`, `done`,
    /// `reauthorize`, `fail`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Step::Send(_) => "send",
            Step::SendRefresh(_) => "send_refresh",
            Step::Persist(_) => "persist",
            Step::Wait { .. } => "wait",
            Step::Mint { .. } => "mint",
            Step::Done(_) => "done",
            Step::Reauthorize(_) => "reauthorize",
            Step::Fail(_) => "fail",
        }
    }
    /// Whether the call has ended (`Done`, `Reauthorize` or `Fail`).
    pub fn is_final(&self) -> bool {
        matches!(self, Step::Done(_) | Step::Reauthorize(_) | Step::Fail(_))
    }
}

/// What happened since the last step.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// First step.
    Start,
    /// After a `Wait` or a `Persist`.
    Resume,
    /// The answer to the last `Send` / `SendRefresh`.
    Response(Response),
    /// The last `Send` / `SendRefresh` got no answer (connection error, timeout).
    TransportError,
    /// The store refused the last `Persist` because another process wrote a newer version:
    /// the driver has reloaded the session from the store (`Pool::load_stored`) first.
    Conflict,
    /// The last `Persist` failed: the store raised or timed out. The call ends with
    /// `store_error`; the session keeps the tokens, marked unsaved.
    PersistFailed,
    /// The mint call of the last [`Step::Mint`] ended with this error (its `Fail` or
    /// `Reauthorize`): the lease is freed; a company that must authorize again ends this call
    /// with `Reauthorize`, anything else with `Fail`.
    MintFailed(Error),
}

impl Event {
    /// Old name of [`Event::as_str`].
    #[deprecated(note = "use as_str")]
    pub fn name(&self) -> &'static str {
        self.as_str()
    }
    /// The event's snake_case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            Event::Start => "start",
            Event::Resume => "resume",
            Event::Response(_) => "response",
            Event::TransportError => "transport_error",
            Event::Conflict => "conflict",
            Event::PersistFailed => "persist_failed",
            Event::MintFailed(_) => "mint_failed",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Ready,
    AwaitingApi,
    AwaitingRefresh,
    AwaitingPersist,
    AwaitingLeasePersist,
    AwaitingMint,
    Finished,
}

/// What a call is for.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    /// An API request.
    Api,
    /// Only a usable, saved token for the resource: ends `Done` with an empty 204.
    Token,
    /// `POST /oauth/locationToken` with the resource's (a company's) token.
    LocationToken { company_id: String, location_id: String },
}

/// Counters of one call, for reports and tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct CallStats {
    /// API requests sent.
    pub sends: u32,
    /// Token refreshes started.
    pub refreshes: u32,
    /// Retries after an `unauthorized` answer.
    pub auth_retries: u32,
    /// Retries after a burst 429.
    pub rate_limit_retries: u32,
    /// Retries after a 5xx or a lost connection.
    pub server_retries: u32,
    /// Location tokens minted (a minted location session came due or was refused).
    pub mints: u32,
}

/// One API call driven to completion through [`Call::step`].
#[derive(Clone, Debug)]
pub struct Call {
    request: ApiRequest,
    options: CallOptions,
    phase: Phase,
    stats: CallStats,
    token: Option<Secret>,
    refresh_sent_at: u64,
    pending_refresh: Option<Request>,
    /// The lease this call took and the refresh token it sends: a refresh goes out, and its
    /// answer counts, only while both are still the session's.
    refresh_of: Option<(Option<u64>, Option<Secret>)>,
    /// The limiter's id of the API request awaiting its answer.
    send_id: Option<u64>,
    /// Kept only to scrub it from a final error.
    token_used: Option<Secret>,
    kind: Kind,
    /// With `coordinate_refresh`: the mint to ask for once the lease is saved.
    pending_mint: Option<(String, String)>,
    /// When this call asked for its mint (the minted token's life counts from there).
    mint_asked_at: u64,
    /// The lease in `refresh_of` is a mint's: the access token the session held when it was
    /// taken (a mint goes out, and its answer counts, while the session still holds it).
    mint_of: Option<Option<Secret>>,
}

impl Call {
    /// A call of `request`, not started: feed [`Event::Start`] to [`Call::step`].
    pub fn new(request: ApiRequest, options: CallOptions) -> Self {
        Call {
            request,
            options,
            phase: Phase::Ready,
            stats: CallStats::default(),
            token: None,
            refresh_sent_at: 0,
            pending_refresh: None,
            refresh_of: None,
            send_id: None,
            token_used: None,
            kind: Kind::Api,
            pending_mint: None,
            mint_asked_at: 0,
            mint_of: None,
        }
    }

    /// A call that only makes sure its resource holds a usable token, saved in the store (it
    /// refreshes, or mints a minted location session, as a request would, and saves unsaved
    /// tokens first), and sends nothing else: it ends `Done` with an empty `204` response.
    /// Run on a location prepared with [`Pool::expect_minted`](crate::Pool::expect_minted), it
    /// mints the location's first token.
    pub fn token(options: CallOptions) -> Self {
        let mut call = Call::new(ApiRequest::new(crate::http::Method::Get, "/"), options);
        call.kind = Kind::Token;
        call
    }

    /// The mint call of a [`Step::Mint`]: run it on the resource `company_id`. It sends
    /// `POST /oauth/locationToken` for `location_id` with the company's access token, taking
    /// that token as any call does (the company's refresh under its lease, its unsaved tokens
    /// saved first, a refused token refreshed and the request sent again once), paced on the
    /// company's rate-limit budget. It ends `Done` with the token endpoint's answer.
    pub fn location_token(company_id: &str, location_id: &str, options: CallOptions) -> Self {
        let mut call = Call::new(ApiRequest::new(crate::http::Method::Post, "/oauth/locationToken"), options);
        call.kind = Kind::LocationToken { company_id: company_id.to_owned(), location_id: location_id.to_owned() };
        call
    }

    /// Whether this call only makes sure of a token ([`Call::token`]).
    pub fn is_token_only(&self) -> bool {
        self.kind == Kind::Token
    }

    /// The call's counters so far.
    pub fn stats(&self) -> CallStats {
        self.stats
    }
    /// The API request this call makes.
    pub fn request(&self) -> &ApiRequest {
        &self.request
    }
    /// Whether the call has ended (a final step was returned, or it was aborted).
    pub fn is_finished(&self) -> bool {
        self.phase == Phase::Finished
    }

    /// End the call early (the host cancelled it, or its I/O or its store failed in a way the
    /// host will not retry), at `now_ms`. Releases whatever the call holds, so no other call
    /// waits on it: the refresh lease, a save under way (its tokens stay in memory, marked
    /// unsaved, for the next call to save), and the rate-limit slot of a request in flight
    /// (answered now). Safe to call in any state, more than once.
    pub fn abort(&mut self, session: &mut TokenSession, limiter: &mut RateLimiter, now_ms: u64) {
        match self.phase {
            Phase::AwaitingRefresh | Phase::AwaitingLeasePersist | Phase::AwaitingMint if self.holds_lease(session) => {
                session.refresh_lost()
            }
            Phase::AwaitingPersist => session.save_failed(),
            _ => {}
        }
        self.refresh_of = None;
        if let Some(id) = self.send_id.take() {
            limiter.answered(id, now_ms);
        }
        self.pending_refresh = None;
        self.pending_mint = None;
        self.token = None;
        self.phase = Phase::Finished;
    }

    /// Advance the call. `random` is any caller-supplied random number (backoff jitter).
    pub fn step(
        &mut self,
        session: &mut TokenSession,
        limiter: &mut RateLimiter,
        event: Event,
        now_ms: u64,
        random: u64,
    ) -> Step {
        let step = self.step_inner(session, limiter, event, now_ms, random);
        if step.is_final() {
            self.phase = Phase::Finished;
            self.token_used = self.token.take();
            return match step {
                Step::Fail(e) => Step::Fail(self.scrub(e, session)),
                Step::Reauthorize(e) => Step::Reauthorize(self.scrub(e, session)),
                other => other,
            };
        }
        step
    }

    fn step_inner(
        &mut self,
        session: &mut TokenSession,
        limiter: &mut RateLimiter,
        event: Event,
        now: u64,
        random: u64,
    ) -> Step {
        match (self.phase, event) {
            (Phase::Finished, _) => Step::Fail(Error::argument("the call has already finished")),
            (Phase::Ready, Event::Start | Event::Resume) => self.advance(session, limiter, now),
            (Phase::AwaitingPersist, Event::Resume) => {
                session.persisted();
                self.phase = Phase::Ready;
                self.advance(session, limiter, now)
            }
            (Phase::AwaitingLeasePersist, Event::Resume) if self.pending_mint.is_some() => {
                let same_origin = |(c, l): &(String, String)| {
                    session.minted_from().is_some_and(|m| &m.company_id == c && &m.location_id == l)
                };
                match self.pending_mint.take() {
                    Some(p)
                        if !self.same_mint_token(session)
                            || session.stored().refresh_lease_until_ms.is_none()
                            || !same_origin(&p) =>
                    {
                        // Another call minted (ending the lease) while this one saved it:
                        // decide again on the newer token. (Another call that took the lease
                        // over without minting yet does not stop this one: waiting could leave
                        // calls taking the lease from each other forever; two mints cost one
                        // spare token.)
                        self.stats.mints = self.stats.mints.saturating_sub(1);
                        self.refresh_of = None;
                        self.phase = Phase::Ready;
                        self.advance(session, limiter, now)
                    }
                    Some((company_id, location_id)) => {
                        if !session.refresh_in_flight(now) {
                            let until = session.renew_lease(now);
                            if let Some((lease, _)) = &mut self.refresh_of {
                                *lease = until;
                            }
                        }
                        self.mint_asked_at = now;
                        self.phase = Phase::AwaitingMint;
                        Step::Mint { company_id, location_id }
                    }
                    None => self.advance(session, limiter, now),
                }
            }
            (Phase::AwaitingLeasePersist, Event::Resume) => match self.pending_refresh.take() {
                Some(_) if !self.same_refresh_token(session) || session.stored().refresh_lease_until_ms.is_none() => {
                    // The tokens were rotated while the lease was being saved (another call's
                    // refresh finished, which also ends every lease): this refresh would send a
                    // spent refresh token. Decide again on the newer set.
                    self.stats.refreshes = self.stats.refreshes.saturating_sub(1);
                    self.refresh_of = None;
                    self.phase = Phase::Ready;
                    self.advance(session, limiter, now)
                }
                Some(request) => {
                    // The refresh token is still current. If another call took the lease over
                    // while this one was saving it, both send the same refresh token, which the
                    // platform answers within its grace with the same new pair; waiting instead
                    // could leave calls taking the lease from each other forever.
                    if !session.refresh_in_flight(now) {
                        // The lease ran out while it was being saved: extend it for the refresh
                        // about to go out.
                        let until = session.renew_lease(now);
                        if let Some((lease, _)) = &mut self.refresh_of {
                            *lease = until;
                        }
                    }
                    self.refresh_sent_at = now;
                    self.phase = Phase::AwaitingRefresh;
                    Step::SendRefresh(request)
                }
                None => self.advance(session, limiter, now),
            },
            (Phase::AwaitingPersist, Event::Conflict) if session.stored().persist_pending => {
                // The driver kept this session's unsaved tokens (the store's are not newer):
                // the save did not happen.
                session.save_failed();
                Step::Fail(store_failed())
            }
            (Phase::AwaitingLeasePersist | Phase::AwaitingPersist, Event::Conflict) => {
                // Another process holds the lease or stored newer tokens: the driver reloaded
                // the session; start over from it.
                if self.pending_refresh.take().is_some() {
                    self.stats.refreshes = self.stats.refreshes.saturating_sub(1);
                }
                if self.pending_mint.take().is_some() {
                    self.stats.mints = self.stats.mints.saturating_sub(1);
                }
                self.phase = Phase::Ready;
                self.advance(session, limiter, now)
            }
            (Phase::AwaitingPersist, Event::PersistFailed) => {
                session.save_failed();
                Step::Fail(store_failed())
            }
            (Phase::AwaitingLeasePersist, Event::PersistFailed) => {
                self.pending_refresh = None;
                self.pending_mint = None;
                if self.holds_lease(session) {
                    session.refresh_lost();
                }
                self.refresh_of = None;
                Step::Fail(store_failed())
            }
            (Phase::AwaitingApi, Event::Response(resp)) => {
                if let Some(id) = self.send_id.take() {
                    limiter.answered(id, now);
                }
                self.on_api_response(session, limiter, resp, now, random)
            }
            (Phase::AwaitingApi, Event::TransportError) => {
                if let Some(id) = self.send_id.take() {
                    limiter.answered(id, now);
                }
                if self.request.method.is_idempotent() && self.stats.server_retries < self.options.max_server_retries {
                    self.stats.server_retries += 1;
                    self.backoff(random)
                } else {
                    Step::Fail(Error::new(ErrorKind::ServerError, "the request got no answer (connection lost)"))
                }
            }
            (Phase::AwaitingMint, Event::Response(_)) if !self.same_mint_token(session) => {
                // The session moved on while the mint ran (another call or process minted
                // after this call's lease ran out): use the newer token.
                self.refresh_of = None;
                self.phase = Phase::Ready;
                self.advance(session, limiter, now)
            }
            (Phase::AwaitingMint, Event::Response(resp)) => {
                self.refresh_of = None;
                match session.mint_response(resp.status, &resp.headers, &resp.body, self.mint_asked_at) {
                    Ok(_) => {
                        session.hold_until_persisted();
                        self.phase = Phase::AwaitingPersist;
                        Step::Persist(Box::new(session.stored().clone()))
                    }
                    Err(e) => match e.kind() {
                        ErrorKind::ServerError | ErrorKind::RateLimited
                            if self.stats.mints < self.options.max_refresh_attempts =>
                        {
                            self.backoff(random)
                        }
                        _ => Step::Fail(e),
                    },
                }
            }
            (Phase::AwaitingMint, Event::MintFailed(e)) => {
                if self.holds_lease(session) {
                    session.mint_failed();
                }
                self.refresh_of = None;
                match e.kind() {
                    ErrorKind::Unauthorized | ErrorKind::InvalidGrant | ErrorKind::InvalidClient => {
                        let company = session.minted_from().map(|m| m.company_id.clone()).unwrap_or_default();
                        Step::Reauthorize(Error::new(
                            e.kind(),
                            format!(
                                "the location's token is minted from company `{}`, whose token is not usable: authorize the app for the company again ({})",
                                truncate(&company),
                                e.message()
                            ),
                        ))
                    }
                    _ => Step::Fail(e),
                }
            }
            (Phase::AwaitingMint, Event::TransportError) => {
                if self.holds_lease(session) {
                    session.mint_failed();
                }
                self.refresh_of = None;
                if self.stats.mints < self.options.max_refresh_attempts {
                    self.phase = Phase::Ready;
                    self.advance(session, limiter, now)
                } else {
                    Step::Fail(Error::new(ErrorKind::ServerError, "minting the location token got no answer"))
                }
            }
            (Phase::AwaitingRefresh, Event::Response(_)) if !self.same_refresh_token(session) => {
                // The session moved on (another caller, or another process through the shared
                // store, rotated the tokens): this answer is about a spent token; use the newer set.
                self.refresh_of = None;
                self.phase = Phase::Ready;
                self.advance(session, limiter, now)
            }
            (Phase::AwaitingRefresh, Event::Response(resp)) => {
                self.refresh_of = None;
                match session.refresh_response(resp.status, &resp.headers, &resp.body, self.refresh_sent_at) {
                    Ok(_) => {
                        session.hold_until_persisted();
                        self.phase = Phase::AwaitingPersist;
                        Step::Persist(Box::new(session.stored().clone()))
                    }
                    Err(e) => match e.kind() {
                        ErrorKind::InvalidGrant | ErrorKind::InvalidClient => Step::Reauthorize(e),
                        ErrorKind::ServerError | ErrorKind::RateLimited
                            if self.stats.refreshes < self.options.max_refresh_attempts =>
                        {
                            self.backoff(random)
                        }
                        _ => Step::Fail(e),
                    },
                }
            }
            (Phase::AwaitingRefresh, Event::TransportError) => {
                // The server may have rotated the token before the connection dropped: send
                // the same refresh token again, which the platform honours within 30 s.
                if self.holds_lease(session) {
                    session.refresh_lost();
                }
                self.refresh_of = None;
                if self.stats.refreshes < self.options.max_refresh_attempts {
                    self.phase = Phase::Ready;
                    self.advance(session, limiter, now)
                } else {
                    Step::Fail(Error::new(ErrorKind::ServerError, "the token refresh got no answer"))
                }
            }
            (phase, ev) => {
                // A misfit event ends the call; release what it holds, as an abort does.
                self.abort(session, limiter, now);
                let name = ev.as_str();
                Step::Fail(Error::argument(format!("event `{name}` does not fit the call's state ({phase:?})")))
            }
        }
    }

    /// Whether the session's refresh lease is still the one this call took, for the same
    /// refresh token (for a mint: the same access token).
    fn holds_lease(&self, session: &TokenSession) -> bool {
        match &self.refresh_of {
            Some((lease, _)) => {
                *lease == session.stored().refresh_lease_until_ms
                    && if self.mint_of.is_some() { self.same_mint_token(session) } else { self.same_refresh_token(session) }
            }
            None => false,
        }
    }

    /// Whether the session still holds the access token it held when this call's mint lease
    /// was taken (no other mint finished since).
    fn same_mint_token(&self, session: &TokenSession) -> bool {
        match &self.mint_of {
            Some(token) => session.access_token() == token.as_ref(),
            None => true,
        }
    }

    /// Whether the session's refresh token is still the one this call's refresh sends.
    fn same_refresh_token(&self, session: &TokenSession) -> bool {
        match &self.refresh_of {
            Some((_, token)) => session.token_set().and_then(|t| t.refresh_token.as_ref()) == token.as_ref(),
            None => true,
        }
    }

    /// Server text copied into an error never carries a secret this call knows of.
    fn scrub(&mut self, e: Error, session: &TokenSession) -> Error {
        let mut secrets: Vec<&str> = Vec::with_capacity(4);
        if let Some(t) = &self.token_used {
            secrets.push(t.expose());
        }
        if let Some(t) = session.access_token() {
            secrets.push(t.expose());
        }
        if let Some(r) = session.token_set().and_then(|t| t.refresh_token.as_ref()) {
            secrets.push(r.expose());
        }
        if let Some(c) = session.config().client_secret() {
            secrets.push(c.expose());
        }
        let e = e.scrub(&secrets);
        self.token_used = None;
        e
    }

    fn backoff(&mut self, random: u64) -> Step {
        let n = self.stats.server_retries.max(self.stats.refreshes).max(1);
        let exp = self.options.backoff_base_ms.saturating_mul(1u64 << (n - 1).min(20));
        let cap = exp.min(self.options.backoff_max_ms);
        // full jitter in [cap/2, cap]
        let half = cap / 2;
        let jitter = if half == 0 { 0 } else { random % (half + 1) };
        self.phase = Phase::Ready;
        // A backoff is short and ends in a fresh decision: it is not cut into pieces.
        Step::Wait { wait_ms: (half + jitter).max(1), reason: WaitReason::Backoff }
    }

    fn advance(&mut self, session: &mut TokenSession, limiter: &mut RateLimiter, now: u64) -> Step {
        let action = match session.acquire(now) {
            Ok(a) => a,
            Err(e) => return Step::Fail(e),
        };
        match action {
            Action::Save => {
                self.phase = Phase::AwaitingPersist;
                Step::Persist(Box::new(session.stored().clone()))
            }
            Action::Use { .. } if self.kind == Kind::Token => Step::Done(Response::new(204, Vec::new(), Vec::new())),
            Action::Use { access_token } => match self.build(session, &access_token) {
                Err(e) => Step::Fail(e),
                Ok(req) => match limiter.acquire(now) {
                    Decision::Allow { send_id } => {
                        self.send_id = Some(send_id);
                        self.token = Some(access_token);
                        self.stats.sends += 1;
                        self.phase = Phase::AwaitingApi;
                        Step::Send(req)
                    }
                    Decision::Wait { wait_ms, daily_exhausted } => {
                        if daily_exhausted || wait_ms > self.options.max_wait_ms {
                            let what =
                                if daily_exhausted { "the daily limit is used up" } else { "pacing wait too long" };
                            Step::Fail(Error::new(ErrorKind::RateLimited, what).with_retry_after_ms(Some(wait_ms)))
                        } else {
                            let reason =
                                if limiter.in_flight() > 0 { WaitReason::InFlight } else { WaitReason::RateLimit };
                            Step::Wait { wait_ms: wait_ms.min(self.options.recheck_ms.max(1)), reason }
                        }
                    }
                },
            },
            Action::Refresh { request } => {
                if self.stats.refreshes >= self.options.max_refresh_attempts {
                    session.refresh_lost();
                    return Step::Fail(Error::new(ErrorKind::ServerError, "token refresh kept failing"));
                }
                self.stats.refreshes += 1;
                self.mint_of = None;
                self.refresh_of = Some((
                    session.stored().refresh_lease_until_ms,
                    session.token_set().and_then(|t| t.refresh_token.clone()),
                ));
                if self.options.coordinate_refresh {
                    self.pending_refresh = Some(request);
                    self.phase = Phase::AwaitingLeasePersist;
                    return Step::Persist(Box::new(session.stored().clone()));
                }
                self.refresh_sent_at = now;
                self.phase = Phase::AwaitingRefresh;
                Step::SendRefresh(request)
            }
            Action::Mint { company_id, location_id } => {
                if self.stats.mints >= self.options.max_refresh_attempts {
                    session.mint_failed();
                    return Step::Fail(Error::new(ErrorKind::ServerError, "minting the location token kept failing"));
                }
                self.stats.mints += 1;
                self.refresh_of = Some((session.stored().refresh_lease_until_ms, None));
                self.mint_of = Some(session.access_token().cloned());
                if self.options.coordinate_refresh {
                    self.pending_mint = Some((company_id, location_id));
                    self.phase = Phase::AwaitingLeasePersist;
                    return Step::Persist(Box::new(session.stored().clone()));
                }
                self.mint_asked_at = now;
                self.phase = Phase::AwaitingMint;
                Step::Mint { company_id, location_id }
            }
            Action::Wait { wait_ms } => {
                Step::Wait { wait_ms: wait_ms.min(self.options.refresh_poll_ms).max(1), reason: WaitReason::Refresh }
            }
            Action::Reauthorize => Step::Reauthorize(Error::new(
                ErrorKind::Unauthorized,
                "no usable token: the app must be authorized again",
            )),
        }
    }

    /// The request to send with `access_token`.
    fn build(&self, session: &TokenSession, access_token: &Secret) -> Result<Request, Error> {
        match &self.kind {
            Kind::LocationToken { company_id, location_id } => {
                session.config().location_token_request(access_token.expose(), company_id, location_id)
            }
            _ => session.config().api_request(&self.request, access_token.expose()),
        }
    }

    fn on_api_response(
        &mut self,
        session: &mut TokenSession,
        limiter: &mut RateLimiter,
        resp: Response,
        now: u64,
        random: u64,
    ) -> Step {
        limiter.observe(now, resp.status, &resp.headers);
        let c = classify_response(resp.status, &resp.headers, &resp.body, Some(now));
        if let Some(token) = &self.token {
            session.note_api_kind(c.kind, token.expose());
        }
        let fail = |c: &crate::classify::Classification| {
            Step::Fail(c.to_error().unwrap_or_else(|| Error::new(ErrorKind::UnexpectedStatus, "unexpected")))
        };
        match c.kind {
            ResponseKind::Ok => Step::Done(resp),
            ResponseKind::Unauthorized if self.stats.auth_retries < self.options.max_auth_retries => {
                self.stats.auth_retries += 1;
                self.phase = Phase::Ready;
                self.advance(session, limiter, now)
            }
            ResponseKind::RateLimited
                if c.rate_limit_scope == Some(RateLimitScope::Burst)
                    && self.stats.rate_limit_retries < self.options.max_rate_limit_retries =>
            {
                self.stats.rate_limit_retries += 1;
                self.phase = Phase::Ready;
                self.advance(session, limiter, now)
            }
            ResponseKind::ServerError
                if self.request.method.is_idempotent()
                    && self.stats.server_retries < self.options.max_server_retries =>
            {
                self.stats.server_retries += 1;
                self.backoff(random)
            }
            _ => fail(&c),
        }
    }
}

fn store_failed() -> Error {
    Error::new(
        ErrorKind::StoreError,
        "the token store failed to save the session: its tokens stay in memory, unsaved, and the next call saves them first",
    )
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}
