//! The catalogue of known OAuth scopes, scope validation and "did you mean" suggestions.
//!
//! Unknown but well-formed scopes are allowed everywhere (the platform adds scopes over
//! time); the catalogue only powers [`is_known_scope`] and [`suggest_scope`].

use crate::error::{Error, ErrorKind, Result};

/// Scope strings seen in the platform's public API reference (2026-06), sorted by bytes
/// (generated from `shared/data/scopes.txt`; a test keeps them equal).
pub const KNOWN_SCOPES: &[&str] = &[
    "adPublishing.readonly",
    "adPublishing.write",
    "affiliate-manager.readonly",
    "agent-studio.readonly",
    "agent-studio.write",
    "associations.readonly",
    "associations.write",
    "associations/relation.readonly",
    "associations/relation.write",
    "blogs/author.readonly",
    "blogs/category.readonly",
    "blogs/check-slug.readonly",
    "blogs/list.readonly",
    "blogs/post-update.write",
    "blogs/post.write",
    "blogs/posts.readonly",
    "brand-boards/design-kit.readonly",
    "brand-boards/design-kit.write",
    "businesses.readonly",
    "businesses.write",
    "calendars.readonly",
    "calendars.write",
    "calendars/events.readonly",
    "calendars/events.write",
    "calendars/groups.readonly",
    "calendars/groups.write",
    "calendars/resources.readonly",
    "calendars/resources.write",
    "campaigns.readonly",
    "charges.readonly",
    "charges.write",
    "chat-widget.readonly",
    "chat-widget.write",
    "companies.readonly",
    "contacts.readonly",
    "contacts.write",
    "conversation-ai.readonly",
    "conversation-ai.write",
    "conversations.readonly",
    "conversations.write",
    "conversations/livechat.write",
    "conversations/message.readonly",
    "conversations/message.write",
    "courses.write",
    "custom-menu-link.readonly",
    "custom-menu-link.write",
    "emails/builder.readonly",
    "emails/builder.write",
    "emails/campaigns.readonly",
    "emails/campaigns.write",
    "emails/schedule.readonly",
    "emails/stats.readonly",
    "emails/templates.readonly",
    "emails/templates.write",
    "forms.readonly",
    "forms.write",
    "funnels/funnel.readonly",
    "funnels/page.readonly",
    "funnels/pagecount.readonly",
    "funnels/redirect.readonly",
    "funnels/redirect.write",
    "invoices.readonly",
    "invoices.write",
    "invoices/estimate.readonly",
    "invoices/estimate.write",
    "invoices/schedule.readonly",
    "invoices/schedule.write",
    "invoices/template.readonly",
    "invoices/template.write",
    "lc-email.readonly",
    "links.readonly",
    "links.write",
    "locations.internal-access-only",
    "locations.readonly",
    "locations.write",
    "locations/customFields.readonly",
    "locations/customFields.write",
    "locations/customValues.readonly",
    "locations/customValues.write",
    "locations/tags.readonly",
    "locations/tags.write",
    "locations/tasks.readonly",
    "locations/templates.readonly",
    "locations/write",
    "marketplace-external-auth-migration.write",
    "marketplace-installer-details.readonly",
    "medias.readonly",
    "medias.write",
    "numberpools.read",
    "oauth.readonly",
    "oauth.write",
    "objects/record.readonly",
    "objects/record.write",
    "objects/schema.readonly",
    "objects/schema.write",
    "opportunities.readonly",
    "opportunities.write",
    "payments/coupons.readonly",
    "payments/coupons.write",
    "payments/custom-provider.readonly",
    "payments/custom-provider.write",
    "payments/integration.readonly",
    "payments/integration.write",
    "payments/orders.collectPayment",
    "payments/orders.readonly",
    "payments/orders.write",
    "payments/subscriptions.readonly",
    "payments/transactions.readonly",
    "phonenumbers.read",
    "phonenumbers.write",
    "products.readonly",
    "products.write",
    "products/collection.readonly",
    "products/collection.write",
    "products/prices.readonly",
    "products/prices.write",
    "saas/company.read",
    "saas/company.write",
    "saas/location.read",
    "saas/location.write",
    "snapshots.readonly",
    "socialplanner/account.readonly",
    "socialplanner/account.write",
    "socialplanner/category.readonly",
    "socialplanner/category.write",
    "socialplanner/csv.readonly",
    "socialplanner/csv.write",
    "socialplanner/oauth.readonly",
    "socialplanner/oauth.write",
    "socialplanner/post.readonly",
    "socialplanner/post.write",
    "socialplanner/statistics.readonly",
    "socialplanner/tag.readonly",
    "surveys.readonly",
    "users.readonly",
    "users.write",
    "voice-ai-agent-goals.readonly",
    "voice-ai-agent-goals.write",
    "voice-ai-agents.readonly",
    "voice-ai-agents.write",
    "voice-ai-dashboard.readonly",
    "workflows.readonly",
];

