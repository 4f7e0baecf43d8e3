//! Node binding (napi-rs): the low-level native module under `bindings-node/lib/`.
//!
//! Plain data in and out: camelCase objects, headers as `[name, value]` pairs, bodies as
//! strings. Every core error is thrown as a JS `Error` whose message is the core error's
//! `Display` (`"<kind>: <message>"`) and which carries `kind`, `status` and `retryAfterMs`.
//! The JS layer (`lib/`) turns it into `HoopAuthError`. No panics, no unwraps on any path
//! reachable from JavaScript.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hoopauth as core;
use hoopauth::{ErrorKind, Secret};
use napi::bindgen_prelude::{
    Either, FnArgs, FromNapiValue, Function, JsObjectValue, Object, TypeName, Uint8Array, Unknown, ValidateNapiValue,
};
use napi::{Env, JsValue, Status, ValueType};
use napi_derive::napi;
use serde_json::{json, to_value, Map, Value};

// ---- errors ---------------------------------------------------------------------------

/// Throw `e` as a JS Error with `kind`, `status`, `retryAfterMs`; returns the marker error
/// that tells napi an exception is already pending.
fn throw(env: &Env, e: core::Error) -> napi::Error {
    let built = (|| -> napi::Result<()> {
        let mut obj = env.create_error(napi::Error::new(Status::GenericFailure, e.to_string()))?;
        obj.set_named_property("kind", e.kind().as_str())?;
        obj.set_named_property("status", e.status().map(u32::from))?;
        obj.set_named_property("retryAfterMs", e.retry_after_ms().map(|v| v as f64))?;
        env.throw(obj)?;
        Ok(())
    })();
    match built {
        Ok(()) => napi::Error::from_status(Status::PendingException),
        Err(_) => napi::Error::new(Status::GenericFailure, e.to_string()),
    }
}

trait OrThrow<T> {
    fn or_throw(self, env: &Env) -> napi::Result<T>;
}
impl<T> OrThrow<T> for core::Result<T> {
    fn or_throw(self, env: &Env) -> napi::Result<T> {
        self.map_err(|e| throw(env, e))
    }
}

fn arg_error(message: &str) -> core::Error {
    core::Error::new(ErrorKind::InvalidArgument, message)
}

// ---- checked numbers -------------------------------------------------------------------

/// The largest integer a JS number holds exactly (2^53 - 1): the bound of every ms value.
const MAX_SAFE: u64 = (1 << 53) - 1;

/// The one checked conversion of a JS number: an integer in `lo..=hi`, else `invalid_argument`
/// (NaN, ±Infinity, negatives, fractions and out-of-range values are never clamped).
/// The WASM binding has the same helper with the same messages.
fn int_in(x: f64, what: &str, lo: u64, hi: u64) -> core::Result<u64> {
    if x.is_finite() && x.fract() == 0.0 && x >= lo as f64 && x <= hi as f64 {
        Ok(x as u64)
    } else {
        Err(arg_error(&format!("{what} must be an integer in {lo}..={hi}")))
    }
}
/// Unix milliseconds, a duration or a count: 0..=2^53-1.
fn ms(x: f64, what: &str) -> core::Result<u64> {
    int_in(x, what, 0, MAX_SAFE)
}
fn opt_ms(x: Option<Num>, what: &str) -> core::Result<Option<u64>> {
    x.map(|x| ms(x.0, what)).transpose()
}
/// An HTTP status: 100..=999.
fn status_in(x: f64) -> core::Result<u16> {
    int_in(x, "status", 100, 999).map(|v| v as u16)
}
/// A JS number argument. Any other value reads as NaN, so the checks above refuse it with the
/// same `invalid_argument` message as a bad number, as the WASM binding does (napi's own
/// conversion error has no kind and differs from WASM's).
#[derive(Clone, Copy)]
pub struct Num(f64);

impl TypeName for Num {
    fn type_name() -> &'static str {
        "f64"
    }
    fn value_type() -> ValueType {
        ValueType::Number
    }
}
impl ValidateNapiValue for Num {}
impl FromNapiValue for Num {
    unsafe fn from_napi_value(env: napi::sys::napi_env, value: napi::sys::napi_value) -> napi::Result<Self> {
        // SAFETY: napi passes a valid env and value; it is read as a number only when it is one.
        let u = unsafe { Unknown::from_napi_value(env, value)? };
        if u.get_type()? != ValueType::Number {
            return Ok(Num(f64::NAN));
        }
        unsafe { f64::from_napi_value(env, value) }.map(Num)
    }
}
impl napi::bindgen_prelude::ToNapiValue for Num {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> napi::Result<napi::sys::napi_value> {
        // SAFETY: forwards napi's own arguments.
        unsafe { f64::to_napi_value(env, val.0) }
    }
}

fn num(x: u64) -> f64 {
    x as f64
}

// ---- option objects through serde ------------------------------------------------------------

