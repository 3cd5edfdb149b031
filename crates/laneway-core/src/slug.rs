//! Slugs: lowercase ASCII letters and digits in dash-separated runs, at most 64 characters.

use crate::DomainError;

pub const MAX_SLUG_LEN: usize = 64;

/// The kebab-case slug of a display name: "Main Sales" → `main-sales`, "Über Leads!" →
/// `uber-leads`. Returns an empty string when the name has no usable character.
pub fn slugify(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut pending_dash = false;
    for ch in name.chars() {
        let mapped: Option<&str> = fold_latin(ch);
        let piece: String = match mapped {
            Some(s) => s.to_string(),
            None if ch.is_ascii_alphanumeric() => ch.to_ascii_lowercase().to_string(),
            None => String::new(),
        };
        if piece.is_empty() {
            pending_dash = !out.is_empty();
            continue;
        }
        if pending_dash {
            out.push('-');
            pending_dash = false;
        }
        out.push_str(&piece);
    }
    if out.len() > MAX_SLUG_LEN {
        out.truncate(MAX_SLUG_LEN);
        while out.ends_with('-') {
            out.pop();
        }
    }
    out
}

/// Common Latin letters with diacritics, so European names slug sensibly.
fn fold_latin(ch: char) -> Option<&'static str> {
    Some(match ch {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => "a",
        'æ' | 'Æ' => "ae",
        'ç' | 'Ç' => "c",
        'è' | 'é' | 'ê' | 'ë' | 'È' | 'É' | 'Ê' | 'Ë' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'Ì' | 'Í' | 'Î' | 'Ï' => "i",
        'ñ' | 'Ñ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' | 'Ø' => "o",
        'ù' | 'ú' | 'û' | 'ü' | 'Ù' | 'Ú' | 'Û' | 'Ü' => "u",
        'ý' | 'ÿ' | 'Ý' => "y",
        'ß' => "ss",
        _ => return None,
    })
}

/// Checks a caller-supplied slug.
pub fn validate_slug(field: &str, slug: &str) -> Result<(), DomainError> {
    let ok = !slug.is_empty()
        && slug.len() <= MAX_SLUG_LEN
        && slug.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        });
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid(
            field,
            format!(
                "Invalid {field} '{slug}': use 1-{MAX_SLUG_LEN} lowercase letters, digits and single dashes, e.g. 'main-sales'"
            ),
        ))
    }
}

/// The slug to store: the caller's (validated) or the name's.
pub fn slug_or_default(field: &str, slug: Option<&str>, name: &str) -> Result<String, DomainError> {
    match slug {
        Some(s) => {
            validate_slug(field, s)?;
            Ok(s.to_string())
        }
        None => {
            let s = slugify(name);
            if s.is_empty() {
                Err(DomainError::invalid(
                    field,
                    format!(
                        "Cannot derive a {field} from name '{name}'; pass '{field}' explicitly"
                    ),
                ))
            } else {
                Ok(s)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn kebab_cases_names() {
        assert_eq!(slugify("Main Sales"), "main-sales");
        assert_eq!(slugify("  New  "), "new");
        assert_eq!(slugify("Über Leads!"), "uber-leads");
        assert_eq!(slugify("Q3 -- 2026 pipeline"), "q3-2026-pipeline");
        assert_eq!(slugify("🔧"), "");
        assert_eq!(slugify("a".repeat(80).as_str()).len(), 64);
    }

    #[test]
    fn validates() {
        assert!(validate_slug("slug", "main-sales").is_ok());
        assert!(validate_slug("slug", "Main").is_err());
        assert!(validate_slug("slug", "a--b").is_err());
        assert!(validate_slug("slug", "-a").is_err());
        assert!(validate_slug("slug", "").is_err());
        assert!(slug_or_default("slug", None, "!!!").is_err());
    }

    proptest! {
        #[test]
        fn slugify_output_is_always_valid_or_empty(name in "\\PC{0,100}") {
            let s = slugify(&name);
            prop_assert!(s.is_empty() || validate_slug("slug", &s).is_ok());
        }
    }
}