/// Whether `s` is in [`KNOWN_SCOPES`] (exact, case-sensitive).
pub fn is_known_scope(s: &str) -> bool {
    KNOWN_SCOPES.binary_search(&s).is_ok()
}

/// Check that a scope is well-formed: non-empty, without whitespace or control
/// characters. Unknown well-formed scopes are accepted. Else [`ErrorKind::InvalidScope`].
pub fn validate_scope(s: &str) -> Result<()> {
    if s.is_empty() {
        return Err(Error::new(ErrorKind::InvalidScope, "scope is empty"));
    }
    if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
        let shown: String = s.chars().take(32).collect();
        return Err(Error::new(
            ErrorKind::InvalidScope,
            format!("scope {shown:?} contains whitespace or a control character"),
        ));
    }
    Ok(())
}

/// Inputs longer than this get no suggestion (keeps the work bounded).
const MAX_SUGGEST_LEN: usize = 128;

/// The closest known scope to `s`, for a "did you mean" hint; `None` when `s` is itself
/// known or nothing is close.
///
/// Comparison is ASCII case-insensitive, on the input with surrounding whitespace
/// trimmed. A candidate qualifies when its optimal-string-alignment (Damerau) distance is
/// at most `max(2, len / 4)` (`len` = the trimmed input's length), or when the input
/// contains a `.` or `/` and is a prefix of the candidate (`contacts.read` →
/// `contacts.readonly`). The smallest distance wins; on a tie a prefix completion wins,
/// then catalogue order.
pub fn suggest_scope(s: &str) -> Option<&'static str> {
    if is_known_scope(s) {
        return None;
    }
    let input = s.trim().as_bytes();
    if input.is_empty() || input.len() > MAX_SUGGEST_LEN {
        return None;
    }
    let threshold = (input.len() / 4).max(2);
    let allow_prefix = input.iter().any(|&b| b == b'.' || b == b'/');
    let mut rows = DistanceRows::new(input.len());
    let mut best: Option<(usize, bool, &'static str)> = None;
    for &candidate in KNOWN_SCOPES {
        let cand = candidate.as_bytes();
        let is_prefix = allow_prefix
            && cand.len() > input.len()
            && cand.iter().zip(input).all(|(a, b)| a.eq_ignore_ascii_case(b));
        // A candidate whose length differs by more than the threshold cannot qualify by
        // distance; skip the computation unless it is a prefix completion.
        if !is_prefix && cand.len().abs_diff(input.len()) > threshold {
            continue;
        }
        let distance = if is_prefix { cand.len() - input.len() } else { rows.osa(input, cand) };
        if !is_prefix && distance > threshold {
            continue;
        }
        let better = match best {
            None => true,
            Some((d, p, _)) => distance < d || (distance == d && is_prefix && !p),
        };
        if better {
            best = Some((distance, is_prefix, candidate));
        }
    }
    best.map(|(_, _, scope)| scope)
}

/// Reusable rows for the optimal-string-alignment distance (three rows of `n + 1`).
struct DistanceRows {
    prev2: Vec<usize>,
    prev: Vec<usize>,
    cur: Vec<usize>,
}

