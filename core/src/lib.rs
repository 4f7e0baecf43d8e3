#![warn(missing_docs)]
//! # hoopauth
//!
//! The sans-IO client core for the HoopAI / HighLevel platform API
//! (`services.leadconnectorhq.com`): OAuth 2.0 authorization, single-use token
//! exchange and refresh, pacing under the platform's limits, error classification and
//! webhook verification. No I/O, no clock (every time-dependent call takes `now_ms`,
//! Unix milliseconds), no randomness (callers supply random bytes), no panics.
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

pub mod api;
pub mod auth;
pub mod call;
pub mod classify;
pub mod config;
pub mod error;
mod headers;
pub mod http;
pub mod pool;
pub mod ratelimit;
pub mod scopes;
pub mod seal;
pub mod secret;
pub mod session;
pub mod shared;
pub mod token;
mod time;
mod urls;
pub mod webhook;

pub use api::ApiRequest;
pub use auth::{generate_state, normalize_scopes, parse_callback, states_equal, AuthorizationParams, Callback};
pub use call::{Call, CallOptions, CallStats, Event, Step, WaitReason};
pub use classify::{classify_response, parse_http_date, parse_retry_after, Classification, RateLimitScope, ResponseKind};
pub use config::{Config, ConfigOptions, DEFAULT_API_BASE, DEFAULT_API_VERSION};
pub use error::{Error, ErrorFamily, ErrorKind, Result};
pub use http::{header, Headers, Method, Request, Response};
pub use pool::Pool;
pub use ratelimit::{parse_rate_limit_headers, Decision, LimiterState, Limits, RateLimitHeaders, RateLimiter, RateLimiters};
pub use seal::Sealer;
pub use shared::{redis_key, redis_webhook_key, SharedRecord, REDIS_CAS_SCRIPT, REDIS_READ_SCRIPT, SHARED_FORMAT, SHARED_LEASE_MS, SHARED_TTL_MS, SQLITE_SCHEMA};
pub use secret::Secret;
pub use session::{Action, Credential, SessionOptions, StoredSession, TokenSession};
pub use token::{parse_token_response, Grant, TokenSet, UserType};
pub use scopes::{is_known_scope, suggest_scope, validate_scope, KNOWN_SCOPES};
pub use webhook::{
    parse_webhook_event, verify_legacy_webhook, verify_webhook, RsaWebhookKey, Verification, VerifyReason,
    WebhookEvent, WebhookKey, WebhookVerifier,
};
