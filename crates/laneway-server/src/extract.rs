//! Extractors that reject with our error envelope: JSON bodies and list query strings.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::json;
use uuid::Uuid;

use crate::error::ApiError;

/// A JSON body. Rejections: 415 when the body is not declared as JSON, 413 over the size
/// limit, 400 for malformed JSON (with line and column), a wrong type or an unknown field
/// (naming the field).
pub struct Json<T>(pub T);

fn is_json_content_type(parts: &axum::http::HeaderMap) -> Option<bool> {
    let ct = parts.get(header::CONTENT_TYPE)?.to_str().ok()?;
    let mime = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    Some(
        mime == "application/json" || (mime.starts_with("application/") && mime.ends_with("+json")),
    )
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let declared = is_json_content_type(req.headers());
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "Request body is larger than the limit (1 MiB by default)",
                )
            } else {
                ApiError::bad_request(
                    "invalid_body",
                    format!("Could not read the request body: {e}"),
                )
            }
        })?;
        match declared {
            Some(true) => {}
            Some(false) => {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "Request body must be JSON: send 'Content-Type: application/json'",
                ))
            }
            None if bytes.is_empty() => {
                return Err(ApiError::bad_request(
                    "invalid_body",
                    "Request body is required: send a JSON object with 'Content-Type: application/json'",
                ))
            }
            None => {
                return Err(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "Missing 'Content-Type: application/json' header",
                ))
            }
        }
        parse_json(&bytes).map(Json)
    }
}

/// A JSON object body, or an HTML form post (`application/x-www-form-urlencoded`) read as an
/// object of strings (a key sent more than once becomes an array), for public forms that
/// plain HTML can submit.
pub struct JsonOrForm(pub serde_json::Value);

impl<S: Send + Sync> FromRequest<S> for JsonOrForm {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_form = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            });
        if !is_form {
            return Json::<serde_json::Value>::from_request(req, state)
                .await
                .map(|Json(v)| JsonOrForm(v));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    "Request body is larger than the limit (1 MiB by default)",
                )
            } else {
                ApiError::bad_request(
                    "invalid_body",
                    format!("Could not read the request body: {e}"),
                )
            }
        })?;
        let raw = std::str::from_utf8(&bytes)
            .map_err(|_| ApiError::bad_request("invalid_body", "Form body is not valid UTF-8"))?;
        let mut obj = serde_json::Map::new();
        for (k, v) in form_urlencoded_pairs(raw) {
            match obj.get_mut(&k) {
                None => {
                    obj.insert(k, serde_json::Value::String(v));
                }
                Some(serde_json::Value::Array(a)) => a.push(serde_json::Value::String(v)),
                Some(first) => {
                    let prev = first.take();
                    *first = serde_json::Value::Array(vec![prev, serde_json::Value::String(v)]);
                }
            }
        }
        let value = serde_json::Value::Object(obj);
        if let Some((field, problem)) = find_unstorable(&value, String::new()) {
            return Err(ApiError::bad_request(
                "invalid_body",
                format!("'{field}' {problem}"),
            ));
        }
        Ok(JsonOrForm(value))
    }
}

