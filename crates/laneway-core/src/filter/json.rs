//! The JSON form:
//!
//! ```json
//! {"and": [
//!   {"field": "title", "op": "contains", "value": "Acme"},
//!   {"not": {"or": [{"field": "due_at", "op": "isnull"},
//!                   {"field": "due_at", "op": "lt", "value": {"special": "today-7d"}}]}},
//!   {"field": "stage.slug", "op": "in", "value": ["won", "lost"]}
//! ]}
//! ```
//!
//! - A condition is an object with `field`, `op` (any name or alias `Op::from_name` reads) and
//!   `value` (omitted or `null` for `isnull`/`isnotnull`; `null` is the null value for the
//!   others). A group is an object with exactly one key: `and` or `or` (a non-empty array) or
//!   `not` (an object). A top-level array means `and`.
//! - Values are JSON's: strings (always plain strings), numbers, `true`/`false`/`null`, arrays
//!   as lists (not nested). A special value is the object `{"special": "today+5d"}`.
//! - `in`/`nin` with a single value take it as a list of one, as in the string form.
//! - Field names follow the string form's rule (`ident(.ident)*`, not `and`/`or`/`not`), so
//!   every tree read here prints as a string that reads back the same.
//! - The tree is the one the string form gives: a group of one is its member, a group inside a
//!   group of the same kind is spliced into it.
//! - Depth is measured as the nesting of the printed string form (each `not`, plus the
//!   parentheses an `or` inside an `and` or a group under `not` needs), so a JSON filter is
//!   accepted exactly when its string form would be.
//! - Locations are JSON paths: `$`, `$[1]`, `$.and[0].value`, `$.not.field`.

use super::parse::{is_field_name, is_reserved, snippet};
use super::suggest::nearest;
use super::{Cond, Expr, FilterError, Loc, Op, Special, Value, MAX_CONDITIONS, MAX_DEPTH};
use serde::Deserialize;
use serde_json::{Map, Value as Json};

/// Reads the JSON form. See the module documentation for the details.
pub fn parse_json(input: &str) -> Result<Expr, FilterError> {
    check_nesting(input)?;
    // serde_json's own limit (128 levels) is below what the JSON form of a filter 32 deep can
    // need; `check_nesting` has bounded the recursion instead.
    let mut de = serde_json::Deserializer::from_str(input);
    de.disable_recursion_limit();
    let doc = Json::deserialize(&mut de)
        .and_then(|doc| de.end().map(|()| doc))
        .map_err(|e| json_error(input, &e))?;
    let mut r = Reader { conds: 0 };
    match &doc {
        Json::Array(items) if items.is_empty() => Err(at("filter is empty", "$")),
        Json::Array(items) => r.group(Kind::And, items, "$", 0),
        Json::Object(_) => r.node(&doc, "$", Parent::Root, 0),
        _ => Err(at("expected a JSON object or array", "$")),
    }
}

/// The deepest JSON nesting accepted. The JSON form of a filter within [`MAX_DEPTH`] needs up to
/// four levels per level of its string form (`{"and": [` then `{"or": [`), plus the root group,
/// the condition, its list and a special value in it.
const MAX_JSON_NESTING: usize = 4 * MAX_DEPTH + 16;

/// Refuses JSON nested deeper than [`MAX_JSON_NESTING`] before serde_json recurses into it.
fn check_nesting(input: &str) -> Result<(), FilterError> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let (mut line, mut col) = (1u32, 0u32);
    for c in input.chars() {
        if c == '\n' {
            line = line.saturating_add(1);
            col = 0;
        } else {
            col = col.saturating_add(1);
        }
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => {
                depth += 1;
                if depth > MAX_JSON_NESTING {
                    return Err(FilterError::new(
                        format!("nesting deeper than {MAX_DEPTH}"),
                        Some(Loc::Pos { line, col }),
                    ));
                }
            }
            '}' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn at(message: impl Into<String>, path: &str) -> FilterError {
    FilterError::new(message, Some(Loc::Path(path.to_string())))
}

/// `path.key`, or `path["key"]` when the key is no plain name.
fn key_path(path: &str, key: &str) -> String {
    let mut cs = key.chars();
    if cs
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        format!("{path}.{key}")
    } else {
        format!("{path}[{}]", serde_json::Value::String(snippet(key)))
    }
}

