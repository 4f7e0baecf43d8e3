//! The token session (SPEC §10): expiry with leeway, one refresh at a time under a lease,
//! re-authorization, private-integration tokens, and a stored form for shared stores.

use crate::classify::{classify_response, ResponseKind};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::http::Request;
use crate::secret::Secret;
use crate::token::{parse_token_response, Grant, TokenSet, UserType};
use subtle::ConstantTimeEq;

/// Session tuning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct SessionOptions {
    /// Refresh this long before expiry (default 5 minutes).
    pub refresh_leeway_ms: u64,
    /// How long one refresher holds the right to refresh before another may take over.
    pub lease_ms: u64,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions { refresh_leeway_ms: 300_000, lease_ms: 30_000 }
    }
}

/// What the caller should do to get a usable access token.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Action {
    /// Send the API request with this token.
    Use {
        /// The access token to send.
        access_token: Secret,
    },
    /// You hold the refresh lease: send this request, then call [`TokenSession::refresh_response`].
    Refresh {
        /// The token refresh request to send.
        request: Request,
    },
    /// Another caller is refreshing: ask again later (at most `wait_ms` from now).
    Wait {
        /// The longest wait before asking again (ms).
        wait_ms: u64,
    },
    /// A minted location session (see [`MintedFrom`]) came due, or its token was refused: you
    /// hold its refresh lease. Get a new location token from the company's session (a
    /// [`Call::location_token`](crate::Call::location_token) on `company_id`), then call
    /// [`TokenSession::mint_response`] (or [`TokenSession::mint_failed`]). Never a refresh,
    /// never a re-authorization while the company's token is good.
    Mint {
        /// The company (agency) whose token mints the location token.
        company_id: String,
        /// The location the token is for.
        location_id: String,
    },
    /// Nothing usable: the user must authorize the app again.
    Reauthorize,
    /// The session holds tokens the store does not (an earlier save failed): save
    /// [`TokenSession::stored`] first, then call [`TokenSession::persisted`] (or
    /// [`TokenSession::save_failed`]). Other callers wait meanwhile.
    Save,
}

impl Action {
    /// Old name of [`Action::as_str`].
    #[deprecated(note = "use as_str")]
    pub fn name(&self) -> &'static str {
        self.as_str()
    }
    /// The action's snake_case name (`use`, `refresh`, `mint`, `wait`, `reauthorize`, `save`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Action::Use { .. } => "use",
            Action::Refresh { .. } => "refresh",
            Action::Mint { .. } => "mint",
            Action::Wait { .. } => "wait",
            Action::Reauthorize => "reauthorize",
            Action::Save => "save",
        }
    }
}

/// The credential a session holds.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Credential {
    /// No credential yet.
    #[default]
    None,
    /// OAuth tokens (access and refresh).
    Oauth {
        /// The token set.
        tokens: Box<TokenSet>,
    },
    /// A private-integration token (never refreshed).
    Private {
        /// The token.
        token: Secret,
    },
}

/// Where a minted location session's tokens come from: `POST /oauth/locationToken` with the
/// company's (agency's) access token. Such a session holds no refresh token; when it comes
/// due (the refresh rule and leeway), or its token is refused, it is minted again.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MintedFrom {
    /// The company whose session mints the location's tokens.
    pub company_id: String,
    /// The location the tokens are for.
    pub location_id: String,
}

/// The serialisable state of a session: what a shared store keeps. `version` grows by one
/// on every change, so a store can compare-and-set. `Debug` redacts the tokens.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StoredSession {
    /// Format of this record.
    pub format: u32,
    /// Change counter for compare-and-set.
    pub version: u64,
    /// The token set or private token, if any.
    pub credential: Credential,
    /// The current access token was refused (`unauthorized`).
    #[serde(default)]
    pub bad: bool,
    /// A refresh is under way until this time (Unix ms).
    #[serde(default)]
    pub refresh_lease_until_ms: Option<u64>,
    /// A refresh was refused for good: re-authorization needed until new tokens are loaded.
    #[serde(default)]
    pub reauthorize: bool,
    /// A minted location session: its tokens come from this company's session (absent from
    /// the JSON of other sessions, so older records load and unminted ones are unchanged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minted_from: Option<MintedFrom>,
    /// A refreshed token set waits to be persisted: nobody uses it before that.
    #[serde(skip)]
    pub persist_pending: bool,
    /// The tokens in memory are newer than the store's (a save failed or was cancelled): they
    /// are saved before anything else, and no refresh is sent meanwhile.
    #[serde(skip)]
    pub unsaved: bool,
}

/// The current [`StoredSession::format`].
pub const STORED_FORMAT: u32 = 1;

