//! Typed custom fields of object types (spec §4): checking declarations and record data.

use serde_json::{Map, Value};
use uuid::Uuid;

use crate::model::{FieldDef, FieldType, ObjectType};
use crate::DomainError;

pub const MAX_FIELDS: usize = 200;

/// Checks an object type's field declarations: keys well-formed and unique, options where
/// a select needs them.
pub fn validate_defs(defs: &[FieldDef]) -> Result<(), DomainError> {
    if defs.len() > MAX_FIELDS {
        return Err(DomainError::invalid(
            "fields",
            format!("At most {MAX_FIELDS} fields per object type"),
        ));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, d) in defs.iter().enumerate() {
        let at = format!("fields[{i}].key");
        let ok_key = !d.key.is_empty()
            && d.key.len() <= 64
            && d.key.starts_with(|c: char| c.is_ascii_lowercase())
            && d.key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !ok_key {
            return Err(DomainError::invalid(
                at,
                format!("Invalid field key '{}': use lowercase letters, digits and '_', starting with a letter (max 64)", d.key),
            ));
        }
        if !seen.insert(d.key.as_str()) {
            return Err(DomainError::invalid(
                at,
                format!("Duplicate field key '{}'", d.key),
            ));
        }
        let is_select = matches!(d.kind, FieldType::Select | FieldType::MultiSelect);
        match (&d.options, is_select) {
            (None, true) => {
                return Err(DomainError::invalid(
                    format!("fields[{i}].options"),
                    format!("Field '{}' of type select needs 'options'", d.key),
                ))
            }
            (Some(opts), true) if opts.is_empty() => {
                return Err(DomainError::invalid(
                    format!("fields[{i}].options"),
                    format!("Field '{}' needs at least one option", d.key),
                ))
            }
            (Some(_), false) => {
                return Err(DomainError::invalid(
                    format!("fields[{i}].options"),
                    format!(
                        "Field '{}': 'options' only applies to select and multi_select",
                        d.key
                    ),
                ))
            }
            _ => {}
        }
    }
    Ok(())
}

/// A reference in record data that must point at an existing member or record.
#[derive(Debug, Clone, PartialEq)]
pub enum Reference {
    Member { key: String, id: Uuid },
    Record { key: String, id: Uuid },
}

/// What a field of this type must hold, as the end of "must be ...".
fn expected(t: FieldType) -> &'static str {
    match t {
        FieldType::Text => "a string",
        FieldType::Number => "a number",
        FieldType::Boolean => "true or false",
        FieldType::Date => "a date (YYYY-MM-DD)",
        FieldType::Datetime => "a date-time (RFC 3339)",
        FieldType::Email => "an email address",
        FieldType::Phone => "a phone number (string)",
        FieldType::Url => "an http(s) URL",
        FieldType::Select => "one of the field's options",
        FieldType::MultiSelect => "an array of the field's options",
        FieldType::Member => "a member id (UUID)",
        FieldType::Record => "a record id (UUID)",
    }
}

/// Checks record `data` against declared fields. Undeclared keys pass. Returns the member and
/// record references found, for the caller to check against the database.
pub fn validate_data(
    defs: &[FieldDef],
    data: &Map<String, Value>,
) -> Result<Vec<Reference>, DomainError> {
    let mut refs = Vec::new();
    for d in defs {
        let field = format!("data.{}", d.key);
        let v = match data.get(&d.key) {
            None | Some(Value::Null) => {
                if d.required {
                    return Err(DomainError::invalid(
                        field.clone(),
                        format!("'{field}' is required"),
                    ));
                }
                continue;
            }
            Some(v) => v,
        };
        let bad = || {
            DomainError::invalid(
                field.clone(),
                format!("'{field}' must be {}, got {}", expected(d.kind), short(v)),
            )
        };
        let s = v.as_str();
        let ok = match d.kind {
            FieldType::Text | FieldType::Phone => s.is_some(),
            FieldType::Number => v.is_number(),
            FieldType::Boolean => v.is_boolean(),
            FieldType::Date => {
                s.is_some_and(|s| s.len() == 10 && crate::time::parse_date(s).is_some())
            }
            FieldType::Datetime => s.is_some_and(|s| crate::time::parse_ts(s).is_some()),
            FieldType::Email => s.is_some_and(is_email),
            FieldType::Url => s.is_some_and(|s| {
                (s.starts_with("https://") || s.starts_with("http://"))
                    && s.len() > 8
                    && !s.contains(char::is_whitespace)
            }),
            FieldType::Select => {
                s.is_some_and(|s| d.options.as_ref().is_some_and(|o| o.iter().any(|x| x == s)))
            }
            FieldType::MultiSelect => v.as_array().is_some_and(|items| {
                items.iter().all(|i| {
                    i.as_str().is_some_and(|s| {
                        d.options.as_ref().is_some_and(|o| o.iter().any(|x| x == s))
                    })
                })
            }),
            FieldType::Member | FieldType::Record => match s.and_then(crate::ids::parse_uuid) {
                Some(id) => {
                    refs.push(match d.kind {
                        FieldType::Member => Reference::Member {
                            key: field.clone(),
                            id,
                        },
                        _ => Reference::Record {
                            key: field.clone(),
                            id,
                        },
                    });
                    true
                }
                None => false,
            },
        };
        if !ok {
            return Err(bad());
        }
    }
    Ok(refs)
}