/// A serde_json error as a filter error, at its line and column (in characters).
fn json_error(input: &str, e: &serde_json::Error) -> FilterError {
    let full = e.to_string();
    let message = match full.rfind(" at line ") {
        Some(i) => &full[..i],
        None => &full,
    };
    let loc = (e.line() > 0).then(|| {
        let line = input.split('\n').nth(e.line() - 1).unwrap_or("");
        let mut b = e.column().saturating_sub(1).min(line.len());
        while !line.is_char_boundary(b) {
            b -= 1;
        }
        Loc::Pos {
            line: u32::try_from(e.line()).unwrap_or(u32::MAX),
            col: u32::try_from(line[..b].chars().count() + 1).unwrap_or(u32::MAX),
        }
    });
    if message.starts_with("recursion limit exceeded") {
        return FilterError::new(format!("nesting deeper than {MAX_DEPTH}"), loc);
    }
    FilterError::new(format!("invalid JSON: {message}"), loc)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    And,
    Or,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::And => "and",
            Kind::Or => "or",
        }
    }
}

/// What a node is inside of, which decides how much nesting it adds in the string form.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Parent {
    Root,
    And,
    Or,
    Not,
}

struct Reader {
    conds: usize,
}

impl Reader {
    /// A condition or group object at `path`, whose string form would sit at nesting `depth`.
    fn node(
        &mut self,
        v: &Json,
        path: &str,
        parent: Parent,
        depth: usize,
    ) -> Result<Expr, FilterError> {
        let obj = match v {
            Json::Object(m) => m,
            Json::Array(_) => {
                return Err(at("a list of conditions is only allowed at the top", path)
                    .with_hint("write {\"and\": [...]} or {\"or\": [...]}"))
            }
            _ => {
                return Err(at("expected a condition or a group", path)
                    .with_hint("a condition is {\"field\": .., \"op\": .., \"value\": ..}"))
            }
        };
        let group_key = obj
            .keys()
            .find(|k| matches!(k.as_str(), "and" | "or" | "not"));
        let Some(gk) = group_key else {
            return self.cond(obj, path);
        };
        if let Some(other) = obj.keys().find(|k| *k != gk) {
            return Err(at(
                format!("unexpected key '{}' beside '{gk}'", snippet(other)),
                &key_path(path, other),
            )
            .with_hint("a group has exactly one key: 'and', 'or' or 'not'"));
        }
        let inner_path = key_path(path, gk);
        let inner = &obj[gk.as_str()];
        let too_deep = |d: usize| d > MAX_DEPTH;
        match gk.as_str() {
            "not" => {
                let d = depth + 1;
                if too_deep(d) {
                    return Err(at(format!("nesting deeper than {MAX_DEPTH}"), path));
                }
                if !inner.is_object() {
                    return Err(at(
                        "'not' takes one condition or group (an object)",
                        &inner_path,
                    ));
                }
                Ok(Expr::Not(Box::new(self.node(
                    inner,
                    &inner_path,
                    Parent::Not,
                    d,
                )?)))
            }
            key => {
                let kind = if key == "and" { Kind::And } else { Kind::Or };
                // The parentheses the string form needs around this group.
                let paren = match (parent, kind) {
                    (Parent::Not, _) | (Parent::And, Kind::Or) => 1,
                    _ => 0,
                };
                let d = depth + paren;
                if too_deep(d) {
                    return Err(at(format!("nesting deeper than {MAX_DEPTH}"), path));
                }
                match inner {
                    Json::Array(items) if items.is_empty() => Err(at(
                        format!("'{key}' needs at least one condition"),
                        &inner_path,
                    )),
                    Json::Array(items) => self.group(kind, items, &inner_path, d),
                    _ => Err(at(
                        format!("'{key}' takes an array of conditions"),
                        &inner_path,
                    )),
                }
            }
        }
    }