/// The expiry/refresh state machine for one resource.
#[derive(Clone, Debug)]
pub struct TokenSession {
    config: Config,
    options: SessionOptions,
    state: StoredSession,
}

impl TokenSession {
    /// An empty session (no credential yet).
    pub fn new(config: Config, options: SessionOptions) -> Self {
        TokenSession { config, options, state: StoredSession { format: STORED_FORMAT, ..Default::default() } }
    }

    /// Restore from a stored form.
    pub fn from_stored(config: Config, options: SessionOptions, stored: StoredSession) -> Result<Self> {
        if stored.format != STORED_FORMAT {
            return Err(Error::argument(format!("unknown stored session format {}", stored.format)));
        }
        Ok(TokenSession { config, options, state: stored })
    }

    /// Restore from the JSON of [`TokenSession::to_json`].
    pub fn from_json(config: Config, options: SessionOptions, json: &str) -> Result<Self> {
        let stored: StoredSession = serde_json::from_str(json)
            .map_err(|_| Error::argument("stored session is not valid JSON of the stored form"))?;
        TokenSession::from_stored(config, options, stored)
    }

    /// The stored form (what a shared store keeps).
    pub fn stored(&self) -> &StoredSession {
        &self.state
    }

    /// The stored form as JSON (holds tokens: keep it as secret as the tokens).
    pub fn stored_json(&self) -> String {
        serde_json::to_string(&self.state).unwrap_or_default()
    }

    /// Old name of [`TokenSession::stored_json`].
    #[deprecated(note = "use stored_json")]
    pub fn to_json(&self) -> String {
        self.stored_json()
    }

    /// The change counter ([`StoredSession::version`]).
    pub fn version(&self) -> u64 {
        self.state.version
    }
    /// The session's tuning.
    pub fn options(&self) -> SessionOptions {
        self.options
    }
    /// The validated configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }
    /// The OAuth token set, if the session holds one.
    pub fn token_set(&self) -> Option<&TokenSet> {
        match &self.state.credential {
            Credential::Oauth { tokens } => Some(tokens),
            _ => None,
        }
    }
    /// Whether a refresh was refused for good: the user must authorize again.
    pub fn needs_reauthorization(&self) -> bool {
        self.state.reauthorize
    }

    fn bump(&mut self) {
        self.state.version = self.state.version.wrapping_add(1);
    }

    /// Load a token set (from an exchange, a refresh, or a store).
    pub fn load(&mut self, tokens: TokenSet) {
        self.state.credential = Credential::Oauth { tokens: Box::new(tokens) };
        self.state.bad = false;
        self.state.refresh_lease_until_ms = None;
        self.state.reauthorize = false;
        self.state.persist_pending = false;
        self.state.unsaved = false;
        self.bump();
    }

    /// Load a private-integration token (never expires, never refreshes).
    pub fn load_private(&mut self, token: Secret) -> Result<()> {
        if token.is_empty() {
            return Err(Error::argument("the private token is empty"));
        }
        crate::http::check_header_value("private token", token.expose())?;
        self.state.credential = Credential::Private { token };
        self.state.bad = false;
        self.state.refresh_lease_until_ms = None;
        self.state.reauthorize = false;
        self.bump();
        Ok(())
    }

    /// The current access token, if any (whatever its state).
    pub fn access_token(&self) -> Option<&Secret> {
        match &self.state.credential {
            Credential::None => None,
            Credential::Oauth { tokens } => Some(&tokens.access_token),
            Credential::Private { token } => Some(token),
        }
    }

    /// Whether another caller's refresh lease is live at `now_ms`.
    pub fn refresh_in_flight(&self, now_ms: u64) -> bool {
        self.state.refresh_lease_until_ms.is_some_and(|until| now_ms < until)
    }