/// Parses a JSON body into `T`, with errors that name the field at fault.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "invalid_body",
            "Request body is empty: send a JSON object",
        ));
    }
    // Syntax first, so malformed JSON is reported as such and not as a type error.
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!(
                "Malformed JSON at line {} column {}: {}",
                e.line(),
                e.column(),
                strip_position(&e.to_string())
            ),
        )
    })?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "invalid_body",
            "Request body must be a JSON object",
        ));
    }
    // Values the databases cannot store and read back are refused here, for every route
    // alike, naming where they were found: U+0000 in text (PostgreSQL refuses it), and numbers
    // at the very edge of the f64 range (PostgreSQL prints a stored `1.7976931348623157e308`
    // as a 309-digit integer that serde_json's default parser then reports as out of range,
    // which would make the row unreadable).
    if let Some((field, problem)) = find_unstorable(&value, String::new()) {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!("Invalid value for '{field}': {problem}"),
        )
        .with_details(json!({ "field": field })));
    }
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = strip_position(&e.inner().to_string());
        if let Some(field) = unknown_field(&inner) {
            // The path already ends at the unknown field.
            let full = if path == "." || path.is_empty() {
                field
            } else {
                path
            };
            return ApiError::bad_request(
                "invalid_body",
                format!("Unknown field '{full}' in request body"),
            )
            .with_details(json!({ "field": full }));
        }
        if let Some(field) = missing_field(&inner) {
            return ApiError::bad_request(
                "invalid_body",
                format!("Missing required field '{field}'"),
            )
            .with_details(json!({ "field": field }));
        }
        let field = if path == "." { String::new() } else { path };
        ApiError::bad_request(
            "invalid_body",
            if field.is_empty() {
                format!("Invalid request body: {inner}")
            } else {
                format!("Invalid value for '{field}': {inner}")
            },
        )
        .with_details(json!({ "field": field }))
    })
}

/// Largest magnitude accepted for a JSON number (see `parse_json`).
const MAX_NUMBER: f64 = 1e308;

const NUL_PROBLEM: &str = "strings must not contain NUL (\\u0000) characters";

/// The path (`data.k`, `stages[0].name`) and the problem of the first value that cannot be
/// stored: a string or key containing U+0000, or a number beyond ±1e308.
fn find_unstorable(v: &serde_json::Value, path: String) -> Option<(String, &'static str)> {
    match v {
        serde_json::Value::String(s) if s.contains('\0') => Some((path, NUL_PROBLEM)),
        serde_json::Value::Number(n) if n.as_f64().is_some_and(|f| f.abs() > MAX_NUMBER) => {
            Some((path, "numbers must be between -1e308 and 1e308"))
        }
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| find_unstorable(x, format!("{path}[{i}]"))),
        serde_json::Value::Object(map) => map.iter().find_map(|(k, x)| {
            let at = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            if k.contains('\0') {
                Some((at, NUL_PROBLEM))
            } else {
                find_unstorable(x, at)
            }
        }),
        _ => None,
    }
}

fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

fn between_backticks(msg: &str, prefix: &str) -> Option<String> {
    let rest = msg.strip_prefix(prefix)?;
    let rest = rest.strip_prefix('`')?;
    let end = rest.find('`')?;
    Some(rest[..end].to_string())
}

fn unknown_field(msg: &str) -> Option<String> {
    between_backticks(msg, "unknown field ")
}

fn missing_field(msg: &str) -> Option<String> {
    between_backticks(msg, "missing field ")
}

/// For PATCH bodies: distinguishes an absent field (`None`) from an explicit `null`
/// (`Some(None)`). Use with `#[serde(default, deserialize_with = "nullable")]`.
pub fn nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// An optional integer that JSON may also spell as a whole float (`184.0`), as JSON Schema's
/// `integer` (and so the API document) allows. Use with `#[serde(default, deserialize_with =
/// "whole")]`.
pub fn whole<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    use serde::de::Error;
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    let i = match (n.as_i64(), n.as_f64()) {
        (Some(i), _) => Some(i),
        (None, Some(f)) if n.as_u64().is_none() && f.fract() == 0.0 && f.abs() < 9.2e18 => {
            Some(f as i64)
        }
        _ => None,
    };
    i.and_then(|i| T::try_from(i).ok())
        .map(Some)
        .ok_or_else(|| D::Error::custom(format!("expected an integer in range, got {n}")))
}

/// [`whole`] for PATCH bodies, where `null` (`Some(None)`) differs from absent (`None`).
pub fn whole_nullable<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: TryFrom<i64>,
{
    whole(d).map(Some)
}

