//! Plain-data conversions between JS values and the core's types.

use hoopauth as core;
use hoopauth::ErrorKind;
use js_sys::{Array, Object, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

// ---- errors ----------------------------------------------------------------------------

/// A JS `Error` with message `"<kind>: <message>"` and `kind`, `status`, `retryAfterMs`.
pub fn js_error(e: &core::Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    let v: &JsValue = err.as_ref();
    set(v, "kind", &JsValue::from_str(e.kind().as_str()));
    set(v, "status", &e.status().map(JsValue::from).unwrap_or(JsValue::NULL));
    set(v, "retryAfterMs", &opt_num(e.retry_after_ms()));
    err.into()
}

pub fn error(kind: ErrorKind, message: &str) -> JsValue {
    js_error(&core::Error::new(kind, message))
}

/// Deserialiser messages can quote input: keep them short (never a whole token).
pub fn short(s: &str) -> String {
    match s.char_indices().nth(120) {
        Some((i, _)) => format!("{}…", s.get(..i).unwrap_or("")),
        None => s.to_owned(),
    }
}

// ---- property access -------------------------------------------------------------------

thread_local! {
    /// Property names as JS strings, made once: turning a Rust string into a JS one costs a
    /// TextDecoder call, which dominated small calls before this cache.
    static KEYS: std::cell::RefCell<Vec<(&'static str, JsValue)>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn key(name: &'static str) -> JsValue {
    KEYS.with(|k| {
        let mut k = k.borrow_mut();
        if let Some((_, v)) = k.iter().find(|(n, _)| std::ptr::eq(*n, name) || *n == name) {
            return v.clone();
        }
        let v = JsValue::from_str(name);
        k.push((name, v.clone()));
        v
    })
}

pub fn get(o: &JsValue, name: &'static str) -> JsValue {
    if !o.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(o, &key(name)).unwrap_or(JsValue::UNDEFINED)
}

pub fn set(o: &JsValue, name: &'static str, v: &JsValue) {
    let _ = Reflect::set(o, &key(name), v);
}

pub fn opt_str(s: Option<&str>) -> JsValue {
    match s {
        Some(s) => JsValue::from_str(s),
        None => JsValue::NULL,
    }
}

pub fn num(n: u64) -> JsValue {
    JsValue::from_f64(n as f64)
}

pub fn opt_num(n: Option<u64>) -> JsValue {
    match n {
        Some(n) => num(n),
        None => JsValue::NULL,
    }
}

pub fn opt_string(v: &JsValue, what: &str) -> Result<Option<String>, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.as_string()
        .map(Some)
        .ok_or_else(|| error(ErrorKind::InvalidArgument, &format!("{what} must be a string")))
}

pub fn string_arg(v: &JsValue, what: &str) -> Result<String, JsValue> {
    v.as_string().ok_or_else(|| error(ErrorKind::InvalidArgument, &format!("{what} must be a string")))
}

/// An optional string field of an options object (`kind` for a value of the wrong type).
pub fn field_str(o: &JsValue, key: &'static str, kind: ErrorKind) -> Result<Option<String>, JsValue> {
    let v = get(o, key);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.as_string().map(Some).ok_or_else(|| error(kind, &format!("{key} must be a string")))
}

pub fn field_bool(o: &JsValue, key: &'static str) -> Result<Option<bool>, JsValue> {
    let v = get(o, key);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    v.as_bool().map(Some).ok_or_else(|| error(ErrorKind::InvalidArgument, &format!("{key} must be a boolean")))
}

/// An optional ms field; `what` names it in the error (e.g. `tokens.expiresIn`).
pub fn field_ms(o: &JsValue, key: &'static str, what: &str) -> Result<Option<u64>, JsValue> {
    ms_value(&get(o, key), what)
}

/// An optional array of strings.
pub fn field_str_list(o: &JsValue, key: &'static str) -> Result<Option<Vec<String>>, JsValue> {
    let v = get(o, key);
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    let bad = || error(ErrorKind::InvalidArgument, &format!("{key} must be an array of strings"));
    if !Array::is_array(&v) {
        return Err(bad());
    }
    let a: &Array = v.unchecked_ref();
    let mut out = Vec::with_capacity(a.length() as usize);
    for i in 0..a.length() {
        out.push(a.get(i).as_string().ok_or_else(bad)?);
    }
    Ok(Some(out))
}

// ---- numbers ---------------------------------------------------------------------------

/// The largest integer a JS number holds exactly (2^53 - 1): the bound of every ms value.
pub const MAX_SAFE: u64 = (1 << 53) - 1;

/// The one checked conversion of a JS number: an integer in `lo..=hi`, else `invalid_argument`
/// (NaN, ±Infinity, negatives, fractions and out-of-range values are never clamped).
/// The Node addon has the same helper with the same messages.
pub fn int_in(x: f64, what: &str, lo: u64, hi: u64) -> Result<u64, JsValue> {
    if x.is_finite() && x.fract() == 0.0 && x >= lo as f64 && x <= hi as f64 {
        Ok(x as u64)
    } else {
        Err(error(ErrorKind::InvalidArgument, &format!("{what} must be an integer in {lo}..={hi}")))
    }
}

/// An optional number in `lo..=hi` (`undefined`/`null`: none; any other non-number is refused).
pub fn int_value(v: &JsValue, what: &str, lo: u64, hi: u64) -> Result<Option<u64>, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(None);
    }
    int_in(v.as_f64().unwrap_or(f64::NAN), what, lo, hi).map(Some)
}

