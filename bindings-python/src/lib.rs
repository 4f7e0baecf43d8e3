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
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyList, PyString, PyTuple};
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

fn opt_u32(obj: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<Option<u32>> {
    match obj {
        Some(o) if !o.is_none() => uint_of(o, name, u32::MAX as u64, false).map(|v| Some(v as u32)),
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

/// Replace every occurrence of a known secret (client secret, tokens) in `text`.
fn scrub(text: &str, secrets: &[String]) -> Option<String> {
    let mut out: Option<String> = None;
    for s in secrets {
        if s.len() < 4 {
            continue;
        }
        let cur = out.as_deref().unwrap_or(text);
        if cur.contains(s.as_str()) {
            out = Some(cur.replace(s.as_str(), REDACTED));
        }
    }
    out
}

/// The error with known secrets scrubbed from its message (server text copied into it).
fn scrub_error(e: core::Error, secrets: &[String]) -> core::Error {
    match scrub(e.message(), secrets) {
        None => e,
        Some(msg) => {
            let mut n = core::Error::new(e.kind(), msg).with_retry_after_ms(e.retry_after_ms());
            if let Some(st) = e.status() {
                n = n.with_status(st);
            }
            n
        }
    }
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

fn pairs_to_py<'py>(py: Python<'py>, pairs: &[(String, String)]) -> PyResult<Bound<'py, PyList>> {
    let list = PyList::empty(py);
    for (k, v) in pairs {
        list.append(PyTuple::new(py, [k.as_str(), v.as_str()])?)?;
    }
    Ok(list)
}

fn value_to_py<'py>(py: Python<'py>, v: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else {
                PyFloat::new(py, n.as_f64().unwrap_or(f64::NAN)).into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for i in items {
                list.append(value_to_py(py, i)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let d = PyDict::new(py);
            for (k, v) in map {
                d.set_item(k, value_to_py(py, v)?)?;
            }
            d.into_any()
        }
    })
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

fn py_repr_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\'' => out.push_str("\\'"),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&c.escape_default().to_string()),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

fn opt_repr(s: Option<&str>) -> String {
    s.map(py_repr_str).unwrap_or_else(|| "None".into())
}

// ---------------------------------------------------------------------------------------
// Config
// ---------------------------------------------------------------------------------------

/// A validated app configuration. `repr()` never shows the client secret.
#[pyclass(name = "Config", module = "hoopauth._hoopauth", frozen)]
#[derive(Clone)]
struct PyConfig {
    inner: core::Config,
}

#[pymethods]
impl PyConfig {
    #[new]
    #[pyo3(signature = (client_id, *, client_secret=None, redirect_uri=None, marketplace=None, api_base=None, api_version=None))]
    fn new(
        client_id: String,
        client_secret: Option<String>,
        redirect_uri: Option<String>,
        marketplace: Option<String>,
        api_base: Option<String>,
        api_version: Option<String>,
    ) -> PyResult<Self> {
        let inner = core::Config::new(core::ConfigOptions {
            client_id,
            client_secret: client_secret.map(core::Secret::new),
            redirect_uri,
            marketplace,
            api_base,
            api_version,
        })
        .or_raise()?;
        Ok(PyConfig { inner })
    }

    #[getter]
    fn client_id(&self) -> &str {
        self.inner.client_id()
    }
    #[getter]
    fn has_client_secret(&self) -> bool {
        self.inner.client_secret().is_some()
    }
    #[getter]
    fn redirect_uri(&self) -> Option<&str> {
        self.inner.redirect_uri()
    }
    #[getter]
    fn marketplace_base(&self) -> &str {
        self.inner.marketplace_base()
    }
    #[getter]
    fn api_base(&self) -> &str {
        self.inner.api_base()
    }
    #[getter]
    fn api_version(&self) -> &str {
        self.inner.api_version()
    }
    #[getter]
    fn version_id(&self) -> &str {
        self.inner.version_id()
    }

    /// The marketplace URL that asks the user to install the app.
    #[pyo3(signature = (scopes, *, state=None, login_window_open_mode=None, version_id=None))]
    fn authorization_url(
        &self,
        scopes: Vec<String>,
        state: Option<String>,
        login_window_open_mode: Option<String>,
        version_id: Option<String>,
    ) -> PyResult<String> {
        self.inner
            .authorization_url(&core::AuthorizationParams { scopes, state, login_window_open_mode, version_id })
            .or_raise()
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

    fn __repr__(&self) -> String {
        format!(
            "Config(client_id={}, client_secret={}, redirect_uri={}, api_base={})",
            py_repr_str(self.inner.client_id()),
            if self.inner.client_secret().is_some() { REDACTED } else { "None" },
            opt_repr(self.inner.redirect_uri()),
            py_repr_str(self.inner.api_base()),
        )
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
// Request
// ---------------------------------------------------------------------------------------

/// An HTTP request for any client to send: `method`, `url`, `headers` (list of pairs),
/// `body` (bytes). `repr()` hides the Authorization header and the body.
#[pyclass(name = "Request", module = "hoopauth._hoopauth", frozen)]
struct PyRequest {
    inner: core::Request,
}

#[pymethods]
impl PyRequest {
    #[getter]
    fn method(&self) -> &'static str {
        self.inner.method.as_str()
    }
    #[getter]
    fn url(&self) -> &str {
        &self.inner.url
    }
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        pairs_to_py(py, &self.inner.headers)
    }
    /// The headers as a dict.
    #[getter]
    fn headers_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in &self.inner.headers {
            d.set_item(k, v)?;
        }
        Ok(d)
    }
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.body)
    }
    /// The body decoded as UTF-8.
    #[getter]
    fn body_text(&self) -> &str {
        self.inner.body_text()
    }
    /// First value of a header (name case-insensitive).
    fn header(&self, name: &str) -> Option<&str> {
        self.inner.header(name)
    }
    fn __repr__(&self) -> String {
        let headers: Vec<String> = self
            .inner
            .headers
            .iter()
            .map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("authorization") { REDACTED } else { v.as_str() };
                format!("({}, {})", py_repr_str(k), py_repr_str(v))
            })
            .collect();
        format!(
            "Request(method='{}', url={}, headers=[{}], body=<{} bytes redacted>)",
            self.inner.method.as_str(),
            py_repr_str(&self.inner.url),
            headers.join(", "),
            self.inner.body.len()
        )
    }
}