/// The query string as ordered pairs, with typed getters that fail with 400 naming the
/// parameter. Unknown parameters are ignored, as browsers and proxies add their own.
#[derive(Debug, Default, Clone)]
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let raw = parts.uri.query().unwrap_or("");
        let mut pairs = form_urlencoded_pairs(raw);
        // No parameter of ours has U+0000 in its name, so such a pair is ignored like any
        // unknown parameter; in a value it cannot reach a database query (PostgreSQL refuses
        // it in text), so that is a 400.
        pairs.retain(|(k, _)| !k.contains('\0'));
        if let Some((k, _)) = pairs.iter().find(|(_, v)| v.contains('\0')) {
            let name = k.replace('\0', "");
            return Err(ApiError::bad_request(
                "invalid_parameter",
                format!("Query parameter '{name}' must not contain NUL (%00) characters"),
            )
            .with_details(json!({ "parameter": name })));
        }
        Ok(Params { pairs })
    }
}

fn form_urlencoded_pairs(raw: &str) -> Vec<(String, String)> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode_component(k), decode_component(v))
        })
        .collect()
}

fn decode_component(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Params {
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self { pairs }
    }

    /// Every parameter, in request order.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The first value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn has(&self, name: &str) -> bool {
        self.pairs.iter().any(|(k, _)| k == name)
    }

    /// A non-empty string parameter.
    pub fn string(&self, name: &str) -> Option<String> {
        self.get(name)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }

    pub fn uuid(&self, name: &str) -> Result<Option<Uuid>, ApiError> {
        match self.get(name).map(str::trim) {
            None | Some("") => Ok(None),
            Some(v) => laneway_core::ids::parse_uuid(v).map(Some).ok_or_else(|| {
                ApiError::bad_request(
                    "invalid_parameter",
                    format!("Query parameter '{name}' must be a UUID, got '{v}'"),
                )
                .with_details(json!({ "parameter": name }))
            }),
        }
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.get(name).map(|s| s.trim().to_ascii_lowercase()) {
            None => Ok(None),
            Some(v) if v.is_empty() => Ok(None),
            Some(v) if v == "true" || v == "1" => Ok(Some(true)),
            Some(v) if v == "false" || v == "0" => Ok(Some(false)),
            Some(v) => Err(ApiError::bad_request(
                "invalid_parameter",
                format!("Query parameter '{name}' must be true or false, got '{v}'"),
            )
            .with_details(json!({ "parameter": name }))),
        }
    }

    /// Offset pagination: `page` from 1 (default 1), `per_page` default 50, clamped to 100.
    pub fn page(&self) -> Result<PageParams, ApiError> {
        let page = self.positive("page")?.unwrap_or(1);
        let per_page = self.positive("per_page")?.unwrap_or(50).min(100);
        Ok(PageParams { page, per_page })
    }

    fn positive(&self, name: &str) -> Result<Option<u64>, ApiError> {
        let Some(raw) = self.get(name) else {
            return Ok(None);
        };
        let err = || {
            ApiError::bad_request(
                "invalid_parameter",
                format!("Query parameter '{name}' must be a positive integer, got '{raw}'"),
            )
            .with_details(json!({ "parameter": name }))
        };
        // An i64 (what the document's `int64` promises), so `9223372036854775808` is a 400.
        let n: i64 = raw.trim().parse().map_err(|_| err())?;
        if n <= 0 {
            return Err(err());
        }
        let n = n as u64;
        // Keep offsets inside what both databases accept.
        Ok(Some(n.min(1_000_000_000)))
    }
}

#[derive(Debug, Clone, Copy)]
pub struct PageParams {
    pub page: u64,
    pub per_page: u64,
}

impl PageParams {
    pub fn window(self) -> laneway_store::repo::Page {
        laneway_store::repo::Page {
            offset: (self.page - 1).saturating_mul(self.per_page),
            limit: self.per_page,
        }
    }
}

/// A single path parameter, rejecting with our envelope (axum's own rejection is plain text).
/// An id that does not decode (invalid UTF-8) or holds U+0000 cannot name any resource: 404.
pub struct PathId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let no_such = || ApiError::not_found("No resource with this id");
        let id = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| no_such())?
            .0;
        if id.contains('\0') {
            return Err(no_such());
        }
        Ok(PathId(id))
    }
}