/// Unix milliseconds, a duration or a count: 0..=2^53-1.
pub fn ms_value(v: &JsValue, what: &str) -> Result<Option<u64>, JsValue> {
    int_value(v, what, 0, MAX_SAFE)
}

pub fn required_ms(v: &JsValue, what: &str) -> Result<u64, JsValue> {
    int_in(v.as_f64().unwrap_or(f64::NAN), what, 0, MAX_SAFE)
}

/// An HTTP status: 100..=999.
pub fn status_from(v: &JsValue) -> Result<u16, JsValue> {
    int_in(v.as_f64().unwrap_or(f64::NAN), "status", 100, 999).map(|s| s as u16)
}

// ---- option objects through serde ----------------------------------------------------------

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

/// Read a camelCase option object (`undefined`/`null`: all defaults) into the core's own
/// option struct (snake_case serde names, `#[serde(default)]`): numbers through [`int_in`]
/// (0..=2^53-1; serde then checks narrower fields), booleans as they are, anything else
/// refused. A field of the wrong type is named in the `invalid_argument` message.
pub fn options_from<T: serde::de::DeserializeOwned + Default>(o: &JsValue, what: &str) -> Result<T, JsValue> {
    if o.is_undefined() || o.is_null() {
        return Ok(T::default());
    }
    if !o.is_object() {
        return Err(error(ErrorKind::InvalidArgument, &format!("{what} must be an object")));
    }
    let mut fields: Vec<(String, serde_json::Value)> = Vec::new();
    let obj: &Object = o.unchecked_ref();
    for k in Object::keys(obj).iter() {
        let Some(k) = k.as_string() else { continue };
        let v = Reflect::get(o, &JsValue::from_str(&k)).unwrap_or(JsValue::UNDEFINED);
        if v.is_undefined() || v.is_null() {
            continue;
        }
        let field = format!("{what}.{k}");
        let value = if let Some(x) = v.as_f64() {
            serde_json::Value::from(int_in(x, &field, 0, MAX_SAFE)?)
        } else if let Some(b) = v.as_bool() {
            serde_json::Value::Bool(b)
        } else {
            return Err(error(ErrorKind::InvalidArgument, &format!("{field} must be a number or a boolean")));
        };
        fields.push((k, value));
    }
    let map: serde_json::Map<String, serde_json::Value> = fields.iter().map(|(k, v)| (snake(k), v.clone())).collect();
    match serde_json::from_value::<T>(serde_json::Value::Object(map)) {
        Ok(t) => Ok(t),
        Err(e) => {
            for (k, v) in &fields {
                let one: serde_json::Map<String, serde_json::Value> = std::iter::once((snake(k), v.clone())).collect();
                if let Err(e) = serde_json::from_value::<T>(serde_json::Value::Object(one)) {
                    return Err(error(ErrorKind::InvalidArgument, &format!("{what}.{k}: {e}")));
                }
            }
            Err(error(ErrorKind::InvalidArgument, &format!("{what}: {e}")))
        }
    }
}

// ---- strings, bytes, headers -----------------------------------------------------------

/// `String(v)` for the primitive values a header or query may hold.
fn text_of(v: &JsValue) -> Option<String> {
    if let Some(s) = v.as_string() {
        return Some(s);
    }
    if let Some(x) = v.as_f64() {
        return Some(if x.is_finite() && x.fract() == 0.0 && x.abs() < 1e21 {
            format!("{}", x as i128)
        } else {
            let s: String = js_sys::JsString::from(v.clone()).into();
            s
        });
    }
    if let Some(b) = v.as_bool() {
        return Some(if b { "true".into() } else { "false".into() });
    }
    if v.is_bigint() {
        let s: String = js_sys::JsString::from(v.clone()).into();
        return Some(s);
    }
    None
}

