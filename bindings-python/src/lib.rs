//! Python binding (pyo3): the native module `hoopauth._hoopauth`.
//!
//! This layer converts types and maps errors; every protocol rule lives in the core.
//! The pure-Python package `hoopauth` (bindings-python/python/hoopauth) wraps it with
//! exceptions and the httpx drivers.

use std::borrow::Cow;

use hoopauth as core;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::IntoPyObjectExt;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyList, PyString};
use serde_json::Value;

const REDACTED: &str = "[redacted]";

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

static MAKE_ERROR: PyOnceLock<Py<PyAny>> = PyOnceLock::new();

/// Build the Python exception instance for a core error (the classes live in
/// `hoopauth._errors`, keyed by kind).
fn error_value<'py>(py: Python<'py>, e: &core::Error, reauthorize: bool) -> PyResult<Bound<'py, PyAny>> {
    let make = MAKE_ERROR.get_or_try_init(py, || -> PyResult<Py<PyAny>> {
        Ok(py.import("hoopauth._errors")?.getattr("_from_core")?.unbind())
    })?;
    make.bind(py).call1((e.kind().as_str(), e.message(), e.status(), e.retry_after_ms(), reauthorize))
}

fn to_py_err_with(py: Python<'_>, e: &core::Error, reauthorize: bool) -> PyErr {
    match error_value(py, e, reauthorize) {
        Ok(v) => PyErr::from_value(v),
        Err(_) => PyRuntimeError::new_err(format!("{}: {}", e.kind().as_str(), e.message())),
    }
}

fn to_py_err(e: core::Error) -> PyErr {
    Python::attach(|py| to_py_err_with(py, &e, false))
}

trait OrRaise<T> {
    fn or_raise(self) -> PyResult<T>;
}
impl<T> OrRaise<T> for core::Result<T> {
    fn or_raise(self) -> PyResult<T> {
        self.map_err(to_py_err)
    }
}

fn invalid_arg(msg: impl Into<String>) -> PyErr {
    to_py_err(core::Error::new(core::ErrorKind::InvalidArgument, msg))
}

/// A non-negative whole number up to `max` from a Python `int` (or anything with
/// `__index__`), or from a finite `float` (fractions dropped when `fractions`, else refused).
/// `bool`, NaN, infinities, negatives, out-of-range values and non-numbers are
/// `invalid_argument` (never `OverflowError` / `TypeError`).
fn uint_of(obj: &Bound<'_, PyAny>, name: &str, max: u64, fractions: bool) -> PyResult<u64> {
    let bad = || {
        invalid_arg(format!(
            "{name} must be a non-negative {} no larger than {max}",
            if fractions { "number" } else { "integer" }
        ))
    };
    if obj.is_instance_of::<PyBool>() {
        return Err(invalid_arg(format!("{name} must be a number, not a bool")));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let x = f.value();
        if !x.is_finite() || x < 0.0 || x >= max as f64 + 1.0 || (!fractions && x.fract() != 0.0) {
            return Err(bad());
        }
        let v = x as u64;
        return if v <= max { Ok(v) } else { Err(bad()) };
    }
    match obj.extract::<u64>() {
        Ok(v) if v <= max => Ok(v),
        _ => Err(bad()),
    }
}

/// Milliseconds (a time or a duration): fractions dropped.
fn ms_of(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<u64> {
    uint_of(obj, name, u64::MAX, true)
}

fn opt_ms(obj: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<u64>> {
    match obj {
        Some(o) if !o.is_none() => ms_of(o, name).map(Some),
        _ => Ok(None),
    }
}

/// An HTTP status: a whole number 0..=999.
fn status_of(obj: &Bound<'_, PyAny>) -> PyResult<u16> {
    uint_of(obj, "status", 999, false).map(|v| v as u16)
}

/// The caller's random number (jitter input): any whole number in u64.
fn random_of(obj: &Bound<'_, PyAny>) -> PyResult<u64> {
    uint_of(obj, "random", u64::MAX, false)
}

fn opt_flag(obj: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<bool>> {
    match obj {
        Some(o) if !o.is_none() => match o.cast::<PyBool>() {
            Ok(b) => Ok(Some(b.is_true())),
            Err(_) => Err(invalid_arg(format!("{name} must be a bool"))),
        },
        _ => Ok(None),
    }
}

/// The error with known secrets (client secret, tokens) scrubbed from its message: server
/// text copied into it may echo them (the core's `Error::scrub`).
fn scrub_error(e: core::Error, secrets: &[String]) -> core::Error {
    e.scrub(&secrets.iter().map(String::as_str).collect::<Vec<_>>())
}

fn config_secrets(config: &core::Config, out: &mut Vec<String>) {
    if let Some(s) = config.client_secret() {
        out.push(s.expose().to_owned());
    }
}

fn session_secrets(session: Option<&core::TokenSession>, out: &mut Vec<String>) {
    let Some(session) = session else { return };
    if let Some(t) = session.access_token() {
        out.push(t.expose().to_owned());
    }
    if let Some(ts) = session.token_set() {
        if let Some(r) = &ts.refresh_token {
            out.push(r.expose().to_owned());
        }
    }
}

/// Every error kind, in the core's order.
#[pyfunction]
fn error_kinds() -> Vec<&'static str> {
    core::ErrorKind::ALL.iter().map(|k| k.as_str()).collect()
}

/// The family of an error kind: `input`, `authorization`, `token`, `api`, `rate_limit`, `server`.
#[pyfunction]
fn error_family(kind: &str) -> PyResult<&'static str> {
    core::ErrorKind::from_name(kind)
        .map(|k| k.family().as_str())
        .ok_or_else(|| PyValueError::new_err("unknown error kind"))
}

// ---------------------------------------------------------------------------------------
// Conversions
// ---------------------------------------------------------------------------------------

/// `bytes`, `bytearray` or `str` (or anything with `__bytes__`) → bytes.
fn body_bytes<'a>(obj: &'a Bound<'_, PyAny>) -> PyResult<Cow<'a, [u8]>> {
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Cow::Borrowed(b.as_bytes()));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(match s.to_cow()? {
            Cow::Borrowed(s) => Cow::Owned(s.as_bytes().to_vec()),
            Cow::Owned(s) => Cow::Owned(s.into_bytes()),
        });
    }
    if obj.is_none() {
        return Ok(Cow::Borrowed(&[]));
    }
    match obj.extract::<Vec<u8>>() {
        Ok(v) if !obj.is_instance_of::<PyList>() => Ok(Cow::Owned(v)),
        _ => {
            let b = obj.call_method0("__bytes__").map_err(|_| PyTypeError::new_err("body must be bytes or str"))?;
            let b = b.cast::<PyBytes>().map_err(|_| PyTypeError::new_err("body must be bytes or str"))?;
            Ok(Cow::Owned(b.as_bytes().to_vec()))
        }
    }
}

fn text(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_cow()?.into_owned());
    }
    if obj.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err("expected str, got bytes"));
    }
    Ok(obj.str()?.to_cow()?.into_owned())
}

/// Pairs from a mapping (`dict`, `httpx.Headers`, anything with `multi_items()` or
/// `items()`), an iterable of pairs, or `None`.
fn pairs(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(String, String)>> {
    let Some(obj) = obj else { return Ok(Vec::new()) };
    if obj.is_none() {
        return Ok(Vec::new());
    }
    let items = if let Ok(d) = obj.cast::<PyDict>() {
        d.items().into_any()
    } else if obj.hasattr("multi_items")? {
        obj.call_method0("multi_items")?
    } else if obj.hasattr("items")? {
        obj.call_method0("items")?
    } else if obj.is_instance_of::<PyString>() || obj.is_instance_of::<PyBytes>() {
        return Err(PyTypeError::new_err("expected a mapping or a list of (name, value) pairs"));
    } else {
        obj.clone()
    };
    let mut out = Vec::new();
    for item in items.try_iter()? {
        let item = item?;
        let bad = || PyTypeError::new_err("expected a mapping or a list of (name, value) pairs");
        let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = match item.extract() {
            Ok(kv) => kv,
            Err(_) if !item.is_instance_of::<PyString>() && !item.is_instance_of::<PyBytes>() => {
                let mut it = item.try_iter().map_err(|_| bad())?;
                match (it.next(), it.next(), it.next()) {
                    (Some(k), Some(v), None) => (k?, v?),
                    _ => return Err(bad()),
                }
            }
            Err(_) => return Err(bad()),
        };
        out.push((text(&k)?, text(&v)?));
    }
    Ok(out)
}

/// JSON text of a body given as `str` (taken as JSON text) or any JSON-able object.
fn json_text(obj: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_cow()?.into_owned());
    }
    if obj.is_instance_of::<PyBytes>() {
        return Ok(String::from_utf8_lossy(&body_bytes(obj)?).into_owned());
    }
    let py = obj.py();
    let json = py.import("json")?;
    let kwargs = PyDict::new(py);
    kwargs.set_item("separators", (",", ":"))?;
    kwargs.set_item("ensure_ascii", false)?;
    kwargs.set_item("allow_nan", false)?;
    match json.call_method("dumps", (obj,), Some(&kwargs)) {
        Ok(t) => t.extract::<String>(),
        Err(e) if e.is_instance_of::<PyValueError>(py) || e.is_instance_of::<PyTypeError>(py) => Err(invalid_arg(
            "json must be JSON-serialisable, without NaN or infinities",
        )),
        Err(e) => Err(e),
    }
}

