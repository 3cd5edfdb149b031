//! The canonical forms of a filter: [`to_string`] (the readable form) and [`to_json`].
//!
//! Both read back to the same tree: `parse_str(&to_string(e))` and
//! `parse_json(&to_json(e).to_string())` give `e` back (locations aside) for every tree a parser
//! produced. For a tree built by hand they give its normal form: a group inside a group of the
//! same kind is flattened into it and a group of one is just its member. A tree the parsers
//! never produce (an empty group, a binary operator without a value, a nested list,
//! `Special::Today` beyond ±99999 days) prints as text that does not parse back.

use super::{Cond, Expr, Value};
use serde_json::{Map, Value as Json};

/// The readable form: lowercase keywords and canonical operator names, strings in double quotes
/// with `\"` and `\\` (and control characters as `\n`, `\r`, `\t`, `\u001b`), numbers in their
/// shortest exact form, lists as `("a", "b")`. Parentheses appear only where precedence needs
/// them (an `or` inside an `and`, a group under `not`).
pub fn to_string(e: &Expr) -> String {
    let mut out = String::new();
    write_expr(e, Ctx::Top, &mut out);
    out
}

/// What a node is printed inside of, which decides whether it needs parentheses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Top,
    Or,
    And,
    Not,
}

fn write_expr(e: &Expr, ctx: Ctx, out: &mut String) {
    match e {
        Expr::Or(v) | Expr::And(v) if v.len() == 1 => write_expr(&v[0], ctx, out),
        Expr::Or(v) => write_group(v, " or ", Ctx::Or, matches!(ctx, Ctx::And | Ctx::Not), out),
        Expr::And(v) => write_group(v, " and ", Ctx::And, ctx == Ctx::Not, out),
        Expr::Not(inner) => {
            out.push_str("not ");
            write_expr(inner, Ctx::Not, out);
        }
        Expr::Cond(c) => write_cond(c, out),
    }
}

fn write_group(v: &[Expr], sep: &str, inner: Ctx, paren: bool, out: &mut String) {
    if paren {
        out.push('(');
    }
    for (i, e) in v.iter().enumerate() {
        if i > 0 {
            out.push_str(sep);
        }
        write_expr(e, inner, out);
    }
    if paren {
        out.push(')');
    }
}

fn write_cond(c: &Cond, out: &mut String) {
    out.push_str(&c.field);
    out.push(' ');
    out.push_str(c.op.name());
    if c.op.is_unary() {
        return;
    }
    if let Some(v) = &c.value {
        out.push(' ');
        write_value(v, out);
    }
}

fn write_value(v: &Value, out: &mut String) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(*n)),
        Value::String(s) => quote_into(s, out),
        Value::Special(s) => out.push_str(&s.name()),
        Value::List(items) => {
            out.push('(');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_value(item, out);
            }
            out.push(')');
        }
    }
}

/// A number the lexer reads back to the identical `f64`: integers below 10^16 plainly (`42`,
/// `-0`), everything else in Rust's shortest round-trip form, which switches to an exponent for
/// very large and very small magnitudes (`1e300`, `1.5e-7`, `0.1`).
pub(super) fn number(n: f64) -> String {
    if n.is_finite() && n == n.trunc() && n.abs() < 1e16 {
        format!("{n}")
    } else {
        format!("{n:?}")
    }
}

/// `s` as a double-quoted string of the readable form.
pub(super) fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    quote_into(s, &mut out);
    out
}