/// A light check: one `@`, something on each side, a dot in the domain, no spaces.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && s.len() <= 254
        && !s.chars().any(char::is_whitespace)
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 40 {
        format!("{}…", s.chars().take(40).collect::<String>())
    } else {
        s
    }
}

/// At most this many fields on one public form.
pub const MAX_FORM_FIELDS: usize = 50;

/// Checks a form's fields against themselves and against the object type they fill: when a
/// form is saved, when it takes a submission (the type may have changed since), and when the
/// type changes (to say which forms it leaves behind).
pub fn check_form_fields(
    fields: &[FieldDef],
    ot: &ObjectType,
    title_field: Option<&str>,
) -> Result<(), DomainError> {
    if fields.is_empty() {
        return Err(DomainError::invalid(
            "fields",
            "A form needs at least one field",
        ));
    }
    if fields.len() > MAX_FORM_FIELDS {
        return Err(DomainError::invalid(
            "fields",
            format!("At most {MAX_FORM_FIELDS} fields per form"),
        ));
    }
    validate_defs(fields)?;
    for (i, f) in fields.iter().enumerate() {
        if matches!(f.kind, FieldType::Member | FieldType::Record) {
            return Err(DomainError::invalid(
                format!("fields[{i}].type"),
                format!(
                    "Field '{}': a public form cannot ask for a member or a record",
                    f.key
                ),
            ));
        }
        if let Some(d) = ot.fields.iter().find(|d| d.key == f.key) {
            if d.kind != f.kind {
                return Err(DomainError::invalid(
                    format!("fields[{i}].type"),
                    format!(
                        "Field '{}': object type '{}' declares it as {}",
                        f.key,
                        ot.slug,
                        type_name(d.kind)
                    ),
                ));
            }
            if let (Some(allowed), Some(opts)) = (&d.options, &f.options) {
                if let Some(o) = opts.iter().find(|o| !allowed.contains(o)) {
                    return Err(DomainError::invalid(
                        format!("fields[{i}].options"),
                        format!(
                            "Field '{}': '{o}' is not an option of object type '{}'",
                            f.key, ot.slug
                        ),
                    ));
                }
            }
        }
    }
    for d in ot.fields.iter().filter(|d| d.required) {
        if !fields.iter().any(|f| f.key == d.key && f.required) {
            return Err(DomainError::invalid(
                "fields",
                format!(
                    "Object type '{}' requires '{}': the form must ask it as a required field",
                    ot.slug, d.key
                ),
            ));
        }
    }
    if let Some(t) = title_field {
        let ok = fields.iter().any(|f| {
            f.key == t
                && matches!(
                    f.kind,
                    FieldType::Text | FieldType::Email | FieldType::Phone | FieldType::Url
                )
        });
        if !ok {
            return Err(DomainError::invalid(
                "title_field",
                format!("'title_field' must be the key of a text, email, phone or url field of the form, got '{t}'"),
            ));
        }
    }
    Ok(())
}

fn type_name(t: FieldType) -> String {
    serde_json::to_value(t)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(key: &str, kind: FieldType, required: bool, options: Option<Vec<&str>>) -> FieldDef {
        FieldDef {
            key: key.into(),
            label: None,
            kind,
            required,
            options: options.map(|o| o.into_iter().map(String::from).collect()),
        }
    }

    #[test]
    fn checks_types_and_requirements() {
        let defs = vec![
            def("amount", FieldType::Number, true, None),
            def("size", FieldType::Select, false, Some(vec!["s", "m"])),
            def("owner", FieldType::Member, false, None),
            def("due", FieldType::Date, false, None),
        ];
        let ok = json!({"amount": 5, "size": "m", "extra": [1], "owner": "0190b5f2-5d0a-7cc3-9c5e-2b1a9c3f0a11"});
        let refs = validate_data(&defs, ok.as_object().unwrap()).unwrap();
        assert_eq!(refs.len(), 1);
        let e = validate_data(&defs, json!({"size": "m"}).as_object().unwrap()).unwrap_err();
        assert!(
            matches!(e, DomainError::Validation { field: Some(ref f), .. } if f == "data.amount")
        );
        assert!(validate_data(&defs, json!({"amount": "5"}).as_object().unwrap()).is_err());
        assert!(validate_data(
            &defs,
            json!({"amount": 1, "size": "xl"}).as_object().unwrap()
        )
        .is_err());
        assert!(validate_data(
            &defs,
            json!({"amount": 1, "due": "2026-02-30"})
                .as_object()
                .unwrap()
        )
        .is_err());
    }

    #[test]
    fn checks_declarations() {
        assert!(validate_defs(&[def("a", FieldType::Text, false, None)]).is_ok());
        assert!(validate_defs(&[def("A", FieldType::Text, false, None)]).is_err());
        assert!(validate_defs(&[
            def("a", FieldType::Text, false, None),
            def("a", FieldType::Number, false, None)
        ])
        .is_err());
        assert!(validate_defs(&[def("s", FieldType::Select, false, None)]).is_err());
        assert!(validate_defs(&[def("t", FieldType::Text, false, Some(vec!["x"]))]).is_err());
    }

    #[test]
    fn emails() {
        assert!(is_email("a@b.co"));
        assert!(!is_email("a@b"));
        assert!(!is_email("a b@c.de"));
        assert!(!is_email("@c.de"));
    }
}
