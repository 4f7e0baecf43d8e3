//! The app's lifecycle from its webhooks: what a verified `INSTALL` or `UNINSTALL` changes,
//! and what the web framework answers the platform. One call in each binding handles a
//! delivery end to end; the rule is here, the bindings do the I/O:
//!
//! 1. verify the delivery (signature, replay window, duplicate `webhookId` — a
//!    [`WebhookVerifier`](crate::WebhookVerifier), or in coordinated mode a verifier without
//!    memory and the shared store's seen-key); a rejected delivery is answered
//!    [`WebhookPlan::rejected`] (`401 bad_signature`, `401 stale`, `200 duplicate`);
//! 2. parse it ([`parse_webhook_event`](crate::parse_webhook_event)); a malformed body is
//!    answered [`WebhookPlan::malformed`] (`400 malformed`);
//! 3. load the resources of [`webhook_reads`] (the event's company and location) from the
//!    store, then [`Pool::plan_webhook`];
//! 4. for each of [`WebhookPlan::forget`]: delete the resource's tokens from the store and
//!    [`Pool::forget`] it (tokens and pacing state);
//! 5. for each of [`WebhookPlan::mint`]: [`Pool::expect_minted`]`(location, company)` (in
//!    coordinated mode inside the location's store transaction); when it answers `true`, run
//!    a [`Call::token`](crate::Call::token) on the location: it mints the location's token
//!    from the company's ([`Step::Mint`](crate::Step::Mint)), single-flighted under the
//!    location's lease and paced on the company's budget, and saves it;
//! 6. answer [`WebhookPlan::reply`] with the number of resources changed.
//!
//! Idempotent: a delivery seen before is a duplicate (step 1), and a repeated `INSTALL` or
//! `UNINSTALL` finds its work done (locations holding tokens are not minted again; a forgotten
//! resource is gone).

use crate::error::Error;
use crate::pool::Pool;
use crate::webhook::{InstallEvent, Verification, VerifyReason, WebhookEvent};

/// What the web framework answers a webhook delivery: an HTTP status and a short
/// snake_case reason (for the body or a log line).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct WebhookReply {
    /// The HTTP status: 200 (applied, nothing to do, ignored, duplicate), 400 (malformed),
    /// 401 (bad signature, stale).
    pub status: u16,
    /// `applied`, `nothing_to_do`, `ignored`, `no_company_tokens`, `duplicate`,
    /// `bad_signature`, `stale` or `malformed`.
    pub reason: String,
}

impl WebhookReply {
    fn new(status: u16, reason: &str) -> WebhookReply {
        WebhookReply { status, reason: reason.to_owned() }
    }
}

/// What a verified, parsed delivery asks of the driver (see the module documentation).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct WebhookPlan {
    /// The event's `type` (`INSTALL`, `UNINSTALL`, another type as sent).
    pub event_type: String,
    /// The delivery's `webhookId`, if any.
    pub webhook_id: Option<String>,
    /// The company whose token mints the locations of [`WebhookPlan::mint`].
    pub company_id: Option<String>,
    /// Locations to mint a token for (when they hold none): `expect_minted`, then a token call.
    pub mint: Vec<String>,
    /// Resources whose tokens and pacing state are deleted.
    pub forget: Vec<String>,
    /// Why nothing is planned, when nothing is (`ignored`, `no_company_tokens`).
    pub skip: Option<String>,
}

impl WebhookPlan {
    /// The answer to a delivery the verifier rejected (`None` when it was accepted):
    /// `401 bad_signature`, `401 stale`, or `200 duplicate` (the platform must not send it
    /// again; nothing changes).
    pub fn rejected(verification: &Verification) -> Option<WebhookReply> {
        WebhookPlan::rejected_for(verification.reason)
    }

    /// [`WebhookPlan::rejected`] for a verification's reason.
    pub fn rejected_for(reason: VerifyReason) -> Option<WebhookReply> {
        match reason {
            VerifyReason::Ok => None,
            VerifyReason::Duplicate => Some(WebhookReply::new(200, "duplicate")),
            VerifyReason::BadSignature => Some(WebhookReply::new(401, "bad_signature")),
            VerifyReason::Stale => Some(WebhookReply::new(401, "stale")),
        }
    }

    /// The answer to a verified delivery whose body is not an event: `400 malformed`.
    pub fn malformed(_error: &Error) -> WebhookReply {
        WebhookReply::new(400, "malformed")
    }