fn snake(key: &str) -> String {
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A serde message about a field, never quoting the value when it is text (it may be a
/// secret in the wrong place): `invalid type: string "…", expected …` loses the quote.
fn quiet(m: &str) -> String {
    match (m.find(" string \""), m.rfind("\", expected ")) {
        (Some(a), Some(b)) if a < b => format!("{} string{}", m.get(..a).unwrap_or(""), m.get(b + 1..).unwrap_or("")),
        _ => m.to_owned(),
    }
}

/// An object's fields (camelCase keys, numbers already checked) into the core's own struct
/// (snake_case serde names). The field whose value alone fails the same way is named.
fn from_fields<T>(fields: Vec<(String, Value)>, what: &str, kind: ErrorKind, de: De<T>) -> core::Result<T> {
    let map: Map<String, Value> = fields.iter().map(|(k, v)| (snake(k), v.clone())).collect();
    let e = match de(Value::Object(map)) {
        Ok(t) => return Ok(t),
        Err(e) => e.to_string(),
    };
    // A missing field is no present field's fault.
    let culprit = fields.iter().filter(|_| !e.starts_with("missing field")).find(|(k, v)| {
        let one: Map<String, Value> = std::iter::once((snake(k), v.clone())).collect();
        de(Value::Object(one)).is_err_and(|e1| e1.to_string() == e)
    });
    let at = culprit.map_or(String::new(), |(k, _)| format!(".{k}"));
    Err(core::Error::new(kind, format!("{what}{at}: {}", quiet(&e))))
}

/// `serde_json::from_value::<T>` (the core's option structs: `#[serde(default)]`).
type De<T> = fn(Value) -> serde_json::Result<T>;

/// What an object's fields may hold: option structs (limits, session and call options) take
/// numbers and booleans only; records (app options, authorization parameters, token sets)
/// also strings, arrays and objects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Takes {
    Options,
    Records,
}

/// The fields of a JS object (`undefined`/`null`: none; a field set to either is absent).
/// Numbers go through [`ms`] (0..=2^53-1; serde then checks narrower fields).
fn fields_in(o: Option<Unknown>, what: &str, kind: ErrorKind, takes: Takes) -> core::Result<Vec<(String, Value)>> {
    fields_of(o, what, kind, takes, None)
}

/// [`fields_in`] reading only the fields named in `only` when given (a shape whose every
/// field is known: listing an object's keys costs about a microsecond per object).
fn fields_of(o: Option<Unknown>, what: &str, kind: ErrorKind, takes: Takes, only: Option<&[&str]>) -> core::Result<Vec<(String, Value)>> {
    let bad = || core::Error::new(kind, format!("{what} must be an object"));
    let Some(o) = o else { return Ok(Vec::new()) };
    match o.get_type().map_err(|_| bad())? {
        ValueType::Undefined | ValueType::Null => return Ok(Vec::new()),
        ValueType::Object => {}
        _ => return Err(bad()),
    }
    // SAFETY: the value is an object (checked just above).
    let o: Object = unsafe { o.cast() }.map_err(|_| bad())?;
    let keys = match only {
        Some(only) => only.iter().map(|k| (*k).to_owned()).collect(),
        None => Object::keys(&o).map_err(|_| bad())?,
    };
    let mut fields = Vec::with_capacity(keys.len());
    for k in keys {
        let v: Option<Unknown> = o.get(&k).map_err(|_| bad())?;
        let Some(v) = v else { continue };
        let wrong = || {
            let expected = if takes == Takes::Options { "a number or a boolean" } else { "JSON data" };
            core::Error::new(kind, format!("{what}.{k} must be {expected}"))
        };
        // SAFETY (each cast): the value is of the type just checked; napi converts it.
        let value = match (v.get_type().map_err(|_| bad())?, takes) {
            (ValueType::Undefined | ValueType::Null, _) => continue,
            (ValueType::Number, _) => {
                let x = unsafe { v.cast::<f64>() }.unwrap_or(f64::NAN);
                let n = int_in(x, &format!("{what}.{k}"), 0, MAX_SAFE).map_err(|e| core::Error::new(kind, e.message()))?;
                Value::from(n)
            }
            (ValueType::Boolean, _) => Value::Bool(unsafe { v.cast::<bool>() }.map_err(|_| bad())?),
            (ValueType::String, Takes::Records) => Value::String(unsafe { v.cast::<String>() }.map_err(|_| bad())?),
            (ValueType::Object, Takes::Records) => unsafe { v.cast::<Value>() }.map_err(|_| wrong())?,
            _ => return Err(wrong()),
        };
        fields.push((k, value));
    }
    Ok(fields)
}

/// Read an option object (`undefined`/`null`: all defaults) into the core's option struct.
fn options_in<T>(o: Option<Unknown>, what: &str, de: De<T>) -> core::Result<T> {
    let kind = ErrorKind::InvalidArgument;
    from_fields(fields_in(o, what, kind, Takes::Options)?, what, kind, de)
}

/// Read a record (strings, lists and objects too) into the core's struct; `kind` for a field
/// of the wrong type.
fn record_in<T>(o: Option<Unknown>, what: &str, kind: ErrorKind, de: De<T>) -> core::Result<T> {
    from_fields(fields_in(o, what, kind, Takes::Records)?, what, kind, de)
}

// ---- objects out through serde -------------------------------------------------------

// Results name their types in the native contract (bindings-node/lib/native.d.ts, declared
// once for the addon and the WASM module) through `ts_return_type = "import('./lib/native')…"`,
// so the generated native.d.ts stays as precise as the contract the tsc check holds it to.

fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut up = false;
    for c in key.chars() {
        if c == '_' {
            up = true;
        } else if up {
            out.extend(c.to_uppercase());
            up = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// A serde value as JS gets it, built straight into JS: object keys in camelCase when the
/// flag is set (the core's own structs; never a map of foreign keys such as a token set's
/// `extra`), every number a JS number (napi would make integers above 2^53-1 BigInts).
pub struct Js(Value, bool);

impl napi::bindgen_prelude::ToNapiValue for Js {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> napi::Result<napi::sys::napi_value> {
        let Js(v, rename) = val;
        // SAFETY: napi's own env, handed on to napi's own conversions.
        unsafe {
            match v {
                Value::Object(m) => {
                    let mut o = Object::new(&Env::from_raw(env))?;
                    for (k, v) in m {
                        let key = if rename && k.contains('_') { camel(&k) } else { k };
                        o.set_named_property(&key, Js(v, rename))?;
                    }
                    Object::to_napi_value(env, o)
                }
                Value::Array(a) => Vec::to_napi_value(env, a.into_iter().map(|v| Js(v, rename)).collect::<Vec<_>>()),
                Value::Number(n) => f64::to_napi_value(env, n.as_f64().unwrap_or(f64::NAN)),
                v => Value::to_napi_value(env, v),
            }
        }
    }
}

/// A core value's serde form (`to_value(&x)`) with camelCase keys: the objects the natives
/// hand out.
fn out(v: serde_json::Result<Value>) -> Js {
    Js(v.unwrap_or(Value::Null), true)
}

/// A core enum's serde form (`{"Variant": {fields}}` or `"Variant"`) as one flat object:
/// `tag` set to `name`, then the variant's fields in camelCase.
fn tagged(tag: &str, name: Value, v: serde_json::Result<Value>) -> Js {
    let mut m = Map::new();
    if let Ok(Value::Object(variant)) = v {
        for (_, fields) in variant {
            if let Value::Object(f) = fields {
                m.extend(f);
            }
        }
    }
    m.insert(tag.to_owned(), name);
    Js(Value::Object(m), true)
}

/// An error inside a result (a step's `error`): what a thrown error carries, as data.
fn error_out(e: &core::Error) -> Value {
    json!({ "kind": e.kind(), "message": e.to_string(), "status": e.status(), "retry_after_ms": e.retry_after_ms() })
}

/// A token set as the core's camelCase view (`extra` keeps its keys as sent).
fn token_set_out(t: &core::TokenSet) -> Js {
    Js(serde_json::from_str(&t.to_js_json()).unwrap_or(Value::Null), false)
}

/// A step of the call: `step` names it; its payload under `request`, `stored` (the JSON text
/// to save), `waitMs` and `reason`, `response` or `error`.
fn step_out(step: &core::Step) -> Js {
    let payload = match step {
        core::Step::Send(r) | core::Step::SendRefresh(r) => json!({ "request": r }),
        core::Step::Persist(stored) => json!({ "stored": serde_json::to_string(stored).unwrap_or_default() }),
        core::Step::Wait { wait_ms, reason } => json!({ "wait_ms": wait_ms, "reason": reason }),
        core::Step::Done(response) => json!({ "response": response }),
        core::Step::Reauthorize(e) | core::Step::Fail(e) => json!({ "error": error_out(e) }),
        core::Step::Mint { company_id, location_id } => json!({ "company_id": company_id, "location_id": location_id }),
    };
    let mut m = Map::new();
    m.insert("step".into(), step.as_str().into());
    if let Value::Object(p) = payload {
        m.extend(p);
    }
    Js(Value::Object(m), true)
}

// ---- strings that may be secrets ----------------------------------------------------------

/// A JS string argument. Anything else is refused with a message that never shows the value
/// (napi's own conversion error prints an object as JSON: a Buffer secret byte by byte):
/// `invalid_argument`, as in WASM.
pub struct Text(String);

impl TypeName for Text {
    fn type_name() -> &'static str {
        "String"
    }
    fn value_type() -> ValueType {
        ValueType::String
    }
}
impl ValidateNapiValue for Text {}
impl FromNapiValue for Text {
    unsafe fn from_napi_value(env: napi::sys::napi_env, value: napi::sys::napi_value) -> napi::Result<Self> {
        // SAFETY: napi passes a valid env and value; the value is read as a string only after
        // its type was checked.
        let u = unsafe { Unknown::from_napi_value(env, value)? };
        if u.get_type()? != ValueType::String {
            return Err(napi::Error::new(Status::StringExpected, "invalid_argument: expected a string"));
        }
        unsafe { String::from_napi_value(env, value) }.map(Text)
    }
}
impl Text {
    fn into_inner(self) -> String {
        self.0
    }
}

impl napi::bindgen_prelude::ToNapiValue for Text {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> napi::Result<napi::sys::napi_value> {
        // SAFETY: forwards napi's own arguments.
        unsafe { String::to_napi_value(env, val.0) }
    }
}

fn text(t: Option<Text>) -> Option<String> {
    t.map(Text::into_inner)
}

// ---- plain data shapes ----------------------------------------------------------------

#[napi(object)]
pub struct TokenRequestOptions {
    pub grant: String,
    #[napi(ts_type = "string")]
    pub code: Option<Text>,
    #[napi(ts_type = "string")]
    pub refresh_token: Option<Text>,
    pub user_type: Option<String>,
}

#[napi(object)]
pub struct LocationTokenRequestOptions {
    #[napi(ts_type = "string")]
    pub agency_access_token: Text,
    pub company_id: String,
    pub location_id: String,
}

/// An API request (`NativeApiRequest`: `query` as pairs, `json` as text) into the core's
/// `ApiRequest` through serde — the method in any case, GET when absent — and the
/// `accessToken` beside it (a secret: never in a message).
fn api_request_in(o: Unknown) -> core::Result<(core::ApiRequest, Option<String>)> {
    let kind = ErrorKind::InvalidArgument;
    let mut fields = fields_in(Some(o), "request", kind, Takes::Records)?;
    let mut token = None;
    if let Some(i) = fields.iter().position(|(k, _)| k == "accessToken") {
        match fields.remove(i).1 {
            Value::String(t) => token = Some(t),
            _ => return Err(arg_error("request.accessToken must be a string")),
        }
    }
    let method = match fields.iter().position(|(k, _)| k == "method") {
        Some(i) => match &fields[i].1 {
            Value::String(m) => core::Method::parse(m)?,
            _ => return Err(arg_error("request.method must be a string")),
        },
        None => core::Method::Get,
    };
    fields.retain(|(k, _)| k != "method");
    fields.push(("method".into(), method.as_str().into()));
    if !fields.iter().any(|(k, _)| k == "query") {
        fields.push(("query".into(), json!([])));
    }
    Ok((from_fields(fields, "request", kind, serde_json::from_value)?, token))
}

/// A token set as JS hands it back (`NativeTokenSet`) into the core's through serde; `userType`
/// in any case, an empty `refreshToken` as none, `extra` kept as it is.
fn token_set_in(o: Unknown) -> core::Result<core::TokenSet> {
    let kind = ErrorKind::InvalidArgument;
    let mut fields = fields_in(Some(o), "tokens", kind, Takes::Records)?;
    for (k, v) in fields.iter_mut() {
        if let ("userType", Value::String(u)) = (k.as_str(), &v) {
            *v = core::UserType::parse(u)?.as_str().into();
        }
    }
    if !fields.iter().any(|(k, _)| k == "scopes") {
        fields.push(("scopes".into(), json!([])));
    }
    let mut t: core::TokenSet = from_fields(fields, "tokens", kind, serde_json::from_value)?;
    if t.access_token.expose().is_empty() {
        return Err(arg_error("tokens.accessToken is empty"));
    }
    t.refresh_token = t.refresh_token.filter(|r| !r.expose().is_empty());
    Ok(t)
}

#[napi(object)]
pub struct VerifyWebhookOptions {
    pub body: Either<String, Uint8Array>,
    pub signature: Option<String>,
    pub public_key: Option<String>,
    #[napi(ts_type = "number")]
    pub now_ms: Option<Num>,
    #[napi(ts_type = "number")]
    pub max_age_ms: Option<Num>,
}

fn body_bytes(b: &Either<String, Uint8Array>) -> &[u8] {
    match b {
        Either::A(s) => s.as_bytes(),
        Either::B(u) => u,
    }
}

#[napi(object)]
pub struct WebhookVerifierOptions {
    pub public_key: Option<String>,
    pub legacy_rsa_key: Option<Either<String, bool>>,
    #[napi(ts_type = "number")]
    pub max_age_ms: Option<Num>,
    #[napi(ts_type = "number")]
    pub capacity: Option<Num>,
}

/// A field of a JS object, when it is an object (else none).
fn field_of<'a>(o: Unknown<'a>, key: &str) -> Option<Unknown<'a>> {
    if o.get_type().ok()? != ValueType::Object {
        return None;
    }
    // SAFETY: the value is an object (checked just above).
    let o: Object = unsafe { o.cast() }.ok()?;
    o.get::<Unknown>(key).ok()?
}