/// A core value that derives `Serialize`, as Python objects (dicts in field order, lists,
/// numbers, str, None), through its JSON form.
macro_rules! to_py {
    ($py:expr, $v:expr) => {
        json_loads($py, serde_json::to_string($v))
    };
}

fn json_loads<'py>(py: Python<'py>, json: serde_json::Result<String>) -> PyResult<Bound<'py, PyAny>> {
    let json = json.map_err(|e| PyValueError::new_err(e.to_string()))?;
    py.import("json")?.call_method1("loads", (json,))
}

/// Keyword options → a core option struct through serde: its own field names and defaults
/// (`#[serde(default)]`). Each value passes the number rules first: a bool for a bool field;
/// for a number field a whole number, or any finite number for `*_ms` (fractions dropped);
/// `None` keeps the default. An unknown name is a `TypeError`, like any unexpected keyword.
macro_rules! options {
    ($ty:ty, $kwargs:expr) => {{
        let defaults = serde_json::to_value(<$ty>::default()).unwrap_or_default();
        let v = options_value(defaults, $kwargs, |v| serde_json::from_value::<$ty>(v).is_ok())?;
        serde_json::from_value::<$ty>(v).map_err(|e| invalid_arg(e.to_string()))
    }};
}

fn options_value(defaults: Value, kwargs: Option<&Bound<'_, PyDict>>, fits: impl Fn(Value) -> bool) -> PyResult<Value> {
    let Value::Object(mut map) = defaults else { return Err(PyRuntimeError::new_err("options")) };
    for (k, v) in kwargs.into_iter().flat_map(|d| d.iter()) {
        let k: String = k.extract()?;
        let Some(slot) = map.get(&k) else {
            return Err(PyTypeError::new_err(format!("unexpected keyword argument '{k}'")));
        };
        if v.is_none() {
            continue;
        }
        let new = match slot {
            Value::Bool(_) => Value::Bool(opt_flag(Some(&v), &k)?.unwrap_or_default()),
            _ => Value::from(uint_of(&v, &k, u64::MAX, k.ends_with("_ms"))?),
        };
        map.insert(k.clone(), new);
        if !fits(Value::Object(map.clone())) {
            return Err(invalid_arg(format!("{k} is out of range")));
        }
    }
    Ok(Value::Object(map))
}

/// Keyword strings → a core struct that derives `Deserialize` with defaults (no `Serialize`
/// to read its fields from), on top of the positional values in `base`; `None` keeps the
/// default. An unknown name is a `TypeError`: serde ignores a name it does not know, and
/// every field refuses the number 0.
macro_rules! text_options {
    ($ty:ty, $base:expr, $kwargs:expr) => {{
        let known = |k: &str| serde_json::from_value::<$ty>(serde_json::json!({ k: 0 })).is_err();
        let v = text_options($base, $kwargs, known)?;
        serde_json::from_value::<$ty>(v).map_err(|e| invalid_arg(e.to_string()))
    }};
}

fn text_options(base: Value, kwargs: Option<&Bound<'_, PyDict>>, known: impl Fn(&str) -> bool) -> PyResult<Value> {
    let Value::Object(mut map) = base else { return Err(PyRuntimeError::new_err("options")) };
    for (k, v) in kwargs.into_iter().flat_map(|d| d.iter()) {
        let k: String = k.extract()?;
        if map.contains_key(&k) || !known(&k) {
            return Err(PyTypeError::new_err(format!("unexpected keyword argument '{k}'")));
        }
        if !v.is_none() {
            map.insert(k, Value::String(v.extract()?));
        }
    }
    Ok(Value::Object(map))
}

