//! Fractional-index positions for cards in a stage.
//!
//! A position is a non-empty string over `0-9A-Za-z` (ASCII order) that does not end in `0`,
//! read as a base-62 fraction. Between any two positions there is always another, so moving a
//! card rewrites one row, never its neighbours.

use crate::DomainError;

const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE: usize = 62;
pub const MAX_POSITION_LEN: usize = 128;

fn digit(b: u8) -> Option<usize> {
    DIGITS.iter().position(|&d| d == b)
}

/// Checks a caller-supplied position.
pub fn validate_position(p: &str) -> Result<(), DomainError> {
    let ok = !p.is_empty()
        && p.len() <= MAX_POSITION_LEN
        && p.bytes().all(|b| digit(b).is_some())
        && !p.ends_with('0');
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "position",
            format!("Invalid position '{p}': use 1-{MAX_POSITION_LEN} characters of 0-9A-Za-z not ending in '0' (e.g. a value between two cards' positions)"),
        ))
    }
}

/// A position strictly between `a` and `b` (`None` = the start or the end of the column).
/// Returns `None` when `a >= b` or an input is invalid.
pub fn between(a: Option<&str>, b: Option<&str>) -> Option<String> {
    let a = a.unwrap_or("");
    if !a.is_empty() && validate_position(a).is_err() {
        return None;
    }
    if let Some(b) = b {
        if validate_position(b).is_err() || a >= b {
            return None;
        }
    }
    let mut out = Vec::new();
    midpoint(a.as_bytes(), b.map(str::as_bytes), &mut out);
    String::from_utf8(out).ok()
}

fn midpoint(a: &[u8], b: Option<&[u8]>, out: &mut Vec<u8>) {
    if let Some(b) = b {
        // Copy the common prefix (treating a missing digit of `a` as 0).
        let mut n = 0;
        while n < b.len() && a.get(n).copied().unwrap_or(b'0') == b[n] {
            n += 1;
        }
        if n > 0 {
            out.extend_from_slice(&b[..n]);
            let rest_a = if n < a.len() { &a[n..] } else { &[][..] };
            return midpoint(rest_a, Some(&b[n..]), out);
        }
    }
    let da = a.first().and_then(|&c| digit(c)).unwrap_or(0);
    let db = b
        .and_then(|b| b.first())
        .and_then(|&c| digit(c))
        .unwrap_or(BASE);
    if db - da > 1 {
        out.push(DIGITS[(da + db).div_ceil(2).min(BASE - 1)]);
        return;
    }
    match b {
        Some(b) if b.len() > 1 => out.push(b[0]),
        _ => {
            out.push(DIGITS[da]);
            let rest = if a.len() > 1 { &a[1..] } else { &[][..] };
            midpoint(rest, None, out);
        }
    }
}

/// The position after the last card (`last = None` for an empty column).
pub fn after(last: Option<&str>) -> String {
    between(last, None).unwrap_or_else(|| "V".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn basics() {
        assert_eq!(between(None, None).as_deref(), Some("V"));
        let a = after(None);
        let b = after(Some(&a));
        assert!(a < b);
        let m = between(Some(&a), Some(&b)).unwrap();
        assert!(a < m && m < b, "{a} < {m} < {b}");
        assert!(between(Some("b"), Some("a")).is_none());
        assert!(between(Some("a"), Some("a")).is_none());
        assert!(between(Some("a0"), None).is_none());
        let low = between(None, Some("1")).unwrap();
        assert!(low.as_str() < "1" && validate_position(&low).is_ok());
    }

    #[test]
    fn many_inserts_at_front_and_middle_stay_ordered() {
        let mut hi = after(None);
        for _ in 0..200 {
            let p = between(None, Some(&hi)).unwrap();
            assert!(p < hi && validate_position(&p).is_ok(), "{p} {hi}");
            hi = p;
        }
        let (mut lo, hi) = ("1".to_string(), "2".to_string());
        for _ in 0..200 {
            let p = between(Some(&lo), Some(&hi)).unwrap();
            assert!(lo < p && p < hi);
            lo = p;
        }
    }

    proptest! {
        #[test]
        fn between_is_strictly_between(a in "[0-9A-Za-z]{0,8}[1-9A-Za-z]", b in "[0-9A-Za-z]{0,8}[1-9A-Za-z]") {
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            if lo != hi {
                let m = between(Some(&lo), Some(&hi)).unwrap();
                prop_assert!(lo < m && m < hi);
                prop_assert!(validate_position(&m).is_ok());
            }
            let m = between(Some(&lo), None).unwrap();
            prop_assert!(lo < m && validate_position(&m).is_ok());
            let m = between(None, Some(&lo)).unwrap();
            prop_assert!(m < lo && validate_position(&m).is_ok());
        }
    }
}