/// A response as received (`NativeResponseIn`: headers already as pairs — the JS layer
/// normalises them — body text) into the core's `Response` through serde. The status is
/// checked first, as a [`Num`] (anything but a number reads as NaN): 100..=999.
fn response_in(o: Unknown) -> core::Result<core::Response> {
    let kind = ErrorKind::InvalidArgument;
    let status = match field_of(o, "status") {
        Some(s) if s.get_type().ok() == Some(ValueType::Number) => {
            // SAFETY: the value is a number (checked just above).
            unsafe { s.cast::<f64>() }.unwrap_or(f64::NAN)
        }
        _ => f64::NAN,
    };
    let status = status_in(status)?;
    let mut fields = fields_of(Some(o), "response", kind, Takes::Records, Some(&["headers", "body"]))?;
    fields.push(("status".into(), status.into()));
    from_fields(fields, "response", kind, serde_json::from_value)
}

/// A step's event (`NativeEvent`: `{type, response?}`) into the core's `Event`; the response
/// through [`response_in`]. A mint's failure has its own method (`Pool.mintFailed`).
fn event_in(o: Unknown) -> core::Result<core::Event> {
    let fields = fields_of(Some(o), "event", ErrorKind::InvalidArgument, Takes::Records, Some(&["type"]))?;
    let kind = fields.iter().find(|(k, _)| k == "type").and_then(|(_, v)| v.as_str());
    Ok(match kind {
        Some("start") => core::Event::Start,
        Some("resume") => core::Event::Resume,
        Some("transport_error") => core::Event::TransportError,
        Some("conflict") => core::Event::Conflict,
        Some("persist_failed") => core::Event::PersistFailed,
        Some("response") => match field_of(o, "response") {
            Some(r) if !matches!(r.get_type(), Ok(ValueType::Undefined | ValueType::Null)) => core::Event::Response(response_in(r)?),
            _ => return Err(arg_error("a response event needs `response`")),
        },
        _ => return Err(arg_error(EVENT_TYPES)),
    })
}