    /// Decide what to do at `now_ms`. A `Refresh` answer takes the lease.
    pub fn acquire(&mut self, now_ms: u64) -> Result<Action> {
        if self.state.reauthorize {
            return Ok(Action::Reauthorize);
        }
        if self.state.persist_pending {
            return Ok(Action::Wait { wait_ms: 10 });
        }
        if self.state.unsaved {
            self.state.persist_pending = true;
            return Ok(Action::Save);
        }
        if let Some(m) = self.minting() {
            return Ok(self.acquire_minted(m, now_ms));
        }
        let (tokens, bad) = match &self.state.credential {
            Credential::None => return Ok(Action::Reauthorize),
            Credential::Private { token } => {
                return Ok(if self.state.bad { Action::Reauthorize } else { Action::Use { access_token: token.clone() } })
            }
            Credential::Oauth { tokens } => (tokens, self.state.bad),
        };
        let has_refresh = tokens.refresh_token.is_some();
        // The leeway never exceeds half the token's life: a short-lived token is used, and
        // refreshed at half its life (SPEC §10).
        let leeway =
            self.options.refresh_leeway_ms.min(tokens.expires_in.map_or(u64::MAX, |s| s.saturating_mul(500)));
        let fresh = match tokens.expires_at_ms {
            None => true,
            Some(at) if has_refresh => now_ms < at.saturating_sub(leeway),
            Some(at) => now_ms < at,
        };
        if fresh && !bad {
            return Ok(Action::Use { access_token: tokens.access_token.clone() });
        }
        let Some(refresh_token) = tokens.refresh_token.clone() else {
            return Ok(Action::Reauthorize);
        };
        if let Some(until) = self.state.refresh_lease_until_ms {
            if now_ms < until {
                return Ok(Action::Wait { wait_ms: until - now_ms });
            }
        }
        let request = self.config.token_request(&Grant::RefreshToken { refresh_token }, tokens.user_type)?;
        self.state.refresh_lease_until_ms = Some(now_ms.saturating_add(self.options.lease_ms));
        self.bump();
        Ok(Action::Refresh { request })
    }

    /// The origin of a minted session that renews by minting: set, and the session holds no
    /// credential yet or OAuth tokens without a refresh token.
    fn minting(&self) -> Option<MintedFrom> {
        let m = self.state.minted_from.as_ref()?;
        match &self.state.credential {
            Credential::None => Some(m.clone()),
            Credential::Oauth { tokens } if tokens.refresh_token.is_none() => Some(m.clone()),
            _ => None,
        }
    }

    /// [`TokenSession::acquire`] for a minted session: the refresh rule (leeway included),
    /// with a mint instead of a refresh, under the same lease.
    fn acquire_minted(&mut self, m: MintedFrom, now_ms: u64) -> Action {
        if let Credential::Oauth { tokens } = &self.state.credential {
            let leeway =
                self.options.refresh_leeway_ms.min(tokens.expires_in.map_or(u64::MAX, |s| s.saturating_mul(500)));
            let fresh = tokens.expires_at_ms.is_none_or(|at| now_ms < at.saturating_sub(leeway));
            if fresh && !self.state.bad {
                return Action::Use { access_token: tokens.access_token.clone() };
            }
        }
        if let Some(until) = self.state.refresh_lease_until_ms {
            if now_ms < until {
                return Action::Wait { wait_ms: until - now_ms };
            }
        }
        self.state.refresh_lease_until_ms = Some(now_ms.saturating_add(self.options.lease_ms));
        self.bump();
        Action::Mint { company_id: m.company_id, location_id: m.location_id }
    }

    /// Where this session's tokens are minted from, if it is a minted location session.
    pub fn minted_from(&self) -> Option<&MintedFrom> {
        self.state.minted_from.as_ref()
    }

    /// Make this a minted location session of `company_id` (or, with `None`, an ordinary one).
    /// A session without tokens then mints its first token on its first call.
    pub fn set_minted_from(&mut self, minted_from: Option<MintedFrom>) {
        if self.state.minted_from != minted_from {
            self.state.minted_from = minted_from;
            self.bump();
        }
    }

    /// Feed the answer of a mint (`POST /oauth/locationToken`, sent at or after `sent_at_ms`).
    /// Success loads and returns the new token set (persist it before use): any refresh token
    /// in it is dropped (a minted session renews by minting), and it names the minted
    /// location and company. A failure frees the lease and never asks for re-authorization.
    pub fn mint_response(
        &mut self,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
        sent_at_ms: u64,
    ) -> Result<TokenSet> {
        let Some(m) = self.state.minted_from.clone() else {
            self.mint_failed();
            return Err(Error::argument("the session is not a minted location session"));
        };
        match parse_token_response(status, headers, body, sent_at_ms) {
            Ok(mut tokens) => {
                tokens.refresh_token = None;
                tokens.user_type = Some(UserType::Location);
                tokens.location_id = Some(m.location_id);
                tokens.company_id = Some(m.company_id);
                self.load(tokens.clone());
                Ok(tokens)
            }
            Err(e) => {
                self.mint_failed();
                Err(e)
            }
        }
    }

    /// A mint failed or got no answer: the lease is freed (the next caller mints again).
    pub fn mint_failed(&mut self) {
        self.state.refresh_lease_until_ms = None;
        self.bump();
    }