fn quote_into(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The JSON form: `{"field": .., "op": .., "value": ..}` for a condition (no `value` for the
/// unary operators), `{"and": [..]}`, `{"or": [..]}`, `{"not": {..}}` for groups, JSON arrays for
/// lists and `{"special": "today+5d"}` for the special values.
pub fn to_json(e: &Expr) -> Json {
    match e {
        Expr::And(v) => group("and", v),
        Expr::Or(v) => group("or", v),
        Expr::Not(inner) => {
            let mut m = Map::new();
            m.insert("not".into(), to_json(inner));
            Json::Object(m)
        }
        Expr::Cond(c) => {
            let mut m = Map::new();
            m.insert("field".into(), Json::String(c.field.clone()));
            m.insert("op".into(), Json::String(c.op.name().into()));
            if !c.op.is_unary() {
                if let Some(v) = &c.value {
                    m.insert("value".into(), value_json(v));
                }
            }
            Json::Object(m)
        }
    }
}

fn group(key: &str, v: &[Expr]) -> Json {
    let mut m = Map::new();
    m.insert(key.into(), Json::Array(v.iter().map(to_json).collect()));
    Json::Object(m)
}

fn value_json(v: &Value) -> Json {
    match v {
        Value::Null => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => serde_json::Number::from_f64(*n).map_or(Json::Null, Json::Number),
        Value::String(s) => Json::String(s.clone()),
        Value::List(items) => Json::Array(items.iter().map(value_json).collect()),
        Value::Special(s) => {
            let mut m = Map::new();
            m.insert("special".into(), Json::String(s.name()));
            Json::Object(m)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse_json, parse_str, Loc, Op, Special};
    use super::*;
    use serde_json::json;

    fn cond(field: &str, op: Op, value: Option<Value>) -> Expr {
        let at = Loc::Pos { line: 0, col: 0 };
        Expr::Cond(Cond {
            field: field.into(),
            op,
            value,
            at: at.clone(),
            op_at: at.clone(),
            value_at: at,
        })
    }

    fn s(v: &str) -> Option<Value> {
        Some(Value::String(v.into()))
    }

    #[test]
    fn prints_the_spec_example_canonically() {
        let e = parse_str(
            r#"TITLE Contains "Acme" AND (created_at >= "2024-01-01" OR client.name CONTAINS "Corp")"#,
        )
        .unwrap();
        assert_eq!(
            to_string(&e),
            r#"TITLE contains "Acme" and (created_at gte "2024-01-01" or client.name contains "Corp")"#
        );
    }

    #[test]
    fn prints_parentheses_only_where_needed() {
        let a = cond("a", Op::Eq, Some(Value::Number(1.0)));
        let b = cond("b", Op::IsNull, None);
        let c = cond("c", Op::Ne, Some(Value::Bool(true)));
        let or = Expr::Or(vec![a.clone(), Expr::And(vec![b.clone(), c.clone()])]);
        assert_eq!(to_string(&or), "a eq 1 or b isnull and c ne true");
        let and = Expr::And(vec![a.clone(), Expr::Or(vec![b.clone(), c.clone()])]);
        assert_eq!(to_string(&and), "a eq 1 and (b isnull or c ne true)");
        let not = Expr::Not(Box::new(Expr::And(vec![a.clone(), b.clone()])));
        assert_eq!(to_string(&not), "not (a eq 1 and b isnull)");
        let notnot = Expr::Not(Box::new(Expr::Not(Box::new(a.clone()))));
        assert_eq!(to_string(&notnot), "not not a eq 1");
        // Same-kind nesting and groups of one print flat.
        let nested = Expr::And(vec![
            Expr::And(vec![a.clone(), b.clone()]),
            Expr::Or(vec![c.clone()]),
        ]);
        assert_eq!(to_string(&nested), "a eq 1 and b isnull and c ne true");
    }

    #[test]
    fn prints_values() {
        let list = Some(Value::List(vec![
            Value::String("a".into()),
            Value::Number(-2.5),
            Value::Null,
            Value::Special(Special::Today(-30)),
        ]));
        assert_eq!(
            to_string(&cond("x", Op::In, list)),
            r#"x in ("a", -2.5, null, today-30d)"#
        );
        assert_eq!(
            to_string(&cond("x", Op::NotIn, Some(Value::List(vec![])))),
            "x nin ()"
        );
        assert_eq!(
            to_string(&cond("x", Op::Eq, s("say \"hi\" \\ \n\t\u{1}"))),
            r#"x eq "say \"hi\" \\ \n\t\u0001""#
        );
        assert_eq!(
            to_string(&cond("x", Op::Lt, Some(Value::Special(Special::MeId)))),
            "x lt me.id"
        );
        assert_eq!(
            to_string(&cond("x", Op::Gt, Some(Value::Special(Special::Today(5))))),
            "x gt today+5d"
        );
    }

    #[test]
    fn numbers_print_exactly() {
        for n in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            0.1,
            1e300,
            -1e300,
            1.5e-7,
            5e-324,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            123456789.125,
            9007199254740993.0,
            1e16,
            9999999999999998.0,
        ] {
            let text = number(n);
            let e = parse_str(&format!("x eq {text}")).unwrap();
            match &e {
                Expr::Cond(Cond {
                    value: Some(Value::Number(m)),
                    ..
                }) => {
                    assert_eq!(m.to_bits(), n.to_bits(), "{n} printed as {text}")
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(number(1e300), "1e300");
        assert_eq!(number(42.0), "42");
        assert_eq!(number(-0.0), "-0");
        assert_eq!(number(0.1), "0.1");
    }

    #[test]
    fn json_form() {
        let e = parse_str(
            r#"title contains "Acme" and not (x isnull or y in (1, today)) and z eq me.id"#,
        )
        .unwrap();
        assert_eq!(
            to_json(&e),
            json!({"and": [
                {"field": "title", "op": "contains", "value": "Acme"},
                {"not": {"or": [
                    {"field": "x", "op": "isnull"},
                    {"field": "y", "op": "in", "value": [1.0, {"special": "today"}]}
                ]}},
                {"field": "z", "op": "eq", "value": {"special": "me.id"}}
            ]})
        );
        let back = parse_json(&to_json(&e).to_string()).unwrap();
        assert_eq!(back.without_locs(), e.without_locs());
    }
}