// ---- App ------------------------------------------------------------------------------

/// The validated app configuration. Holds the client secret: never prints it.
#[napi]
pub struct App {
    config: core::Config,
}

#[napi]
impl App {
    /// `options`: the core's ConfigOptions in camelCase (a field of the wrong type is `invalid_config`).
    #[napi(constructor, ts_args_type = "options: import('./lib/native').NativeAppOptions")]
    pub fn new(env: Env, options: Unknown) -> napi::Result<Self> {
        let o = record_in(Some(options), "options", ErrorKind::InvalidConfig, serde_json::from_value::<core::ConfigOptions>);
        o.and_then(core::Config::new).map(|config| App { config }).or_throw(&env)
    }

    #[napi(getter)]
    pub fn client_id(&self) -> String {
        self.config.client_id().to_owned()
    }

    #[napi(getter)]
    pub fn api_base(&self) -> String {
        self.config.api_base().to_owned()
    }

    /// `options`: the core's AuthorizationParams in camelCase.
    #[napi(ts_args_type = "options: { scopes: string[]; state?: string; loginWindowOpenMode?: string; versionId?: string }")]
    pub fn authorization_url(&self, env: Env, options: Unknown) -> napi::Result<String> {
        record_in(Some(options), "options", ErrorKind::InvalidArgument, serde_json::from_value::<core::AuthorizationParams>)
            .and_then(|params| self.config.authorization_url(&params))
            .or_throw(&env)
    }

    #[napi(ts_return_type = "import('./lib/native').NativeRequest")]
    pub fn token_request(&self, env: Env, options: TokenRequestOptions) -> napi::Result<Js> {
        let r = (|| {
            let code = text(options.code);
            let refresh = text(options.refresh_token);
            let grant = core::Grant::from_parts(&options.grant, code.as_deref(), refresh.as_deref())?;
            let user_type = options.user_type.as_deref().map(core::UserType::parse).transpose()?;
            self.config.token_request(&grant, user_type)
        })();
        r.map(|r| out(to_value(&r))).or_throw(&env)
    }

    #[napi(ts_return_type = "import('./lib/native').NativeRequest")]
    pub fn location_token_request(&self, env: Env, options: LocationTokenRequestOptions) -> napi::Result<Js> {
        self.config
            .location_token_request(&options.agency_access_token.0, &options.company_id, &options.location_id)
            .map(|r| out(to_value(&r)))
            .or_throw(&env)
    }

    #[napi(
        ts_args_type = "options: import('./lib/native').NativeApiRequest & { accessToken?: string }",
        ts_return_type = "import('./lib/native').NativeRequest"
    )]
    pub fn api_request(&self, env: Env, options: Unknown) -> napi::Result<Js> {
        let r = api_request_in(options).and_then(|(req, token)| self.config.api_request(&req, token.as_deref().unwrap_or("")));
        r.map(|r| out(to_value(&r))).or_throw(&env)
    }
}

// ---- functions ------------------------------------------------------------------------

#[napi(
    ts_args_type = "url: string, expectedState?: string | undefined | null",
    ts_return_type = "{ code: string; state: string | null }"
)]
pub fn parse_callback(env: Env, url: Text, expected_state: Option<String>) -> napi::Result<Js> {
    core::parse_callback(&url.0, expected_state.as_deref()).map(|c| out(to_value(&c))).or_throw(&env)
}

#[napi]
pub fn generate_state(env: Env, random_bytes: Uint8Array) -> napi::Result<String> {
    core::generate_state(&random_bytes).or_throw(&env)
}

/// Parse a token endpoint answer; `now_ms` = when the request was sent.
#[napi(
    ts_args_type = "response: import('./lib/native').NativeResponseIn, nowMs: number",
    ts_return_type = "import('./lib/native').NativeTokenSet"
)]
pub fn parse_token_response(env: Env, response: Unknown, now_ms: Num) -> napi::Result<Js> {
    let r = (|| {
        let now = ms(now_ms.0, "nowMs")?;
        let r = response_in(response)?;
        core::parse_token_response(r.status, &r.headers, &r.body, now)
    })();
    r.map(|t| token_set_out(&t)).or_throw(&env)
}

