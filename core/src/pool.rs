//! Many resources at once: the token session and the rate limiter of every location or
//! company an app acts for, and the call loop run against them. A binding's driver holds
//! one [`Pool`] and feeds it [`Call`]s; it never keeps per-resource logic of its own.

use crate::call::{Call, Event, Step};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::ratelimit::{Limits, RateLimiters};
use crate::secret::Secret;
use crate::session::{SessionOptions, StoredSession, TokenSession};
use crate::token::TokenSet;
use std::collections::HashMap;

/// Sessions and limiters keyed by resource id (location id or company id).
#[derive(Debug)]
pub struct Pool {
    config: Config,
    session_options: SessionOptions,
    sessions: HashMap<String, TokenSession>,
    limiters: RateLimiters,
}

impl Pool {
    pub fn new(config: Config, session_options: SessionOptions, limits: Limits) -> Self {
        Pool { config, session_options, sessions: HashMap::new(), limiters: RateLimiters::new(limits) }
    }

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
        self.sessions.get(resource).map(TokenSession::to_json)
    }

    pub fn stored(&self, resource: &str) -> Option<&StoredSession> {
        self.sessions.get(resource).map(TokenSession::stored)
    }

    pub fn has_session(&self, resource: &str) -> bool {
        self.sessions.get(resource).is_some_and(|s| s.access_token().is_some())
    }

    pub fn session(&self, resource: &str) -> Option<&TokenSession> {
        self.sessions.get(resource)
    }

    pub fn session_mut_opt(&mut self, resource: &str) -> Option<&mut TokenSession> {
        self.sessions.get_mut(resource)
    }

    /// Forget `resource` (e.g. after an UNINSTALL webhook).
    pub fn remove(&mut self, resource: &str) -> bool {
        self.sessions.remove(resource).is_some()
    }

    pub fn resources(&self) -> impl Iterator<Item = &str> {
        self.sessions.keys().map(String::as_str)
    }

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
            if e.kind() == ErrorKind::Unauthorized && session.access_token().is_none() {
                return Step::Reauthorize(Error::new(
                    ErrorKind::Unauthorized,
                    format!("no tokens for resource `{}`: authorize the app for it first", truncate(resource)),
                ));
            }
        }
        step
    }
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(64) {
        Some((i, _)) => s.get(..i).unwrap_or(s),
        None => s,
    }
}
