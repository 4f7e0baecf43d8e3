#![warn(missing_docs)]
//! # hoopauth
//!
//! The sans-IO client core for the HoopAI / HighLevel platform API
//! (`services.leadconnectorhq.com`): OAuth 2.0 authorization, single-use token
//! exchange and refresh, pacing under the platform's limits, error classification and
//! webhook verification. No I/O, no clock (every time-dependent call takes `now_ms`,
//! Unix milliseconds), no randomness (callers supply random bytes), no panics.
//!
//! The modules form layers with arrows one way (leaves such as `error` and `http` at the
//! bottom, `call` and `pool` at the top; the repository's `ARCHITECTURE.md` draws them). The
//! modules are private: every public item is listed once, here. A driver is a short loop
//! around [`Call::step`]: the `call` module's documentation (core/src/call.rs) holds one,
//! compiled and run as a test.
//!
//! ```
//! use hoopauth::{Config, ConfigOptions, AuthorizationParams};
//! let config = Config::new(ConfigOptions {
//!     client_id: "65f1c0ffee-lx2k9".into(),
//!     client_secret: Some("s3cr3t".into()),
//!     redirect_uri: Some("https://myapp.com/oauth/callback".into()),
//!     ..Default::default()
//! })?;
//! let url = config.authorization_url(&AuthorizationParams {
//!     scopes: vec!["contacts.readonly".into()],
//!     state: Some(hoopauth::generate_state(&[7u8; 32])?),
//!     ..Default::default()
//! })?;
//! assert!(url.starts_with("https://marketplace.gohighlevel.com/oauth/chooselocation?"));
//! # Ok::<(), hoopauth::Error>(())
//! ```

// Modules stay public this round (bindings and tests name a few module paths); the crate
// root below lists the whole API once, so every item is reachable as `hoopauth::Item`.
// `headers` and `time` are private leaves; `urls` is internal.

// Leaves: values and parsers that use nothing above them.
mod error;
mod secret;
mod http;
mod time;
mod headers;
mod urls;
mod scopes;
// Protocol pieces.
mod config;
mod auth;
mod api;
mod token;
mod classify;
mod ratelimit;
mod session;
// The call state machine, and the per-resource pool that drives it.
mod call;
mod pool;
// Coordinated mode (several processes, one store).
mod seal;
mod shared;
// Webhooks (independent of the call path).
mod webhook;
// The app's lifecycle from its webhooks (INSTALL mints, UNINSTALL forgets).
mod lifecycle;

// ---- The API, listed once -------------------------------------------------------------

// Errors: one type, stable kinds.
pub use error::{Error, ErrorFamily, ErrorKind, Result};
// Values exchanged with the host.
pub use http::{header, Headers, Method, Request, Response};
pub use secret::Secret;
// Configuration.
pub use config::{
    Config, ConfigOptions, DEFAULT_API_BASE, DEFAULT_API_VERSION, STANDARD_MARKETPLACE, WHITE_LABEL_MARKETPLACE,
};
// Authorization: the URL, the redirect, scopes.
pub use auth::{generate_state, normalize_scopes, parse_callback, states_equal, AuthorizationParams, Callback};
pub use scopes::{is_known_scope, scope_warnings, suggest_scope, validate_scope, ScopeWarning, KNOWN_SCOPES};
// Token requests and responses.
pub use token::{parse_token_response, Grant, TokenSet, UserType};
// API requests and what their responses mean.
pub use api::ApiRequest;
pub use classify::{classify_response, Classification, RateLimitScope, ResponseKind};
pub use headers::{parse_http_date, parse_rate_limit_headers, parse_retry_after, RateLimitHeaders};
// Pacing.
pub use ratelimit::{Decision, LimiterState, Limits, RateLimiter, RateLimiters, DAY_MS};
// Sessions: expiry, refresh lease, stored form.
pub use session::{Action, Credential, MintedFrom, SessionOptions, StoredSession, TokenSession, STORED_FORMAT};
// The call loop (see the `call` module for the driver).
pub use call::{Call, CallOptions, CallStats, Event, Step, WaitReason};
pub use pool::Pool;
// Coordinated mode: the shared record, its sealing, the Redis and SQLite helpers.
pub use seal::{is_sealed, Sealer, SEALED_PREFIX};
pub use shared::{
    redis_key, redis_webhook_key, SharedRecord, REDIS_CAS_SCRIPT, REDIS_READ_SCRIPT, SHARED_FORMAT, SHARED_LEASE_MS,
    SHARED_TTL_MS, SQLITE_SCHEMA,
};
// Webhooks.
pub use webhook::{
    parse_iso8601_ms, parse_webhook_event, verify_legacy_webhook, verify_webhook, InstallEvent, RsaWebhookKey,
    UninstallEvent, Verification, VerifyReason, WebhookEvent, WebhookKey, WebhookVerifier, DEFAULT_MAX_AGE_MS,
    DEFAULT_SEEN_CAPACITY, PLATFORM_ED25519_KEY, PLATFORM_RSA_KEY,
};
// The app's lifecycle: a verified webhook's plan and the answer to give.
pub use lifecycle::{webhook_reads, WebhookPlan, WebhookReply};