#[napi(
    ts_args_type = "response: import('./lib/native').NativeResponseIn, nowMs?: number | undefined | null",
    ts_return_type = "import('./lib/native').NativeClassification"
)]
pub fn classify_response(env: Env, response: Unknown, now_ms: Option<Num>) -> napi::Result<Js> {
    let now = opt_ms(now_ms, "nowMs").or_throw(&env)?;
    let r = response_in(response).or_throw(&env)?;
    Ok(out(to_value(core::classify_response(r.status, &r.headers, &r.body, now))))
}

#[napi(ts_return_type = "import('./lib/native').NativeRateLimitHeaders")]
pub fn parse_rate_limit_headers(headers: Vec<(String, String)>) -> Js {
    out(to_value(core::parse_rate_limit_headers(&headers)))
}

#[napi(ts_return_type = "import('./lib/native').NativeVerification")]
pub fn verify_webhook(env: Env, options: VerifyWebhookOptions) -> napi::Result<Js> {
    let now = opt_ms(options.now_ms, "nowMs").or_throw(&env)?;
    let max_age = opt_ms(options.max_age_ms, "maxAgeMs").or_throw(&env)?;
    let key = match options.public_key.as_deref() {
        Some(k) => core::WebhookKey::parse(k).or_throw(&env)?,
        None => core::WebhookKey::platform(),
    };
    Ok(out(to_value(core::verify_webhook(
        &key,
        body_bytes(&options.body),
        options.signature.as_deref(),
        now,
        max_age.unwrap_or(core::DEFAULT_MAX_AGE_MS),
    ))))
}

/// A webhook body as a typed event: `{type, appId, locationId, ...}` (camelCase); other
/// event types come back as their whole body.
#[napi(ts_return_type = "Record<string, any>")]
pub fn parse_webhook_event(env: Env, body: Either<String, Uint8Array>) -> napi::Result<Js> {
    let event = core::parse_webhook_event(body_bytes(&body)).or_throw(&env)?;
    if let core::WebhookEvent::Other { event_type, body } = event {
        let mut m = match body {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        m.insert("type".into(), Value::String(event_type));
        return Ok(Js(Value::Object(m), false));
    }
    Ok(out(to_value(&event)))
}

#[napi]
pub fn suggest_scope(scope: String) -> Option<String> {
    core::suggest_scope(&scope).map(str::to_owned)
}

#[napi]
pub fn known_scopes() -> Vec<String> {
    core::KNOWN_SCOPES.iter().map(|s| (*s).to_owned()).collect()
}

#[napi]
pub fn error_kinds() -> Vec<String> {
    ErrorKind::ALL.iter().map(|k| k.as_str().to_owned()).collect()
}

// ---- RateLimiter ----------------------------------------------------------------------

/// `{allow: true, sendId}` or `{allow: false, waitMs, dailyExhausted}`.
fn decision(d: core::Decision) -> Js {
    tagged("allow", Value::Bool(d.is_allowed()), to_value(d))
}

#[napi]
pub struct RateLimiter {
    inner: core::RateLimiter,
}

#[napi]
impl RateLimiter {
    #[napi(constructor, ts_args_type = "limits?: { max?: number; intervalMs?: number; marginMs?: number; dailyMax?: number; answerTimeoutMs?: number } | undefined | null")]
    pub fn new(env: Env, limits: Option<Unknown>) -> napi::Result<Self> {
        let l: core::Limits = options_in(limits, "limits", serde_json::from_value::<core::Limits>).or_throw(&env)?;
        Ok(RateLimiter { inner: core::RateLimiter::new(l) })
    }
    /// Ask to send at `nowMs`; an allowed send holds its slot until `answered(sendId, ...)`.
    #[napi(
        ts_args_type = "nowMs: number",
        ts_return_type = "import('./lib/native').NativeDecision"
    )]
    pub fn acquire(&mut self, env: Env, now_ms: Num) -> napi::Result<Js> {
        let now = ms(now_ms.0, "nowMs").or_throw(&env)?;
        Ok(decision(self.inner.acquire(now)))
    }
    #[napi(
        ts_args_type = "nowMs: number",
        ts_return_type = "import('./lib/native').NativeDecision"
    )]
    pub fn check(&mut self, env: Env, now_ms: Num) -> napi::Result<Js> {
        let now = ms(now_ms.0, "nowMs").or_throw(&env)?;
        Ok(decision(self.inner.check(now)))
    }
    /// The answer (or transport error) of send `sendId` arrived at `nowMs`.
    #[napi(ts_args_type = "sendId: number, nowMs: number")]
    pub fn answered(&mut self, env: Env, send_id: Num, now_ms: Num) -> napi::Result<()> {
        let id = ms(send_id.0, "sendId").or_throw(&env)?;
        let now = ms(now_ms.0, "nowMs").or_throw(&env)?;
        self.inner.answered(id, now);
        Ok(())
    }
    #[napi(ts_args_type = "nowMs: number, status: number, headers: Array<[string, string]>")]
    pub fn observe(&mut self, env: Env, now_ms: Num, status: Num, headers: Vec<(String, String)>) -> napi::Result<()> {
        let now = ms(now_ms.0, "nowMs").or_throw(&env)?;
        let status = status_in(status.0).or_throw(&env)?;
        self.inner.observe(now, status, &headers);
        Ok(())
    }
    #[napi(getter, ts_return_type = "Required<import('./lib/native').NativeLimits>")]
    pub fn limits(&self) -> Js {
        out(to_value(self.inner.limits()))
    }
}

// ---- TokenSession ---------------------------------------------------------------------

/// One resource's token state machine. Holds tokens: never prints them.
#[napi]
pub struct TokenSession {
    inner: core::TokenSession,
}

#[napi]
impl TokenSession {
    #[napi(constructor, ts_args_type = "app: App, options?: { refreshLeewayMs?: number; leaseMs?: number } | undefined | null")]
    pub fn new(env: Env, app: &App, options: Option<Unknown>) -> napi::Result<Self> {
        let o: core::SessionOptions = options_in(options, "sessionOptions", serde_json::from_value::<core::SessionOptions>).or_throw(&env)?;
        Ok(TokenSession { inner: core::TokenSession::new(app.config.clone(), o) })
    }