/// A class wrapping one core value (`inner`): a getter per row (`name: type = |value| expr`),
/// a `__repr__` built from the rows (each shown by Python's `repr`, or by the row's
/// `[function]`: `secret` prints `[redacted]`, `hidden` leaves the row out), then the
/// class's own methods.
macro_rules! record {
    ($(#[$doc:meta])* $py:ident($core:ty) as $name:literal $(, $opt:ident)*;
     $($(#[$fdoc:meta])* $f:ident $([$mode:ident])? : $t:ty = |$v:ident| $get:expr;)*
     $(@impl { $($methods:tt)* })?) => {
        #[pyclass(name = $name, module = "hoopauth._hoopauth" $(, $opt)*)]
        $(#[$doc])*
        struct $py {
            inner: $core,
        }

        #[pymethods]
        impl $py {
            $($(#[$fdoc])* #[getter] fn $f(&self) -> $t { let $v = &self.inner; $get })*
            fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
                let _ = py;
                let mut parts: Vec<String> = Vec::new();
                $(if let Some(s) = repr_part!(py, stringify!($f).trim_start_matches("r#"), self.$f() $(, $mode)?) {
                    parts.push(s);
                })*
                Ok(format!("{}({})", $name, parts.join(", ")))
            }
            $($($methods)*)?
        }
    };
}

macro_rules! repr_part {
    ($py:ident, $name:expr, $v:expr) => {
        Some(format!("{}={}", $name, $v.into_bound_py_any($py)?.repr()?))
    };
    ($py:ident, $name:expr, $v:expr, $mode:ident) => {
        $mode($name, $v)
    };
}

/// A secret in a `repr`: `[redacted]` when set.
trait Redact {
    fn is_set(&self) -> bool;
}
impl<T: ?Sized> Redact for &T {
    fn is_set(&self) -> bool {
        true
    }
}
impl<T> Redact for Option<T> {
    fn is_set(&self) -> bool {
        self.is_some()
    }
}
fn secret(name: &str, v: impl Redact) -> Option<String> {
    Some(format!("{name}={}", if v.is_set() { REDACTED } else { "None" }))
}
fn hidden<T>(_: &str, _: T) -> Option<String> {
    None
}

// ---------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------

/// The client secret in a `repr`: `[redacted]` or `None`.
fn client_secret(_: &str, set: bool) -> Option<String> {
    secret("client_secret", set.then_some(()))
}

record! {
    /// A validated app configuration. `repr()` never shows the client secret.
    #[derive(Clone)]
    PyConfig(core::Config) as "Config", frozen;
    client_id: &str = |c| c.client_id();
    has_client_secret [client_secret]: bool = |c| c.client_secret().is_some();
    redirect_uri: Option<&str> = |c| c.redirect_uri();
    marketplace_base: &str = |c| c.marketplace_base();
    api_base: &str = |c| c.api_base();
    api_version: &str = |c| c.api_version();
    version_id: &str = |c| c.version_id();
    @impl {
        /// Keywords: the fields of the core's `ConfigOptions` (`client_secret`, `redirect_uri`,
        /// `marketplace`, `api_base`, `api_version`).
        #[new]
        #[pyo3(signature = (client_id, **options))]
        fn new(client_id: String, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
            let options = text_options!(core::ConfigOptions, serde_json::json!({ "client_id": client_id }), options)?;
            Ok(PyConfig { inner: core::Config::new(options).or_raise()? })
        }
        /// The marketplace URL that asks the user to install the app.
        /// Keywords: the fields of the core's `AuthorizationParams` (`state`,
        /// `login_window_open_mode`, `version_id`).
        #[pyo3(signature = (scopes, **params))]
        fn authorization_url(&self, scopes: Vec<String>, params: Option<&Bound<'_, PyDict>>) -> PyResult<String> {
            let params = text_options!(core::AuthorizationParams, serde_json::json!({ "scopes": scopes }), params)?;
            self.inner.authorization_url(&params).or_raise()
        }

        /// A token-endpoint request for `grant` (`authorization_code`, `refresh_token`, `client_credentials`).
        #[pyo3(signature = (grant, *, code=None, refresh_token=None, user_type=None))]
        fn token_request(
            &self,
            grant: &str,
            code: Option<&str>,
            refresh_token: Option<&str>,
            user_type: Option<&str>,
        ) -> PyResult<PyRequest> {
            let grant = core::Grant::from_parts(grant, code, refresh_token).or_raise()?;
            let user_type = user_type.map(core::UserType::parse).transpose().or_raise()?;
            Ok(PyRequest { inner: self.inner.token_request(&grant, user_type).or_raise()? })
        }

        /// The request that exchanges an authorization code for tokens.
        #[pyo3(signature = (code, *, user_type=None))]
        fn exchange_code_request(&self, code: &str, user_type: Option<&str>) -> PyResult<PyRequest> {
            self.token_request("authorization_code", Some(code), None, user_type)
        }

        /// The request that spends a refresh token for a new token pair.
        #[pyo3(signature = (refresh_token, *, user_type=None))]
        fn refresh_request(&self, refresh_token: &str, user_type: Option<&str>) -> PyResult<PyRequest> {
            self.token_request("refresh_token", None, Some(refresh_token), user_type)
        }

        /// The request for a location token from an agency (company) token.
        fn location_token_request(
            &self,
            agency_access_token: &str,
            company_id: &str,
            location_id: &str,
        ) -> PyResult<PyRequest> {
            Ok(PyRequest {
                inner: self.inner.location_token_request(agency_access_token, company_id, location_id).or_raise()?,
            })
        }

        /// An API request with the bearer token and the platform's headers. `json` is a JSON
        /// text (`str`) or any object `json.dumps` accepts.
        #[pyo3(signature = (method, path, access_token, *, query=None, json=None, version=None))]
        fn api_request(
            &self,
            method: &str,
            path: &str,
            access_token: &str,
            query: Option<&Bound<'_, PyAny>>,
            json: Option<&Bound<'_, PyAny>>,
            version: Option<String>,
        ) -> PyResult<PyRequest> {
            let req = api_request_from(method, path, query, json, version)?;
            Ok(PyRequest { inner: self.inner.api_request(&req, access_token).or_raise()? })
        }
    }
}

fn api_request_from(
    method: &str,
    path: &str,
    query: Option<&Bound<'_, PyAny>>,
    json: Option<&Bound<'_, PyAny>>,
    version: Option<String>,
) -> PyResult<core::ApiRequest> {
    let method = core::Method::parse(method).or_raise()?;
    let json = match json {
        Some(j) if !j.is_none() => Some(json_text(j)?),
        _ => None,
    };
    Ok(core::ApiRequest { method, path: path.to_owned(), query: pairs(query)?, json, version })
}

// ---------------------------------------------------------------------------------------

// ---------------------------------------------------------------------------------------
// Request
// ---------------------------------------------------------------------------------------

/// The headers in a `repr`, with the Authorization value redacted.
fn headers_repr(name: &str, headers: Vec<(String, String)>) -> Option<String> {
    let shown: Vec<String> = headers
        .iter()
        .map(|(k, v)| format!("({k:?}, {:?})", if k.eq_ignore_ascii_case("authorization") { REDACTED } else { v }))
        .collect();
    Some(format!("{name}=[{}]", shown.join(", ")))
}

record! {
    /// An HTTP request for any client to send: `method`, `url`, `headers` (list of pairs),
    /// `body` (bytes). `repr()` hides the Authorization header and the body.
    PyRequest(core::Request) as "Request", frozen;
    method: &'static str = |r| r.method.as_str();
    url: &str = |r| &r.url;
    headers [headers_repr]: Vec<(String, String)> = |r| r.headers.clone();
    /// The headers as a dict.
    headers_dict [hidden]: std::collections::BTreeMap<String, String> = |r| r.headers.iter().cloned().collect();
    body [secret]: &[u8] = |r| &r.body;
    /// The body decoded as UTF-8.
    body_text [hidden]: &str = |r| r.body_text();
    @impl {
        /// First value of a header (name case-insensitive).
        fn header(&self, name: &str) -> Option<&str> {
            self.inner.header(name)
        }
    }
}

// ---------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------

record! {
    /// A parsed token response. The tokens are attributes; `repr()` redacts them.
    #[derive(Clone)]
    PyTokenSet(core::TokenSet) as "TokenSet", frozen;
    access_token [secret]: &str = |t| t.access_token.expose();
    token_type: Option<&str> = |t| t.token_type.as_deref();
    expires_in [hidden]: Option<u64> = |t| t.expires_in;
    expires_at_ms: Option<u64> = |t| t.expires_at_ms;
    refresh_token [secret]: Option<&str> = |t| t.refresh_token.as_ref().map(|s| s.expose());
    scopes: Vec<String> = |t| t.scopes.clone();
    user_type: Option<&'static str> = |t| t.user_type.map(|u| u.as_str());
    location_id: Option<&str> = |t| t.location_id.as_deref();
    company_id: Option<&str> = |t| t.company_id.as_deref();
    approved_locations [hidden]: Option<Vec<String>> = |t| t.approved_locations.clone();
    plan_id [hidden]: Option<&str> = |t| t.plan_id.as_deref();
    is_bulk_installation [hidden]: Option<bool> = |t| t.is_bulk_installation;
    user_id [hidden]: Option<&str> = |t| t.user_id.as_deref();
    /// The location id, else the company id: the resource the tokens act for.
    resource_id [hidden]: Option<&str> = |t| t.resource_id();
    @impl {
        /// Fields of the response hoopauth does not know, as sent.
        #[getter]
        fn extra<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            to_py!(py, &self.inner.extra)
        }
        /// Whether the access token has expired at `now_ms` (no leeway).
        fn is_expired(&self, now_ms: &Bound<'_, PyAny>) -> PyResult<bool> {
            let now_ms = ms_of(now_ms, "now_ms")?;
            Ok(self.inner.expires_at_ms.is_some_and(|at| now_ms >= at))
        }
        /// A stable dict form (holds the tokens: keep it as secret as they are).
        fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            let d = to_py!(py, &self.inner)?;
            d.set_item("extra", self.extra(py)?)?;
            Ok(d)
        }
        /// The JSON form (holds the tokens).
        fn to_json(&self) -> PyResult<String> {
            serde_json::to_string(&self.inner).map_err(|_| PyValueError::new_err("token set does not serialise"))
        }
        /// Restore from [`TokenSet.to_json`].
        #[staticmethod]
        fn from_json(json: &str) -> PyResult<PyTokenSet> {
            let inner = serde_json::from_str(json).map_err(|_| invalid_arg("not a token set JSON"))?;
            Ok(PyTokenSet { inner })
        }
        fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
            other.cast::<PyTokenSet>().is_ok_and(|o| o.get().inner == self.inner)
        }
    }
}

/// Parse a token-endpoint answer. `now_ms`: when the request was sent.
#[pyfunction]
#[pyo3(signature = (status, body, now_ms, headers=None))]
fn parse_token_response(
    status: &Bound<'_, PyAny>,
    body: &Bound<'_, PyAny>,
    now_ms: &Bound<'_, PyAny>,
    headers: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyTokenSet> {
    let status = status_of(status)?;
    let now_ms = ms_of(now_ms, "now_ms")?;
    let body = body_bytes(body)?;
    let headers = pairs(headers)?;
    Ok(PyTokenSet { inner: core::parse_token_response(status, &headers, &body, now_ms).or_raise()? })
}


// ---------------------------------------------------------------------------------------
// Authorization callback
// ---------------------------------------------------------------------------------------

record! {
    /// The authorization redirect's `code` and `state`. `repr()` hides the code.
    PyCallback(core::Callback) as "Callback", frozen;
    code [secret]: &str = |c| c.code.expose();
    state: Option<&str> = |c| c.state.as_deref();
}

/// Parse the redirect URL (or its query); check `state` in constant time.
#[pyfunction]
#[pyo3(signature = (url, expected_state=None))]
fn parse_callback(url: &str, expected_state: Option<&str>) -> PyResult<PyCallback> {
    Ok(PyCallback { inner: core::parse_callback(url, expected_state).or_raise()? })
}

/// A `state` value from caller-supplied random bytes (at least 16).
#[pyfunction]
fn generate_state(random_bytes: &[u8]) -> PyResult<String> {
    core::generate_state(random_bytes).or_raise()
}

/// Constant-time string comparison.
#[pyfunction]
fn states_equal(a: &str, b: &str) -> bool {
    core::states_equal(a, b)
}

#[pyfunction]
fn is_known_scope(scope: &str) -> bool {
    core::is_known_scope(scope)
}

/// The closest known scope, for a "did you mean" hint.
#[pyfunction]
fn suggest_scope(scope: &str) -> Option<&'static str> {
    core::suggest_scope(scope)
}

#[pyfunction]
fn known_scopes() -> Vec<&'static str> {
    core::KNOWN_SCOPES.to_vec()
}

// ---------------------------------------------------------------------------------------
// Classification, rate-limit headers, limiter
// ---------------------------------------------------------------------------------------

record! {
    /// What an API response means.
    PyClassification(core::Classification) as "Classification", frozen;
    /// `ok`, `unauthorized`, `insufficient_scope`, `token_type_mismatch`, `forbidden`,
    /// `not_found`, `rate_limited`, `server_error`, `client_error`, `unexpected_status`.
    kind: &'static str = |c| c.kind.as_str();
    status: u16 = |c| c.status;
    ok [hidden]: bool = |c| c.kind == core::ResponseKind::Ok;
    retryable: bool = |c| c.retryable;
    rate_limit_scope: Option<&'static str> = |c| c.rate_limit_scope.map(|s| s.as_str());
    retry_after_ms: Option<u64> = |c| c.retry_after_ms;
    message [hidden]: Option<&str> = |c| c.message.as_deref();
    @impl {
        /// The exception this response stands for (`None` for `ok`).
        fn error<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
            self.inner.to_error().map(|e| error_value(py, &e, false)).transpose()
        }
        /// Raise the exception this response stands for; nothing for `ok`.
        fn raise_for_error(&self, py: Python<'_>) -> PyResult<()> {
            self.inner.to_error().map_or(Ok(()), |e| Err(to_py_err_with(py, &e, false)))
        }
    }
}

