//! Entity tags: every single-resource GET returns one; PATCH and DELETE honour `If-Match`.

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// A strong tag over the resource's JSON: it changes exactly when the representation does.
pub fn etag_of<T: Serialize>(v: &T) -> String {
    // Through `Value` (sorted keys), so the tag of a stored response body (an idempotent
    // replay) equals the tag the resource had when it was sent.
    let bytes = serde_json::to_value(v)
        .and_then(|v| serde_json::to_vec(&v))
        .unwrap_or_default();
    format!("\"{}\"", &hex::encode(Sha256::digest(&bytes))[..32])
}

/// `{"success": true, "data": v}` with its `ETag`.
pub fn with_etag<T: Serialize>(v: &T, status: StatusCode) -> Response {
    let tag = etag_of(v);
    let mut resp = match status {
        StatusCode::CREATED => super::created(v),
        _ => super::ok(v),
    };
    if let Ok(h) = HeaderValue::from_str(&tag) {
        resp.headers_mut().insert(header::ETAG, h);
    }
    resp
}

/// The tags an `If-Match` value lists: `Ok(None)` is `*`, `Ok(Some(tags))` the listed tags without `W/`, `Err` a malformed value.
/// The syntax is the document's `IF_MATCH_PATTERN`: `*`, or entity tags separated by commas.
fn if_match_tags(raw: &str) -> Result<Option<Vec<&str>>, ()> {
    // An empty value sets no precondition, like an absent header.
    if raw == "*" || raw.is_empty() {
        return Ok(None);
    }
    let is_etagc = |b: u8| b == 0x21 || (0x23..=0x7e).contains(&b);
    let mut tags = Vec::new();
    let mut rest = raw;
    loop {
        rest = rest.trim_start_matches(' ');
        let opaque = rest.strip_prefix("W/").unwrap_or(rest);
        // `"..."`: a comma inside the quotes belongs to the tag.
        let inner = opaque.strip_prefix('"').ok_or(())?;
        let close = inner.find('"').ok_or(())?;
        if !inner.as_bytes()[..close].iter().all(|b| is_etagc(*b)) {
            return Err(());
        }
        tags.push(&opaque[..close + 2]);
        rest = inner[close + 1..].trim_start_matches(' ');
        match rest.strip_prefix(',') {
            Some(more) => rest = more,
            None if rest.is_empty() => return Ok(Some(tags)),
            None => return Err(()),
        }
    }
}

/// Fails with 412 when `If-Match` is present and names none of the current tag (or `*`), and
/// with 400 when it is not `*` or a list of entity tags.
pub fn check_if_match<T: Serialize>(headers: &HeaderMap, current: &T) -> Result<(), ApiError> {
    let Some(raw) = headers.get(header::IF_MATCH) else {
        return Ok(());
    };
    let tags = raw
        .to_str()
        .map_err(|_| ())
        .and_then(if_match_tags)
        .map_err(|_| {
            ApiError::bad_request(
                "invalid_parameter",
                "If-Match must be * or a list of entity tags such as \"3f2a...\" (from an ETag)",
            )
            .with_details(serde_json::json!({ "parameter": "If-Match" }))
        })?;
    let matches = match tags {
        None => true,
        Some(tags) => {
            let tag = etag_of(current);
            tags.iter().any(|t| *t == tag)
        }
    };
    if matches {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::PRECONDITION_FAILED,
            "precondition_failed",
            "If-Match does not match the current version of this resource; fetch it again",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::if_match_tags;

    #[test]
    fn if_match_syntax() {
        assert_eq!(if_match_tags("*"), Ok(None));
        assert_eq!(if_match_tags("\"a\""), Ok(Some(vec!["\"a\""])));
        assert_eq!(
            if_match_tags("W/\"a\" , \"b\""),
            Ok(Some(vec!["\"a\"", "\"b\""]))
        );
        assert_eq!(if_match_tags("\"\""), Ok(Some(vec!["\"\""])));
        assert_eq!(if_match_tags("\"a,b\""), Ok(Some(vec!["\"a,b\""])));
        assert_eq!(if_match_tags(""), Ok(None));
        for bad in [
            "a",
            "\"a",
            "\"a\",",
            "W/*",
            "\"a b\"",
            "\"a\"\"b\"",
            ",\"a\"",
        ] {
            assert_eq!(if_match_tags(bad), Err(()), "{bad}");
        }
    }
}