// ---------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------

/// A parsed token response. The tokens are attributes; `repr()` redacts them.
#[pyclass(name = "TokenSet", module = "hoopauth._hoopauth", frozen)]
#[derive(Clone)]
struct PyTokenSet {
    inner: core::TokenSet,
}

#[pymethods]
impl PyTokenSet {
    #[getter]
    fn access_token(&self) -> &str {
        self.inner.access_token.expose()
    }
    #[getter]
    fn token_type(&self) -> Option<&str> {
        self.inner.token_type.as_deref()
    }
    #[getter]
    fn expires_in(&self) -> Option<u64> {
        self.inner.expires_in
    }
    #[getter]
    fn expires_at_ms(&self) -> Option<u64> {
        self.inner.expires_at_ms
    }
    #[getter]
    fn refresh_token(&self) -> Option<&str> {
        self.inner.refresh_token.as_ref().map(|s| s.expose())
    }
    #[getter]
    fn scopes(&self) -> Vec<String> {
        self.inner.scopes.clone()
    }
    #[getter]
    fn user_type(&self) -> Option<&'static str> {
        self.inner.user_type.map(|u| u.as_str())
    }
    #[getter]
    fn location_id(&self) -> Option<&str> {
        self.inner.location_id.as_deref()
    }
    #[getter]
    fn company_id(&self) -> Option<&str> {
        self.inner.company_id.as_deref()
    }
    #[getter]
    fn approved_locations(&self) -> Option<Vec<String>> {
        self.inner.approved_locations.clone()
    }
    #[getter]
    fn plan_id(&self) -> Option<&str> {
        self.inner.plan_id.as_deref()
    }
    #[getter]
    fn is_bulk_installation(&self) -> Option<bool> {
        self.inner.is_bulk_installation
    }
    #[getter]
    fn user_id(&self) -> Option<&str> {
        self.inner.user_id.as_deref()
    }
    /// Fields of the response hoopauth does not know, as sent.
    #[getter]
    fn extra<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (k, v) in &self.inner.extra {
            d.set_item(k, value_to_py(py, v)?)?;
        }
        Ok(d)
    }
    /// The location id, else the company id: the resource the tokens act for.
    #[getter]
    fn resource_id(&self) -> Option<&str> {
        self.inner.resource_id()
    }
    /// Whether the access token has expired at `now_ms` (no leeway).
    fn is_expired(&self, now_ms: &Bound<'_, PyAny>) -> PyResult<bool> {
        let now_ms = ms_of(now_ms, "now_ms")?;
        Ok(self.inner.expires_at_ms.is_some_and(|at| now_ms >= at))
    }

    /// A stable dict form (holds the tokens: keep it as secret as they are).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let t = &self.inner;
        let d = PyDict::new(py);
        d.set_item("access_token", t.access_token.expose())?;
        d.set_item("token_type", t.token_type.as_deref())?;
        d.set_item("expires_in", t.expires_in)?;
        d.set_item("expires_at_ms", t.expires_at_ms)?;
        d.set_item("refresh_token", t.refresh_token.as_ref().map(|s| s.expose()))?;
        d.set_item("scopes", t.scopes.clone())?;
        d.set_item("user_type", t.user_type.map(|u| u.as_str()))?;
        d.set_item("location_id", t.location_id.as_deref())?;
        d.set_item("company_id", t.company_id.as_deref())?;
        d.set_item("approved_locations", t.approved_locations.clone())?;
        d.set_item("plan_id", t.plan_id.as_deref())?;
        d.set_item("is_bulk_installation", t.is_bulk_installation)?;
        d.set_item("user_id", t.user_id.as_deref())?;
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
        let inner: core::TokenSet = serde_json::from_str(json)
            .map_err(|_| to_py_err(core::Error::new(core::ErrorKind::InvalidArgument, "not a token set JSON")))?;
        Ok(PyTokenSet { inner })
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<PyTokenSet>() {
            Ok(o) => o.get().inner == self.inner,
            Err(_) => false,
        }
    }

    fn __repr__(&self) -> String {
        let t = &self.inner;
        format!(
            "TokenSet(access_token={REDACTED}, refresh_token={}, token_type={}, expires_at_ms={}, scopes=[{}], user_type={}, location_id={}, company_id={})",
            if t.refresh_token.is_some() { REDACTED } else { "None" },
            opt_repr(t.token_type.as_deref()),
            t.expires_at_ms.map(|v| v.to_string()).unwrap_or_else(|| "None".into()),
            t.scopes.iter().map(|s| py_repr_str(s)).collect::<Vec<_>>().join(", "),
            opt_repr(t.user_type.map(|u| u.as_str())),
            opt_repr(t.location_id.as_deref()),
            opt_repr(t.company_id.as_deref()),
        )
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

/// The authorization redirect's `code` and `state`. `repr()` hides the code.
#[pyclass(name = "Callback", module = "hoopauth._hoopauth", frozen)]
struct PyCallback {
    inner: core::Callback,
}

#[pymethods]
impl PyCallback {
    #[getter]
    fn code(&self) -> &str {
        self.inner.code.expose()
    }
    #[getter]
    fn state(&self) -> Option<&str> {
        self.inner.state.as_deref()
    }
    fn __repr__(&self) -> String {
        format!("Callback(code={REDACTED}, state={})", opt_repr(self.inner.state.as_deref()))
    }
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

/// What an API response means.
#[pyclass(name = "Classification", module = "hoopauth._hoopauth", frozen)]
struct PyClassification {
    inner: core::Classification,
}

#[pymethods]
impl PyClassification {
    /// `ok`, `unauthorized`, `insufficient_scope`, `token_type_mismatch`, `forbidden`,
    /// `not_found`, `rate_limited`, `server_error`, `client_error`, `unexpected_status`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind.as_str()
    }
    #[getter]
    fn status(&self) -> u16 {
        self.inner.status
    }
    #[getter]
    fn ok(&self) -> bool {
        self.inner.kind == core::ResponseKind::Ok
    }
    #[getter]
    fn retryable(&self) -> bool {
        self.inner.retryable
    }
    #[getter]
    fn rate_limit_scope(&self) -> Option<&'static str> {
        self.inner.rate_limit_scope.map(|s| s.as_str())
    }
    #[getter]
    fn retry_after_ms(&self) -> Option<u64> {
        self.inner.retry_after_ms
    }
    #[getter]
    fn message(&self) -> Option<&str> {
        self.inner.message.as_deref()
    }
    /// The exception this response stands for (`None` for `ok`).
    fn error<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.inner.to_error() {
            Some(e) => Ok(Some(error_value(py, &e, false)?)),
            None => Ok(None),
        }
    }
    /// Raise the exception this response stands for; nothing for `ok`.
    fn raise_for_error(&self, py: Python<'_>) -> PyResult<()> {
        match self.inner.to_error() {
            Some(e) => Err(to_py_err_with(py, &e, false)),
            None => Ok(()),
        }
    }
    fn __repr__(&self) -> String {
        format!(
            "Classification(kind='{}', status={}, retryable={}, rate_limit_scope={}, retry_after_ms={})",
            self.inner.kind.as_str(),
            self.inner.status,
            if self.inner.retryable { "True" } else { "False" },
            opt_repr(self.inner.rate_limit_scope.map(|s| s.as_str())),
            self.inner.retry_after_ms.map(|v| v.to_string()).unwrap_or_else(|| "None".into()),
        )
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

/// The `X-RateLimit-*` headers of a response.
#[pyclass(name = "RateLimitHeaders", module = "hoopauth._hoopauth", frozen)]
struct PyRateLimitHeaders {
    inner: core::RateLimitHeaders,
}

#[pymethods]
impl PyRateLimitHeaders {
    #[getter]
    fn max(&self) -> Option<u64> {
        self.inner.max
    }
    #[getter]
    fn interval_ms(&self) -> Option<u64> {
        self.inner.interval_ms
    }
    #[getter]
    fn remaining(&self) -> Option<u64> {
        self.inner.remaining
    }
    #[getter]
    fn daily_limit(&self) -> Option<u64> {
        self.inner.daily_limit
    }
    #[getter]
    fn daily_remaining(&self) -> Option<u64> {
        self.inner.daily_remaining
    }
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("max", self.inner.max)?;
        d.set_item("interval_ms", self.inner.interval_ms)?;
        d.set_item("remaining", self.inner.remaining)?;
        d.set_item("daily_limit", self.inner.daily_limit)?;
        d.set_item("daily_remaining", self.inner.daily_remaining)?;
        Ok(d)
    }
    fn __repr__(&self) -> String {
        let f = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_else(|| "None".into());
        let h = &self.inner;
        format!(
            "RateLimitHeaders(max={}, interval_ms={}, remaining={}, daily_limit={}, daily_remaining={})",
            f(h.max),
            f(h.interval_ms),
            f(h.remaining),
            f(h.daily_limit),
            f(h.daily_remaining)
        )
    }
}