/// Classify an API response.
#[pyfunction]
#[pyo3(signature = (status, headers=None, body=None, now_ms=None))]
fn classify_response(
    status: &Bound<'_, PyAny>,
    headers: Option<&Bound<'_, PyAny>>,
    body: Option<&Bound<'_, PyAny>>,
    now_ms: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyClassification> {
    let status = status_of(status)?;
    let now_ms = opt_ms(now_ms, "now_ms")?;
    let headers = pairs(headers)?;
    let body = match body {
        Some(b) => body_bytes(b)?,
        None => Cow::Borrowed(&[][..]),
    };
    Ok(PyClassification { inner: core::classify_response(status, &headers, &body, now_ms) })
}

record! {
    /// The `X-RateLimit-*` headers of a response.
    PyRateLimitHeaders(core::RateLimitHeaders) as "RateLimitHeaders", frozen;
    max: Option<u64> = |h| h.max;
    interval_ms: Option<u64> = |h| h.interval_ms;
    remaining: Option<u64> = |h| h.remaining;
    daily_limit: Option<u64> = |h| h.daily_limit;
    daily_remaining: Option<u64> = |h| h.daily_remaining;
    @impl {
        fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            to_py!(py, &self.inner)
        }
    }
}

#[pyfunction]
fn parse_rate_limit_headers(headers: &Bound<'_, PyAny>) -> PyResult<PyRateLimitHeaders> {
    Ok(PyRateLimitHeaders { inner: core::parse_rate_limit_headers(&pairs(Some(headers))?) })
}

record! {
    /// Pacing limits of one resource (defaults: 100 per 10 s, 50 ms margin, 200,000 a day).
    #[derive(Clone)]
    PyLimits(core::Limits) as "Limits", frozen;
    max: u32 = |l| l.max;
    interval_ms: u64 = |l| l.interval_ms;
    margin_ms: u64 = |l| l.margin_ms;
    daily_max: u64 = |l| l.daily_max;
    answer_timeout_ms: u64 = |l| l.answer_timeout_ms;
    @impl {
        /// Keywords: the fields of the core's `Limits` (`max`, `interval_ms`, `margin_ms`,
        /// `daily_max`, `answer_timeout_ms`).
        #[new]
        #[pyo3(signature = (**limits))]
        fn new(limits: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
            let inner = options!(core::Limits, limits)?;
            if inner.max == 0 || inner.interval_ms == 0 {
                return Err(invalid_arg("max and interval_ms must be positive"));
            }
            Ok(PyLimits { inner })
        }
        fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
            other.cast::<PyLimits>().is_ok_and(|o| o.get().inner == self.inner)
        }
    }
}

record! {
    /// A pacing verdict: truthy when the send may go now.
    PyDecision(core::Decision) as "Decision", frozen;
    allowed: bool = |d| d.is_allowed();
    wait_ms: u64 = |d| match d {
        core::Decision::Allow { .. } => 0,
        core::Decision::Wait { wait_ms, .. } => *wait_ms,
    };
    /// The id of an allowed send (report its answer with `RateLimiter.answered`); `None` when denied.
    send_id: Option<u64> = |d| match d {
        core::Decision::Allow { send_id } => Some(*send_id),
        core::Decision::Wait { .. } => None,
    };
    daily_exhausted: bool = |d| matches!(d, core::Decision::Wait { daily_exhausted: true, .. });
    @impl {
        fn __bool__(&self) -> bool {
            self.inner.is_allowed()
        }
    }
}