    #[napi(
        factory,
        ts_args_type = "app: App, stored: string, options?: { refreshLeewayMs?: number; leaseMs?: number } | undefined | null"
    )]
    pub fn from_stored(env: Env, app: &App, stored: Text, options: Option<Unknown>) -> napi::Result<Self> {
        let o: core::SessionOptions = options_in(options, "sessionOptions", serde_json::from_value::<core::SessionOptions>).or_throw(&env)?;
        core::TokenSession::from_json(app.config.clone(), o, &stored.0).map(|inner| TokenSession { inner }).or_throw(&env)
    }

    #[napi(ts_args_type = "tokens: import('./lib/native').NativeTokenSet")]
    pub fn load(&mut self, env: Env, tokens: Unknown) -> napi::Result<()> {
        let t = token_set_in(tokens).or_throw(&env)?;
        self.inner.load(t);
        Ok(())
    }

    #[napi(ts_args_type = "token: string")]
    pub fn load_private(&mut self, env: Env, token: Text) -> napi::Result<()> {
        self.inner.load_private(Secret::new(token.into_inner())).or_throw(&env)
    }

    /// `{action: 'use'|'refresh'|'wait'|'reauthorize'|'save'}`; after 'save', store
    /// `toStored()` and call `persisted()` (or `saveFailed()`).
    #[napi(
        ts_args_type = "nowMs: number",
        ts_return_type = "import('./lib/native').NativeSessionAction"
    )]
    pub fn acquire(&mut self, env: Env, now_ms: Num) -> napi::Result<Js> {
        let now = ms(now_ms.0, "nowMs").or_throw(&env)?;
        let a = self.inner.acquire(now).or_throw(&env)?;
        Ok(tagged("action", a.as_str().into(), to_value(&a)))
    }

    #[napi(
        ts_args_type = "response: import('./lib/native').NativeResponseIn, sentAtMs: number",
        ts_return_type = "import('./lib/native').NativeTokenSet"
    )]
    pub fn refresh_response(&mut self, env: Env, response: Unknown, sent_at_ms: Num) -> napi::Result<Js> {
        let sent = ms(sent_at_ms.0, "sentAtMs").or_throw(&env)?;
        let r = response_in(response).or_throw(&env)?;
        self.inner.refresh_response(r.status, &r.headers, &r.body, sent).map(|t| token_set_out(&t)).or_throw(&env)
    }

    #[napi(ts_args_type = "response: import('./lib/native').NativeResponseIn, accessToken: string")]
    pub fn api_response(&mut self, env: Env, response: Unknown, access_token: Text) -> napi::Result<String> {
        let r = response_in(response).or_throw(&env)?;
        Ok(self.inner.api_response(r.status, &r.body, &access_token.0).as_str().to_owned())
    }

    /// The state after `acquire` answered 'save' (or a refresh) is in the store now.
    #[napi]
    pub fn persisted(&mut self) {
        self.inner.persisted()
    }

    /// The save failed: the tokens stay in memory, marked unsaved ('save' comes again).
    #[napi]
    pub fn save_failed(&mut self) {
        self.inner.save_failed()
    }

    #[napi]
    pub fn is_unsaved(&self) -> bool {
        self.inner.is_unsaved()
    }

    #[napi]
    pub fn to_stored(&self) -> String {
        self.inner.stored_json()
    }

    #[napi(getter)]
    pub fn version(&self) -> f64 {
        num(self.inner.version())
    }
}

// ---- WebhookVerifier ------------------------------------------------------------------

#[napi]
pub struct WebhookVerifier {
    inner: core::WebhookVerifier,
}

#[napi]
impl WebhookVerifier {
    #[napi(constructor)]
    pub fn new(env: Env, options: Option<WebhookVerifierOptions>) -> napi::Result<Self> {
        let build = || -> core::Result<core::WebhookVerifier> {
            let o = options.unwrap_or(WebhookVerifierOptions {
                public_key: None,
                legacy_rsa_key: None,
                max_age_ms: None,
                capacity: None,
            });
            let capacity = o.capacity.map(|c| int_in(c.0, "capacity", 0, u64::from(u32::MAX))).transpose()?;
            let max_age = opt_ms(o.max_age_ms, "maxAgeMs")?;
            let key = match o.public_key.as_deref() {
                Some(k) => core::WebhookKey::parse(k)?,
                None => core::WebhookKey::platform(),
            };
            let capacity = capacity.map_or(core::DEFAULT_SEEN_CAPACITY, |c| c as usize);
            let mut v = core::WebhookVerifier::with_capacity(key, capacity);
            match o.legacy_rsa_key {
                None | Some(Either::B(false)) => {}
                Some(Either::B(true)) => v = v.with_rsa_key(core::RsaWebhookKey::platform()?),
                Some(Either::A(pem)) => v = v.with_rsa_key(core::RsaWebhookKey::parse(&pem)?),
            }
            if let Some(age) = max_age {
                v = v.with_max_age_ms(age);
            }
            Ok(v)
        };
        build().map(|inner| WebhookVerifier { inner }).or_throw(&env)
    }

    #[napi(
        ts_args_type = "body: string | Uint8Array, headers: Array<[string, string]>, nowMs: number",
        ts_return_type = "import('./lib/native').NativeVerification"
    )]
    pub fn verify(
        &mut self,
        env: Env,
        body: Either<String, Uint8Array>,
        headers: Vec<(String, String)>,
        now_ms: Num,
    ) -> napi::Result<Js> {
        let now = ms(now_ms.0, "nowMs").or_throw(&env)?;
        Ok(out(to_value(self.inner.verify_headers(body_bytes(&body), &headers, now))))
    }

    /// Forget one accepted `webhookId`: the same delivery is accepted again (a receiver
    /// whose handling failed un-marks the delivery so the platform's retry is handled).
    #[napi]
    pub fn forget_seen(&mut self, webhook_id: String) {
        self.inner.forget_seen(&webhook_id);
    }
}

// ---- Call and Pool --------------------------------------------------------------------

/// One API call, advanced by `Pool.step`.
#[napi]
pub struct Call {
    inner: core::Call,
}