#[pyfunction]
fn parse_rate_limit_headers(headers: &Bound<'_, PyAny>) -> PyResult<PyRateLimitHeaders> {
    Ok(PyRateLimitHeaders { inner: core::parse_rate_limit_headers(&pairs(Some(headers))?) })
}

/// Pacing limits of one resource (defaults: 100 per 10 s, 50 ms margin, 200,000 a day).
#[pyclass(name = "Limits", module = "hoopauth._hoopauth", frozen)]
#[derive(Clone)]
struct PyLimits {
    inner: core::Limits,
}

#[pymethods]
impl PyLimits {
    #[new]
    #[pyo3(signature = (*, max=None, interval_ms=None, margin_ms=None, daily_max=None, answer_timeout_ms=None))]
    fn new(
        max: Option<&Bound<'_, PyAny>>,
        interval_ms: Option<&Bound<'_, PyAny>>,
        margin_ms: Option<&Bound<'_, PyAny>>,
        daily_max: Option<&Bound<'_, PyAny>>,
        answer_timeout_ms: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let d = core::Limits::default();
        let daily_max = match daily_max {
            Some(o) if !o.is_none() => Some(uint_of(o, "daily_max", u64::MAX, false)?),
            _ => None,
        };
        let inner = core::Limits {
            max: opt_u32(max, "max")?.unwrap_or(d.max),
            interval_ms: opt_ms(interval_ms, "interval_ms")?.unwrap_or(d.interval_ms),
            margin_ms: opt_ms(margin_ms, "margin_ms")?.unwrap_or(d.margin_ms),
            daily_max: daily_max.unwrap_or(d.daily_max),
            answer_timeout_ms: opt_ms(answer_timeout_ms, "answer_timeout_ms")?.unwrap_or(d.answer_timeout_ms),
        };
        if inner.max == 0 || inner.interval_ms == 0 {
            return Err(to_py_err(core::Error::new(core::ErrorKind::InvalidArgument, "max and interval_ms must be positive")));
        }
        Ok(PyLimits { inner })
    }
    #[getter]
    fn max(&self) -> u32 {
        self.inner.max
    }
    #[getter]
    fn interval_ms(&self) -> u64 {
        self.inner.interval_ms
    }
    #[getter]
    fn margin_ms(&self) -> u64 {
        self.inner.margin_ms
    }
    #[getter]
    fn daily_max(&self) -> u64 {
        self.inner.daily_max
    }
    #[getter]
    fn answer_timeout_ms(&self) -> u64 {
        self.inner.answer_timeout_ms
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<PyLimits>().is_ok_and(|o| o.get().inner == self.inner)
    }
    fn __repr__(&self) -> String {
        let l = &self.inner;
        format!(
            "Limits(max={}, interval_ms={}, margin_ms={}, daily_max={}, answer_timeout_ms={})",
            l.max, l.interval_ms, l.margin_ms, l.daily_max, l.answer_timeout_ms
        )
    }
}