record! {
    /// The limiter of one resource (exact sliding window, daily budget, server blocks).
    PyRateLimiter(core::RateLimiter) as "RateLimiter";
    /// Sends allowed whose answers have not arrived (nor timed out).
    in_flight: usize = |r| r.in_flight();
    limits: PyLimits = |r| PyLimits { inner: r.limits() };
    @impl {
        #[new]
        #[pyo3(signature = (limits=None))]
        fn new(limits: Option<PyRef<'_, PyLimits>>) -> Self {
            PyRateLimiter { inner: core::RateLimiter::new(limits.map(|l| l.inner).unwrap_or_default()) }
        }
        /// Ask to send at `now_ms`; an allowed send is counted.
        fn acquire(&mut self, now_ms: &Bound<'_, PyAny>) -> PyResult<PyDecision> {
            Ok(PyDecision { inner: self.inner.acquire(ms_of(now_ms, "now_ms")?) })
        }
        /// What `acquire` would answer, without counting.
        fn check(&mut self, now_ms: &Bound<'_, PyAny>) -> PyResult<PyDecision> {
            Ok(PyDecision { inner: self.inner.check(ms_of(now_ms, "now_ms")?) })
        }
        /// The answer (or transport error) of the allowed send `send_id` arrived at `now_ms`:
        /// its slot counts from then (a send holds its slot until its answer).
        fn answered(&mut self, send_id: &Bound<'_, PyAny>, now_ms: &Bound<'_, PyAny>) -> PyResult<()> {
            let send_id = uint_of(send_id, "send_id", u64::MAX, false)?;
            self.inner.answered(send_id, ms_of(now_ms, "now_ms")?);
            Ok(())
        }
        /// Feed a response (its status and rate-limit headers).
        #[pyo3(signature = (now_ms, status, headers=None))]
        fn observe(
            &mut self,
            now_ms: &Bound<'_, PyAny>,
            status: &Bound<'_, PyAny>,
            headers: Option<&Bound<'_, PyAny>>,
        ) -> PyResult<()> {
            let (now_ms, status) = (ms_of(now_ms, "now_ms")?, status_of(status)?);
            self.inner.observe(now_ms, status, &pairs(headers)?);
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------------------
// Session
// ---------------------------------------------------------------------------------------

record! {
    /// What to do to get a usable token: `action` is `use`, `refresh`, `mint`, `wait`,
    /// `reauthorize` or `save`.
    PySessionAction(core::Action) as "SessionAction", frozen;
    action: &'static str = |a| a.as_str();
    /// The token to send (for `use`).
    access_token [secret]: Option<&str> = |a| match a {
        core::Action::Use { access_token } => Some(access_token.expose()),
        _ => None,
    };
    /// The refresh request to send (for `refresh`).
    request [hidden]: Option<PyRequest> = |a| match a {
        core::Action::Refresh { request } => Some(PyRequest { inner: request.clone() }),
        _ => None,
    };
    wait_ms: Option<u64> = |a| match a {
        core::Action::Wait { wait_ms } => Some(*wait_ms),
        _ => None,
    };
    /// The company whose token mints the location's (for `mint`).
    company_id: Option<&str> = |a| match a {
        core::Action::Mint { company_id, .. } => Some(company_id.as_str()),
        _ => None,
    };
    /// The location to mint a token for (for `mint`).
    location_id: Option<&str> = |a| match a {
        core::Action::Mint { location_id, .. } => Some(location_id.as_str()),
        _ => None,
    };
}

record! {
    /// The expiry/refresh state machine of one resource.
    PyTokenSession(core::TokenSession) as "TokenSession";
    /// Whether the session holds tokens its store does not.
    is_unsaved: bool = |s| s.is_unsaved();
    token_set [hidden]: Option<PyTokenSet> = |s| s.token_set().map(|t| PyTokenSet { inner: t.clone() });
    version: u64 = |s| s.version();
    needs_reauthorization: bool = |s| s.needs_reauthorization();
    @impl {
        /// Keywords: the fields of the core's `SessionOptions` (`refresh_leeway_ms`, `lease_ms`).
        #[new]
        #[pyo3(signature = (config, **options))]
        fn new(config: PyRef<'_, PyConfig>, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
            let options = options!(core::SessionOptions, options)?;
            Ok(PyTokenSession { inner: core::TokenSession::new(config.inner.clone(), options) })
        }
        /// Restore from [`TokenSession.stored_json`].
        #[staticmethod]
        #[pyo3(signature = (config, stored, **options))]
        fn from_json(config: PyRef<'_, PyConfig>, stored: &str, options: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
            let options = options!(core::SessionOptions, options)?;
            let inner = core::TokenSession::from_json(config.inner.clone(), options, stored).or_raise()?;
            Ok(PyTokenSession { inner })
        }
        fn load(&mut self, tokens: PyRef<'_, PyTokenSet>) {
            self.inner.load(tokens.inner.clone());
        }
        fn load_private(&mut self, token: &str) -> PyResult<()> {
            self.inner.load_private(core::Secret::new(token)).or_raise()
        }
        /// What to do now: `use`, `refresh`, `wait`, `reauthorize`, or `save` (tokens an earlier
        /// save failed to store: save `stored_json()`, then call `persisted()` or `save_failed()`).
        fn acquire(&mut self, now_ms: &Bound<'_, PyAny>) -> PyResult<PySessionAction> {
            Ok(PySessionAction { inner: self.inner.acquire(ms_of(now_ms, "now_ms")?).or_raise()? })
        }
        /// The store now holds the current state (after a refresh, or a `save` action).
        fn persisted(&mut self) {
            self.inner.persisted();
        }
        /// The save failed, timed out or was cancelled: the tokens stay in memory, marked unsaved.
        fn save_failed(&mut self) {
            self.inner.save_failed();
        }
        /// Start saving unsaved tokens outside a call: the stored JSON to save (then
        /// `persisted()` or `save_failed()`), or `None` when there is nothing to save.
        fn begin_save(&mut self) -> Option<String> {
            self.inner.begin_save().map(|s| serde_json::to_string(s).unwrap_or_default())
        }
        /// Feed the refresh answer (parsed at `sent_at_ms`); returns the new token set.
        #[pyo3(signature = (status, body, sent_at_ms, headers=None))]
        fn refresh_response(
            &mut self,
            status: &Bound<'_, PyAny>,
            body: &Bound<'_, PyAny>,
            sent_at_ms: &Bound<'_, PyAny>,
            headers: Option<&Bound<'_, PyAny>>,
        ) -> PyResult<PyTokenSet> {
            let status = status_of(status)?;
            let sent_at_ms = ms_of(sent_at_ms, "sent_at_ms")?;
            let body = body_bytes(body)?;
            let headers = pairs(headers)?;
            let mut secrets = Vec::new();
            config_secrets(self.inner.config(), &mut secrets);
            session_secrets(Some(&self.inner), &mut secrets);
            match self.inner.refresh_response(status, &headers, &body, sent_at_ms) {
                Ok(t) => Ok(PyTokenSet { inner: t }),
                Err(e) => Err(to_py_err(scrub_error(e, &secrets))),
            }
        }
        /// The refresh got no answer: free the lease (the same refresh token may be sent again).
        fn refresh_lost(&mut self) {
            self.inner.refresh_lost();
        }
        /// Make this a minted location session of `company_id` (None, None: an ordinary one).
        #[pyo3(signature = (company_id, location_id))]
        fn set_minted_from(&mut self, company_id: Option<String>, location_id: Option<String>) {
            let m = company_id.zip(location_id).map(|(company_id, location_id)| core::MintedFrom { company_id, location_id });
            self.inner.set_minted_from(m);
        }
        /// `(company_id, location_id)` of a minted location session, else None.
        #[getter]
        fn minted_from(&self) -> Option<(String, String)> {
            self.inner.minted_from().map(|m| (m.company_id.clone(), m.location_id.clone()))
        }
        /// Feed a mint's answer (`POST /oauth/locationToken`, sent at `sent_at_ms`); returns the
        /// new token set (its refresh token dropped).
        #[pyo3(signature = (status, body, sent_at_ms, headers=None))]
        fn mint_response(
            &mut self,
            status: &Bound<'_, PyAny>,
            body: &Bound<'_, PyAny>,
            sent_at_ms: &Bound<'_, PyAny>,
            headers: Option<&Bound<'_, PyAny>>,
        ) -> PyResult<PyTokenSet> {
            let (status, sent_at_ms) = (status_of(status)?, ms_of(sent_at_ms, "sent_at_ms")?);
            let (body, headers) = (body_bytes(body)?, pairs(headers)?);
            let mut secrets = Vec::new();
            config_secrets(self.inner.config(), &mut secrets);
            session_secrets(Some(&self.inner), &mut secrets);
            match self.inner.mint_response(status, &headers, &body, sent_at_ms) {
                Ok(t) => Ok(PyTokenSet { inner: t }),
                Err(e) => Err(to_py_err(scrub_error(e, &secrets))),
            }
        }
        /// A mint failed or got no answer: free the lease.
        fn mint_failed(&mut self) {
            self.inner.mint_failed();
        }
        /// Feed an API answer obtained with `access_token`; returns the classification kind.
        #[pyo3(signature = (status, body, access_token))]
        fn api_response(
            &mut self,
            status: &Bound<'_, PyAny>,
            body: &Bound<'_, PyAny>,
            access_token: &str,
        ) -> PyResult<&'static str> {
            let status = status_of(status)?;
            let body = body_bytes(body)?;
            Ok(self.inner.api_response(status, &body, access_token).as_str())
        }
        fn clear(&mut self) {
            self.inner.clear();
        }
        /// The stored form as JSON (holds the tokens).
        fn stored_json(&self) -> String {
            self.inner.stored_json()
        }
        /// Old name of `stored_json` (deprecated).
        fn to_json(&self, py: Python<'_>) -> PyResult<String> {
            let warning = py.get_type::<pyo3::exceptions::PyDeprecationWarning>();
            PyErr::warn(py, &warning, c"TokenSession.to_json() is deprecated: use stored_json()", 1)?;
            Ok(self.inner.stored_json())
        }
    }
}

// ---------------------------------------------------------------------------------------
// Call loop: Pool, Call, Step
// ---------------------------------------------------------------------------------------

record! {
    /// One API call, driven by `Pool` steps (the call and its options).
    PyCall((core::Call, core::CallOptions)) as "Call";
    method: &'static str = |c| c.0.request().method.as_str();
    path: &str = |c| &c.0.request().path;
    is_finished [hidden]: bool = |c| c.0.is_finished();
    @impl {
        /// Keywords besides `query`, `json` and `version`: the fields of the core's `CallOptions`.
        #[new]
        #[pyo3(signature = (method, path, *, query=None, json=None, version=None, **options))]
        fn new(
            method: &str,
            path: &str,
            query: Option<&Bound<'_, PyAny>>,
            json: Option<&Bound<'_, PyAny>>,
            version: Option<String>,
            options: Option<&Bound<'_, PyDict>>,
        ) -> PyResult<Self> {
            let options = options!(core::CallOptions, options)?;
            let req = api_request_from(method, path, query, json, version)?;
            Ok(PyCall { inner: (core::Call::new(req, options), options) })
        }
        /// The call's options (every `CallOptions` field), as a dict.
        #[getter]
        fn options<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            to_py!(py, &self.inner.1)
        }
        /// Counters: sends, refreshes, auth_retries, rate_limit_retries, server_retries.
        #[getter]
        fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            to_py!(py, &self.inner.0.stats())
        }
        /// An independent copy of the call in its current state (coordinated mode: a step that
        /// lost the store's compare-and-set is taken again from the copy).
        fn copy(&self) -> PyCall {
            PyCall { inner: self.inner.clone() }
        }
        fn __copy__(&self) -> PyCall {
            self.copy()
        }
        /// A call that only makes sure its resource holds a usable, saved token (it refreshes,
        /// or mints a minted location's token, and sends nothing else): ends `done` (204).
        #[staticmethod]
        #[pyo3(signature = (**options))]
        fn token(options: Option<&Bound<'_, PyDict>>) -> PyResult<PyCall> {
            let options = options!(core::CallOptions, options)?;
            Ok(PyCall { inner: (core::Call::token(options), options) })
        }
        /// The mint call of a `mint` step: run it on `company_id`; it ends `done` with the
        /// answer of `POST /oauth/locationToken`.
        #[staticmethod]
        #[pyo3(signature = (company_id, location_id, **options))]
        fn location_token(company_id: &str, location_id: &str, options: Option<&Bound<'_, PyDict>>) -> PyResult<PyCall> {
            let options = options!(core::CallOptions, options)?;
            Ok(PyCall { inner: (core::Call::location_token(company_id, location_id, options), options) })
        }
    }
}

record! {
    /// What the driver does next. `kind`: `send`, `send_refresh`, `persist`, `wait`, `mint`,
    /// `done`, `reauthorize`, `fail`.
    PyStep(core::Step) as "Step", frozen;
    kind: &'static str = |s| s.as_str();
    is_final [hidden]: bool = |s| s.is_final();
    /// The request to send (`send`, `send_refresh`).
    request [hidden]: Option<PyRequest> = |s| match s {
        core::Step::Send(r) | core::Step::SendRefresh(r) => Some(PyRequest { inner: r.clone() }),
        _ => None,
    };
    /// The session's stored JSON to persist (`persist`).
    stored [secret]: Option<String> = |s| match s {
        core::Step::Persist(s) => serde_json::to_string(s).ok(),
        _ => None,
    };
    wait_ms: Option<u64> = |s| match s {
        core::Step::Wait { wait_ms, .. } => Some(*wait_ms),
        _ => None,
    };
    /// `rate_limit`, `in_flight`, `refresh` or `backoff` (`wait`).
    reason: Option<&'static str> = |s| match s {
        core::Step::Wait { reason, .. } => Some(reason.as_str()),
        _ => None,
    };
    /// The final response's status (`done`).
    status: Option<u16> = |s| match s {
        core::Step::Done(r) => Some(r.status),
        _ => None,
    };
    /// The company whose token mints the location's (`mint`).
    company_id: Option<&str> = |s| match s {
        core::Step::Mint { company_id, .. } => Some(company_id.as_str()),
        _ => None,
    };
    /// The location to mint a token for (`mint`).
    location_id: Option<&str> = |s| match s {
        core::Step::Mint { location_id, .. } => Some(location_id.as_str()),
        _ => None,
    };
    @impl {
        /// The exception to raise (`fail`, `reauthorize`).
        fn error<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
            match &self.inner {
                core::Step::Fail(e) => Ok(Some(error_value(py, e, false)?)),
                core::Step::Reauthorize(e) => Ok(Some(error_value(py, e, true)?)),
                _ => Ok(None),
            }
        }
    }
}

