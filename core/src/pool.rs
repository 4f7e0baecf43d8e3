//! Many resources at once: the token session and the rate limiter of every location or
//! company an app acts for, and the call loop run against them. A binding's driver holds
//! one [`Pool`] and feeds it [`Call`]s; it never keeps per-resource logic of its own.

use crate::call::{Call, Event, Step};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::ratelimit::{Limits, RateLimiter, RateLimiters};
use crate::secret::Secret;
use crate::session::{MintedFrom, SessionOptions, StoredSession, TokenSession};
use crate::seal::{is_sealed, Sealer};
use crate::shared::{SharedRecord, SHARED_FORMAT, SHARED_LEASE_MS};
use crate::token::TokenSet;
use std::collections::HashMap;

/// Sessions and limiters keyed by resource id (location id or company id).
#[derive(Debug)]
pub struct Pool {
    config: Config,
    session_options: SessionOptions,
    sessions: HashMap<String, TokenSession>,
    limiters: RateLimiters,
    /// Coordinated mode: each resource's (session version, limiter changes) as last loaded
    /// or exported, to tell whether a step changed anything others must see.
    loaded: HashMap<String, (u64, u64)>,
    sealer: Option<Sealer>,
}

impl Pool {
    /// An empty pool: sessions get `session_options`, limiters start with `limits`.
    pub fn new(config: Config, session_options: SessionOptions, limits: Limits) -> Self {
        Pool {
            config,
            session_options,
            sessions: HashMap::new(),
            limiters: RateLimiters::new(limits),
            loaded: HashMap::new(),
            sealer: None,
        }
    }