/// A pacing verdict: truthy when the send may go now.
#[pyclass(name = "Decision", module = "hoopauth._hoopauth", frozen)]
struct PyDecision {
    inner: core::Decision,
}

#[pymethods]
impl PyDecision {
    #[getter]
    fn allowed(&self) -> bool {
        self.inner.is_allowed()
    }
    #[getter]
    fn wait_ms(&self) -> u64 {
        match self.inner {
            core::Decision::Allow { .. } => 0,
            core::Decision::Wait { wait_ms, .. } => wait_ms,
        }
    }
    /// The id of an allowed send (report its answer with `RateLimiter.answered`); `None` when denied.
    #[getter]
    fn send_id(&self) -> Option<u64> {
        match self.inner {
            core::Decision::Allow { send_id } => Some(send_id),
            core::Decision::Wait { .. } => None,
        }
    }
    #[getter]
    fn daily_exhausted(&self) -> bool {
        matches!(self.inner, core::Decision::Wait { daily_exhausted: true, .. })
    }
    fn __bool__(&self) -> bool {
        self.inner.is_allowed()
    }
    fn __repr__(&self) -> String {
        match self.inner {
            core::Decision::Allow { send_id } => format!("Decision(allowed=True, send_id={send_id})"),
            core::Decision::Wait { wait_ms, daily_exhausted } => format!(
                "Decision(allowed=False, wait_ms={wait_ms}, daily_exhausted={})",
                if daily_exhausted { "True" } else { "False" }
            ),
        }
    }
}

/// The limiter of one resource (exact sliding window, daily budget, server blocks).
#[pyclass(name = "RateLimiter", module = "hoopauth._hoopauth")]
struct PyRateLimiter {
    inner: core::RateLimiter,
}