    /// The members of a group of `kind` at `path` (non-empty), flattened like the string form.
    fn group(
        &mut self,
        kind: Kind,
        items: &[Json],
        path: &str,
        depth: usize,
    ) -> Result<Expr, FilterError> {
        let me = match kind {
            Kind::And => Parent::And,
            Kind::Or => Parent::Or,
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let e = self.node(item, &format!("{path}[{i}]"), me, depth)?;
            match (kind, e) {
                (Kind::And, Expr::And(v)) | (Kind::Or, Expr::Or(v)) => out.extend(v),
                (_, e) => out.push(e),
            }
        }
        debug_assert!(!out.is_empty(), "{}", kind.key());
        Ok(match (kind, out.len()) {
            (_, 1) => out.pop().expect("one member"),
            (Kind::And, _) => Expr::And(out),
            (Kind::Or, _) => Expr::Or(out),
        })
    }

    fn cond(&mut self, obj: &Map<String, Json>, path: &str) -> Result<Expr, FilterError> {
        if obj.is_empty() {
            return Err(at(
                "expected a condition or a group, found an empty object",
                path,
            )
            .with_hint("a condition is {\"field\": .., \"op\": .., \"value\": ..}"));
        }
        if let Some(k) = obj
            .keys()
            .find(|k| !matches!(k.as_str(), "field" | "op" | "value"))
        {
            let e = at(format!("unknown key '{}'", snippet(k)), &key_path(path, k));
            return Err(
                match nearest(k, ["field", "op", "value", "and", "or", "not"]) {
                    Some(s) => e.with_hint(format!("did you mean '{s}'?")),
                    None => e.with_hint("a condition has the keys 'field', 'op' and 'value'"),
                },
            );
        }
        self.conds += 1;
        if self.conds > MAX_CONDITIONS {
            return Err(at(format!("more than {MAX_CONDITIONS} conditions"), path));
        }

        let field_path = key_path(path, "field");
        let field = match obj.get("field") {
            None => return Err(at("condition has no 'field'", path)),
            Some(Json::String(s)) if is_field_name(s) && !is_reserved(s) => s.clone(),
            Some(Json::String(s)) => {
                return Err(
                    at(format!("'{}' is not a field name", snippet(s)), &field_path).with_hint(
                        "a field is a name or a dotted path such as 'title' or 'stage.slug'",
                    ),
                )
            }
            Some(_) => return Err(at("'field' must be a string", &field_path)),
        };

        let op_path = key_path(path, "op");
        let (op, op_text) = match obj.get("op") {
            None => return Err(at("condition has no 'op'", path)),
            Some(Json::String(s)) => match Op::from_name(s) {
                Some(op) => (op, s.as_str()),
                None => {
                    let e = at(format!("unknown operator '{}'", snippet(s)), &op_path);
                    return Err(match nearest(s, Op::ALL.map(Op::name)) {
                        Some(n) => e.with_hint(format!("did you mean '{n}'?")),
                        None => e,
                    });
                }
            },
            Some(_) => return Err(at("'op' must be a string", &op_path)),
        };

        let value_path = key_path(path, "value");
        let value = if op.is_unary() {
            match obj.get("value") {
                None | Some(Json::Null) => None,
                Some(_) => {
                    return Err(at(
                        format!("'{}' takes no value", snippet(op_text)),
                        &value_path,
                    ))
                }
            }
        } else {
            match obj.get("value") {
                None => {
                    return Err(at(
                        format!("expected a value after '{}'", snippet(op_text)),
                        &value_path,
                    ))
                }
                Some(Json::Array(items)) if op.takes_list() => {
                    let mut out = Vec::with_capacity(items.len());
                    for (i, item) in items.iter().enumerate() {
                        out.push(scalar(item, &format!("{value_path}[{i}]"))?);
                    }
                    Some(Value::List(out))
                }
                Some(Json::Array(_)) => {
                    return Err(at(
                        format!("'{}' takes a single value, not a list", snippet(op_text)),
                        &value_path,
                    ))
                }
                Some(v) if op.takes_list() => Some(Value::List(vec![scalar(v, &value_path)?])),
                Some(v) => Some(scalar(v, &value_path)?),
            }
        };
        let value_at = if op.is_unary() {
            op_path.clone()
        } else {
            value_path
        };
        Ok(Expr::Cond(Cond {
            field,
            op,
            value,
            at: Loc::Path(field_path),
            op_at: Loc::Path(op_path),
            value_at: Loc::Path(value_at),
        }))
    }
}

