//! Tests of `hoopauth::scopes`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use hoopauth::ErrorKind;
use hoopauth::{is_known_scope, suggest_scope, validate_scope, KNOWN_SCOPES};

#[test]
fn known_scopes() {
    assert!(KNOWN_SCOPES.len() >= 100);
    assert!(KNOWN_SCOPES.windows(2).all(|w| w[0] < w[1]), "sorted and unique");
    for s in KNOWN_SCOPES {
        assert!(is_known_scope(s), "{s}");
        assert!(validate_scope(s).is_ok(), "{s}");
        assert_eq!(suggest_scope(s), None, "{s}");
    }
    assert!(is_known_scope("contacts.readonly"));
    assert!(is_known_scope("locations/customFields.readonly"));
    assert!(!is_known_scope("Contacts.ReadOnly"));
    assert!(!is_known_scope(""));
    assert!(!is_known_scope("contacts.readonly "));
}

#[test]
fn validation() {
    assert!(validate_scope("contacts.readonly").is_ok());
    assert!(validate_scope("brand-new.scope").is_ok()); // unknown but well-formed
    assert!(validate_scope("Contacts.ReadOnly").is_ok());
    for bad in ["", " ", "contacts.readonly ", "a b", "a\tb", "a\nb", "a\u{0}b", "a\u{7f}b", "a\u{a0}b", "a\u{2003}b"] {
        let err = validate_scope(bad).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidScope, "{bad:?}");
        assert!(!err.message().is_empty());
        assert!(!err.message().contains('\n'), "message is escaped: {:?}", err.message());
    }
}

#[test]
fn suggestions() {
    let cases = [
        ("contact.readonly", Some("contacts.readonly")),
        ("contacts.read", Some("contacts.readonly")),
        ("Contacts.ReadOnly", Some("contacts.readonly")),
        ("CONTACTS.WRITE", Some("contacts.write")),
        ("contacts.wirte", Some("contacts.write")),
        ("contacts/readonly", Some("contacts.readonly")),
        ("location.readonly", Some("locations.readonly")),
        ("opportunity.readonly", Some("opportunities.readonly")),
        ("calendar/events.write", Some("calendars/events.write")),
        ("locations/customfields.readonly", Some("locations/customFields.readonly")),
        ("workflow.readonly", Some("workflows.readonly")),
        (" contacts.readonly ", Some("contacts.readonly")),
        ("conversations/message.w", Some("conversations/message.write")),
        ("payments/orders.", Some("payments/orders.write")), // shortest completion,
        // known scopes and far-off strings get no suggestion
        ("contacts.readonly", None),
        ("", None),
        ("xyz", None),
        ("contacts", None),
        ("totally.unrelated-scope", None),
        ("brand-new.scope", None),
    ];
    for (input, expected) in cases {
        assert_eq!(suggest_scope(input), expected, "{input:?}");
    }
    // never suggests the input itself, and always suggests a known scope
    for input in ["a", "contacts.readonly.", "users.readonly2", "ü.readonly", "\u{0}"] {
        if let Some(s) = suggest_scope(input) {
            assert!(is_known_scope(s));
            assert_ne!(s, input);
        }
    }
    // long input is bounded
    assert_eq!(suggest_scope(&"a".repeat(10_000)), None);
}