pub fn bytes_from(v: &JsValue) -> Option<Vec<u8>> {
    if let Some(u) = v.dyn_ref::<Uint8Array>() {
        return Some(u.to_vec());
    }
    if let Some(b) = v.dyn_ref::<js_sys::ArrayBuffer>() {
        return Some(Uint8Array::new(b).to_vec());
    }
    None
}

/// A body: string (UTF-8), Uint8Array / ArrayBuffer (raw), or absent (empty).
pub fn body_from(v: &JsValue) -> Result<Vec<u8>, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(Vec::new());
    }
    if let Some(s) = v.as_string() {
        return Ok(s.into_bytes());
    }
    bytes_from(v).ok_or_else(|| error(ErrorKind::InvalidArgument, "body must be a string or a Uint8Array"))
}

fn pair_from(item: &JsValue, what: &str) -> Result<(String, String), JsValue> {
    let bad = || error(ErrorKind::InvalidArgument, &format!("{what} must be [name, value] pairs"));
    if !Array::is_array(item) {
        return Err(bad());
    }
    let a: &Array = item.unchecked_ref();
    let k = a.get(0).as_string().ok_or_else(bad)?;
    let v = text_of(&a.get(1)).ok_or_else(bad)?;
    Ok((k, v))
}

/// Pairs from an array of `[name, value]`, an iterable of pairs (fetch `Headers`, `Map`),
/// or a plain object (`Record<string, string | number | boolean>`).
pub fn pairs_from(v: &JsValue, what: &str) -> Result<Vec<(String, String)>, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(Vec::new());
    }
    if Array::is_array(v) {
        let a: &Array = v.unchecked_ref();
        let n = a.length();
        let mut out = Vec::with_capacity(n as usize);
        for i in 0..n {
            out.push(pair_from(&a.get(i), what)?);
        }
        return Ok(out);
    }
    if !v.is_object() {
        return Err(error(ErrorKind::InvalidArgument, &format!("{what} must be an object or [name, value] pairs")));
    }
    if let Ok(Some(iter)) = js_sys::try_iter(v) {
        let mut out = Vec::new();
        for item in iter {
            let item = item.map_err(|_| error(ErrorKind::InvalidArgument, &format!("{what} could not be read")))?;
            out.push(pair_from(&item, what)?);
        }
        return Ok(out);
    }
    let entries = Object::entries(v.unchecked_ref());
    let mut out = Vec::with_capacity(entries.length() as usize);
    for e in entries.iter() {
        let a: &Array = e.unchecked_ref();
        let k = a.get(0).as_string().unwrap_or_default();
        let val = a.get(1);
        if val.is_undefined() || val.is_null() {
            continue;
        }
        let s = text_of(&val)
            .ok_or_else(|| error(ErrorKind::InvalidArgument, &format!("{what}: value of `{}` is not text", short(&k))))?;
        out.push((k, s));
    }
    Ok(out)
}

pub fn header_pairs(v: &JsValue) -> Result<Vec<(String, String)>, JsValue> {
    pairs_from(v, "headers")
}

pub fn pairs_to_js(p: &[(String, String)]) -> Array {
    let out = Array::new_with_length(p.len() as u32);
    for (i, (k, v)) in p.iter().enumerate() {
        out.set(i as u32, Array::of2(&JsValue::from_str(k), &JsValue::from_str(v)).into());
    }
    out
}

// ---- requests and responses ------------------------------------------------------------

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// `{status, headers?, body?}`.
pub fn response_from(v: &JsValue) -> Result<Resp, JsValue> {
    if !v.is_object() {
        return Err(error(ErrorKind::InvalidArgument, "response must be an object {status, headers, body}"));
    }
    Ok(Resp {
        status: status_from(&get(v, "status"))?,
        headers: header_pairs(&get(v, "headers"))?,
        body: body_from(&get(v, "body"))?,
    })
}

/// Results cross as one JSON text and one `JSON.parse`: far fewer boundary crossings than
/// setting every field of every object from Rust.
pub fn via_json<T: serde::Serialize + ?Sized>(v: &T) -> JsValue {
    match serde_json::to_string(v) {
        Ok(s) => js_sys::JSON::parse(&s).unwrap_or(JsValue::NULL),
        Err(_) => JsValue::NULL,
    }
}

