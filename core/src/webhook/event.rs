//! Typed webhook events (`INSTALL`, `UNINSTALL`, any other type with its body).

use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, Result};

/// An `INSTALL` event (an app was installed on a location or company).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct InstallEvent {
    /// `appId`
    pub app_id: Option<String>,
    /// `versionId`
    pub version_id: Option<String>,
    /// `installType` (`Location` or `Company`)
    pub install_type: Option<String>,
    /// `locationId`
    pub location_id: Option<String>,
    /// `companyId`
    pub company_id: Option<String>,
    /// `userId`
    pub user_id: Option<String>,
    /// `companyName`
    pub company_name: Option<String>,
    /// `planId`
    pub plan_id: Option<String>,
    /// `timestamp` (ISO-8601, as sent)
    pub timestamp: Option<String>,
    /// `webhookId`
    pub webhook_id: Option<String>,
    /// `isBulkInstallation`: the app was installed on many locations at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_bulk_installation: Option<bool>,
    /// `approvedLocations`, when the delivery lists them (a bulk installation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approved_locations: Option<Vec<String>>,
}

/// An `UNINSTALL` event.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct UninstallEvent {
    /// `appId`
    pub app_id: Option<String>,
    /// `locationId`
    pub location_id: Option<String>,
    /// `companyId`
    pub company_id: Option<String>,
    /// `timestamp` (ISO-8601, as sent)
    pub timestamp: Option<String>,
    /// `webhookId`
    pub webhook_id: Option<String>,
}

/// A parsed webhook body. Serialises as one flat JSON object with snake_case fields and
/// `"type": "INSTALL" | "UNINSTALL" | <other type>`; other events carry the whole body
/// under `"body"`.
#[derive(Clone, Debug, PartialEq)]
pub enum WebhookEvent {
    /// `INSTALL`.
    Install(InstallEvent),
    /// `UNINSTALL`.
    Uninstall(UninstallEvent),
    /// Any other event type, with its whole body.
    Other {
        /// The event's `type` as sent.
        event_type: String,
        /// The whole JSON body.
        body: Value,
    },
}

impl WebhookEvent {
    /// The event's `type` as sent.
    pub fn event_type(&self) -> &str {
        match self {
            WebhookEvent::Install(_) => "INSTALL",
            WebhookEvent::Uninstall(_) => "UNINSTALL",
            WebhookEvent::Other { event_type, .. } => event_type,
        }
    }
}

impl serde::Serialize for WebhookEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        #[derive(serde::Serialize)]
        struct Tagged<'a, T: serde::Serialize> {
            #[serde(rename = "type")]
            event_type: &'a str,
            #[serde(flatten)]
            event: &'a T,
        }
        #[derive(serde::Serialize)]
        struct OtherRepr<'a> {
            #[serde(rename = "type")]
            event_type: &'a str,
            body: &'a Value,
        }
        match self {
            WebhookEvent::Install(e) => {
                Tagged { event_type: "INSTALL", event: e }.serialize(serializer)
            }
            WebhookEvent::Uninstall(e) => {
                Tagged { event_type: "UNINSTALL", event: e }.serialize(serializer)
            }
            WebhookEvent::Other { event_type, body } => {
                OtherRepr { event_type, body }.serialize(serializer)
            }
        }
    }
}

/// A string field, leniently: strings as they are, numbers and booleans as text.
fn field(obj: &Map<String, Value>, name: &str) -> Option<String> {
    match obj.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Parse a webhook body into a typed event. Not JSON, not an object, or without a string
/// `type` → [`ErrorKind::MalformedResponse`]. `INSTALL`/`UNINSTALL` are matched
/// case-insensitively; every field is optional.
pub fn parse_webhook_event(body: &[u8]) -> Result<WebhookEvent> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|_| Error::new(ErrorKind::MalformedResponse, "webhook body is not JSON"))?;
    let Value::Object(obj) = value else {
        return Err(Error::new(ErrorKind::MalformedResponse, "webhook body is not a JSON object"));
    };
    let Some(Value::String(event_type)) = obj.get("type") else {
        return Err(Error::new(ErrorKind::MalformedResponse, "webhook body has no string `type`"));
    };
    if event_type.eq_ignore_ascii_case("INSTALL") {
        Ok(WebhookEvent::Install(InstallEvent {
            app_id: field(&obj, "appId"),
            version_id: field(&obj, "versionId"),
            install_type: field(&obj, "installType"),
            location_id: field(&obj, "locationId"),
            company_id: field(&obj, "companyId"),
            user_id: field(&obj, "userId"),
            company_name: field(&obj, "companyName"),
            plan_id: field(&obj, "planId"),
            timestamp: field(&obj, "timestamp"),
            webhook_id: field(&obj, "webhookId"),
            is_bulk_installation: match obj.get("isBulkInstallation") {
                Some(Value::Bool(b)) => Some(*b),
                Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Some(true),
                Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Some(false),
                _ => None,
            },
            approved_locations: match obj.get("approvedLocations") {
                Some(Value::Array(items)) => Some(
                    items.iter().filter_map(|v| v.as_str()).filter(|s| !s.is_empty()).map(str::to_owned).collect(),
                ),
                _ => None,
            },
        }))
    } else if event_type.eq_ignore_ascii_case("UNINSTALL") {
        Ok(WebhookEvent::Uninstall(UninstallEvent {
            app_id: field(&obj, "appId"),
            location_id: field(&obj, "locationId"),
            company_id: field(&obj, "companyId"),
            timestamp: field(&obj, "timestamp"),
            webhook_id: field(&obj, "webhookId"),
        }))
    } else {
        let event_type = event_type.clone();
        Ok(WebhookEvent::Other { event_type, body: Value::Object(obj) })
    }
}