#[napi]
impl Call {
    /// `options`: the core's CallOptions in camelCase, every field optional.
    #[napi(
        constructor,
        ts_args_type = "request: import('./lib/native').NativeApiRequest, options?: { maxAuthRetries?: number; maxRateLimitRetries?: number; maxServerRetries?: number; maxRefreshAttempts?: number; backoffBaseMs?: number; backoffMaxMs?: number; maxWaitMs?: number; refreshPollMs?: number; recheckMs?: number; coordinateRefresh?: boolean } | undefined | null"
    )]
    pub fn new(env: Env, request: Unknown, options: Option<Unknown>) -> napi::Result<Self> {
        let (req, _) = api_request_in(request).or_throw(&env)?;
        let o: core::CallOptions = options_in(options, "callOptions", serde_json::from_value::<core::CallOptions>).or_throw(&env)?;
        Ok(Call { inner: core::Call::new(req, o) })
    }

    #[napi(ts_return_type = "import('./lib/native').NativeCallStats")]
    pub fn stats(&self) -> Js {
        out(to_value(self.inner.stats()))
    }

    /// Whether the call has ended (done, fail, reauthorize or aborted).
    #[napi]
    pub fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// An independent copy of the call in its current state (coordinated mode: a step whose
    /// compare-and-set lost the race is taken again from the copy).
    #[napi]
    pub fn copy(&self) -> Call {
        Call { inner: self.inner.clone() }
    }
}

/// Sessions and limiters of every resource an app acts for.
#[napi]
pub struct Pool {
    inner: core::Pool,
}

#[napi]
impl Pool {
    #[napi(
        constructor,
        ts_args_type = "app: App, sessionOptions?: { refreshLeewayMs?: number; leaseMs?: number } | undefined | null, limits?: { max?: number; intervalMs?: number; marginMs?: number; dailyMax?: number; answerTimeoutMs?: number } | undefined | null"
    )]
    pub fn new(env: Env, app: &App, session_options: Option<Unknown>, limits: Option<Unknown>) -> napi::Result<Self> {
        let so: core::SessionOptions = options_in(session_options, "sessionOptions", serde_json::from_value::<core::SessionOptions>).or_throw(&env)?;
        let l: core::Limits = options_in(limits, "limits", serde_json::from_value::<core::Limits>).or_throw(&env)?;
        Ok(Pool { inner: core::Pool::new(app.config.clone(), so, l) })
    }

    /// Load a token set for `resourceId` (null: its locationId, else companyId); returns the id.
    #[napi(ts_args_type = "resourceId: string | undefined | null, tokens: import('./lib/native').NativeTokenSet")]
    pub fn load_tokens(&mut self, env: Env, resource_id: Option<String>, tokens: Unknown) -> napi::Result<String> {
        let t = token_set_in(tokens).or_throw(&env)?;
        self.inner.load_tokens(resource_id.as_deref(), t).or_throw(&env)
    }

    #[napi(ts_args_type = "resourceId: string, token: string")]
    pub fn load_private(&mut self, env: Env, resource_id: String, token: Text) -> napi::Result<()> {
        self.inner.load_private(&resource_id, Secret::new(token.into_inner())).or_throw(&env)
    }

    #[napi(ts_args_type = "resourceId: string, stored: string")]
    pub fn load_stored(&mut self, env: Env, resource_id: String, stored: Text) -> napi::Result<()> {
        self.inner.load_stored(&resource_id, &stored.0).or_throw(&env)
    }

    #[napi]
    pub fn stored_json(&self, resource_id: String) -> Option<String> {
        self.inner.stored_json(&resource_id)
    }

    #[napi]
    pub fn has_session(&self, resource_id: String) -> bool {
        self.inner.has_session(&resource_id)
    }

    #[napi]
    pub fn remove(&mut self, resource_id: String) -> bool {
        self.inner.remove(&resource_id)
    }

    /// End `call` at `nowMs` (failure, cancellation): releases its refresh lease, a save under
    /// way (the tokens stay unsaved) and the rate-limit slot of a send in flight. Idempotent.
    #[napi(ts_args_type = "call: Call, resourceId: string, nowMs: number")]
    pub fn abort(&mut self, env: Env, call: &mut Call, resource_id: String, now_ms: Num) -> napi::Result<()> {
        let now = ms(now_ms.0, "nowMs").or_throw(&env)?;
        self.inner.abort(&mut call.inner, &resource_id, now);
        Ok(())
    }

    /// Whether `resourceId` holds tokens its store does not (a save failed).
    #[napi]
    pub fn is_unsaved(&self, resource_id: String) -> bool {
        self.inner.is_unsaved(&resource_id)
    }

    /// Start an explicit save of `resourceId`'s unsaved tokens: the stored JSON to save (then
    /// `endSave`), or null when there is nothing to save or a save is under way.
    #[napi]
    pub fn begin_save(&mut self, resource_id: String) -> Option<String> {
        self.inner.begin_save(&resource_id)
    }

    /// Finish the save begun by `beginSave`: `saved` false keeps the tokens unsaved.
    #[napi]
    pub fn end_save(&mut self, resource_id: String, saved: bool) {
        self.inner.end_save(&resource_id, saved)
    }

    /// Resources holding tokens their store does not.
    #[napi]
    pub fn unsaved_resources(&self) -> Vec<String> {
        self.inner.unsaved_resources().map(str::to_owned).collect()
    }

    /// Coordinated mode: take `resourceId`'s state (token session and limiter) from its
    /// shared record (null: nothing stored yet). Unsaved local tokens newer than the record's
    /// are kept. A sealed record needs its key (`setKeys`).
    #[napi(ts_args_type = "resourceId: string, record: string | null | undefined")]
    pub fn load_shared(&mut self, env: Env, resource_id: String, record: Option<Text>) -> napi::Result<()> {
        let record = text(record);
        self.inner.load_shared(&resource_id, record.as_deref()).or_throw(&env)
    }

    /// Coordinated mode: the record to compare-and-set after a step (sealed with `nonce`,
    /// exactly 24 random bytes, when keys are set), or null when nothing others must see
    /// changed since `loadShared`.
    #[napi(ts_args_type = "resourceId: string, nonce: Uint8Array")]
    pub fn export_shared(&mut self, env: Env, resource_id: String, nonce: Unknown) -> napi::Result<Option<String>> {
        let bytes = bytes_in(nonce).ok_or_else(|| throw(&env, arg_error("nonce must be a Uint8Array of 24 random bytes")))?;
        let nonce: [u8; 24] =
            bytes.as_slice().try_into().map_err(|_| throw(&env, arg_error("nonce must be exactly 24 bytes")))?;
        self.inner.export_shared(&resource_id, &nonce).or_throw(&env)
    }

    /// Coordinated mode: the record exported last was written (its tokens are saved).
    #[napi]
    pub fn shared_written(&mut self, resource_id: String) {
        self.inner.shared_written(&resource_id);
    }

    /// Seal shared records with these 32-byte keys (the first seals, every one opens); `[]`
    /// turns sealing off. A key of another length is `invalid_config` (the core's check).
    #[napi(ts_args_type = "keys: Uint8Array[]")]
    pub fn set_keys(&mut self, env: Env, keys: Unknown) -> napi::Result<()> {
        let list = keys_in(keys).ok_or_else(|| throw(&env, arg_error("keys must be an array of Uint8Array keys (32 bytes each)")))?;
        if list.is_empty() {
            self.inner.set_sealer(None);
            return Ok(());
        }
        let refs: Vec<&[u8]> = list.iter().map(Vec::as_slice).collect();
        let sealer = core::Sealer::new(&refs).or_throw(&env)?;
        self.inner.set_sealer(Some(sealer));
        Ok(())
    }

    /// Advance `call` against `resourceId`'s session and limiter.
    #[napi(
        ts_args_type = "call: Call, resourceId: string, event: import('./lib/native').NativeEvent, nowMs: number, random: number",
        ts_return_type = "import('./lib/native').NativeStep"
    )]
    pub fn step(
        &mut self,
        env: Env,
        call: &mut Call,
        resource_id: String,
        event: Unknown,
        now_ms: Num,
        random: Num,
    ) -> napi::Result<Js> {
        let now = ms(now_ms.0, "nowMs").or_throw(&env)?;
        let random = ms(random.0, "random").or_throw(&env)?;
        let ev = event_in(event).or_throw(&env)?;
        let step = self.inner.step(&mut call.inner, &resource_id, ev, now, random);
        Ok(step_out(&step))
    }
}