/// A request in its serde form (`{method, url, headers, body}`, the body as text).
#[derive(serde::Serialize)]
pub struct RequestOut<'a>(&'a core::Request);

pub fn request_out(r: &core::Request) -> RequestOut<'_> {
    RequestOut(r)
}

pub fn request_to_js(r: &core::Request) -> JsValue {
    via_json(&request_out(r))
}

pub fn response_to_js(r: &core::Response) -> JsValue {
    let o = Object::new();
    set(&o, "status", &JsValue::from(r.status));
    set(&o, "headers", &pairs_to_js(&r.headers));
    set(&o, "body", &JsValue::from_str(&String::from_utf8_lossy(&r.body)));
    o.into()
}

/// `{method?, path, query?, json?, version?}`; `json` a string is sent as is, any other
/// value is JSON.stringify'd, null/undefined means no body.
pub fn api_request_from(v: &JsValue) -> Result<core::ApiRequest, JsValue> {
    if !v.is_object() {
        return Err(error(ErrorKind::InvalidArgument, "request options must be an object with a path"));
    }
    let method = match opt_string(&get(v, "method"), "method")? {
        Some(m) => core::Method::parse(&m).map_err(|e| js_error(&e))?,
        None => core::Method::Get,
    };
    let path = opt_string(&get(v, "path"), "path")?
        .ok_or_else(|| error(ErrorKind::InvalidArgument, "path is required"))?;
    let query = pairs_from(&get(v, "query"), "query")?;
    let j = get(v, "json");
    let json = if j.is_undefined() || j.is_null() {
        None
    } else if let Some(s) = j.as_string() {
        Some(s)
    } else {
        let s = js_sys::JSON::stringify(&j)
            .map_err(|_| error(ErrorKind::InvalidArgument, "json could not be serialised"))?;
        s.as_string()
    };
    let version = opt_string(&get(v, "version"), "version")?;
    Ok(core::ApiRequest { method, path, query, json, version })
}

// ---- result shapes ---------------------------------------------------------------------

/// The core's camelCase JSON of a token set, parsed once on the JS side.
pub fn token_set_to_js(t: &core::TokenSet) -> JsValue {
    js_sys::JSON::parse(&t.to_js_json()).unwrap_or(JsValue::NULL)
}

/// snake_case → camelCase (the Node addon has the same function).
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

/// A serde value with its object keys in camelCase (the core's own structs only: never a
/// map of foreign keys such as a token set's `extra`).
fn camel_keys(v: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(m) => Value::Object(m.into_iter().map(|(k, v)| (camel(&k), camel_keys(v))).collect()),
        Value::Array(a) => Value::Array(a.into_iter().map(camel_keys).collect()),
        v => v,
    }
}

/// A core value's serde form with camelCase keys, as the Node addon hands it out.
pub fn camel_json<T: serde::Serialize + ?Sized>(v: &T) -> JsValue {
    via_json(&serde_json::to_value(v).map(camel_keys).unwrap_or(serde_json::Value::Null))
}

/// A core enum's serde form (`{"Variant": {fields}}`) as one flat object: `tag` set to `name`.
fn tagged<T: serde::Serialize>(tag: &str, name: serde_json::Value, v: &T) -> JsValue {
    let mut m = serde_json::Map::new();
    if let Ok(serde_json::Value::Object(variant)) = serde_json::to_value(v) {
        for (_, fields) in variant {
            if let serde_json::Value::Object(f) = fields {
                m.extend(f);
            }
        }
    }
    m.insert(tag.to_owned(), name);
    via_json(&camel_keys(serde_json::Value::Object(m)))
}

pub fn classification_to_js(c: &core::Classification) -> JsValue {
    camel_json(c)
}

pub fn verification_to_js(v: &core::Verification) -> JsValue {
    camel_json(v)
}

pub fn decision_to_js(d: core::Decision) -> JsValue {
    tagged("allow", serde_json::Value::Bool(d.is_allowed()), &d)
}

pub fn limits_to_js(l: core::Limits) -> JsValue {
    camel_json(&l)
}

/// A typed event in its serde form with camelCase keys; another type as its whole body.
pub fn webhook_event_to_js(e: &core::WebhookEvent) -> JsValue {
    if let core::WebhookEvent::Other { event_type, body } = e {
        let mut m = match body {
            serde_json::Value::Object(b) => b.clone(),
            _ => serde_json::Map::new(),
        };
        m.insert("type".into(), serde_json::Value::String(event_type.clone()));
        return via_json(&m);
    }
    camel_json(e)
}
