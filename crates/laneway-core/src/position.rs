//! Fractional-index positions for cards in a stage.
//!
//! The format is the one of the widely used `fractional-indexing` scheme (base 62 digits
//! `0-9A-Za-z`, ASCII order): an *integer part* whose first character encodes its length
//! (`a`–`z` for 1–26 digits, `Z`–`A` for the negative side), followed by an optional
//! *fraction* that never ends in `0`. Appending increments the integer part (`a0`, `a1`, …,
//! `az`, `b00`, …), so a column of a million cards still has five-character positions;
//! inserting between two cards extends the fraction. Between any two positions there is always
//! another, so moving a card rewrites one row, never its neighbours. Clients may compute
//! positions with any implementation of that scheme.

use crate::DomainError;

const DIGITS: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const BASE: usize = 62;
pub const MAX_POSITION_LEN: usize = 128;
/// The integer part below which no key exists (`A` + 26 zeros).
const SMALLEST_INTEGER: &str = "A00000000000000000000000000";
const ZERO: &str = "a0";

fn digit(b: u8) -> Option<usize> {
    DIGITS.iter().position(|&d| d == b)
}

/// Length of the integer part announced by its head character.
fn integer_len(head: u8) -> Option<usize> {
    match head {
        b'a'..=b'z' => Some(usize::from(head - b'a') + 2),
        b'A'..=b'Z' => Some(usize::from(b'Z' - head) + 2),
        _ => None,
    }
}

/// Splits a key into its integer part and fraction, checking the format.
fn split(key: &str) -> Option<(&str, &str)> {
    let bytes = key.as_bytes();
    let len = integer_len(*bytes.first()?)?;
    if bytes.len() < len || !bytes.iter().all(|&b| digit(b).is_some()) {
        return None;
    }
    let (int, frac) = key.split_at(len);
    if int == SMALLEST_INTEGER || frac.ends_with('0') {
        return None;
    }
    Some((int, frac))
}

/// Checks a caller-supplied position.
pub fn validate_position(p: &str) -> Result<(), DomainError> {
    if p.len() <= MAX_POSITION_LEN && split(p).is_some() {
        Ok(())
    } else {
        Err(DomainError::invalid(
            "position",
            format!(
                "Invalid position '{p}': use a fractional-index key such as 'a0' or 'a0V' (base 62, at most {MAX_POSITION_LEN} characters), e.g. a value between two cards' positions"
            ),
        ))
    }
}

/// A fraction strictly between `a` and `b` (`None` = 1), neither ending in `0`.
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

/// The next integer part, or `None` past the largest one.
fn increment(int: &str) -> Option<String> {
    let bytes = int.as_bytes();
    let head = bytes[0];
    let mut digs: Vec<u8> = bytes[1..].to_vec();
    let mut carry = true;
    for d in digs.iter_mut().rev() {
        let v = digit(*d)? + 1;
        if v == BASE {
            *d = b'0';
        } else {
            *d = DIGITS[v];
            carry = false;
            break;
        }
    }
    if !carry {
        return Some(format!("{}{}", head as char, String::from_utf8(digs).ok()?));
    }
    match head {
        b'Z' => Some(ZERO.to_string()),
        b'z' => None,
        _ => {
            let h = head + 1;
            if h > b'a' {
                digs.push(b'0');
            } else {
                digs.pop();
            }
            Some(format!("{}{}", h as char, String::from_utf8(digs).ok()?))
        }
    }
}

/// The previous integer part, or `None` below the smallest one.
fn decrement(int: &str) -> Option<String> {
    let bytes = int.as_bytes();
    let head = bytes[0];
    let mut digs: Vec<u8> = bytes[1..].to_vec();
    let mut borrow = true;
    for d in digs.iter_mut().rev() {
        let v = digit(*d)?;
        if v == 0 {
            *d = DIGITS[BASE - 1];
        } else {
            *d = DIGITS[v - 1];
            borrow = false;
            break;
        }
    }
    if !borrow {
        return Some(format!("{}{}", head as char, String::from_utf8(digs).ok()?));
    }
    match head {
        b'a' => Some(format!("Z{}", DIGITS[BASE - 1] as char)),
        b'A' => None,
        _ => {
            let h = head - 1;
            if h < b'Z' {
                digs.push(DIGITS[BASE - 1]);
            } else {
                digs.pop();
            }
            Some(format!("{}{}", h as char, String::from_utf8(digs).ok()?))
        }
    }
}