/// The sessions and limiters of every resource (location or company) an app acts for.
#[pyclass(name = "Pool", module = "hoopauth._hoopauth")]
struct PyPool {
    inner: core::Pool,
}

impl PyPool {
    fn step_with(
        &mut self,
        call: &Bound<'_, PyCall>,
        resource_id: &str,
        event: core::Event,
        now_ms: &Bound<'_, PyAny>,
        random: &Bound<'_, PyAny>,
    ) -> PyResult<PyStep> {
        let (now_ms, random) = (ms_of(now_ms, "now_ms")?, random_of(random)?);
        let mut call = call.try_borrow_mut()?;
        // Secrets known before the step (a refresh answer may echo the spent refresh token).
        let mut secrets = Vec::new();
        session_secrets(self.inner.session(resource_id), &mut secrets);
        let step = self.inner.step(&mut call.inner.0, resource_id, event, now_ms, random);
        let mut scrub = |e| {
            config_secrets(self.inner.config(), &mut secrets);
            session_secrets(self.inner.session(resource_id), &mut secrets);
            scrub_error(e, &secrets)
        };
        let step = match step {
            core::Step::Fail(e) => core::Step::Fail(scrub(e)),
            core::Step::Reauthorize(e) => core::Step::Reauthorize(scrub(e)),
            other => other,
        };
        Ok(PyStep { inner: step })
    }
}