/// The bytes of a Uint8Array (or Buffer), else None.
fn bytes_in(v: Unknown) -> Option<Vec<u8>> {
    if !v.is_typedarray().ok()? {
        return None;
    }
    let raw = v.value();
    // SAFETY: napi's env and value as napi handed them over; from_napi_value checks that the
    // typed array is a Uint8Array (a Buffer is one) and fails otherwise.
    let a = unsafe { Uint8Array::from_napi_value(raw.env, raw.value) }.ok()?;
    Some(a.to_vec())
}

/// An array of Uint8Array keys, else None.
fn keys_in(v: Unknown) -> Option<Vec<Vec<u8>>> {
    if !v.is_array().ok()? {
        return None;
    }
    let raw = v.value();
    // SAFETY: napi's env and value as napi handed them over, checked to be an array.
    let items = unsafe { Vec::<Unknown>::from_napi_value(raw.env, raw.value) }.ok()?;
    items.into_iter().map(bytes_in).collect()
}

// ---- coordinated mode: the core's store constants ---------------------------------------

/// The Redis script that reads a resource's record and the server's clock (the core's text).
#[napi]
pub fn redis_read_script() -> String {
    core::REDIS_READ_SCRIPT.to_owned()
}

/// The Redis compare-and-set script (the core's text).
#[napi]
pub fn redis_cas_script() -> String {
    core::REDIS_CAS_SCRIPT.to_owned()
}

/// The SQLite schema of a one-host shared store (the core's text).
#[napi]
pub fn sqlite_schema() -> String {
    core::SQLITE_SCHEMA.to_owned()
}

/// How long a store keeps a record after its last write (ms).
#[napi]
pub fn shared_ttl_ms() -> f64 {
    num(core::SHARED_TTL_MS)
}

/// The refresh lease in coordinated mode (ms): shorter than the platform's grace.
#[napi]
pub fn shared_lease_ms() -> f64 {
    num(core::SHARED_LEASE_MS)
}

/// The Redis key of a resource's shared record under `prefix`.
#[napi]
pub fn redis_key(prefix: String, resource_id: String) -> String {
    core::redis_key(&prefix, &resource_id)
}

/// The Redis key marking a webhook delivery as seen under `prefix`.
#[napi]
pub fn redis_webhook_key(prefix: String, webhook_id: String) -> String {
    core::redis_webhook_key(&prefix, &webhook_id)
}

const EVENT_TYPES: &str = "event.type must be start, resume, response, transport_error, conflict or persist_failed";

/// The constructor arguments of a JS `TokenSet`, in field order (extra fields as JSON text).
type TokenSetArgs = FnArgs<(
    String,
    Option<String>,
    Option<f64>,
    Option<f64>,
    Option<String>,
    Vec<String>,
    Option<&'static str>,
    Option<String>,
    Option<String>,
    Option<Vec<String>>,
    Option<String>,
    Option<bool>,
    Option<String>,
    Option<String>,
)>;

/// Fastest path of `parseTokenResponse`: parse in the core, then `new make(...)` with the
/// fields as positional arguments (no JSON round trip, no property sets by name).
#[napi(ts_args_type = "make: new (...fields: any[]) => unknown, status: number, body: string, nowMs: number")]
pub fn parse_token_new<'env>(
    env: &'env Env,
    make: Function<'env, TokenSetArgs, Unknown<'env>>,
    status: Num,
    body: String,
    now_ms: Num,
) -> napi::Result<Unknown<'env>> {
    let t = (|| {
        let now = ms(now_ms.0, "nowMs")?;
        let status = status_in(status.0)?;
        core::parse_token_response(status, &[], body.as_bytes(), now)
    })()
    .or_throw(env)?;
    let extra = if t.extra.is_empty() { None } else { serde_json::to_string(&t.extra).ok() };
    make.new_instance(FnArgs::from((
        t.access_token.expose().to_owned(),
        t.token_type,
        t.expires_in.map(num),
        t.expires_at_ms.map(num),
        t.refresh_token.map(|r| r.expose().to_owned()),
        t.scopes,
        t.user_type.map(core::UserType::as_str),
        t.location_id,
        t.company_id,
        t.approved_locations,
        t.plan_id,
        t.is_bulk_installation,
        t.user_id,
        extra,
    )))
}

// Minted location sessions and the webhook plan (after the structs: napi expands in order).
pub mod app;