impl DistanceRows {
    fn new(n: usize) -> Self {
        DistanceRows { prev2: vec![0; n + 1], prev: vec![0; n + 1], cur: vec![0; n + 1] }
    }

    /// Optimal string alignment distance between `a` (length n) and `b`, ASCII
    /// case-insensitive.
    fn osa(&mut self, a: &[u8], b: &[u8]) -> usize {
        for (j, slot) in self.prev.iter_mut().enumerate() {
            *slot = j;
        }
        let mut prev_b: Option<u8> = None;
        for (i, &bc) in b.iter().enumerate() {
            let bc = bc.to_ascii_lowercase();
            if let Some(first) = self.cur.first_mut() {
                *first = i + 1;
            }
            let mut prev_a: Option<u8> = None;
            for (j, &ac) in a.iter().enumerate() {
                let ac = ac.to_ascii_lowercase();
                let cost = usize::from(ac != bc);
                let del = self.prev.get(j + 1).copied().unwrap_or(usize::MAX).saturating_add(1);
                let ins = self.cur.get(j).copied().unwrap_or(usize::MAX).saturating_add(1);
                let sub = self.prev.get(j).copied().unwrap_or(usize::MAX).saturating_add(cost);
                let mut value = del.min(ins).min(sub);
                if prev_a == Some(bc) && prev_b == Some(ac) && i > 0 && j > 0 {
                    let tr = self.prev2.get(j - 1).copied().unwrap_or(usize::MAX).saturating_add(1);
                    value = value.min(tr);
                }
                if let Some(slot) = self.cur.get_mut(j + 1) {
                    *slot = value;
                }
                prev_a = Some(ac);
            }
            std::mem::swap(&mut self.prev2, &mut self.prev);
            std::mem::swap(&mut self.prev, &mut self.cur);
            prev_b = Some(bc);
        }
        self.prev.get(a.len()).copied().unwrap_or(usize::MAX)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_is_sorted_and_unique() {
        assert!(KNOWN_SCOPES.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn catalogue_matches_shared_file() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/scopes.txt");
        let Ok(text) = std::fs::read_to_string(&path) else { return };
        let from_file: Vec<&str> = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        assert_eq!(from_file, KNOWN_SCOPES);
    }

    #[test]
    fn osa_distance() {
        let mut rows = DistanceRows::new(3);
        assert_eq!(rows.osa(b"abc", b"abc"), 0);
        assert_eq!(rows.osa(b"abc", b"acb"), 1);
        assert_eq!(rows.osa(b"abc", b"ABC"), 0);
        assert_eq!(rows.osa(b"abc", b""), 3);
        assert_eq!(rows.osa(b"abc", b"xabcx"), 2);
        let mut rows = DistanceRows::new(0);
        assert_eq!(rows.osa(b"", b"ab"), 2);
        let mut rows = DistanceRows::new(7);
        assert_eq!(rows.osa(b"kitten", b"sitting"), 3);
    }
}

/// A scope the catalogue does not know, with the closest known one when there is one.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ScopeWarning {
    /// The scope as given.
    pub scope: String,
    /// The closest known scope, when one is close enough.
    pub suggestion: Option<&'static str>,
}

impl ScopeWarning {
    /// "unknown scope `x` (did you mean `y`?)"
    pub fn message(&self) -> String {
        match self.suggestion {
            Some(s) => format!("unknown scope `{}` (did you mean `{s}`?)", self.scope),
            None => format!("unknown scope `{}`", self.scope),
        }
    }
}

/// Scopes that are well-formed but not in the catalogue (the platform adds scopes over time,
/// so these are allowed; a typo usually shows up here with a suggestion).
pub fn scope_warnings<S: AsRef<str>>(scopes: &[S]) -> Vec<ScopeWarning> {
    scopes
        .iter()
        .map(AsRef::as_ref)
        .filter(|s| validate_scope(s).is_ok() && !is_known_scope(s))
        .map(|s| ScopeWarning { scope: s.to_owned(), suggestion: suggest_scope(s) })
        .collect()
}