/// `Pool`'s methods, with one generated per event that carries nothing (`name => Event`:
/// the call, the resource, `now_ms`, `random`).
macro_rules! pool_methods {
    ($($(#[$doc:meta])* $m:ident => $event:ident;)* @impl { $($methods:tt)* }) => {
        #[pymethods]
        impl PyPool {
            $($(#[$doc])*
            fn $m(
                &mut self,
                call: &Bound<'_, PyCall>,
                resource_id: &str,
                now_ms: &Bound<'_, PyAny>,
                random: &Bound<'_, PyAny>,
            ) -> PyResult<PyStep> {
                self.step_with(call, resource_id, core::Event::$event, now_ms, random)
            })*
            $($methods)*
        }
    };
}

pool_methods! {
    /// First step of `call` against `resource_id`.
    start => Start;
    /// After a `wait` or a `persist`.
    resume => Resume;
    /// The last `send` / `send_refresh` got no answer (connection lost, timeout).
    transport_error => TransportError;
    /// The store refused the last `persist` (another process wrote a newer version); call
    /// `load_stored` with the store's record first.
    conflict => Conflict;
    /// The last `persist` failed (the store raised or timed out): the call ends with
    /// `store_error`; the tokens stay in memory, unsaved, and the next call saves them first.
    persist_failed => PersistFailed;
    @impl {
        /// The mint call of the last `mint` step ended with an error of `kind` (its `fail` or
        /// `reauthorize`): the location's call ends `reauthorize` when the company must
        /// authorize again, else `fail`.
        fn mint_failed(
            &mut self,
            call: &Bound<'_, PyCall>,
            resource_id: &str,
            kind: &str,
            message: &str,
            now_ms: &Bound<'_, PyAny>,
            random: &Bound<'_, PyAny>,
        ) -> PyResult<PyStep> {
            let kind = core::ErrorKind::from_name(kind)
                .ok_or_else(|| to_py_err(core::Error::new(core::ErrorKind::InvalidArgument, "kind must be an error kind")))?;
            let event = core::Event::MintFailed(core::Error::new(kind, message));
            self.step_with(call, resource_id, event, now_ms, random)
        }
        /// Make `location_id` a minted location session of `company_id`: True when it holds no
        /// usable token (run `Call.token()` on it), False when it holds its own tokens.
        fn expect_minted(&mut self, location_id: &str, company_id: &str) -> PyResult<bool> {
            self.inner.expect_minted(location_id, company_id).or_raise()
        }
        /// Load a location token minted from `company_id`'s outside a call (its refresh token
        /// is dropped): it renews by minting.
        fn load_minted(&mut self, location_id: &str, company_id: &str, tokens: PyRef<'_, PyTokenSet>) -> PyResult<()> {
            self.inner.load_minted(location_id, company_id, tokens.inner.clone()).or_raise()
        }
        /// Forget the resource's session and its pacing state (UNINSTALL).
        fn forget(&mut self, resource_id: &str) -> bool {
            self.inner.forget(resource_id)
        }
        /// `(company_id, location_id)` of a minted location session, else None.
        fn minted_from(&self, resource_id: &str) -> Option<(String, String)> {
            let m = self.inner.session(resource_id)?.minted_from()?;
            Some((m.company_id.clone(), m.location_id.clone()))
        }
        /// The plan of a verified delivery (load `webhook_reads(body)` first); raises
        /// `MalformedResponseError` when the body is not an event.
        fn plan_webhook(&self, body: &Bound<'_, PyAny>) -> PyResult<PyWebhookPlan> {
            let event = core::parse_webhook_event(&body_bytes(body)?).or_raise()?;
            Ok(PyWebhookPlan { inner: self.inner.plan_webhook(&event) })
        }
        /// Keywords besides `limits`: the fields of the core's `SessionOptions`.
        #[new]
        #[pyo3(signature = (config, *, limits=None, **options))]
        fn new(
            config: PyRef<'_, PyConfig>,
            limits: Option<PyRef<'_, PyLimits>>,
            options: Option<&Bound<'_, PyDict>>,
        ) -> PyResult<Self> {
            let options = options!(core::SessionOptions, options)?;
            let limits = limits.map(|l| l.inner).unwrap_or_default();
            Ok(PyPool { inner: core::Pool::new(config.inner.clone(), options, limits) })
        }
        #[getter]
        fn config(&self) -> PyConfig {
            PyConfig { inner: self.inner.config().clone() }
        }
        /// Load a token set for `resource_id` (default: the set's location or company). Returns the id.
        #[pyo3(signature = (tokens, resource_id=None))]
        fn load_tokens(&mut self, tokens: PyRef<'_, PyTokenSet>, resource_id: Option<&str>) -> PyResult<String> {
            self.inner.load_tokens(resource_id, tokens.inner.clone()).or_raise()
        }
        fn load_private(&mut self, resource_id: &str, token: &str) -> PyResult<()> {
            self.inner.load_private(resource_id, core::Secret::new(token)).or_raise()
        }
        /// Restore `resource_id` from its stored JSON.
        fn load_stored(&mut self, resource_id: &str, stored: &str) -> PyResult<()> {
            self.inner.load_stored(resource_id, stored).or_raise()
        }
        fn stored_json(&self, resource_id: &str) -> Option<String> {
            self.inner.stored_json(resource_id)
        }
        fn has_session(&self, resource_id: &str) -> bool {
            self.inner.has_session(resource_id)
        }
        fn knows(&self, resource_id: &str) -> bool {
            self.inner.session(resource_id).is_some()
        }
        fn token_set(&self, resource_id: &str) -> Option<PyTokenSet> {
            self.inner.session(resource_id).and_then(|s| s.token_set()).map(|t| PyTokenSet { inner: t.clone() })
        }
        fn needs_reauthorization(&self, resource_id: &str) -> bool {
            self.inner.session(resource_id).is_some_and(|s| s.needs_reauthorization())
        }
        fn remove(&mut self, resource_id: &str) -> bool {
            self.inner.remove(resource_id)
        }
        fn resources(&self) -> Vec<String> {
            let mut v: Vec<String> = self.inner.resources().map(str::to_owned).collect();
            v.sort();
            v
        }
        /// The limits in force for `resource_id` (learned from the server's headers), if it has a limiter.
        fn limits(&self, resource_id: &str) -> Option<PyLimits> {
            self.inner.limiters().get(resource_id).map(|l| PyLimits { inner: l.limits() })
        }

        /// The answer to the last `send` / `send_refresh` (feed it as soon as it arrives).
        #[pyo3(signature = (call, resource_id, status, headers, body, now_ms, random))]
        #[allow(clippy::too_many_arguments)]
        fn response(
            &mut self,
            call: &Bound<'_, PyCall>,
            resource_id: &str,
            status: &Bound<'_, PyAny>,
            headers: &Bound<'_, PyAny>,
            body: &Bound<'_, PyAny>,
            now_ms: &Bound<'_, PyAny>,
            random: &Bound<'_, PyAny>,
        ) -> PyResult<PyStep> {
            let resp = core::Response::new(status_of(status)?, pairs(Some(headers))?, body_bytes(body)?.into_owned());
            self.step_with(call, resource_id, core::Event::Response(resp), now_ms, random)
        }
        /// End `call` early (cancelled, timed out, failed in the driver): releases its refresh
        /// lease, a save under way (tokens stay unsaved) and its rate-limit slot. Idempotent.
        fn abort(&mut self, call: &Bound<'_, PyCall>, resource_id: &str, now_ms: &Bound<'_, PyAny>) -> PyResult<()> {
            let now_ms = ms_of(now_ms, "now_ms")?;
            let mut call = call.try_borrow_mut()?;
            self.inner.abort(&mut call.inner.0, resource_id, now_ms);
            Ok(())
        }
        /// Whether `resource_id` holds tokens its store does not (a save failed).
        fn is_unsaved(&self, resource_id: &str) -> bool {
            self.inner.is_unsaved(resource_id)
        }
        /// Start an explicit save (a flush): the stored JSON to save, then `end_save`; `None`
        /// when there is nothing to save or a save is under way.
        fn begin_save(&mut self, resource_id: &str) -> Option<String> {
            self.inner.begin_save(resource_id)
        }
        /// Finish the save begun by `begin_save` (`saved=False` keeps the tokens unsaved).
        fn end_save(&mut self, resource_id: &str, saved: &Bound<'_, PyAny>) -> PyResult<()> {
            let saved = opt_flag(Some(saved), "saved")?.ok_or_else(|| invalid_arg("saved must be a bool"))?;
            self.inner.end_save(resource_id, saved);
            Ok(())
        }
        /// Resources holding tokens their store does not, sorted.
        fn unsaved_resources(&self) -> Vec<String> {
            let mut v: Vec<String> = self.inner.unsaved_resources().map(str::to_owned).collect();
            v.sort();
            v
        }
        /// Coordinated mode: take `resource_id`'s state (token session and limiter) from its
        /// shared record (`None`: nothing stored yet). Unsaved local tokens newer than the
        /// record's are kept.
        #[pyo3(signature = (resource_id, record))]
        fn load_shared(&mut self, resource_id: &str, record: Option<&str>) -> PyResult<()> {
            self.inner.load_shared(resource_id, record).or_raise()
        }
        /// Coordinated mode: the record to compare-and-set after a step (sealed with `nonce`,
        /// exactly 24 random bytes, when keys are set), or `None` when nothing others must see
        /// changed since `load_shared`.
        fn export_shared(&mut self, resource_id: &str, nonce: &Bound<'_, PyAny>) -> PyResult<Option<String>> {
            let bytes: &[u8] = match nonce.cast::<PyBytes>() {
                Ok(b) => b.as_bytes(),
                Err(_) => return Err(invalid_arg("nonce must be 24 random bytes")),
            };
            let nonce: [u8; 24] = bytes.try_into().map_err(|_| invalid_arg("nonce must be exactly 24 bytes"))?;
            self.inner.export_shared(resource_id, &nonce).or_raise()
        }
        /// Coordinated mode: the record exported last was written (its tokens are saved).
        fn shared_written(&mut self, resource_id: &str) {
            self.inner.shared_written(resource_id);
        }
        /// Seal shared records with these 32-byte keys (the first seals, every one opens);
        /// `None` or `[]` turns sealing off.
        #[pyo3(signature = (keys))]
        fn set_keys(&mut self, keys: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
            let Some(keys) = keys.filter(|k| !k.is_none()) else {
                self.inner.set_sealer(None);
                return Ok(());
            };
            if keys.is_instance_of::<PyBytes>() || keys.is_instance_of::<PyString>() {
                return Err(invalid_arg("keys must be a list of 32-byte keys"));
            }
            let mut raw: Vec<Vec<u8>> = Vec::new();
            for k in keys.try_iter().map_err(|_| invalid_arg("keys must be a list of 32-byte keys"))? {
                let k = k?;
                let b = k.cast::<PyBytes>().map_err(|_| invalid_arg("each key must be bytes (32 of them)"))?;
                raw.push(b.as_bytes().to_vec());
            }
            if raw.is_empty() {
                self.inner.set_sealer(None);
                return Ok(());
            }
            let refs: Vec<&[u8]> = raw.iter().map(Vec::as_slice).collect();
            let sealer = core::Sealer::new(&refs).or_raise()?;
            self.inner.set_sealer(Some(sealer));
            Ok(())
        }
        fn __repr__(&self) -> String {
            format!("Pool(resources={:?})", self.resources())
        }
    }
}

// ---------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------

/// An Ed25519 webhook verifying key (public data).
#[pyclass(name = "WebhookKey", module = "hoopauth._hoopauth", frozen)]
#[derive(Clone)]
struct PyWebhookKey {
    inner: core::WebhookKey,
}

#[pymethods]
impl PyWebhookKey {
    /// PEM SPKI, base64 SPKI DER, or the raw 32-byte key as base64 or hex.
    #[staticmethod]
    fn parse(text: &str) -> PyResult<Self> {
        Ok(PyWebhookKey { inner: core::WebhookKey::parse(text).or_raise()? })
    }
    /// The platform's published key.
    #[staticmethod]
    fn platform() -> Self {
        PyWebhookKey { inner: core::WebhookKey::platform() }
    }
    fn to_bytes<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.to_bytes())
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<PyWebhookKey>().is_ok_and(|o| o.get().inner == self.inner)
    }
    fn __repr__(&self) -> String {
        let hex: String = self.inner.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        format!("WebhookKey(ed25519='{hex}')")
    }
}

fn key_from(obj: Option<&Bound<'_, PyAny>>) -> PyResult<core::WebhookKey> {
    match obj {
        None => Ok(core::WebhookKey::platform()),
        Some(o) if o.is_none() => Ok(core::WebhookKey::platform()),
        Some(o) => {
            if let Ok(k) = o.cast::<PyWebhookKey>() {
                return Ok(k.get().inner);
            }
            let text: String =
                o.extract().map_err(|_| PyTypeError::new_err("public_key must be a str or a WebhookKey"))?;
            core::WebhookKey::parse(&text).or_raise()
        }
    }
}

record! {
    /// The outcome of a verification: truthy when valid; `reason` is `ok`, `bad_signature`,
    /// `stale` or `duplicate`.
    PyVerification(core::Verification) as "Verification", frozen;
    valid: bool = |v| v.valid;
    reason: &'static str = |v| v.reason.as_str();
    @impl {
        /// The outcome for a delivery whose `webhookId` was seen before (shared duplicate
        /// detection in `hoopauth.shared`).
        #[staticmethod]
        fn duplicate() -> PyVerification {
            PyVerification { inner: core::Verification { valid: false, reason: core::VerifyReason::Duplicate } }
        }
        fn __bool__(&self) -> bool {
            self.inner.valid
        }
    }
}

/// Verify an `x-ghl-signature` delivery over the raw body. Never raises for a bad
/// signature (only for an unreadable key).
#[pyfunction]
#[pyo3(signature = (body, signature, *, public_key=None, now_ms=None, max_age_ms=None))]
fn verify_webhook(
    body: &Bound<'_, PyAny>,
    signature: Option<&str>,
    public_key: Option<&Bound<'_, PyAny>>,
    now_ms: Option<&Bound<'_, PyAny>>,
    max_age_ms: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyVerification> {
    let now_ms = opt_ms(now_ms, "now_ms")?;
    let max_age_ms = opt_ms(max_age_ms, "max_age_ms")?;
    let key = key_from(public_key)?;
    let body = body_bytes(body)?;
    Ok(PyVerification {
        inner: core::verify_webhook(
            &key,
            &body,
            signature,
            now_ms,
            max_age_ms.unwrap_or(core::DEFAULT_MAX_AGE_MS),
        ),
    })
}

record! {
    /// A webhook receiver: keys, age limit and a bounded memory of accepted `webhookId`s.
    PyWebhookVerifier(core::WebhookVerifier) as "WebhookVerifier";
    max_age_ms: u64 = |v| v.max_age_ms();
    seen_len: usize = |v| v.seen_len();
    @impl {
        #[new]
        #[pyo3(signature = (public_key=None, *, max_age_ms=None, seen_capacity=None, legacy_rsa_key=None))]
        fn new(
            public_key: Option<&Bound<'_, PyAny>>,
            max_age_ms: Option<&Bound<'_, PyAny>>,
            seen_capacity: Option<&Bound<'_, PyAny>>,
            legacy_rsa_key: Option<&Bound<'_, PyAny>>,
        ) -> PyResult<Self> {
            let max_age_ms = opt_ms(max_age_ms, "max_age_ms")?;
            let seen_capacity = match seen_capacity {
                Some(c) if !c.is_none() => Some(uint_of(c, "seen_capacity", u32::MAX as u64, false)? as usize),
                _ => None,
            };
            let key = key_from(public_key)?;
            let mut v = match seen_capacity {
                Some(c) => core::WebhookVerifier::with_capacity(key, c),
                None => core::WebhookVerifier::new(key),
            };
            if let Some(m) = max_age_ms {
                v = v.with_max_age_ms(m);
            }
            if let Some(r) = legacy_rsa_key {
                if r.is_instance_of::<PyBool>() {
                    if r.extract::<bool>()? {
                        v = v.with_rsa_key(core::RsaWebhookKey::platform().or_raise()?);
                    }
                } else if !r.is_none() {
                    let pem: String = r.extract()?;
                    v = v.with_rsa_key(core::RsaWebhookKey::parse(&pem).or_raise()?);
                }
            }
            Ok(PyWebhookVerifier { inner: v })
        }
        /// Verify a delivery from its raw body and its headers (a mapping or pairs).
        fn verify(
            &mut self,
            body: &Bound<'_, PyAny>,
            headers: &Bound<'_, PyAny>,
            now_ms: &Bound<'_, PyAny>,
        ) -> PyResult<PyVerification> {
            let now_ms = ms_of(now_ms, "now_ms")?;
            let body = body_bytes(body)?;
            let headers = pairs(Some(headers))?;
            Ok(PyVerification { inner: self.inner.verify_headers(&body, &headers, now_ms) })
        }
        fn clear_seen(&mut self) {
            self.inner.clear_seen();
        }
        /// Forget one accepted `webhook_id`: the same delivery is accepted again.
        fn forget_seen(&mut self, webhook_id: &str) {
            self.inner.forget_seen(webhook_id);
        }
    }
}

fn event_field<'a>(e: &'a serde_json::Map<String, Value>, name: &str) -> Option<&'a str> {
    e.get(name).and_then(Value::as_str)
}