/// A position strictly between `a` and `b` (`None` = the start or the end of the column).
/// Returns `None` when `a >= b` or an input is invalid.
pub fn between(a: Option<&str>, b: Option<&str>) -> Option<String> {
    let pa = match a {
        Some(a) => Some(split(a)?),
        None => None,
    };
    let pb = match b {
        Some(b) => Some(split(b)?),
        None => None,
    };
    if let (Some(a), Some(b)) = (a, b) {
        if a >= b {
            return None;
        }
    }
    let mut frac = Vec::new();
    match (pa, pb) {
        (None, None) => Some(ZERO.to_string()),
        (None, Some((ib, fb))) => {
            if ib == SMALLEST_INTEGER {
                midpoint(b"", Some(fb.as_bytes()), &mut frac);
                return Some(format!("{ib}{}", String::from_utf8(frac).ok()?));
            }
            if !fb.is_empty() {
                return Some(ib.to_string());
            }
            let prev = decrement(ib)?;
            if prev == SMALLEST_INTEGER {
                midpoint(b"", None, &mut frac);
                return Some(format!("{prev}{}", String::from_utf8(frac).ok()?));
            }
            Some(prev)
        }
        (Some((ia, fa)), None) => match increment(ia) {
            Some(next) => Some(next),
            None => {
                midpoint(fa.as_bytes(), None, &mut frac);
                Some(format!("{ia}{}", String::from_utf8(frac).ok()?))
            }
        },
        (Some((ia, fa)), Some((ib, fb))) => {
            if ia == ib {
                midpoint(fa.as_bytes(), Some(fb.as_bytes()), &mut frac);
                return Some(format!("{ia}{}", String::from_utf8(frac).ok()?));
            }
            if let Some(next) = increment(ia) {
                if Some(next.as_str()) < b {
                    return Some(next);
                }
            }
            midpoint(fa.as_bytes(), None, &mut frac);
            Some(format!("{ia}{}", String::from_utf8(frac).ok()?))
        }
    }
}

/// The position after the last card (`last = None` for an empty column). A last position that
/// is not a valid key (it cannot be, through this API) restarts the sequence at the beginning.
pub fn after(last: Option<&str>) -> String {
    between(last, None).unwrap_or_else(|| ZERO.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn appends_stay_short() {
        let mut p = after(None);
        assert_eq!(p, "a0");
        let mut seen = vec![p.clone()];
        for _ in 0..100_000 {
            let n = after(Some(&p));
            assert!(n > p, "{n} > {p}");
            p = n;
            seen.push(p.clone());
        }
        assert!(p.len() <= 4, "{p}");
        assert_eq!(seen[1], "a1");
        assert_eq!(seen[62], "b00");
    }

    #[test]
    fn basics() {
        let m = between(Some("a0"), Some("a1")).unwrap();
        assert_eq!(m, "a0V");
        assert!(between(Some("a1"), Some("a0")).is_none());
        assert!(between(Some("a0"), Some("a0")).is_none());
        assert!(between(Some("a00"), None).is_none(), "fraction ending in 0");
        assert!(between(Some("V"), None).is_none(), "not a key");
        let front = between(None, Some("a0")).unwrap();
        assert_eq!(front, "Zz");
        assert!(validate_position("a0").is_ok());
        assert!(validate_position("a0V").is_ok());
        assert!(validate_position("b1").is_err(), "b needs two digits");
        assert!(validate_position("").is_err());
        assert!(validate_position("a0!").is_err());
    }

    #[test]
    fn many_inserts_at_front_and_middle_stay_ordered() {
        let mut hi = after(None);
        for _ in 0..2000 {
            let p = between(None, Some(&hi)).unwrap();
            assert!(p < hi && validate_position(&p).is_ok(), "{p} {hi}");
            hi = p;
        }
        let (mut lo, hi) = ("a0".to_string(), "a1".to_string());
        for _ in 0..200 {
            let p = between(Some(&lo), Some(&hi)).unwrap();
            assert!(lo < p && p < hi && validate_position(&p).is_ok());
            lo = p;
        }
    }

    fn key() -> impl Strategy<Value = String> {
        (
            0u8..4,
            proptest::collection::vec(0usize..62, 1..4),
            "[0-9A-Za-z]{0,5}[1-9A-Za-z]?",
        )
            .prop_map(|(h, digs, frac)| {
                let head = b'a' + h;
                let n = usize::from(h) + 1;
                let mut s = String::new();
                s.push(head as char);
                for i in 0..n {
                    s.push(DIGITS[digs[i % digs.len()]] as char);
                }
                s.push_str(&frac);
                s
            })
            .prop_filter("valid", |k| split(k).is_some())
    }

    proptest! {
        #[test]
        fn between_is_strictly_between(a in key(), b in key()) {
            let (lo, hi) = if a < b { (a, b) } else { (b, a) };
            if lo != hi {
                let m = between(Some(&lo), Some(&hi)).unwrap();
                prop_assert!(lo < m && m < hi, "{} < {} < {}", lo, m, hi);
                prop_assert!(validate_position(&m).is_ok());
            }
            let m = between(Some(&lo), None).unwrap();
            prop_assert!(lo < m && validate_position(&m).is_ok());
            let m = between(None, Some(&lo)).unwrap();
            prop_assert!(m < lo && validate_position(&m).is_ok());
        }
    }
}