/// A value that is not a list, at `path`.
fn scalar(v: &Json, path: &str) -> Result<Value, FilterError> {
    Ok(match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => match n.as_f64() {
            Some(f) if f.is_finite() => Value::Number(f),
            _ => return Err(at(format!("number {n} is out of range"), path)),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(_) => return Err(at("lists cannot be nested", path)),
        Json::Object(m) => {
            let hint = "a special value is written {\"special\": \"today+5d\"}";
            if let Some(k) = m.keys().find(|k| *k != "special") {
                return Err(
                    at(format!("unknown key '{}'", snippet(k)), &key_path(path, k)).with_hint(hint),
                );
            }
            let special_path = key_path(path, "special");
            match m.get("special") {
                None => return Err(at("expected a value, found an empty object", path).with_hint(hint)),
                Some(Json::String(s)) => match Special::from_name(s) {
                    Some(sp) => Value::Special(sp),
                    None => {
                        return Err(at(format!("'{}' is not a special value", snippet(s)), &special_path).with_hint(
                            "the special values are me.id, now, today, today+Nd, today-Nd, sow, eow, som and eom",
                        ))
                    }
                },
                Some(_) => return Err(at("'special' must be a string", &special_path).with_hint(hint)),
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::super::{parse, parse_str, to_json};
    use super::*;
    use serde_json::json;

    fn tree(input: &str) -> Expr {
        match parse_json(input) {
            Ok(e) => e.without_locs(),
            Err(e) => panic!("{input}: {e}"),
        }
    }

    fn same(json: Json, string: &str) {
        let text = json.to_string();
        assert_eq!(
            tree(&text),
            parse_str(string).unwrap().without_locs(),
            "{text}"
        );
    }

    fn error(input: &str) -> String {
        match parse_json(input) {
            Ok(e) => panic!("{input} parsed: {e:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn spec_example_matches_the_string_form() {
        same(
            json!({"and": [
                {"field": "title", "op": "contains", "value": "Acme"},
                {"or": [
                    {"field": "created_at", "op": ">=", "value": "2024-01-01"},
                    {"field": "client.name", "op": "CONTAINS", "value": "Corp"}
                ]}
            ]}),
            r#"title contains "Acme" and (created_at >= "2024-01-01" or client.name contains "Corp")"#,
        );
        // A top-level array means and.
        same(
            json!([
                {"field": "title", "op": "contains", "value": "Acme"},
                {"or": [
                    {"field": "created_at", "op": "gte", "value": "2024-01-01"},
                    {"field": "client.name", "op": "contains", "value": "Corp"}
                ]}
            ]),
            r#"title contains "Acme" and (created_at >= "2024-01-01" or client.name contains "Corp")"#,
        );
    }

    #[test]
    fn every_operator_and_alias() {
        for name in [
            "eq",
            "=",
            "==",
            "ne",
            "neq",
            "!=",
            "<>",
            "lt",
            "<",
            "lte",
            "le",
            "<=",
            "gt",
            ">",
            "gte",
            "ge",
            ">=",
            "contains",
            "like",
            "startswith",
            "endswith",
            "EQ",
            "StartsWith",
        ] {
            same(
                json!({"field": "x", "op": name, "value": 1}),
                &format!("x {name} 1"),
            );
        }
        for name in ["in", "nin", "notin", "IN"] {
            same(
                json!({"field": "x", "op": name, "value": [1, "a"]}),
                &format!("x {name} (1, \"a\")"),
            );
            same(
                json!({"field": "x", "op": name, "value": "a"}),
                &format!("x {name} (\"a\")"),
            );
            same(
                json!({"field": "x", "op": name, "value": []}),
                &format!("x {name} ()"),
            );
        }
        for name in ["isnull", "isnotnull", "notnull"] {
            same(json!({"field": "x", "op": name}), &format!("x {name}"));
            same(
                json!({"field": "x", "op": name, "value": null}),
                &format!("x {name}"),
            );
        }
    }

    #[test]
    fn values() {
        same(
            json!({"field": "x", "op": "eq", "value": null}),
            "x eq null",
        );
        same(
            json!({"field": "x", "op": "eq", "value": true}),
            "x eq true",
        );
        same(
            json!({"field": "x", "op": "eq", "value": -2.5e-3}),
            "x eq -2.5e-3",
        );
        same(
            json!({"field": "x", "op": "eq", "value": 12345678901234567890u64}),
            "x eq 12345678901234567890",
        );
        same(
            json!({"field": "x", "op": "eq", "value": "a \"quoted\" \\ string\n"}),
            r#"x eq "a \"quoted\" \\ string\n""#,
        );
        // A plain string is always a plain string, even when it spells a special value.
        same(
            json!({"field": "x", "op": "eq", "value": "today"}),
            "x eq \"today\"",
        );
        for sp in [
            "me.id",
            "now",
            "today",
            "today+5d",
            "today-30d",
            "sow",
            "eow",
            "som",
            "eom",
            "TODAY+1D",
        ] {
            same(
                json!({"field": "x", "op": "eq", "value": {"special": sp}}),
                &format!("x eq {sp}"),
            );
        }
        same(
            json!({"field": "x", "op": "in", "value": [{"special": "now"}, null, false, "s"]}),
            "x in [now, null, false, \"s\"]",
        );
    }

    #[test]
    fn groups_flatten_like_the_string_form() {
        let a = json!({"field": "a", "op": "eq", "value": 1});
        let b = json!({"field": "b", "op": "eq", "value": 2});
        let c = json!({"field": "c", "op": "eq", "value": 3});
        same(
            json!({"and": [a, {"and": [b, c]}]}),
            "a eq 1 and b eq 2 and c eq 3",
        );
        same(json!([{"and": [a, b]}, c]), "a eq 1 and b eq 2 and c eq 3");
        same(
            json!({"or": [{"or": [a, b]}, c]}),
            "a eq 1 or b eq 2 or c eq 3",
        );
        same(json!({"and": [a]}), "a eq 1");
        same(json!([a]), "a eq 1");
        same(json!({"not": {"and": [a]}}), "not a eq 1");
        same(json!({"not": {"not": a}}), "not not a eq 1");
        same(
            json!({"or": [a, {"and": [b, {"or": [c]}]}]}),
            "a eq 1 or b eq 2 and c eq 3",
        );
        same(json!({"not": {"or": [a, b]}}), "not (a eq 1 or b eq 2)");
    }

    #[test]
    fn locations_are_json_paths() {
        let e = parse_json(
            &json!({"and": [
                {"field": "a", "op": "eq", "value": 1},
                {"not": {"field": "b", "op": "isnull"}}
            ]})
            .to_string(),
        )
        .unwrap();
        let cs = e.conditions();
        let path = |s: &str| Loc::Path(s.into());
        assert_eq!(cs[0].at, path("$.and[0].field"));
        assert_eq!(cs[0].op_at, path("$.and[0].op"));
        assert_eq!(cs[0].value_at, path("$.and[0].value"));
        assert_eq!(cs[1].at, path("$.and[1].not.field"));
        assert_eq!(cs[1].value_at, path("$.and[1].not.op"));
        let e = parse_json(
            r#"[{"field": "a", "op": "eq", "value": 1}, {"field": "b", "op": "eq", "value": 1}]"#,
        )
        .unwrap();
        assert_eq!(e.conditions()[1].at, path("$[1].field"));
        let e = parse_json(r#"{"field": "a", "op": "eq", "value": 1}"#).unwrap();
        assert_eq!(e.conditions()[0].value_at, path("$.value"));
    }

    #[test]
    fn errors_with_their_paths() {
        let cases: &[(Json, &str)] = &[
            (json!([]), "filter is empty at $"),
            (json!("title eq 1"), "expected a JSON object or array at $"),
            (json!({}), "expected a condition or a group, found an empty object at $ (a condition is {\"field\": .., \"op\": .., \"value\": ..})"),
            (json!({"and": []}), "'and' needs at least one condition at $.and"),
            (json!({"or": []}), "'or' needs at least one condition at $.or"),
            (json!({"and": {}}), "'and' takes an array of conditions at $.and"),
            (json!({"not": []}), "'not' takes one condition or group (an object) at $.not"),
            (json!({"and": [[]]}), "a list of conditions is only allowed at the top at $.and[0] (write {\"and\": [...]} or {\"or\": [...]})"),
            (json!({"and": [1]}), "expected a condition or a group at $.and[0] (a condition is {\"field\": .., \"op\": .., \"value\": ..})"),
            (json!({"and": [], "or": []}), "unexpected key 'or' beside 'and' at $.or (a group has exactly one key: 'and', 'or' or 'not')"),
            (json!({"field": "a", "op": "eq", "value": 1, "vlaue": 2}), "unknown key 'vlaue' at $.vlaue (did you mean 'value'?)"),
            (json!({"field": "a", "op": "eq", "x y": 2}), "unknown key 'x y' at $[\"x y\"] (a condition has the keys 'field', 'op' and 'value')"),
            (json!({"op": "eq", "value": 1}), "condition has no 'field' at $"),
            (json!({"field": "a", "value": 1}), "condition has no 'op' at $"),
            (json!({"field": 1, "op": "eq"}), "'field' must be a string at $.field"),
            (json!({"field": "a b", "op": "eq", "value": 1}), "'a b' is not a field name at $.field (a field is a name or a dotted path such as 'title' or 'stage.slug')"),
            (json!({"field": "Not", "op": "eq", "value": 1}), "'Not' is not a field name at $.field (a field is a name or a dotted path such as 'title' or 'stage.slug')"),
            (json!({"field": "a", "op": 1}), "'op' must be a string at $.op"),
            (json!({"field": "a", "op": "contain", "value": "x"}), "unknown operator 'contain' at $.op (did you mean 'contains'?)"),
            (json!({"field": "a", "op": "banana", "value": "x"}), "unknown operator 'banana' at $.op"),
            (json!({"not": {"field": "a", "op": "eq"}}), "expected a value after 'eq' at $.not.value"),
            (json!({"field": "a", "op": "isnull", "value": 1}), "'isnull' takes no value at $.value"),
            (json!({"field": "a", "op": "=", "value": [1]}), "'=' takes a single value, not a list at $.value"),
            (json!({"field": "a", "op": "in", "value": [1, [2]]}), "lists cannot be nested at $.value[1]"),
            (json!({"field": "a", "op": "eq", "value": {"special": "tomorrow"}}), "'tomorrow' is not a special value at $.value.special (the special values are me.id, now, today, today+Nd, today-Nd, sow, eow, som and eom)"),
            (json!({"field": "a", "op": "eq", "value": {"special": 1}}), "'special' must be a string at $.value.special (a special value is written {\"special\": \"today+5d\"})"),
            (json!({"field": "a", "op": "eq", "value": {"spec": "now"}}), "unknown key 'spec' at $.value.spec (a special value is written {\"special\": \"today+5d\"})"),
            (json!({"field": "a", "op": "in", "value": [{}]}), "expected a value, found an empty object at $.value[0] (a special value is written {\"special\": \"today+5d\"})"),
        ];
        for (input, want) in cases {
            assert_eq!(
                error(&input.to_string()),
                format!("filter: {want}"),
                "{input}"
            );
        }
    }

    #[test]
    fn invalid_json_points_at_line_and_character() {
        assert_eq!(
            error("{\"field\": \"a\",}"),
            "filter: invalid JSON: trailing comma at 1:15"
        );
        assert_eq!(
            error("{\"field\": \"é\", x}"),
            "filter: invalid JSON: key must be a string at 1:16"
        );
        assert_eq!(
            error("[\n  {\"field\" \"a\"}]"),
            "filter: invalid JSON: expected `:` at 2:12"
        );
        assert!(error("{\"field\": \"a\"")
            .starts_with("filter: invalid JSON: EOF while parsing an object at 1:"));
        assert!(
            error("{\"field\": \"a\", \"op\": \"eq\", \"value\": 1e400}")
                .starts_with("filter: invalid JSON: number out of range")
        );
    }

    #[test]
    fn depth_limit_matches_the_string_form() {
        let c = json!({"field": "a", "op": "eq", "value": 1});
        let mut nots = c.clone();
        for _ in 0..32 {
            nots = json!({"not": nots});
        }
        assert!(parse_json(&nots.to_string()).is_ok());
        let at33 = format!("${}", ".not".repeat(32));
        let deeper = json!({"not": nots});
        assert_eq!(
            error(&deeper.to_string()),
            format!("filter: nesting deeper than 32 at {at33}")
        );
        let deeper = json!({"not": deeper});
        assert_eq!(
            error(&deeper.to_string()),
            format!("filter: nesting deeper than 32 at {at33}")
        );

        // and/or alternating: an or inside an and needs parentheses, an and inside an or does
        // not, so 32 levels of (and (or ..)) pairs are 32 deep in the string form.
        let mut e = c.clone();
        for _ in 0..32 {
            e = json!({"and": [c, {"or": [c, e]}]});
        }
        let parsed = parse_json(&e.to_string()).unwrap();
        let printed = super::super::to_string(&parsed);
        assert_eq!(
            parse_str(&printed).unwrap().without_locs(),
            parsed.without_locs()
        );
        let e = json!({"and": [c, {"or": [c, e]}]});
        assert!(
            error(&e.to_string()).starts_with("filter: nesting deeper than 32 at $.and[1].or[1]")
        );

        // Deeper than serde_json's own limit: refused, never a stack overflow.
        let deep = "[".repeat(100_000);
        assert_eq!(error(&deep), "filter: nesting deeper than 32 at 1:145");
        let deep = format!("{}{}", "[".repeat(144), "]".repeat(144));
        assert!(error(&deep).starts_with("filter: a list of conditions is only allowed at the top"));
        // Brackets inside strings do not count.
        let quoted = format!(
            "{{\"field\": \"a\", \"op\": \"eq\", \"value\": \"\\\"{}\"}}",
            "[".repeat(1000)
        );
        assert!(parse_json(&quoted).is_ok(), "{quoted}");
        let deep = "{\"not\":".repeat(10_000);
        assert!(error(&deep).starts_with("filter: nesting deeper than 32 at 1:"));
        assert!(parse(&deep[..8000]).is_err());
    }

    #[test]
    fn condition_limit() {
        let c = json!({"field": "a", "op": "eq", "value": 1});
        let many = |k: usize| Json::Array(vec![c.clone(); k]).to_string();
        assert_eq!(parse_json(&many(200)).unwrap().conditions().len(), 200);
        assert_eq!(
            error(&many(201)),
            "filter: more than 200 conditions at $[200]"
        );
    }

    #[test]
    fn to_json_reads_back() {
        let e = parse_str(r#"not (a eq 1 or b in [me.id, "x"]) and c isnull and d ne today-3d"#)
            .unwrap();
        let j = to_json(&e);
        assert_eq!(
            j,
            json!({"and": [
                {"not": {"or": [
                    {"field": "a", "op": "eq", "value": 1.0},
                    {"field": "b", "op": "in", "value": [{"special": "me.id"}, "x"]}
                ]}},
                {"field": "c", "op": "isnull"},
                {"field": "d", "op": "ne", "value": {"special": "today-3d"}}
            ]})
        );
        assert_eq!(tree(&j.to_string()), e.without_locs());
    }
}