#[pymethods]
impl PyRateLimiter {
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
    /// Sends allowed whose answers have not arrived (nor timed out).
    #[getter]
    fn in_flight(&self) -> usize {
        self.inner.in_flight()
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
    #[getter]
    fn limits(&self) -> PyLimits {
        PyLimits { inner: self.inner.limits() }
    }
    fn __repr__(&self) -> String {
        format!("RateLimiter({})", PyLimits { inner: self.inner.limits() }.__repr__())
    }
}

// ---------------------------------------------------------------------------------------
// Session
// ---------------------------------------------------------------------------------------

fn session_options(
    refresh_leeway_ms: Option<&Bound<'_, PyAny>>,
    lease_ms: Option<&Bound<'_, PyAny>>,
) -> PyResult<core::SessionOptions> {
    let d = core::SessionOptions::default();
    Ok(core::SessionOptions {
        refresh_leeway_ms: opt_ms(refresh_leeway_ms, "refresh_leeway_ms")?.unwrap_or(d.refresh_leeway_ms),
        lease_ms: opt_ms(lease_ms, "lease_ms")?.unwrap_or(d.lease_ms),
    })
}

/// What to do to get a usable token: `action` is `use`, `refresh`, `wait` or `reauthorize`.
#[pyclass(name = "SessionAction", module = "hoopauth._hoopauth", frozen)]
struct PySessionAction {
    inner: core::Action,
}

#[pymethods]
impl PySessionAction {
    #[getter]
    fn action(&self) -> &'static str {
        self.inner.as_str()
    }
    /// The token to send (for `use`).
    #[getter]
    fn access_token(&self) -> Option<&str> {
        match &self.inner {
            core::Action::Use { access_token } => Some(access_token.expose()),
            _ => None,
        }
    }
    /// The refresh request to send (for `refresh`).
    #[getter]
    fn request(&self) -> Option<PyRequest> {
        match &self.inner {
            core::Action::Refresh { request } => Some(PyRequest { inner: request.clone() }),
            _ => None,
        }
    }
    #[getter]
    fn wait_ms(&self) -> Option<u64> {
        match &self.inner {
            core::Action::Wait { wait_ms } => Some(*wait_ms),
            _ => None,
        }
    }
    fn __repr__(&self) -> String {
        match &self.inner {
            core::Action::Use { .. } => format!("SessionAction(action='use', access_token={REDACTED})"),
            core::Action::Refresh { .. } => "SessionAction(action='refresh')".into(),
            core::Action::Wait { wait_ms } => format!("SessionAction(action='wait', wait_ms={wait_ms})"),
            core::Action::Reauthorize => "SessionAction(action='reauthorize')".into(),
            core::Action::Save => "SessionAction(action='save')".into(),
        }
    }
}

/// The expiry/refresh state machine of one resource.
#[pyclass(name = "TokenSession", module = "hoopauth._hoopauth")]
struct PyTokenSession {
    inner: core::TokenSession,
}