record! {
    /// A parsed webhook body: `type` plus the fields of INSTALL / UNINSTALL events; other
    /// events keep the whole body in `body`.
    PyWebhookEvent((String, serde_json::Map<String, Value>)) as "WebhookEvent", frozen;
    r#type: &str = |e| &e.0;
    app_id [hidden]: Option<&str> = |e| event_field(&e.1, "app_id");
    location_id: Option<&str> = |e| event_field(&e.1, "location_id");
    company_id: Option<&str> = |e| event_field(&e.1, "company_id");
    user_id [hidden]: Option<&str> = |e| event_field(&e.1, "user_id");
    version_id [hidden]: Option<&str> = |e| event_field(&e.1, "version_id");
    install_type [hidden]: Option<&str> = |e| event_field(&e.1, "install_type");
    company_name [hidden]: Option<&str> = |e| event_field(&e.1, "company_name");
    plan_id [hidden]: Option<&str> = |e| event_field(&e.1, "plan_id");
    timestamp [hidden]: Option<&str> = |e| event_field(&e.1, "timestamp");
    webhook_id: Option<&str> = |e| event_field(&e.1, "webhook_id");
    @impl {
        /// The whole body, for events other than INSTALL / UNINSTALL.
        #[getter]
        fn body<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
            self.inner.1.get("body").map(|v| to_py!(py, v)).transpose()
        }
        fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
            to_py!(py, &self.inner.1)
        }
    }
}

/// Parse a webhook body into an event (`malformed_response` when it is not one).
#[pyfunction]
fn parse_webhook_event(body: &Bound<'_, PyAny>) -> PyResult<PyWebhookEvent> {
    let body = body_bytes(body)?;
    let event = core::parse_webhook_event(&body).or_raise()?;
    let event_type = event.event_type().to_owned();
    let value = match serde_json::to_value(&event) {
        Ok(Value::Object(m)) => m,
        _ => return Err(to_py_err(core::Error::new(core::ErrorKind::MalformedResponse, "webhook event"))),
    };
    Ok(PyWebhookEvent { inner: (event_type, value) })
}

record! {
    /// What a verified webhook delivery asks of the driver: locations to mint (`mint`, from
    /// `company_id`), resources to forget (`forget`); `reply(changed)` is the answer.
    PyWebhookPlan(core::WebhookPlan) as "WebhookPlan", frozen;
    event_type: &str = |p| &p.event_type;
    webhook_id: Option<&str> = |p| p.webhook_id.as_deref();
    company_id: Option<&str> = |p| p.company_id.as_deref();
    mint: Vec<String> = |p| p.mint.clone();
    forget: Vec<String> = |p| p.forget.clone();
    skip: Option<&str> = |p| p.skip.as_deref();
    @impl {
        /// `(status, reason)` to answer once the plan ran and `changed` resources changed.
        fn reply(&self, changed: usize) -> (u16, String) {
            let r = self.inner.reply(changed);
            (r.status, r.reason)
        }
        /// `(status, reason)` for a delivery the verifier rejected (its `reason`), None for `ok`.
        #[staticmethod]
        fn rejected(reason: &str) -> PyResult<Option<(u16, String)>> {
            let r = core::VerifyReason::from_name(reason).ok_or_else(|| {
                to_py_err(core::Error::new(core::ErrorKind::InvalidArgument, "reason must be ok, bad_signature, stale or duplicate"))
            })?;
            Ok(core::WebhookPlan::rejected_for(r).map(|r| (r.status, r.reason)))
        }
        /// `(400, "malformed")`: a verified delivery that is not an event.
        #[staticmethod]
        fn malformed() -> (u16, String) {
            let r = core::WebhookPlan::malformed(&core::Error::new(core::ErrorKind::MalformedResponse, "malformed"));
            (r.status, r.reason)
        }
    }
}

/// The resources to load before `Pool.plan_webhook(body)` (the event's company and location).
#[pyfunction]
fn webhook_reads(body: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    let event = core::parse_webhook_event(&body_bytes(body)?).or_raise()?;
    Ok(core::webhook_reads(&event))
}

// ---------------------------------------------------------------------------------------
// Module
// ---------------------------------------------------------------------------------------

/// The Redis key of a resource's shared record under `prefix`.
#[pyfunction]
fn redis_key(prefix: &str, resource_id: &str) -> String {
    core::redis_key(prefix, resource_id)
}

/// The Redis key marking a webhook delivery as seen under `prefix`.
#[pyfunction]
fn redis_webhook_key(prefix: &str, webhook_id: &str) -> String {
    core::redis_webhook_key(prefix, webhook_id)
}

#[pymodule]
fn _hoopauth(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("DEFAULT_API_BASE", core::DEFAULT_API_BASE)?;
    m.add("DEFAULT_API_VERSION", core::DEFAULT_API_VERSION)?;
    m.add("REDIS_READ_SCRIPT", core::REDIS_READ_SCRIPT)?;
    m.add("REDIS_CAS_SCRIPT", core::REDIS_CAS_SCRIPT)?;
    m.add("SQLITE_SCHEMA", core::SQLITE_SCHEMA)?;
    m.add("SHARED_TTL_MS", core::SHARED_TTL_MS)?;
    m.add("SHARED_LEASE_MS", core::SHARED_LEASE_MS)?;
    m.add_class::<PyConfig>()?;
    m.add_class::<PyRequest>()?;
    m.add_class::<PyTokenSet>()?;
    m.add_class::<PyCallback>()?;
    m.add_class::<PyClassification>()?;
    m.add_class::<PyRateLimitHeaders>()?;
    m.add_class::<PyLimits>()?;
    m.add_class::<PyDecision>()?;
    m.add_class::<PyRateLimiter>()?;
    m.add_class::<PySessionAction>()?;
    m.add_class::<PyTokenSession>()?;
    m.add_class::<PyCall>()?;
    m.add_class::<PyStep>()?;
    m.add_class::<PyPool>()?;
    m.add_class::<PyWebhookKey>()?;
    m.add_class::<PyVerification>()?;
    m.add_class::<PyWebhookVerifier>()?;
    m.add_class::<PyWebhookEvent>()?;
    m.add_class::<PyWebhookPlan>()?;
    m.add_function(wrap_pyfunction!(error_kinds, m)?)?;
    m.add_function(wrap_pyfunction!(error_family, m)?)?;
    m.add_function(wrap_pyfunction!(parse_token_response, m)?)?;
    m.add_function(wrap_pyfunction!(parse_callback, m)?)?;
    m.add_function(wrap_pyfunction!(generate_state, m)?)?;
    m.add_function(wrap_pyfunction!(states_equal, m)?)?;
    m.add_function(wrap_pyfunction!(is_known_scope, m)?)?;
    m.add_function(wrap_pyfunction!(suggest_scope, m)?)?;
    m.add_function(wrap_pyfunction!(known_scopes, m)?)?;
    m.add_function(wrap_pyfunction!(classify_response, m)?)?;
    m.add_function(wrap_pyfunction!(parse_rate_limit_headers, m)?)?;
    m.add_function(wrap_pyfunction!(verify_webhook, m)?)?;
    m.add_function(wrap_pyfunction!(parse_webhook_event, m)?)?;
    m.add_function(wrap_pyfunction!(redis_key, m)?)?;
    m.add_function(wrap_pyfunction!(redis_webhook_key, m)?)?;
    m.add_function(wrap_pyfunction!(webhook_reads, m)?)?;
    Ok(())
}