    /// The validated configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    fn session_mut(&mut self, resource: &str) -> &mut TokenSession {
        let (config, options) = (&self.config, self.session_options);
        self.sessions.entry(resource.to_owned()).or_insert_with(|| TokenSession::new(config.clone(), options))
    }

    fn check_resource(resource: &str) -> Result<()> {
        if resource.is_empty() {
            return Err(Error::argument("resource id is empty"));
        }
        Ok(())
    }

    /// Load a token set for `resource`, or for the set's own location/company when `None`.
    /// Returns the resource id used.
    pub fn load_tokens(&mut self, resource: Option<&str>, tokens: TokenSet) -> Result<String> {
        let key = match resource {
            Some(r) => r.to_owned(),
            None => tokens
                .resource_id()
                .map(str::to_owned)
                .ok_or_else(|| Error::argument("the token set names no location or company: give a resource id"))?,
        };
        Self::check_resource(&key)?;
        self.session_mut(&key).load(tokens);
        Ok(key)
    }

    /// Use a private-integration token for `resource`.
    pub fn load_private(&mut self, resource: &str, token: Secret) -> Result<()> {
        Self::check_resource(resource)?;
        self.session_mut(resource).load_private(token)
    }

    /// Restore `resource` from its stored JSON (e.g. read from a shared store).
    /// Tokens this process could not save yet are kept unless the stored state is newer.
    pub fn load_stored(&mut self, resource: &str, json: &str) -> Result<()> {
        Self::check_resource(resource)?;
        let session = TokenSession::from_json(self.config.clone(), self.session_options, json)?;
        if let Some(current) = self.sessions.get(resource) {
            if current.is_unsaved() && current.version() >= session.version() {
                return Ok(());
            }
        }
        self.sessions.insert(resource.to_owned(), session);
        Ok(())
    }

    /// The stored JSON of `resource`, if it has a session.
    pub fn stored_json(&self, resource: &str) -> Option<String> {
        self.sessions.get(resource).map(TokenSession::stored_json)
    }

    /// The stored form of `resource`'s session, if it has one.
    pub fn stored(&self, resource: &str) -> Option<&StoredSession> {
        self.sessions.get(resource).map(TokenSession::stored)
    }

    /// Whether `resource` has a session holding an access token.
    pub fn has_session(&self, resource: &str) -> bool {
        self.sessions.get(resource).is_some_and(|s| s.access_token().is_some())
    }

    /// `resource`'s session, if it has one.
    pub fn session(&self, resource: &str) -> Option<&TokenSession> {
        self.sessions.get(resource)
    }

    /// `resource`'s session, mutably, if it has one.
    pub fn session_mut_opt(&mut self, resource: &str) -> Option<&mut TokenSession> {
        self.sessions.get_mut(resource)
    }

    /// Forget `resource`'s session (its limiter stays: see [`Pool::forget`]).
    pub fn remove(&mut self, resource: &str) -> bool {
        self.sessions.remove(resource).is_some()
    }

    /// Forget everything about `resource` — its session and its pacing state — as after an
    /// `UNINSTALL`. Whether it had a session with a credential. In coordinated mode
    /// [`Pool::export_shared`] then writes an empty record (so no process writes its copy back).
    pub fn forget(&mut self, resource: &str) -> bool {
        let had = self.has_session(resource);
        self.sessions.remove(resource);
        self.limiters.remove(resource);
        if self.loaded.contains_key(resource) {
            // Coordinated mode: the limiter's state is gone too; make the next export write.
            self.loaded.insert(resource.to_owned(), (u64::MAX, u64::MAX));
        }
        had
    }

    /// Make `location` a minted location session of `company` (its tokens come from
    /// `POST /oauth/locationToken` with the company's token and renew the same way). Returns
    /// whether a mint is needed now: the location holds no usable credential. A location
    /// holding its own OAuth tokens (with a refresh token) or a private token is left alone
    /// (`false`). Run a [`Call::token`] on the location to mint its first token.
    pub fn expect_minted(&mut self, location: &str, company: &str) -> Result<bool> {
        Self::check_resource(location)?;
        Self::check_resource(company)?;
        if location == company {
            return Err(Error::argument("a location cannot be minted from itself"));
        }
        let session = self.session_mut(location);
        let own = session.token_set().is_some_and(|t| t.refresh_token.is_some())
            || matches!(session.stored().credential, crate::session::Credential::Private { .. });
        if own {
            return Ok(false);
        }
        session.set_minted_from(Some(MintedFrom { company_id: company.to_owned(), location_id: location.to_owned() }));
        Ok(session.access_token().is_none())
    }

    /// Load a location token minted from `company`'s token (an answer of
    /// `POST /oauth/locationToken` obtained outside a call) for `location`: a minted session,
    /// renewed by minting when it comes due. Any refresh token in `tokens` is dropped.
    pub fn load_minted(&mut self, location: &str, company: &str, mut tokens: TokenSet) -> Result<()> {
        Self::check_resource(location)?;
        Self::check_resource(company)?;
        tokens.refresh_token = None;
        tokens.location_id = Some(location.to_owned());
        tokens.company_id.get_or_insert_with(|| company.to_owned());
        tokens.user_type = Some(crate::token::UserType::Location);
        let session = self.session_mut(location);
        session.set_minted_from(Some(MintedFrom { company_id: company.to_owned(), location_id: location.to_owned() }));
        session.load(tokens);
        Ok(())
    }

    /// The locations whose sessions are minted from `company`.
    pub fn minted_locations(&self, company: &str) -> Vec<String> {
        let mut out: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.minted_from().is_some_and(|m| m.company_id == company))
            .map(|(k, _)| k.clone())
            .collect();
        out.sort();
        out
    }

    /// The resources that have a session.
    pub fn resources(&self) -> impl Iterator<Item = &str> {
        self.sessions.keys().map(String::as_str)
    }

    /// The rate limiters, one per resource.
    pub fn limiters(&self) -> &RateLimiters {
        &self.limiters
    }

    /// End `call` early at `now_ms` (see [`Call::abort`]): releases its lease, its save and
    /// its rate-limit slot.
    pub fn abort(&mut self, call: &mut Call, resource: &str, now_ms: u64) {
        let (config, options) = (&self.config, self.session_options);
        let session =
            self.sessions.entry(resource.to_owned()).or_insert_with(|| TokenSession::new(config.clone(), options));
        let limiter = self.limiters.get_mut(resource);
        call.abort(session, limiter, now_ms);
    }

    /// Seal the shared records this pool exports (and open sealed ones) with these keys.
    pub fn set_sealer(&mut self, sealer: Option<Sealer>) {
        self.sealer = sealer;
    }

    /// Coordinated mode: take `resource`'s state from its shared record (`None`: nothing
    /// stored yet). Tokens this process could not save are kept when they are newer than the
    /// record's (later expiry). See the coordinated mode in `shared.rs`.
    pub fn load_shared(&mut self, resource: &str, record: Option<&str>) -> Result<()> {
        Self::check_resource(resource)?;
        let plain = match record {
            None => String::new(),
            Some(r) if is_sealed(r) => {
                let sealer = self.sealer.as_ref().ok_or_else(|| {
                    Error::new(ErrorKind::InvalidConfig, "the shared state is sealed: give the key that sealed it")
                })?;
                String::from_utf8(sealer.open(r)?)
                    .map_err(|_| Error::new(ErrorKind::StoreError, "the shared state is not text"))?
            }
            Some(r) => r.to_owned(),
        };
        let rec: SharedRecord = if plain.is_empty() {
            SharedRecord { format: SHARED_FORMAT, ..Default::default() }
        } else {
            serde_json::from_str(&plain)
                .map_err(|_| Error::new(ErrorKind::StoreError, "the shared state is not a hoopauth record"))?
        };
        if rec.format != SHARED_FORMAT {
            return Err(Error::new(ErrorKind::StoreError, format!("unknown shared state format {}", rec.format)));
        }
        let mut options = self.session_options;
        options.lease_ms = options.lease_ms.min(SHARED_LEASE_MS);
        let missing = record.is_none();
        let incoming = match rec.session {
            Some(stored) => TokenSession::from_stored(self.config.clone(), options, stored)?,
            None => TokenSession::new(self.config.clone(), options),
        };
        let keep_local = self.sessions.get(resource).is_some_and(|local| {
            local.access_token().is_some()
                && ((local.is_unsaved() && expiry(local) >= expiry(&incoming)) || missing)
        });
        if keep_local {
            if missing {
                // The store lost the record (a Redis restarted without persistence, an
                // expired key): this process's copy is written back by the next step, tokens
                // and pacing both, rather than forgotten. (`forget` writes an empty record.)
                if let Some(local) = self.sessions.get_mut(resource) {
                    if !local.stored().persist_pending {
                        local.save_failed();
                    }
                }
                self.loaded.insert(resource.to_owned(), (u64::MAX, u64::MAX));
                return Ok(());
            }
        } else {
            self.sessions.insert(resource.to_owned(), incoming);
        }
        let limiter = match &rec.limiter {
            Some(state) => RateLimiter::from_state(state),
            None => RateLimiter::new(self.limiters.default_limits()),
        };
        let mark = (self.sessions.get(resource).map_or(0, TokenSession::version), limiter.changes());
        self.limiters.insert(resource, limiter);
        self.loaded.insert(resource.to_owned(), mark);
        Ok(())
    }

    /// Coordinated mode: `resource`'s record to write back (sealed with `nonce` when keys are
    /// set), or `None` when nothing others must see changed since [`Pool::load_shared`] (the
    /// passing of time alone is not a change: a waiting call writes nothing).
    pub fn export_shared(&mut self, resource: &str, nonce: &[u8; 24]) -> Result<Option<String>> {
        let mark = (
            self.sessions.get(resource).map_or(0, TokenSession::version),
            self.limiters.get(resource).map_or(0, RateLimiter::changes),
        );
        if self.loaded.get(resource) == Some(&mark) && !self.is_unsaved(resource) {
            return Ok(None);
        }
        let rec = SharedRecord {
            format: SHARED_FORMAT,
            session: self.sessions.get(resource).map(|s| s.stored().clone()),
            limiter: self.limiters.get(resource).map(RateLimiter::to_state),
        };
        let plain = serde_json::to_string(&rec).map_err(|_| Error::new(ErrorKind::StoreError, "serialising failed"))?;
        let out = match &self.sealer {
            Some(s) => s.seal(plain.as_bytes(), nonce)?,
            None => plain,
        };
        self.loaded.insert(resource.to_owned(), mark);
        Ok(Some(out))
    }

    /// Coordinated mode: the record exported last was written; the tokens it holds are saved.
    pub fn shared_written(&mut self, resource: &str) {
        if let Some(s) = self.sessions.get_mut(resource) {
            if s.is_unsaved() && !s.stored().persist_pending {
                s.persisted();
            }
        }
    }

    /// Whether `resource` holds tokens its store does not (a save failed).
    pub fn is_unsaved(&self, resource: &str) -> bool {
        self.sessions.get(resource).is_some_and(TokenSession::is_unsaved)
    }

    /// Start an explicit save of `resource`'s unsaved tokens: the stored JSON to save, then
    /// [`Pool::end_save`]. `None` when there is nothing to save or a save is under way.
    pub fn begin_save(&mut self, resource: &str) -> Option<String> {
        let session = self.sessions.get_mut(resource)?;
        session.begin_save().map(|s| serde_json::to_string(s).unwrap_or_default())
    }

    /// Finish the save begun by [`Pool::begin_save`]: `saved` false keeps the tokens unsaved.
    pub fn end_save(&mut self, resource: &str, saved: bool) {
        if let Some(session) = self.sessions.get_mut(resource) {
            if saved {
                session.persisted();
            } else {
                session.save_failed();
            }
        }
    }

    /// Resources holding tokens their store does not.
    pub fn unsaved_resources(&self) -> impl Iterator<Item = &str> {
        self.sessions.iter().filter(|(_, s)| s.is_unsaved()).map(|(k, _)| k.as_str())
    }

    /// Advance `call` against `resource`'s session and limiter.
    pub fn step(&mut self, call: &mut Call, resource: &str, event: Event, now_ms: u64, random: u64) -> Step {
        if let Err(e) = Self::check_resource(resource) {
            return Step::Fail(e);
        }
        let (config, options) = (&self.config, self.session_options);
        let session =
            self.sessions.entry(resource.to_owned()).or_insert_with(|| TokenSession::new(config.clone(), options));
        let limiter = self.limiters.get_mut(resource);
        let step = call.step(session, limiter, event, now_ms, random);
        if let Step::Reauthorize(e) = &step {
            if e.kind() == ErrorKind::Unauthorized && session.access_token().is_none() && session.minted_from().is_none() {
                return Step::Reauthorize(Error::new(
                    ErrorKind::Unauthorized,
                    format!("no tokens for resource `{}`: authorize the app for it first", truncate(resource)),
                ));
            }
        }
        step
    }
}

fn expiry(s: &TokenSession) -> u64 {
    s.token_set().and_then(|t| t.expires_at_ms).unwrap_or(0)
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}