#[pymethods]
impl PyTokenSession {
    #[new]
    #[pyo3(signature = (config, *, refresh_leeway_ms=None, lease_ms=None))]
    fn new(
        config: PyRef<'_, PyConfig>,
        refresh_leeway_ms: Option<&Bound<'_, PyAny>>,
        lease_ms: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Ok(PyTokenSession {
            inner: core::TokenSession::new(config.inner.clone(), session_options(refresh_leeway_ms, lease_ms)?),
        })
    }
    /// Restore from [`TokenSession.to_json`].
    #[staticmethod]
    #[pyo3(signature = (config, stored, *, refresh_leeway_ms=None, lease_ms=None))]
    fn from_json(
        config: PyRef<'_, PyConfig>,
        stored: &str,
        refresh_leeway_ms: Option<&Bound<'_, PyAny>>,
        lease_ms: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let inner =
            core::TokenSession::from_json(config.inner.clone(), session_options(refresh_leeway_ms, lease_ms)?, stored)
                .or_raise()?;
        Ok(PyTokenSession { inner })
    }
    fn load(&mut self, tokens: PyRef<'_, PyTokenSet>) {
        self.inner.load(tokens.inner.clone());
    }
    fn load_private(&mut self, token: &str) -> PyResult<()> {
        self.inner.load_private(core::Secret::new(token)).or_raise()
    }
    /// What to do now: `use`, `refresh`, `wait`, `reauthorize`, or `save` (tokens an earlier
    /// save failed to store: save `to_json()`, then call `persisted()` or `save_failed()`).
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
    /// Whether the session holds tokens its store does not.
    #[getter]
    fn is_unsaved(&self) -> bool {
        self.inner.is_unsaved()
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
    #[getter]
    fn token_set(&self) -> Option<PyTokenSet> {
        self.inner.token_set().map(|t| PyTokenSet { inner: t.clone() })
    }
    #[getter]
    fn version(&self) -> u64 {
        self.inner.version()
    }
    #[getter]
    fn needs_reauthorization(&self) -> bool {
        self.inner.needs_reauthorization()
    }
    /// The stored form as JSON (holds the tokens).
    fn to_json(&self) -> String {
        self.inner.stored_json()
    }
    fn __repr__(&self) -> String {
        let s = self.inner.stored();
        let cred = match &s.credential {
            core::Credential::None => "none",
            core::Credential::Oauth { .. } => "oauth",
            core::Credential::Private { .. } => "private",
        };
        format!("TokenSession(credential='{cred}', version={}, bad={}, reauthorize={})", s.version, s.bad, s.reauthorize)
    }
}

// ---------------------------------------------------------------------------------------
// Call loop: Pool, Call, Step
// ---------------------------------------------------------------------------------------

/// One API call, driven by `Pool` steps.
#[pyclass(name = "Call", module = "hoopauth._hoopauth")]
struct PyCall {
    inner: core::Call,
    options: core::CallOptions,
}

#[pymethods]
impl PyCall {
    #[new]
    #[pyo3(signature = (method, path, *, query=None, json=None, version=None, max_auth_retries=None,
        max_rate_limit_retries=None, max_server_retries=None, max_refresh_attempts=None,
        backoff_base_ms=None, backoff_max_ms=None, max_wait_ms=None, refresh_poll_ms=None,
        recheck_ms=None, coordinate_refresh=None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        method: &str,
        path: &str,
        query: Option<&Bound<'_, PyAny>>,
        json: Option<&Bound<'_, PyAny>>,
        version: Option<String>,
        max_auth_retries: Option<&Bound<'_, PyAny>>,
        max_rate_limit_retries: Option<&Bound<'_, PyAny>>,
        max_server_retries: Option<&Bound<'_, PyAny>>,
        max_refresh_attempts: Option<&Bound<'_, PyAny>>,
        backoff_base_ms: Option<&Bound<'_, PyAny>>,
        backoff_max_ms: Option<&Bound<'_, PyAny>>,
        max_wait_ms: Option<&Bound<'_, PyAny>>,
        refresh_poll_ms: Option<&Bound<'_, PyAny>>,
        recheck_ms: Option<&Bound<'_, PyAny>>,
        coordinate_refresh: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let mut o = core::CallOptions::default();
        let set32 = |v: Option<&Bound<'_, PyAny>>, name: &str, slot: &mut u32| -> PyResult<()> {
            if let Some(v) = opt_u32(v, name)? {
                *slot = v;
            }
            Ok(())
        };
        set32(max_auth_retries, "max_auth_retries", &mut o.max_auth_retries)?;
        set32(max_rate_limit_retries, "max_rate_limit_retries", &mut o.max_rate_limit_retries)?;
        set32(max_server_retries, "max_server_retries", &mut o.max_server_retries)?;
        set32(max_refresh_attempts, "max_refresh_attempts", &mut o.max_refresh_attempts)?;
        let set64 = |v: Option<&Bound<'_, PyAny>>, name: &str, slot: &mut u64| -> PyResult<()> {
            if let Some(v) = opt_ms(v, name)? {
                *slot = v;
            }
            Ok(())
        };
        set64(backoff_base_ms, "backoff_base_ms", &mut o.backoff_base_ms)?;
        set64(backoff_max_ms, "backoff_max_ms", &mut o.backoff_max_ms)?;
        set64(max_wait_ms, "max_wait_ms", &mut o.max_wait_ms)?;
        set64(refresh_poll_ms, "refresh_poll_ms", &mut o.refresh_poll_ms)?;
        set64(recheck_ms, "recheck_ms", &mut o.recheck_ms)?;
        if let Some(c) = opt_flag(coordinate_refresh, "coordinate_refresh")? {
            o.coordinate_refresh = c;
        }
        let req = api_request_from(method, path, query, json, version)?;
        Ok(PyCall { inner: core::Call::new(req, o), options: o })
    }
    /// The call's options (every `CallOptions` field), as a dict.
    #[getter]
    fn options<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let o = &self.options;
        let d = PyDict::new(py);
        d.set_item("max_auth_retries", o.max_auth_retries)?;
        d.set_item("max_rate_limit_retries", o.max_rate_limit_retries)?;
        d.set_item("max_server_retries", o.max_server_retries)?;
        d.set_item("max_refresh_attempts", o.max_refresh_attempts)?;
        d.set_item("backoff_base_ms", o.backoff_base_ms)?;
        d.set_item("backoff_max_ms", o.backoff_max_ms)?;
        d.set_item("max_wait_ms", o.max_wait_ms)?;
        d.set_item("refresh_poll_ms", o.refresh_poll_ms)?;
        d.set_item("recheck_ms", o.recheck_ms)?;
        d.set_item("coordinate_refresh", o.coordinate_refresh)?;
        Ok(d)
    }
    #[getter]
    fn method(&self) -> &'static str {
        self.inner.request().method.as_str()
    }
    #[getter]
    fn path(&self) -> &str {
        &self.inner.request().path
    }
    #[getter]
    fn is_finished(&self) -> bool {
        self.inner.is_finished()
    }
    /// Counters: sends, refreshes, auth_retries, rate_limit_retries, server_retries.
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.stats();
        let d = PyDict::new(py);
        d.set_item("sends", s.sends)?;
        d.set_item("refreshes", s.refreshes)?;
        d.set_item("auth_retries", s.auth_retries)?;
        d.set_item("rate_limit_retries", s.rate_limit_retries)?;
        d.set_item("server_retries", s.server_retries)?;
        Ok(d)
    }
    /// An independent copy of the call in its current state (coordinated mode: a step that
    /// lost the store's compare-and-set is taken again from the copy).
    fn copy(&self) -> PyCall {
        PyCall { inner: self.inner.clone(), options: self.options }
    }
    fn __copy__(&self) -> PyCall {
        self.copy()
    }
    fn __repr__(&self) -> String {
        format!("Call(method='{}', path={})", self.method(), py_repr_str(self.path()))
    }
}

/// What the driver does next. `kind`: `send`, `send_refresh`, `persist`, `wait`, `done`,
/// `reauthorize`, `fail`.
#[pyclass(name = "Step", module = "hoopauth._hoopauth", frozen)]
struct PyStep {
    inner: core::Step,
}