    /// Feed the refresh answer, parsed at `sent_at_ms` (when the refresh was sent).
    /// Success loads and returns the new token set (persist it before use). `invalid_grant`
    /// and `invalid_client` mean re-authorization; any other failure frees the lease.
    pub fn refresh_response(
        &mut self,
        status: u16,
        headers: &[(String, String)],
        body: &[u8],
        sent_at_ms: u64,
    ) -> Result<TokenSet> {
        match parse_token_response(status, headers, body, sent_at_ms) {
            Ok(mut tokens) => {
                // A refresh answer without user data keeps what the old set knew.
                if let Some(old) = self.token_set() {
                    if tokens.user_type.is_none() {
                        tokens.user_type = old.user_type;
                    }
                    if tokens.location_id.is_none() {
                        tokens.location_id = old.location_id.clone();
                    }
                    if tokens.company_id.is_none() {
                        tokens.company_id = old.company_id.clone();
                    }
                }
                self.load(tokens.clone());
                Ok(tokens)
            }
            Err(e) => {
                self.refresh_failed(e.kind());
                Err(e)
            }
        }
    }

    /// A refresh failed with `kind` (or, with `None`, never got an answer: the lease is
    /// freed and the same refresh token may be sent again — the platform answers a repeat
    /// within 30 s with the same new pair).
    pub fn refresh_failed(&mut self, kind: ErrorKind) {
        self.state.refresh_lease_until_ms = None;
        if matches!(kind, ErrorKind::InvalidGrant | ErrorKind::InvalidClient) {
            self.state.reauthorize = true;
        }
        self.bump();
    }

    /// Extend a lease that ran out while its holder was saving it (the holder is about to
    /// send its refresh): `now_ms + lease_ms`. Returns the new lease end.
    pub fn renew_lease(&mut self, now_ms: u64) -> Option<u64> {
        self.state.refresh_lease_until_ms?;
        let until = now_ms.saturating_add(self.options.lease_ms).max(now_ms.saturating_add(1));
        self.state.refresh_lease_until_ms = Some(until);
        self.bump();
        Some(until)
    }

    /// Free the lease after a refresh that got no answer (connection lost).
    pub fn refresh_lost(&mut self) {
        self.state.refresh_lease_until_ms = None;
        self.bump();
    }

    /// Feed an API answer obtained with `access_token`. An `unauthorized` for the current
    /// token marks it bad (scope and token-class 401s do not). Returns the classification kind.
    pub fn api_response(&mut self, status: u16, body: &[u8], access_token: &str) -> ResponseKind {
        let kind = classify_response(status, &[], body, None).kind;
        self.note_api_kind(kind, access_token);
        kind
    }

    /// As [`TokenSession::api_response`], for a response already classified.
    pub fn note_api_kind(&mut self, kind: ResponseKind, access_token: &str) {
        if kind != ResponseKind::Unauthorized {
            return;
        }
        let is_current =
            self.access_token().is_some_and(|t| bool::from(t.expose().as_bytes().ct_eq(access_token.as_bytes())));
        if is_current && !self.state.bad {
            self.state.bad = true;
            self.bump();
        }
    }

    /// Hold the freshly refreshed tokens back until [`TokenSession::persisted`] is called,
    /// so that no request uses a token set the store does not hold yet.
    pub fn hold_until_persisted(&mut self) {
        self.state.persist_pending = true;
        self.state.unsaved = true;
    }

    /// The driver stored the current state: its tokens may be used.
    pub fn persisted(&mut self) {
        self.state.persist_pending = false;
        self.state.unsaved = false;
    }

    /// The save failed, timed out or was cancelled: the tokens stay in memory, marked unsaved;
    /// the next [`TokenSession::acquire`] answers [`Action::Save`] before anything else.
    pub fn save_failed(&mut self) {
        self.state.persist_pending = false;
        self.state.unsaved = true;
    }

    /// Whether the session holds tokens the store does not (a save failed).
    pub fn is_unsaved(&self) -> bool {
        self.state.unsaved
    }

    /// Start saving unsaved tokens outside a call (an explicit flush): `Some(stored)` to
    /// save, after which call [`TokenSession::persisted`] or [`TokenSession::save_failed`];
    /// `None` when there is nothing to save or a save is already under way.
    pub fn begin_save(&mut self) -> Option<&StoredSession> {
        if self.state.unsaved && !self.state.persist_pending {
            self.state.persist_pending = true;
            Some(&self.state)
        } else {
            None
        }
    }

    /// Forget everything (e.g. on UNINSTALL).
    pub fn clear(&mut self) {
        self.state.credential = Credential::None;
        self.state.minted_from = None;
        self.state.unsaved = false;
        self.state.persist_pending = false;
        self.state.bad = false;
        self.state.refresh_lease_until_ms = None;
        self.state.reauthorize = false;
        self.bump();
    }

    /// The user type to send with refreshes.
    pub fn user_type(&self) -> Option<UserType> {
        self.token_set().and_then(|t| t.user_type)
    }
}