/// Two path parameters (`/records/{id}/comments/{comment_id}`), rejecting like [`PathId`].
pub struct PathIds(pub String, pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathIds {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let no_such = || ApiError::not_found("No resource with this id");
        let (a, b) = axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
            .await
            .map_err(|_| no_such())?
            .0;
        if a.contains('\0') || b.contains('\0') {
            return Err(no_such());
        }
        Ok(PathIds(a, b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query_components() {
        let p = form_urlencoded_pairs("a=1&b=x%20y+z&c=%zz&d&e=%E2%9C%93&f=%4");
        assert_eq!(p[1], ("b".into(), "x y z".into()));
        assert_eq!(p[2], ("c".into(), "%zz".into()));
        assert_eq!(p[3], ("d".into(), "".into()));
        assert_eq!(p[4], ("e".into(), "✓".into()));
        assert_eq!(p[5], ("f".into(), "%4".into()));
    }

    #[test]
    fn pagination_rules() {
        let p = |q: &str| Params::from_pairs(form_urlencoded_pairs(q)).page();
        let ok = p("").unwrap();
        assert_eq!((ok.page, ok.per_page), (1, 50));
        assert_eq!(p("per_page=500").unwrap().per_page, 100);
        assert!(p("per_page=0").is_err());
        assert!(p("page=-1").is_err());
        assert!(p("page=abc").is_err());
        assert!(p("page=1.5").is_err());
    }

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct T {
        name: String,
        #[serde(default, deserialize_with = "nullable")]
        assignee_id: Option<Option<Uuid>>,
    }

    #[test]
    fn body_errors_name_the_field() {
        let e = parse_json::<T>(br#"{"name": "a", "bogus": 1}"#).unwrap_err();
        assert_eq!(e.message, "Unknown field 'bogus' in request body");
        let e = parse_json::<T>(br#"{"name": 5}"#).unwrap_err();
        assert!(
            e.message.starts_with("Invalid value for 'name'"),
            "{}",
            e.message
        );
        let e = parse_json::<T>(br#"{}"#).unwrap_err();
        assert_eq!(e.message, "Missing required field 'name'");
        let e = parse_json::<T>(br#"{"name": "#).unwrap_err();
        assert_eq!(e.code, "invalid_json");
        let t = parse_json::<T>(br#"{"name": "a", "assignee_id": null}"#).unwrap();
        assert_eq!(t.assignee_id, Some(None));
        let t = parse_json::<T>(br#"{"name": "a"}"#).unwrap();
        assert_eq!(t.assignee_id, None);
    }

    #[test]
    fn nul_characters_are_refused_naming_the_field() {
        let e = parse_json::<serde_json::Value>(br#"{"a": [{"b": "x\u0000"}]}"#).unwrap_err();
        assert_eq!(e.status, StatusCode::BAD_REQUEST);
        assert_eq!(e.details.unwrap()["field"], "a[0].b");
        let e = parse_json::<serde_json::Value>(br#"{"k\u0000": 1}"#).unwrap_err();
        assert_eq!(e.details.unwrap()["field"], "k\u{0}");
        assert!(parse_json::<serde_json::Value>(br#"{"a": "\u0001 ok"}"#).is_ok());
    }

    #[test]
    fn numbers_at_the_edge_of_f64_are_refused() {
        let e = parse_json::<serde_json::Value>(br#"{"d": {"n": 1.7976931348623157e308}}"#)
            .unwrap_err();
        assert_eq!(e.details.unwrap()["field"], "d.n");
        assert!(parse_json::<serde_json::Value>(br#"{"n": -1.5e308}"#).is_err());
        assert!(
            parse_json::<serde_json::Value>(br#"{"n": 1e308, "m": -1e308, "t": 5e-324}"#).is_ok()
        );
        assert!(parse_json::<serde_json::Value>(br#"{"n": 18446744073709551616}"#).is_ok());
    }
}