#[pymethods]
impl PyStep {
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.as_str()
    }
    #[getter]
    fn is_final(&self) -> bool {
        self.inner.is_final()
    }
    /// The request to send (`send`, `send_refresh`).
    #[getter]
    fn request(&self) -> Option<PyRequest> {
        match &self.inner {
            core::Step::Send(r) | core::Step::SendRefresh(r) => Some(PyRequest { inner: r.clone() }),
            _ => None,
        }
    }
    /// The session's stored JSON to persist (`persist`).
    #[getter]
    fn stored(&self) -> Option<String> {
        match &self.inner {
            core::Step::Persist(s) => serde_json::to_string(s).ok(),
            _ => None,
        }
    }
    #[getter]
    fn wait_ms(&self) -> Option<u64> {
        match &self.inner {
            core::Step::Wait { wait_ms, .. } => Some(*wait_ms),
            _ => None,
        }
    }
    /// `rate_limit`, `in_flight`, `refresh` or `backoff` (`wait`).
    #[getter]
    fn reason(&self) -> Option<&'static str> {
        match &self.inner {
            core::Step::Wait { reason, .. } => Some(reason.as_str()),
            _ => None,
        }
    }
    /// The final response's status (`done`).
    #[getter]
    fn status(&self) -> Option<u16> {
        match &self.inner {
            core::Step::Done(r) => Some(r.status),
            _ => None,
        }
    }
    /// The exception to raise (`fail`, `reauthorize`).
    fn error<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match &self.inner {
            core::Step::Fail(e) => Ok(Some(error_value(py, e, false)?)),
            core::Step::Reauthorize(e) => Ok(Some(error_value(py, e, true)?)),
            _ => Ok(None),
        }
    }
    fn __repr__(&self) -> String {
        match &self.inner {
            core::Step::Wait { wait_ms, reason } => {
                format!("Step(kind='wait', wait_ms={wait_ms}, reason='{}')", reason.as_str())
            }
            core::Step::Done(r) => format!("Step(kind='done', status={})", r.status),
            core::Step::Fail(e) | core::Step::Reauthorize(e) => {
                format!("Step(kind='{}', error='{}')", self.inner.as_str(), e.kind().as_str())
            }
            _ => format!("Step(kind='{}')", self.inner.as_str()),
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
        let step = self.inner.step(&mut call.inner, resource_id, event, now_ms, random);
        let step = match step {
            core::Step::Fail(e) => {
                config_secrets(self.inner.config(), &mut secrets);
                session_secrets(self.inner.session(resource_id), &mut secrets);
                core::Step::Fail(scrub_error(e, &secrets))
            }
            core::Step::Reauthorize(e) => {
                config_secrets(self.inner.config(), &mut secrets);
                session_secrets(self.inner.session(resource_id), &mut secrets);
                core::Step::Reauthorize(scrub_error(e, &secrets))
            }
            other => other,
        };
        Ok(PyStep { inner: step })
    }
}

