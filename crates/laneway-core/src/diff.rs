//! `changes` of an `*.updated` event: old and new values of exactly the fields that changed.

use serde_json::{Map, Value};

/// Fields that change on every write and so are never reported as a change.
const IGNORED: &[&str] = &["updated_at"];

/// Compares two API representations (JSON objects) field by field. Returns an object
/// `{field: {"old": .., "new": ..}}` with one entry per changed top-level field.
pub fn changes(old: &Value, new: &Value) -> Map<String, Value> {
    let empty = Map::new();
    let old = old.as_object().unwrap_or(&empty);
    let new = new.as_object().unwrap_or(&empty);
    let mut out = Map::new();
    for (key, new_v) in new {
        if IGNORED.contains(&key.as_str()) {
            continue;
        }
        let old_v = old.get(key).unwrap_or(&Value::Null);
        if old_v != new_v {
            out.insert(key.clone(), change(old_v.clone(), new_v.clone()));
        }
    }
    for (key, old_v) in old {
        if !new.contains_key(key) && !IGNORED.contains(&key.as_str()) && !old_v.is_null() {
            out.insert(key.clone(), change(old_v.clone(), Value::Null));
        }
    }
    out
}

fn change(old: Value, new: Value) -> Value {
    let mut m = Map::new();
    m.insert("old".into(), old);
    m.insert("new".into(), new);
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reports_exactly_changed_fields() {
        let old =
            json!({"id": 1, "title": "a", "data": {"x": 1}, "updated_at": "t1", "stage_id": null});
        let new =
            json!({"id": 1, "title": "b", "data": {"x": 1}, "updated_at": "t2", "stage_id": "s"});
        let c = changes(&old, &new);
        assert_eq!(
            Value::Object(c),
            json!({"title": {"old": "a", "new": "b"}, "stage_id": {"old": null, "new": "s"}})
        );
    }

    #[test]
    fn nested_data_counts_as_one_field() {
        let c = changes(&json!({"data": {"a": 1}}), &json!({"data": {"a": 2}}));
        assert_eq!(
            Value::Object(c),
            json!({"data": {"old": {"a": 1}, "new": {"a": 2}}})
        );
        assert!(changes(&json!({"a": 1}), &json!({"a": 1})).is_empty());
    }
}