    /// The answer once the plan ran: `changed` resources were minted or forgotten.
    /// `200 applied` when something changed, else `200` with why not (`nothing_to_do`: a
    /// repeated delivery or locations that hold tokens already; `ignored`: another event
    /// type; `no_company_tokens`: an `INSTALL` to mint from a company without tokens).
    pub fn reply(&self, changed: usize) -> WebhookReply {
        if changed > 0 {
            WebhookReply::new(200, "applied")
        } else if let Some(skip) = &self.skip {
            WebhookReply::new(200, skip)
        } else {
            WebhookReply::new(200, "nothing_to_do")
        }
    }
}

/// The resources [`Pool::plan_webhook`] reads: load them from the store first (the event's
/// company, whose token set lists the approved locations, and its location).
pub fn webhook_reads(event: &WebhookEvent) -> Vec<String> {
    let (company, location) = match event {
        WebhookEvent::Install(e) => (e.company_id.as_deref(), e.location_id.as_deref()),
        WebhookEvent::Uninstall(e) => (e.company_id.as_deref(), e.location_id.as_deref()),
        WebhookEvent::Other { .. } => (None, None),
    };
    let mut out = Vec::with_capacity(2);
    for r in [company, location].into_iter().flatten() {
        if !r.is_empty() && !out.iter().any(|o: &String| o == r) {
            out.push(r.to_owned());
        }
    }
    out
}

fn push_unique(out: &mut Vec<String>, id: &str) {
    if !id.is_empty() && !out.iter().any(|o| o == id) {
        out.push(id.to_owned());
    }
}

impl Pool {
    /// What a verified, parsed delivery changes (see the module documentation in
    /// `lifecycle.rs`). Reads the company's token set (load [`webhook_reads`] first):
    ///
    /// - `INSTALL` with a `companyId` whose company holds tokens: mint the event's location
    ///   and, for a company-level or bulk installation (`installType` `Company`,
    ///   `isBulkInstallation`, or no `locationId`), every approved location (the event's
    ///   `approvedLocations` and the company token's). Locations that hold tokens are left
    ///   alone by [`Pool::expect_minted`]. Without company tokens: nothing (`no_company_tokens`).
    /// - `UNINSTALL`: forget the location; a company-level one (no `locationId`) forgets the
    ///   company and every location minted from it.
    /// - any other type: nothing (`ignored`).
    pub fn plan_webhook(&self, event: &WebhookEvent) -> WebhookPlan {
        let mut plan = WebhookPlan { event_type: event.event_type().to_owned(), ..WebhookPlan::default() };
        match event {
            WebhookEvent::Install(e) => {
                plan.webhook_id = e.webhook_id.clone();
                self.plan_install(e, &mut plan);
            }
            WebhookEvent::Uninstall(e) => {
                plan.webhook_id = e.webhook_id.clone();
                match (e.location_id.as_deref().filter(|l| !l.is_empty()), e.company_id.as_deref()) {
                    (Some(location), _) => push_unique(&mut plan.forget, location),
                    (None, Some(company)) if !company.is_empty() => {
                        for location in self.minted_locations(company) {
                            push_unique(&mut plan.forget, &location);
                        }
                        push_unique(&mut plan.forget, company);
                    }
                    _ => plan.skip = Some("nothing_to_do".into()),
                }
            }
            WebhookEvent::Other { .. } => plan.skip = Some("ignored".into()),
        }
        plan
    }

    fn plan_install(&self, e: &InstallEvent, plan: &mut WebhookPlan) {
        let Some(company) = e.company_id.as_deref().filter(|c| !c.is_empty()) else {
            // A location install without a company: its tokens come from the OAuth exchange.
            plan.skip = Some("nothing_to_do".into());
            return;
        };
        plan.company_id = Some(company.to_owned());
        let location = e.location_id.as_deref().filter(|l| !l.is_empty());
        let company_tokens = self.session(company).and_then(|s| s.token_set());
        let bulk = e.is_bulk_installation == Some(true)
            || e.install_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("company"))
            || location.is_none();
        let mut targets = Vec::new();
        if let Some(l) = location {
            push_unique(&mut targets, l);
        }
        if bulk {
            for l in e.approved_locations.iter().flatten() {
                push_unique(&mut targets, l);
            }
            for l in company_tokens.and_then(|t| t.approved_locations.as_ref()).into_iter().flatten() {
                push_unique(&mut targets, l);
            }
        }
        targets.retain(|l| l != company);
        if targets.is_empty() {
            plan.skip = Some("nothing_to_do".into());
            return;
        }
        if !self.has_session(company) {
            let all_held = targets.iter().all(|l| self.has_session(l));
            plan.skip = Some(if all_held { "nothing_to_do" } else { "no_company_tokens" }.into());
            return;
        }
        plan.mint = targets;
    }
}