#[pymethods]
impl PyPool {
    #[new]
    #[pyo3(signature = (config, *, limits=None, refresh_leeway_ms=None, lease_ms=None))]
    fn new(
        config: PyRef<'_, PyConfig>,
        limits: Option<PyRef<'_, PyLimits>>,
        refresh_leeway_ms: Option<&Bound<'_, PyAny>>,
        lease_ms: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        Ok(PyPool {
            inner: core::Pool::new(
                config.inner.clone(),
                session_options(refresh_leeway_ms, lease_ms)?,
                limits.map(|l| l.inner).unwrap_or_default(),
            ),
        })
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

    /// First step of `call` against `resource_id`.
    fn start(
        &mut self,
        call: &Bound<'_, PyCall>,
        resource_id: &str,
        now_ms: &Bound<'_, PyAny>,
        random: &Bound<'_, PyAny>,
    ) -> PyResult<PyStep> {
        self.step_with(call, resource_id, core::Event::Start, now_ms, random)
    }
    /// After a `wait` or a `persist`.
    fn resume(
        &mut self,
        call: &Bound<'_, PyCall>,
        resource_id: &str,
        now_ms: &Bound<'_, PyAny>,
        random: &Bound<'_, PyAny>,
    ) -> PyResult<PyStep> {
        self.step_with(call, resource_id, core::Event::Resume, now_ms, random)
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
    /// The last `send` / `send_refresh` got no answer (connection lost, timeout).
    fn transport_error(
        &mut self,
        call: &Bound<'_, PyCall>,
        resource_id: &str,
        now_ms: &Bound<'_, PyAny>,
        random: &Bound<'_, PyAny>,
    ) -> PyResult<PyStep> {
        self.step_with(call, resource_id, core::Event::TransportError, now_ms, random)
    }
    /// The store refused the last `persist` (another process wrote a newer version); call
    /// `load_stored` with the store's record first.
    fn conflict(
        &mut self,
        call: &Bound<'_, PyCall>,
        resource_id: &str,
        now_ms: &Bound<'_, PyAny>,
        random: &Bound<'_, PyAny>,
    ) -> PyResult<PyStep> {
        self.step_with(call, resource_id, core::Event::Conflict, now_ms, random)
    }
    /// The last `persist` failed (the store raised or timed out): the call ends with
    /// `store_error`; the tokens stay in memory, unsaved, and the next call saves them first.
    fn persist_failed(
        &mut self,
        call: &Bound<'_, PyCall>,
        resource_id: &str,
        now_ms: &Bound<'_, PyAny>,
        random: &Bound<'_, PyAny>,
    ) -> PyResult<PyStep> {
        self.step_with(call, resource_id, core::Event::PersistFailed, now_ms, random)
    }
    /// End `call` early (cancelled, timed out, failed in the driver): releases its refresh
    /// lease, a save under way (tokens stay unsaved) and its rate-limit slot. Idempotent.
    fn abort(&mut self, call: &Bound<'_, PyCall>, resource_id: &str, now_ms: &Bound<'_, PyAny>) -> PyResult<()> {
        let now_ms = ms_of(now_ms, "now_ms")?;
        let mut call = call.try_borrow_mut()?;
        self.inner.abort(&mut call.inner, resource_id, now_ms);
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

/// The outcome of a verification: truthy when valid; `reason` is `ok`, `bad_signature`,
/// `stale` or `duplicate`.
#[pyclass(name = "Verification", module = "hoopauth._hoopauth", frozen)]
struct PyVerification {
    inner: core::Verification,
}

#[pymethods]
impl PyVerification {
    /// The outcome for a delivery whose `webhookId` was seen before (shared duplicate
    /// detection in `hoopauth.shared`).
    #[staticmethod]
    fn duplicate() -> PyVerification {
        PyVerification { inner: core::Verification { valid: false, reason: core::VerifyReason::Duplicate } }
    }
    #[getter]
    fn valid(&self) -> bool {
        self.inner.valid
    }
    #[getter]
    fn reason(&self) -> &'static str {
        self.inner.reason.as_str()
    }
    fn __bool__(&self) -> bool {
        self.inner.valid
    }
    fn __repr__(&self) -> String {
        format!(
            "Verification(valid={}, reason='{}')",
            if self.inner.valid { "True" } else { "False" },
            self.inner.reason.as_str()
        )
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
            max_age_ms.unwrap_or(core::webhook::DEFAULT_MAX_AGE_MS),
        ),
    })
}

/// A webhook receiver: keys, age limit and a bounded memory of accepted `webhookId`s.
#[pyclass(name = "WebhookVerifier", module = "hoopauth._hoopauth")]
struct PyWebhookVerifier {
    inner: core::WebhookVerifier,
}

#[pymethods]
impl PyWebhookVerifier {
    /// `public_key`: Ed25519 key (default: the platform's); `legacy_rsa_key`: `True` for the
    /// platform's RSA key, or a PEM, to also accept `x-wh-signature`.
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
    #[getter]
    fn max_age_ms(&self) -> u64 {
        self.inner.max_age_ms()
    }
    #[getter]
    fn seen_len(&self) -> usize {
        self.inner.seen_len()
    }
    fn clear_seen(&mut self) {
        self.inner.clear_seen();
    }
    fn __repr__(&self) -> String {
        format!("WebhookVerifier(max_age_ms={}, seen={})", self.inner.max_age_ms(), self.inner.seen_len())
    }
}

/// A parsed webhook body: `type` plus the fields of INSTALL / UNINSTALL events; other
/// events keep the whole body in `body`.
#[pyclass(name = "WebhookEvent", module = "hoopauth._hoopauth", frozen)]
struct PyWebhookEvent {
    value: serde_json::Map<String, Value>,
    event_type: String,
}

impl PyWebhookEvent {
    fn field(&self, name: &str) -> Option<&str> {
        self.value.get(name).and_then(Value::as_str)
    }
}

#[pymethods]
impl PyWebhookEvent {
    #[getter(r#type)]
    fn event_type(&self) -> &str {
        &self.event_type
    }
    #[getter]
    fn app_id(&self) -> Option<&str> {
        self.field("app_id")
    }
    #[getter]
    fn location_id(&self) -> Option<&str> {
        self.field("location_id")
    }
    #[getter]
    fn company_id(&self) -> Option<&str> {
        self.field("company_id")
    }
    #[getter]
    fn user_id(&self) -> Option<&str> {
        self.field("user_id")
    }
    #[getter]
    fn version_id(&self) -> Option<&str> {
        self.field("version_id")
    }
    #[getter]
    fn install_type(&self) -> Option<&str> {
        self.field("install_type")
    }
    #[getter]
    fn company_name(&self) -> Option<&str> {
        self.field("company_name")
    }
    #[getter]
    fn plan_id(&self) -> Option<&str> {
        self.field("plan_id")
    }
    #[getter]
    fn timestamp(&self) -> Option<&str> {
        self.field("timestamp")
    }
    #[getter]
    fn webhook_id(&self) -> Option<&str> {
        self.field("webhook_id")
    }
    /// The whole body, for events other than INSTALL / UNINSTALL.
    #[getter]
    fn body<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match self.value.get("body") {
            Some(v) => Ok(Some(value_to_py(py, v)?)),
            None => Ok(None),
        }
    }
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        value_to_py(py, &Value::Object(self.value.clone()))
    }
    fn __repr__(&self) -> String {
        format!(
            "WebhookEvent(type={}, location_id={}, company_id={}, webhook_id={})",
            py_repr_str(&self.event_type),
            opt_repr(self.location_id()),
            opt_repr(self.company_id()),
            opt_repr(self.webhook_id())
        )
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
    Ok(PyWebhookEvent { value, event_type })
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
    Ok(())
}
