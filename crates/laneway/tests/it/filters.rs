//! Listing (`filters.md`): `filter=` in both forms, `sort=`, offset and cursor pagination on
//! `/records`, `/records/tasks`, `/members` and `/keys`.
//!
//! The core is an oracle: seed a few hundred varied rows through the API, read them all once
//! unfiltered, then generate many random filters and sorts (seeded, replay with
//! `LANEWAY_FILTER_SEED=<n>`), fetch every matching row through the API (offset pages and cursor
//! pages) and compare the ids, in order, with the same predicate and order evaluated here in
//! Rust with the documented semantics: SQL three-valued logic, case-insensitive
//! `contains`/`startswith`/`endswith` with literal `%`/`_`, `like` with wildcards, Unicode case
//! folding for record titles (`title`, `record.title`, `client.name`) and ASCII folding for every
//! other text, whole days for dates compared with date-times, byte-wise text order, NULLs last
//! ascending and first descending, and the id as the final tie-breaker.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering as AtomicOrdering};
use std::sync::Arc;

use reqwest::Method;
use serde_json::{json, Map, Value};
use time::{Date, Duration, OffsetDateTime, UtcOffset};

use crate::backend_test;
use crate::support::{Resp, TestApp};

use laneway_core::time::{format_date, format_ts, parse_date, parse_ts};

// ---- a small seeded RNG ---------------------------------------------------------------------

/// xorshift64*: deterministic, so a failing case replays with the same `LANEWAY_FILTER_SEED`.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        // splitmix64 of the seed: every seed its own stream, never the all-zero state.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
    fn int(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as usize) as i64
    }
}

fn base_seed() -> u64 {
    std::env::var("LANEWAY_FILTER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5EED_F117)
}

// ---- the filter tree, printed in both forms ------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
    In,
    Nin,
    Contains,
    Like,
    StartsWith,
    EndsWith,
    IsNull,
    IsNotNull,
}

impl Op {
    /// Every way of writing the operator (`filters.md`: keywords are case-insensitive).
    fn spellings(self) -> &'static [&'static str] {
        match self {
            Op::Eq => &["eq", "EQ", "=", "=="],
            Op::Ne => &["ne", "neq", "!=", "<>", "Ne"],
            Op::Lt => &["lt", "<", "LT"],
            Op::Lte => &["lte", "le", "<="],
            Op::Gt => &["gt", ">", "Gt"],
            Op::Gte => &["gte", "ge", ">="],
            Op::In => &["in", "IN"],
            Op::Nin => &["nin", "notin", "NotIn"],
            Op::Contains => &["contains", "CONTAINS"],
            Op::Like => &["like", "Like"],
            Op::StartsWith => &["startswith", "StartsWith"],
            Op::EndsWith => &["endswith", "ENDSWITH"],
            Op::IsNull => &["isnull", "IsNull"],
            Op::IsNotNull => &["isnotnull", "notnull", "NOTNULL"],
        }
    }
    fn unary(self) -> bool {
        matches!(self, Op::IsNull | Op::IsNotNull)
    }
    fn list(self) -> bool {
        matches!(self, Op::In | Op::Nin)
    }
}

#[derive(Clone, Debug)]
enum Lit {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    /// `today`, `today-3d`, `now`, `sow`, `me.id`, ...
    Special(String),
    List(Vec<Lit>),
}

#[derive(Clone, Debug)]
enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Cond(String, Op, Option<Lit>),
}

fn quote(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn num_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn kw(rng: &mut Rng, k: &str) -> String {
    match rng.below(3) {
        0 => k.to_uppercase(),
        _ => k.to_string(),
    }
}

fn lit_text(l: &Lit, rng: &mut Rng) -> String {
    match l {
        Lit::Null => rng.pick(&["null", "NULL"]).to_string(),
        Lit::Bool(b) => {
            let s = if *b { "true" } else { "false" };
            kw(rng, s)
        }
        Lit::Num(n) => num_text(*n),
        Lit::Str(s) => quote(s),
        Lit::Special(s) => s.clone(),
        Lit::List(v) => {
            let (o, c) = if rng.chance(0.5) {
                ("(", ")")
            } else {
                ("[", "]")
            };
            let items: Vec<String> = v.iter().map(|x| lit_text(x, rng)).collect();
            format!("{o}{}{c}", items.join(", "))
        }
    }
}

/// The readable form, with random spellings of keywords and operators.
fn to_text(n: &Node, rng: &mut Rng) -> String {
    fn group(n: &Node, rng: &mut Rng) -> String {
        match n {
            Node::Cond(..) => to_text(n, rng),
            _ => format!("({})", to_text(n, rng)),
        }
    }
    match n {
        Node::Cond(f, op, v) => {
            let o = rng.pick(op.spellings()).to_string();
            match v {
                None => format!("{f} {o}"),
                Some(v) => format!("{f} {o} {}", lit_text(v, rng)),
            }
        }
        Node::Not(e) => {
            let k = kw(rng, "not");
            format!("{k} {}", group(e, rng))
        }
        Node::And(v) | Node::Or(v) => {
            let word = if matches!(n, Node::And(_)) {
                "and"
            } else {
                "or"
            };
            let mut parts = Vec::new();
            for e in v {
                parts.push(group(e, rng));
            }
            let mut out = String::new();
            for (i, p) in parts.iter().enumerate() {
                if i > 0 {
                    let k = kw(rng, word);
                    out.push_str(&format!(" {k} "));
                }
                out.push_str(p);
            }
            out
        }
    }
}

fn lit_json(l: &Lit) -> Value {
    match l {
        Lit::Null => Value::Null,
        Lit::Bool(b) => json!(b),
        Lit::Num(n) if n.fract() == 0.0 && n.abs() < 1e15 => json!(*n as i64),
        Lit::Num(n) => json!(n),
        Lit::Str(s) => json!(s),
        Lit::Special(s) => json!({ "special": s }),
        Lit::List(v) => Value::Array(v.iter().map(lit_json).collect()),
    }
}

/// The JSON form (a top-level `and` sometimes as a bare array).
fn to_json(n: &Node, top: bool, rng: &mut Rng) -> Value {
    match n {
        Node::Cond(f, op, v) => {
            let mut m = json!({"field": f, "op": rng.pick(op.spellings())});
            if let Some(v) = v {
                m["value"] = lit_json(v);
            }
            m
        }
        Node::Not(e) => json!({"not": to_json(e, false, rng)}),
        Node::And(v) => {
            let items: Vec<Value> = v.iter().map(|e| to_json(e, false, rng)).collect();
            if top && rng.chance(0.5) {
                Value::Array(items)
            } else {
                json!({ "and": items })
            }
        }
        Node::Or(v) => {
            let items: Vec<Value> = v.iter().map(|e| to_json(e, false, rng)).collect();
            json!({ "or": items })
        }
    }
}

// ---- the oracle ------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    /// `unicode`: folded with full Unicode lowercasing (record titles); otherwise ASCII only.
    Text {
        unicode: bool,
    },
    Number,
    Bool,
    Datetime,
    Date,
    Id,
    Enum,
}

const ASCII_TEXT: Kind = Kind::Text { unicode: false };
const TITLE_TEXT: Kind = Kind::Text { unicode: true };

impl Kind {
    fn ops(self) -> &'static [Op] {
        use Op::*;
        match self {
            Kind::Text { .. } => &[
                Eq, Ne, In, Nin, Contains, Like, StartsWith, EndsWith, IsNull, IsNotNull,
            ],
            Kind::Number | Kind::Datetime | Kind::Date => {
                &[Eq, Ne, Lt, Lte, Gt, Gte, In, Nin, IsNull, IsNotNull]
            }
            Kind::Bool => &[Eq, Ne, IsNull, IsNotNull],
            Kind::Id | Kind::Enum => &[Eq, Ne, In, Nin, IsNull, IsNotNull],
        }
    }

    fn of_field_type(t: &str) -> Kind {
        match t {
            "number" => Kind::Number,
            "boolean" => Kind::Bool,
            "date" => Kind::Date,
            "datetime" => Kind::Datetime,
            "member" | "record" => Kind::Id,
            _ => ASCII_TEXT,
        }
    }
}

fn lit_kind(l: &Lit) -> Option<Kind> {
    match l {
        Lit::Num(_) => Some(Kind::Number),
        Lit::Bool(_) => Some(Kind::Bool),
        Lit::Str(_) => Some(ASCII_TEXT),
        Lit::Special(s) if s == "now" => Some(Kind::Datetime),
        Lit::Special(s) if s == "me.id" => Some(Kind::Id),
        Lit::Special(_) => Some(Kind::Date),
        Lit::List(v) => v.first().and_then(lit_kind),
        Lit::Null => None,
    }
}

/// A comparable value: text (ids, timestamps and dates in their fixed-width text), a number, a
/// boolean, or a whole day `[start, end)` of timestamps.
#[derive(Clone, Debug)]
enum Cv {
    S(String),
    N(f64),
    B(bool),
    Day(String, String),
}

fn cmp_cv(a: &Cv, b: &Cv) -> Ordering {
    match (a, b) {
        (Cv::S(a), Cv::S(b)) => a.as_bytes().cmp(b.as_bytes()),
        (Cv::N(a), Cv::N(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
        (Cv::B(a), Cv::B(b)) => a.cmp(b),
        _ => panic!("oracle compares {a:?} with {b:?}"),
    }
}

/// The order of two non-null values of an undeclared key: numbers, strings, booleans, arrays,
/// objects; numbers numerically, strings byte-wise, `false` before `true`; arrays and objects
/// tie among themselves.
fn cmp_any(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Number(_) => 0,
            Value::String(_) => 1,
            Value::Bool(_) => 2,
            Value::Array(_) => 3,
            _ => 4,
        }
    }
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .unwrap()
            .partial_cmp(&y.as_f64().unwrap())
            .unwrap(),
        (Value::String(x), Value::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

fn is_canonical_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn canonical_id(s: &str) -> String {
    uuid::Uuid::parse_str(s.trim())
        .unwrap_or_else(|_| panic!("generated a bad uuid {s}"))
        .hyphenated()
        .to_string()
}

fn special_day(name: &str, today: Date) -> Date {
    let monday = today - Duration::days(today.weekday().number_days_from_monday().into());
    match name {
        "today" => today,
        "sow" => monday,
        "eow" => monday + Duration::days(6),
        "som" => today.replace_day(1).unwrap(),
        "eom" => {
            let first = today.replace_day(1).unwrap();
            let next = (first + Duration::days(32)).replace_day(1).unwrap();
            next - Duration::days(1)
        }
        other => {
            let rest = other
                .strip_prefix("today")
                .and_then(|r| r.strip_suffix('d'))
                .unwrap_or_else(|| panic!("unknown special {other}"));
            today + Duration::days(rest.parse::<i64>().unwrap())
        }
    }
}

/// SQL LIKE over characters: `%` any run, `_` one character, everything else literal.
fn like_match(s: &str, p: &str) -> bool {
    let s: Vec<char> = s.chars().collect();
    let p: Vec<char> = p.chars().collect();
    // dp[j]: s[..i] matches p[..j]
    let mut dp = vec![false; p.len() + 1];
    dp[0] = true;
    for j in 1..=p.len() {
        dp[j] = dp[j - 1] && p[j - 1] == '%';
    }
    for i in 1..=s.len() {
        let mut next = vec![false; p.len() + 1];
        for j in 1..=p.len() {
            next[j] = match p[j - 1] {
                '%' => next[j - 1] || dp[j],
                '_' => dp[j - 1],
                c => dp[j - 1] && s[i - 1] == c,
            };
        }
        dp = next;
    }
    dp[p.len()]
}

fn fold(s: &str, unicode: bool) -> String {
    if unicode {
        s.to_lowercase()
    } else {
        s.to_ascii_lowercase()
    }
}

/// A simple query parameter of an endpoint, ANDed with the filter.
#[derive(Clone, Debug)]
enum Simple {
    Type(String),
    Search(String),
    Assignee(String),
    Pipeline(String),
    Stage(String),
    Record(String),
    Completed(bool, &'static str),
    /// `event=`/`events=` (the parameter name given): comma-separated event names.
    Events(Vec<String>, &'static str),
}

impl Simple {
    fn param(&self) -> (String, String) {
        let (k, v) = match self {
            Simple::Type(s) => ("type", s.clone()),
            Simple::Search(s) => ("search", s.clone()),
            Simple::Assignee(s) => ("assignee_id", s.clone()),
            Simple::Pipeline(s) => ("pipeline_id", s.clone()),
            Simple::Stage(s) => ("stage_id", s.clone()),
            Simple::Record(s) => ("record_id", s.clone()),
            Simple::Completed(_, raw) => ("completed", raw.to_string()),
            Simple::Events(names, k) => (*k, names.join(",")),
        };
        (k.to_string(), v)
    }
}

/// One sort key as the oracle reads it: field and descending.
type SortKeys = Vec<(String, bool)>;

#[derive(Clone, Debug)]
struct SortSpec {
    /// The `sort=` text, or `None` for the default.
    raw: Option<String>,
    keys: SortKeys,
    id_desc: bool,
}

/// One list endpoint: its rows as read unfiltered, its fields, and what relation paths resolve
/// against.
struct Model {
    path: &'static str,
    rows: Vec<Value>,
    by_id: HashMap<String, Value>,
    /// Filterable fields with their kind and whether they sort.
    fields: Vec<(&'static str, Kind, bool)>,
    /// Custom-field keys worth generating (records only).
    data_keys: Vec<&'static str>,
    /// Declared custom-field kinds agreed on by every object type that declares the key.
    declared: BTreeMap<String, Kind>,
    /// Declared kinds per object type slug (for `type=`).
    declared_by_type: HashMap<String, BTreeMap<String, Kind>>,
    default_sort: SortKeys,
    /// Fields generated with a few operators only (values that change while the test runs).
    restricted: Vec<&'static str>,
    stages: HashMap<String, Value>,
    pipelines: HashMap<String, Value>,
    object_types: HashMap<String, Value>,
    members: HashMap<String, Value>,
    records: HashMap<String, Value>,
    me: String,
    today: Date,
    now: String,
    enums: HashMap<&'static str, Vec<&'static str>>,
}

/// What a case is evaluated with: the declared kinds in force (they depend on `type=`).
struct Scope<'a> {
    declared: &'a BTreeMap<String, Kind>,
}

impl Model {
    fn field_kind(&self, name: &str) -> Option<Kind> {
        self.fields
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, k, _)| *k)
    }

    /// The kind a condition compiles with: the field's, the declared one of `data.<key>`, else
    /// the literal's, else string.
    fn kind_of(&self, sc: &Scope, field: &str, lit: Option<&Lit>) -> Kind {
        if let Some(k) = self.field_kind(field) {
            return k;
        }
        let key = field.strip_prefix("data.").expect("a data field");
        sc.declared
            .get(key)
            .copied()
            .or_else(|| lit.and_then(lit_kind))
            .unwrap_or(ASCII_TEXT)
    }

    fn sort_kind(&self, sc: &Scope, field: &str) -> Kind {
        self.field_kind(field).unwrap_or_else(|| {
            let key = field.strip_prefix("data.").expect("a data field");
            sc.declared.get(key).copied().unwrap_or(ASCII_TEXT)
        })
    }

    /// The raw value of a field of a row (relations resolved), `Null` when missing.
    fn raw(&self, row: &Value, field: &str) -> Value {
        let rel = |map: &HashMap<String, Value>, fk: &str, leaf: &str| -> Value {
            row[fk]
                .as_str()
                .and_then(|id| map.get(id))
                .map(|r| r[leaf].clone())
                .unwrap_or(Value::Null)
        };
        let leaf = field.rsplit('.').next().unwrap_or(field);
        match field {
            "stage.slug" | "stage.name" => rel(&self.stages, "stage_id", leaf),
            "pipeline.slug" | "pipeline.name" => rel(&self.pipelines, "pipeline_id", leaf),
            "object_type.slug" | "object_type.name" => {
                rel(&self.object_types, "object_type_id", leaf)
            }
            "assignee.email" | "assignee.name" => rel(&self.members, "assignee_id", leaf),
            "record.title" => rel(&self.records, "record_id", "title"),
            "client.name" | "client.title" => row["data"]["client"]
                .as_str()
                .filter(|s| is_canonical_uuid(s))
                .and_then(|s| self.records.get(&s.to_ascii_lowercase()))
                .map(|r| r["title"].clone())
                .unwrap_or(Value::Null),
            // Not in the event JSON: derived as the server stores them.
            "resource_type" if self.path == "/events" => json!(event_resource(row).0),
            "resource_id" if self.path == "/events" => event_resource(row).1,
            f => match f.strip_prefix("data.") {
                Some(k) => row["data"].get(k).cloned().unwrap_or(Value::Null),
                None => row.get(f).cloned().unwrap_or(Value::Null),
            },
        }
    }

    /// The value as `kind` sees it: a `data` value of another JSON type is NULL.
    fn value(&self, row: &Value, field: &str, kind: Kind) -> Value {
        let v = self.raw(row, field);
        if !field.starts_with("data.") {
            return v;
        }
        let fits = match kind {
            Kind::Number => v.is_number(),
            Kind::Bool => v.is_boolean(),
            _ => v.is_string(),
        };
        if fits {
            v
        } else {
            Value::Null
        }
    }

    fn value_cv(kind: Kind, v: &Value) -> Cv {
        match kind {
            Kind::Number => Cv::N(v.as_f64().unwrap()),
            Kind::Bool => Cv::B(v.as_bool().unwrap()),
            _ => Cv::S(
                v.as_str()
                    .unwrap_or_else(|| panic!("not text: {v}"))
                    .to_string(),
            ),
        }
    }

    fn day_cv(&self, d: Date) -> Cv {
        let start = d.midnight().assume_utc();
        Cv::Day(format_ts(start), format_ts(start + Duration::days(1)))
    }

    fn lit_cv(&self, kind: Kind, l: &Lit) -> Cv {
        match (kind, l) {
            (Kind::Text { .. } | Kind::Enum, Lit::Str(s)) => Cv::S(s.clone()),
            (Kind::Number, Lit::Num(n)) => Cv::N(*n),
            (Kind::Bool, Lit::Bool(b)) => Cv::B(*b),
            (Kind::Id, Lit::Str(s)) => Cv::S(canonical_id(s)),
            (Kind::Id, Lit::Special(s)) if s == "me.id" => Cv::S(self.me.clone()),
            (Kind::Datetime, Lit::Str(s)) => match parse_ts(s) {
                Some(t) => Cv::S(format_ts(t)),
                None => self.day_cv(parse_date(s).expect("a date")),
            },
            (Kind::Datetime, Lit::Special(s)) if s == "now" => Cv::S(self.now.clone()),
            (Kind::Datetime, Lit::Special(s)) => self.day_cv(special_day(s, self.today)),
            (Kind::Date, Lit::Str(s)) => Cv::S(format_date(parse_date(s).expect("a date"))),
            (Kind::Date, Lit::Special(s)) if s == "now" => Cv::S(format_date(self.today)),
            (Kind::Date, Lit::Special(s)) => Cv::S(format_date(special_day(s, self.today))),
            (k, l) => panic!("generated {l:?} for a {k:?} field"),
        }
    }

    fn eval(&self, sc: &Scope, row: &Value, n: &Node) -> Option<bool> {
        match n {
            Node::And(v) => {
                let mut out = Some(true);
                for e in v {
                    match self.eval(sc, row, e) {
                        Some(false) => return Some(false),
                        None => out = None,
                        Some(true) => {}
                    }
                }
                out
            }
            Node::Or(v) => {
                let mut out = Some(false);
                for e in v {
                    match self.eval(sc, row, e) {
                        Some(true) => return Some(true),
                        None => out = None,
                        Some(false) => {}
                    }
                }
                out
            }
            Node::Not(e) => self.eval(sc, row, e).map(|b| !b),
            Node::Cond(f, op, lit) => self.eval_cond(sc, row, f, *op, lit.as_ref()),
        }
    }

    fn eval_cond(
        &self,
        sc: &Scope,
        row: &Value,
        field: &str,
        op: Op,
        lit: Option<&Lit>,
    ) -> Option<bool> {
        let kind = self.kind_of(sc, field, lit);
        let (op, lit) = match (op, lit) {
            (Op::Eq, Some(Lit::Null)) => (Op::IsNull, None),
            (Op::Ne, Some(Lit::Null)) => (Op::IsNotNull, None),
            other => other,
        };
        let v = self.value(row, field, kind);
        match op {
            Op::IsNull => return Some(v.is_null()),
            Op::IsNotNull => return Some(!v.is_null()),
            _ => {}
        }
        // SQL: a condition on a NULL value is unknown.
        if v.is_null() {
            return None;
        }
        let lit = lit.expect("a binary operator has a value");
        if matches!(op, Op::Contains | Op::Like | Op::StartsWith | Op::EndsWith) {
            let Kind::Text { unicode } = kind else {
                panic!("text operator on {kind:?}")
            };
            let Lit::Str(needle) = lit else {
                panic!("text operator with {lit:?}")
            };
            let hay = fold(v.as_str().unwrap(), unicode);
            let needle = fold(needle, unicode);
            return Some(match op {
                Op::Contains => hay.contains(&needle),
                Op::StartsWith => hay.starts_with(&needle),
                Op::EndsWith => hay.ends_with(&needle),
                _ => like_match(&hay, &needle),
            });
        }
        let x = Self::value_cv(kind, &v);
        let eq = |l: &Cv| match l {
            Cv::Day(a, b) => {
                cmp_cv(&x, &Cv::S(a.clone())) != Ordering::Less
                    && cmp_cv(&x, &Cv::S(b.clone())) == Ordering::Less
            }
            l => cmp_cv(&x, l) == Ordering::Equal,
        };
        let lits: Vec<Cv> = match lit {
            Lit::List(items) => items.iter().map(|l| self.lit_cv(kind, l)).collect(),
            l => vec![self.lit_cv(kind, l)],
        };
        let range = |l: &Cv, op: Op| -> bool {
            let (lo, hi) = match l {
                Cv::Day(a, b) => (Cv::S(a.clone()), Cv::S(b.clone())),
                l => (l.clone(), l.clone()),
            };
            let is_day = matches!(l, Cv::Day(..));
            match op {
                Op::Lt => cmp_cv(&x, &lo) == Ordering::Less,
                Op::Lte if is_day => cmp_cv(&x, &hi) == Ordering::Less,
                Op::Lte => cmp_cv(&x, &hi) != Ordering::Greater,
                Op::Gt if is_day => cmp_cv(&x, &hi) != Ordering::Less,
                Op::Gt => cmp_cv(&x, &hi) == Ordering::Greater,
                Op::Gte => cmp_cv(&x, &lo) != Ordering::Less,
                _ => unreachable!(),
            }
        };
        Some(match op {
            Op::Eq => eq(&lits[0]),
            Op::Ne => !eq(&lits[0]),
            Op::In => lits.iter().any(eq),
            Op::Nin => !lits.iter().any(eq),
            Op::Lt | Op::Lte | Op::Gt | Op::Gte => range(&lits[0], op),
            _ => unreachable!(),
        })
    }

    fn simple_ok(&self, row: &Value, s: &Simple) -> bool {
        match s {
            Simple::Type(slug) => self.raw(row, "object_type.slug") == json!(slug),
            // Simple parameters are trimmed (a blank one is absent).
            Simple::Search(t) => {
                fold(row["title"].as_str().unwrap(), true).contains(&fold(t.trim(), true))
            }
            Simple::Assignee(id) => row["assignee_id"] == json!(id),
            Simple::Pipeline(id) => row["pipeline_id"] == json!(id),
            Simple::Stage(id) => row["stage_id"] == json!(id),
            Simple::Record(id) => row["record_id"] == json!(id),
            Simple::Completed(b, _) => row["completed"] == json!(b),
            Simple::Events(names, _) => names.iter().any(|n| row["event"] == json!(n)),
        }
    }

    /// Orders two rows by the sort keys, then the id.
    fn cmp_rows(&self, sc: &Scope, a: &Value, b: &Value, sort: &SortSpec) -> Ordering {
        for (field, desc) in &sort.keys {
            // An undeclared custom field sorts over whatever JSON it holds (docs/filters.md).
            let undeclared = self.field_kind(field).is_none()
                && field
                    .strip_prefix("data.")
                    .is_some_and(|k| !sc.declared.contains_key(k));
            let kind = self.sort_kind(sc, field);
            let (va, vb) = if undeclared {
                (self.raw(a, field), self.raw(b, field))
            } else {
                (self.value(a, field, kind), self.value(b, field, kind))
            };
            let o = match (va.is_null(), vb.is_null()) {
                (true, true) => Ordering::Equal,
                // NULLs last ascending, first descending.
                (true, false) => Ordering::Greater,
                (false, true) => Ordering::Less,
                (false, false) if undeclared => cmp_any(&va, &vb),
                (false, false) => cmp_cv(&Self::value_cv(kind, &va), &Self::value_cv(kind, &vb)),
            };
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        let o = a["id"].as_str().unwrap().cmp(b["id"].as_str().unwrap());
        if sort.id_desc {
            o.reverse()
        } else {
            o
        }
    }

    fn expected(&self, case: &Case) -> Vec<Value> {
        let declared = self.declared_for(&case.simple);
        let sc = Scope {
            declared: &declared,
        };
        let mut out: Vec<Value> = self
            .rows
            .iter()
            .filter(|r| case.simple.iter().all(|s| self.simple_ok(r, s)))
            .filter(|r| match &case.filter {
                None => true,
                Some(n) => self.eval(&sc, r, n) == Some(true),
            })
            .cloned()
            .collect();
        out.sort_by(|a, b| self.cmp_rows(&sc, a, b, &case.sort));
        out
    }

    fn declared_for(&self, simple: &[Simple]) -> BTreeMap<String, Kind> {
        for s in simple {
            if let Simple::Type(slug) = s {
                return self.declared_by_type.get(slug).cloned().unwrap_or_default();
            }
        }
        self.declared.clone()
    }
}

// ---- generating cases --------------------------------------------------------------------------

/// Words for titles and needles: mixed case, non-ASCII, LIKE wildcards and escapes.
const WORDS: &[&str] = &[
    "Acme",
    "acme",
    "ACME",
    "Corp",
    "corp",
    "Čapek",
    "čapek",
    "ČAPEK",
    "Zürich",
    "ZÜRICH",
    "Straße",
    "50%",
    "100% Pure",
    "under_score",
    "a_b",
    "a\\b",
    "Smith",
    "Residence",
    "Globex",
    "Ünïcode",
    "ñandú",
    "Łódź",
    "O'Brien",
    "\"quoted\"",
    "x%y_z",
    "Jones",
    "Ab",
    "aB",
    "β-test",
];

const CITIES: &[&str] = &[
    "Hartford", "hartford", "HARTFORD", "Čáslav", "čáslav", "Zürich", "ZÜRICH", "New_York",
    "New York", "50%off", "a\\b", "", "Québec", "québec",
];

struct Case {
    filter: Option<Node>,
    /// The text sent: string form or JSON form.
    filter_text: Option<String>,
    json: bool,
    sort: SortSpec,
    simple: Vec<Simple>,
}

impl Case {
    fn params(&self) -> Vec<(String, String)> {
        let mut q: Vec<(String, String)> = self.simple.iter().map(Simple::param).collect();
        if let Some(f) = &self.filter_text {
            q.push(("filter".into(), f.clone()));
        }
        if let Some(s) = &self.sort.raw {
            q.push(("sort".into(), s.clone()));
        }
        q
    }

    fn describe(&self) -> String {
        format!(
            "filter ({}): {}\n  sort: {:?}\n  simple: {:?}",
            if self.json { "JSON" } else { "string" },
            self.filter_text.as_deref().unwrap_or("-"),
            self.sort.raw,
            self.simple.iter().map(Simple::param).collect::<Vec<_>>()
        )
    }
}

fn mangle_case(s: &str, rng: &mut Rng) -> String {
    let mut out = String::new();
    for c in s.chars() {
        match rng.below(3) {
            0 => out.extend(c.to_uppercase()),
            1 => out.extend(c.to_lowercase()),
            _ => out.push(c),
        }
    }
    out
}

fn char_slice(s: &str, from: usize, to: usize) -> String {
    s.chars().skip(from).take(to.saturating_sub(from)).collect()
}

impl Model {
    fn sample(&self, rng: &mut Rng, field: &str, ok: impl Fn(&Value) -> bool) -> Option<Value> {
        for _ in 0..12 {
            if self.rows.is_empty() {
                return None;
            }
            let row = rng.pick(&self.rows);
            let v = self.raw(row, field);
            if !v.is_null() && ok(&v) {
                return Some(v);
            }
        }
        None
    }

    fn gen_text(&self, rng: &mut Rng, field: &str, op: Op) -> String {
        let base = if rng.chance(0.2) {
            rng.pick(WORDS).to_string()
        } else {
            self.sample(rng, field, Value::is_string)
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_else(|| rng.pick(WORDS).to_string())
        };
        let n = base.chars().count();
        match op {
            Op::Contains => {
                let a = rng.below(n + 1);
                let b = (a + rng.below(5)).min(n);
                let s = char_slice(&base, a, b);
                if rng.chance(0.5) {
                    mangle_case(&s, rng)
                } else {
                    s
                }
            }
            Op::StartsWith => {
                let s = char_slice(&base, 0, rng.below(n + 1).min(6));
                if rng.chance(0.5) {
                    mangle_case(&s, rng)
                } else {
                    s
                }
            }
            Op::EndsWith => {
                let s = char_slice(&base, n - rng.below(n + 1).min(6), n);
                if rng.chance(0.5) {
                    mangle_case(&s, rng)
                } else {
                    s
                }
            }
            Op::Like => {
                let mut p = String::new();
                if rng.chance(0.3) {
                    p.push('%');
                }
                let mut skip = 0;
                for c in base.chars() {
                    if skip > 0 {
                        skip -= 1;
                        continue;
                    }
                    if rng.chance(0.12) {
                        p.push('_');
                    } else if rng.chance(0.08) {
                        p.push('%');
                        skip = rng.below(4);
                    } else {
                        p.push(c);
                    }
                }
                if rng.chance(0.3) {
                    p.push('%');
                }
                if rng.chance(0.4) {
                    mangle_case(&p, rng)
                } else {
                    p
                }
            }
            _ => {
                if rng.chance(0.15) {
                    mangle_case(&base, rng)
                } else {
                    base
                }
            }
        }
    }

    fn gen_datetime(&self, rng: &mut Rng, field: &str) -> Lit {
        let ts = self
            .sample(rng, field, |v| v.as_str().and_then(parse_ts).is_some())
            .and_then(|v| v.as_str().and_then(parse_ts));
        match (rng.below(10), ts) {
            (0..=3, Some(t)) => Lit::Str(format_ts(t)),
            (4, Some(t)) => {
                let off = UtcOffset::from_hms(2, 0, 0).unwrap();
                Lit::Str(
                    t.to_offset(off)
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap(),
                )
            }
            (5, Some(t)) => {
                let ms = if rng.chance(0.5) { 1 } else { -1 };
                Lit::Str(format_ts(t + Duration::milliseconds(ms)))
            }
            (6, _) => {
                let d = self.today + Duration::days(rng.int(-1, 1));
                Lit::Str(if rng.chance(0.8) {
                    format_date(d)
                } else {
                    "2024-01-01".into()
                })
            }
            _ => Lit::Special(
                rng.pick(&[
                    "today",
                    "today",
                    "today-1d",
                    "today+1d",
                    "now",
                    "now",
                    "sow",
                    "eow",
                    "som",
                    "eom",
                    "today-30d",
                    "today+30d",
                ])
                .to_string(),
            ),
        }
    }

    fn gen_date(&self, rng: &mut Rng, field: &str) -> Lit {
        let existing = self
            .sample(rng, field, |v| v.as_str().and_then(parse_date).is_some())
            .and_then(|v| v.as_str().map(String::from));
        match (rng.below(10), existing) {
            (0..=3, Some(d)) => Lit::Str(d),
            (0..=6, _) => {
                let n = rng.int(-12, 12);
                Lit::Special(match n {
                    0 => "today".into(),
                    n if n > 0 => format!("today+{n}d"),
                    n => format!("today{n}d"),
                })
            }
            (7 | 8, _) => Lit::Str(if rng.chance(0.5) {
                rng.pick(&["2024-02-29", "2030-12-31", "2025-06-15"])
                    .to_string()
            } else {
                format_date(self.today + Duration::days(rng.int(-10, 10)))
            }),
            _ => Lit::Special(rng.pick(&["sow", "eow", "som", "eom", "now"]).to_string()),
        }
    }

    fn gen_id(&self, rng: &mut Rng, field: &str) -> Lit {
        let me_ok = matches!(field, "assignee_id" | "member_id");
        let id = if field == "record_id" && rng.chance(0.5) && !self.records.is_empty() {
            let keys: Vec<&String> = self.records.keys().collect();
            Some(rng.pick(&keys).to_string())
        } else {
            self.sample(rng, field, Value::is_string)
                .and_then(|v| v.as_str().map(String::from))
        };
        match (rng.below(10), id) {
            (0, _) if me_ok => Lit::Special("me.id".into()),
            (1, _) => Lit::Str(uuid::Uuid::new_v4().to_string()),
            (2, Some(id)) => Lit::Str(id.to_uppercase()),
            (_, Some(id)) => Lit::Str(id),
            (_, None) => Lit::Str(uuid::Uuid::new_v4().to_string()),
        }
    }

    fn gen_number(&self, rng: &mut Rng, field: &str) -> f64 {
        let base = self
            .sample(rng, field, Value::is_number)
            .and_then(|v| v.as_f64());
        match (rng.below(6), base) {
            (0..=2, Some(n)) => n,
            (3, Some(n)) => n + *rng.pick(&[-1.0, 1.0, 0.5, -0.5]),
            _ => rng.int(-10, 300) as f64,
        }
    }

    fn gen_single(&self, rng: &mut Rng, field: &str, kind: Kind, op: Op) -> Lit {
        match kind {
            Kind::Text { .. } => Lit::Str(self.gen_text(rng, field, op)),
            Kind::Enum => Lit::Str(rng.pick(&self.enums[field]).to_string()),
            Kind::Number => Lit::Num(self.gen_number(rng, field)),
            Kind::Bool => Lit::Bool(rng.chance(0.5)),
            Kind::Datetime => self.gen_datetime(rng, field),
            Kind::Date => self.gen_date(rng, field),
            Kind::Id => self.gen_id(rng, field),
        }
    }

    fn gen_value(&self, rng: &mut Rng, field: &str, kind: Kind, op: Op) -> Option<Lit> {
        if op.unary() {
            return None;
        }
        if matches!(op, Op::Eq | Op::Ne) && rng.chance(0.04) {
            return Some(Lit::Null);
        }
        if op.list() {
            if rng.chance(0.05) {
                return Some(Lit::List(vec![]));
            }
            let n = 1 + rng.below(3);
            let items: Vec<Lit> = (0..n)
                .map(|_| self.gen_single(rng, field, kind, Op::Eq))
                .collect();
            if n == 1 && rng.chance(0.3) {
                return items.into_iter().next();
            }
            return Some(Lit::List(items));
        }
        Some(self.gen_single(rng, field, kind, op))
    }

    fn gen_cond(&self, rng: &mut Rng, sc: &Scope) -> Node {
        let use_data = !self.data_keys.is_empty() && rng.chance(0.3);
        let (field, kind) = if use_data {
            let key = *rng.pick(&self.data_keys);
            let kind =
                sc.declared.get(key).copied().unwrap_or_else(|| {
                    *rng.pick(&[ASCII_TEXT, ASCII_TEXT, Kind::Number, Kind::Bool])
                });
            (format!("data.{key}"), kind)
        } else {
            let (f, k, _) = *rng.pick(&self.fields);
            (f.to_string(), k)
        };
        let op = if self.restricted.contains(&field.as_str()) {
            *rng.pick(&[Op::IsNull, Op::IsNotNull, Op::Lt])
        } else {
            *rng.pick(kind.ops())
        };
        let value = if self.restricted.contains(&field.as_str()) && op == Op::Lt {
            Some(Lit::Special("now".into()))
        } else {
            self.gen_value(rng, &field, kind, op)
        };
        Node::Cond(field, op, value)
    }

    fn gen_node(&self, rng: &mut Rng, sc: &Scope, depth: usize) -> Node {
        let p = if depth == 0 { 0.6 } else { 0.3 };
        if depth < 3 && rng.chance(p) {
            match rng.below(5) {
                0 | 1 => Node::And(
                    (0..2 + rng.below(2))
                        .map(|_| self.gen_node(rng, sc, depth + 1))
                        .collect(),
                ),
                2 | 3 => Node::Or(
                    (0..2 + rng.below(2))
                        .map(|_| self.gen_node(rng, sc, depth + 1))
                        .collect(),
                ),
                _ => Node::Not(Box::new(self.gen_node(rng, sc, depth + 1))),
            }
        } else {
            self.gen_cond(rng, sc)
        }
    }

    fn gen_sort(&self, rng: &mut Rng) -> SortSpec {
        if rng.chance(0.1) {
            return SortSpec {
                raw: None,
                keys: self.default_sort.clone(),
                id_desc: self.default_sort.last().is_some_and(|k| k.1),
            };
        }
        if rng.chance(0.05) {
            let desc = rng.chance(0.5);
            return SortSpec {
                raw: Some(if desc { "-id" } else { "id" }.into()),
                keys: vec![],
                id_desc: desc,
            };
        }
        let mut candidates: Vec<String> = self
            .fields
            .iter()
            .filter(|(n, _, s)| *s && *n != "id")
            .map(|(n, _, _)| n.to_string())
            .collect();
        for k in &self.data_keys {
            candidates.push(format!("data.{k}"));
        }
        let n = 1 + rng.below(2);
        let mut keys: SortKeys = Vec::new();
        while keys.len() < n {
            let f = rng.pick(&candidates).clone();
            if keys.iter().all(|(k, _)| *k != f) {
                keys.push((f, rng.chance(0.5)));
            }
        }
        let mut parts: Vec<String> = keys
            .iter()
            .map(|(f, desc)| {
                if *desc {
                    format!("-{f}")
                } else if rng.chance(0.2) {
                    format!("+{f}")
                } else {
                    f.clone()
                }
            })
            .collect();
        let mut id_desc = keys.last().unwrap().1;
        if rng.chance(0.15) {
            id_desc = rng.chance(0.5);
            parts.push(if id_desc { "-id" } else { "id" }.into());
        }
        let sep = if rng.chance(0.2) { ", " } else { "," };
        SortSpec {
            raw: Some(parts.join(sep)),
            keys,
            id_desc,
        }
    }

    fn gen_simple(&self, rng: &mut Rng) -> Vec<Simple> {
        if !rng.chance(0.2) {
            return vec![];
        }
        let id_of = |rng: &mut Rng, field: &str| -> Option<String> {
            self.sample(rng, field, Value::is_string)
                .and_then(|v| v.as_str().map(String::from))
        };
        match self.path {
            "/records" => {
                let s = match rng.below(5) {
                    0 => self
                        .sample(rng, "object_type.slug", Value::is_string)
                        .map(|v| Simple::Type(v.as_str().unwrap().to_string())),
                    1 => Some(Simple::Search(self.gen_text(rng, "title", Op::Contains))),
                    2 => id_of(rng, "assignee_id").map(Simple::Assignee),
                    3 => id_of(rng, "pipeline_id").map(Simple::Pipeline),
                    _ => id_of(rng, "stage_id").map(Simple::Stage),
                };
                s.into_iter().collect()
            }
            "/records/tasks" => {
                let s = match rng.below(3) {
                    0 => id_of(rng, "record_id").map(Simple::Record),
                    1 => id_of(rng, "assignee_id").map(Simple::Assignee),
                    _ => {
                        let b = rng.chance(0.5);
                        let raw = match (b, rng.chance(0.5)) {
                            (true, true) => "true",
                            (true, false) => "1",
                            (false, true) => "false",
                            (false, false) => "0",
                        };
                        Some(Simple::Completed(b, raw))
                    }
                };
                s.into_iter().collect()
            }
            _ => vec![],
        }
    }

    fn gen_case(&self, rng: &mut Rng) -> Case {
        let simple = self.gen_simple(rng);
        let declared = self.declared_for(&simple);
        let sc = Scope {
            declared: &declared,
        };
        let filter = if rng.chance(0.05) {
            None
        } else {
            Some(self.gen_node(rng, &sc, 0))
        };
        let json = rng.chance(0.3);
        let filter_text = filter.as_ref().map(|f| {
            if json {
                to_json(f, true, rng).to_string()
            } else {
                to_text(f, rng)
            }
        });
        let sort = self.gen_sort(rng);
        Case {
            filter,
            filter_text,
            json,
            sort,
            simple,
        }
    }
}

// ---- talking to the API ------------------------------------------------------------------------

fn qs(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

async fn list(app: &TestApp, path: &str, q: &[(String, String)]) -> Resp {
    app.send(app.req(Method::GET, path).query(q)).await
}

/// The server's origin (`http://127.0.0.1:port`), against which `next_cursor_url` resolves.
fn origin(app: &TestApp) -> String {
    app.base
        .strip_suffix("/api/v1")
        .expect("base ends with /api/v1")
        .to_string()
}

async fn get_url(app: &TestApp, url: &str) -> Resp {
    app.send(
        app.client
            .get(format!("{}{url}", origin(app)))
            .header("Authorization", format!("Bearer {}", app.token)),
    )
    .await
}

fn items(r: &Resp) -> Vec<Value> {
    r.data()
        .as_array()
        .unwrap_or_else(|| panic!("data is not a list: {}", r.text))
        .clone()
}

fn ids_of(v: &[Value]) -> Vec<String> {
    v.iter()
        .map(|x| x["id"].as_str().expect("id").to_string())
        .collect()
}

/// Every row in offset mode (`per_page=100`), checking `meta`.
async fn walk_offset(
    app: &TestApp,
    path: &str,
    q: &[(String, String)],
) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    let mut page = 1;
    loop {
        let mut q = q.to_vec();
        q.push(("per_page".into(), "100".into()));
        q.push(("page".into(), page.to_string()));
        let r = list(app, path, &q).await;
        if r.status != 200 {
            return Err(format!("offset page {page}: {} {}", r.status, r.text));
        }
        let meta = &r.body["meta"];
        if meta["page"] != json!(page) || meta["per_page"] != json!(100) {
            return Err(format!("offset meta: {meta}"));
        }
        let total = meta["total"].as_u64().ok_or("no meta.total")? as usize;
        let got = items(&r);
        let n = got.len();
        out.extend(got);
        if n < 100 || out.len() >= total {
            if out.len() != total {
                return Err(format!("meta.total {total} but {} rows", out.len()));
            }
            return Ok(out);
        }
        page += 1;
    }
}

struct CursorPage {
    items: Vec<Value>,
    next: Option<String>,
    prev: Option<String>,
}

fn cursor_page(r: &Resp, path: &str, size: u64) -> Result<CursorPage, String> {
    if r.status != 200 {
        return Err(format!("cursor page: {} {}", r.status, r.text));
    }
    let meta = &r.body["meta"];
    if meta["path"] != json!(format!("/api/v1{path}")) {
        return Err(format!("meta.path: {meta}"));
    }
    if meta["per_page"] != json!(size.min(100)) {
        return Err(format!("meta.per_page for size {size}: {meta}"));
    }
    for k in [
        "next_cursor",
        "next_cursor_url",
        "prev_cursor",
        "prev_cursor_url",
    ] {
        if meta.get(k).is_none() {
            return Err(format!("meta.{k} missing: {meta}"));
        }
    }
    let s = |k: &str| meta[k].as_str().map(String::from);
    let (next, prev) = (s("next_cursor"), s("prev_cursor"));
    if next.is_some() != s("next_cursor_url").is_some()
        || prev.is_some() != s("prev_cursor_url").is_some()
    {
        return Err(format!("cursor without url or url without cursor: {meta}"));
    }
    let links: Vec<Value> = [
        meta["next_cursor_url"].clone(),
        meta["prev_cursor_url"].clone(),
    ]
    .into_iter()
    .filter(|v| !v.is_null())
    .collect();
    if r.body["links"] != Value::Array(links) {
        return Err(format!(
            "links {} do not match meta {meta}",
            r.body["links"]
        ));
    }
    if r.body.get("success") != Some(&json!(true)) {
        return Err("success is not true".into());
    }
    Ok(CursorPage {
        items: items(r),
        next,
        prev,
    })
}

/// Every page in cursor mode, following `next_cursor` (or, `by_url`, `next_cursor_url`).
async fn walk_cursor(
    app: &TestApp,
    path: &str,
    q: &[(String, String)],
    size: u64,
    by_url: bool,
) -> Result<Vec<CursorPage>, String> {
    let mut pages: Vec<CursorPage> = Vec::new();
    let mut base = q.to_vec();
    base.push(("page[size]".into(), size.to_string()));
    let mut r = list(app, path, &base).await;
    loop {
        let p = cursor_page(&r, path, size)?;
        if pages.is_empty() && p.prev.is_some() {
            return Err("the first page has a prev_cursor".into());
        }
        if p.items.len() as u64 > size.min(100) {
            return Err(format!("{} items on a page of {size}", p.items.len()));
        }
        let next = p.next.clone();
        let url = r.body["meta"]["next_cursor_url"].as_str().map(String::from);
        if next.is_some() && (p.items.len() as u64) < size.min(100) {
            return Err(format!(
                "a short page ({}) has a next_cursor",
                p.items.len()
            ));
        }
        pages.push(p);
        if pages.len() > 500 {
            return Err("more than 500 pages".into());
        }
        let Some(next) = next else { break };
        r = if by_url {
            get_url(app, &url.unwrap()).await
        } else {
            let mut q = base.clone();
            q.push(("page[cursor]".into(), next));
            list(app, path, &q).await
        };
    }
    Ok(pages)
}

/// Walks back from the last page with `prev_cursor` and checks every page equals its forward
/// counterpart.
async fn walk_back(
    app: &TestApp,
    path: &str,
    q: &[(String, String)],
    size: u64,
    forward: &[CursorPage],
) -> Result<(), String> {
    let mut base = q.to_vec();
    base.push(("page[size]".into(), size.to_string()));
    let mut i = forward.len() - 1;
    let mut prev = forward[i].prev.clone();
    while let Some(c) = prev {
        if i == 0 {
            return Err("prev_cursor before the first page".into());
        }
        i -= 1;
        let mut q = base.clone();
        q.push(("page[cursor]".into(), c));
        let r = list(app, path, &q).await;
        let p = cursor_page(&r, path, size)?;
        if ids_of(&p.items) != ids_of(&forward[i].items) {
            return Err(format!(
                "backward page {i} differs:\n  back: {:?}\n  fwd:  {:?}",
                ids_of(&p.items),
                ids_of(&forward[i].items)
            ));
        }
        if p.next.is_none() {
            return Err(format!("backward page {i} has no next_cursor"));
        }
        prev = p.prev;
    }
    if i != 0 {
        return Err(format!("walking back stopped at page {i}"));
    }
    Ok(())
}

async fn all_rows(app: &TestApp, path: &str) -> Vec<Value> {
    walk_offset(app, path, &qs(&[("sort", "id")]))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

fn first_difference(model: &Model, expected: &[Value], got: &[Value]) -> String {
    let e = ids_of(expected);
    let g = ids_of(got);
    let i = e.iter().zip(&g).take_while(|(a, b)| a == b).count();
    let show = |id: Option<&String>| -> String {
        match id {
            None => "(end)".into(),
            Some(id) => match model.by_id.get(id) {
                Some(row) => row.to_string(),
                None => format!("{id} (not a known row)"),
            },
        }
    };
    format!(
        "{} expected, {} returned; first difference at #{i}:\n    expected {}\n    returned {}",
        e.len(),
        g.len(),
        show(e.get(i)),
        show(g.get(i))
    )
}

/// Runs `n` random cases against the model; panics with every failure (up to 8) described.
async fn run_oracle(app: &TestApp, model: &Model, seed: u64, n: usize) {
    run_oracle_with(app, model, seed, n, Model::gen_case).await
}

/// [`run_oracle`] with the cases made by `gen`.
async fn run_oracle_with(
    app: &TestApp,
    model: &Model,
    seed: u64,
    n: usize,
    gen: impl Fn(&Model, &mut Rng) -> Case,
) {
    let mut rng = Rng::new(seed);
    let mut failures: Vec<String> = Vec::new();
    let mut matched = 0usize;
    let mut empty = 0usize;
    for i in 0..n {
        let case = gen(model, &mut rng);
        let q = case.params();
        let want = model.expected(&case);
        if want.is_empty() {
            empty += 1;
        }
        matched += want.len();
        let mut fail = |what: String| {
            failures.push(format!(
                "case {i} (seed {seed}, {:?}) on {}: {what}\n  {}",
                app.backend,
                model.path,
                case.describe()
            ))
        };
        match walk_offset(app, model.path, &q).await {
            Err(e) => fail(format!("offset walk failed: {e}")),
            Ok(got) => {
                if ids_of(&got) != ids_of(&want) {
                    fail(format!("offset: {}", first_difference(model, &want, &got)));
                } else if model.path != "/keys" {
                    if let Some((a, b)) = got.iter().zip(&want).find(|(a, b)| a != b) {
                        fail(format!(
                            "row differs from the unfiltered read:\n  {a}\n  {b}"
                        ));
                    }
                }
            }
        }
        let size = *rng.pick(&[1, 3, 7, 10, 25, 40, 100, 150]) as u64;
        let by_url = rng.chance(0.3);
        match walk_cursor(app, model.path, &q, size, by_url).await {
            Err(e) => fail(format!("cursor walk (size {size}) failed: {e}")),
            Ok(pages) => {
                let got: Vec<Value> = pages.iter().flat_map(|p| p.items.clone()).collect();
                if ids_of(&got) != ids_of(&want) {
                    fail(format!(
                        "cursor (size {size}, by_url {by_url}): {}",
                        first_difference(model, &want, &got)
                    ));
                } else if pages.len() > 1 && rng.chance(0.3) {
                    if let Err(e) = walk_back(app, model.path, &q, size, &pages).await {
                        fail(format!("walking back (size {size}): {e}"));
                    }
                }
            }
        }
        if failures.len() >= 8 {
            break;
        }
    }
    assert!(
        failures.is_empty(),
        "{} oracle failure(s):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
    // The generator must produce interesting cases, not just empty or full answers.
    let avg = matched as f64 / n as f64;
    assert!(
        empty < n / 2 && avg < model.rows.len() as f64 * 0.9,
        "degenerate cases: {empty} empty of {n}, {avg:.1} rows on average of {}",
        model.rows.len()
    );
}

// ---- seeding -------------------------------------------------------------------------------------

struct World {
    owner: String,
    assignees: Vec<String>,
    records: Vec<String>,
}

fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

async fn member(app: &TestApp, name: &str, email: &str, role: &str) -> String {
    let r = app
        .post(
            "/members",
            json!({"name": name, "email": email, "role": role}),
            201,
        )
        .await;
    r.data()["id"].as_str().unwrap().to_string()
}

async fn owner_id(app: &TestApp) -> String {
    app.get("/me", 200).await.data()["member"]["id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Declares fields on `job`, adds a second board, and creates three assignees.
async fn seed_schema(app: &TestApp) -> World {
    let schema = app.get("/schema", 200).await;
    let job = schema.data()["object_types"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["slug"] == "job")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    app.patch(
        &format!("/schema/object-types/{job}"),
        json!({"fields": [
            {"key": "amount", "type": "number"},
            {"key": "vip", "type": "boolean"},
            {"key": "due", "type": "date"},
        ]}),
        200,
    )
    .await;
    app.post(
        "/schema/pipelines",
        json!({"name": "Über Board", "stages": [{"name": "Ärger"}, {"name": "Done 50%"}, {"name": "mañana_X"}]}),
        201,
    )
    .await;
    let mut assignees = Vec::new();
    for (name, email) in [
        ("Ann Ångström", "ann@example.com"),
        ("bob BUILDER", "Bob.Builder@Example.com"),
        ("ÉMILE Zola_1", "emile%zola@example.org"),
    ] {
        assignees.push(member(app, name, email, "member").await);
    }
    World {
        owner: owner_id(app).await,
        assignees,
        records: Vec::new(),
    }
}

fn title(rng: &mut Rng, i: usize) -> String {
    let n = 1 + rng.below(3);
    let mut words: Vec<String> = (0..n).map(|_| rng.pick(WORDS).to_string()).collect();
    if rng.chance(0.5) {
        words.push(format!("{}", i % 17));
    }
    words.join(" ")
}

fn date_near(rng: &mut Rng) -> String {
    format_date(today() + Duration::days(rng.int(-10, 10)))
}

fn record_data(rng: &mut Rng, is_job: bool, world: &World, clients: &[String]) -> Value {
    let mut d = Map::new();
    let mut put = |k: &str, v: Value| {
        d.insert(k.to_string(), v);
    };
    // amount: declared number on jobs; anything elsewhere.
    if is_job {
        if rng.chance(0.6) {
            put(
                "amount",
                if rng.chance(0.8) {
                    json!(rng.int(-50, 5000))
                } else {
                    json!(rng.int(0, 100) as f64 + 0.5)
                },
            );
        }
    } else {
        match rng.below(10) {
            0..=2 => put("amount", json!(rng.int(-50, 5000))),
            3 => put("amount", json!(rng.int(0, 100) as f64 + 0.25)),
            4 => put("amount", json!(rng.pick(&["12", "abc", "1e3"]))),
            5 => put("amount", json!(rng.chance(0.5))),
            6 => put("amount", Value::Null),
            _ => {}
        }
    }
    if is_job {
        if rng.chance(0.5) {
            put("vip", json!(rng.chance(0.5)));
        }
    } else {
        match rng.below(10) {
            0 | 1 => put("vip", json!(rng.chance(0.5))),
            2 => put("vip", json!("yes")),
            3 => put("vip", json!(1)),
            _ => {}
        }
    }
    if is_job {
        if rng.chance(0.5) {
            put("due", json!(date_near(rng)));
        }
    } else {
        match rng.below(10) {
            0 | 1 => put("due", json!(date_near(rng))),
            2 => put("due", json!("soon")),
            3 => put("due", json!(20240101)),
            _ => {}
        }
    }
    match rng.below(20) {
        0..=11 => put("city", json!(rng.pick(CITIES))),
        12 => put("city", json!(5)),
        13 => put("city", json!(["Hartford"])),
        _ => {}
    }
    // Undeclared everywhere and of every JSON type: sorts by type, then value.
    match rng.below(16) {
        0..=2 => put("score", json!(rng.int(-10, 10))),
        3 => put("score", json!(rng.int(0, 10) as f64 + 0.5)),
        4 | 5 => put("score", json!(format!("{}", rng.int(0, 10)))),
        6 => put(
            "score",
            json!(*rng.pick(&["Äpfel", "apple", "Zebra", "", "10", "9"])),
        ),
        7 | 8 => put("score", json!(rng.chance(0.5))),
        9 => put("score", json!([rng.int(0, 3)])),
        10 => put("score", json!({"n": rng.int(0, 3)})),
        11 => put("score", Value::Null),
        _ => {}
    }
    if !clients.is_empty() {
        match rng.below(20) {
            0..=5 => put("client", json!(rng.pick(clients))),
            6 => put("client", json!(rng.pick(clients).to_uppercase())),
            7 => put("client", json!("acme")),
            8 if !world.records.is_empty() => put("client", json!(rng.pick(&world.records))),
            9 => put("client", json!(uuid::Uuid::new_v4().to_string())),
            _ => {}
        }
    }
    Value::Object(d)
}

/// Clients first (the targets of `data.client`), then `n` varied records.
async fn seed_records(app: &TestApp, world: &mut World, rng: &mut Rng, n: usize) {
    let schema = app.get("/schema", 200).await;
    let stages: Vec<String> = schema.data()["pipelines"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["stages"].as_array().unwrap().iter())
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    let mut clients = Vec::new();
    for t in [
        "Acme Corp",
        "Globex CORPORATION",
        "Čapek Holding",
        "initech",
        "corp_ltd",
        "100% Corp",
        "ŽLUŤOUČKÝ kůň",
        "Acme",
    ] {
        let r = app
            .post("/records", json!({"type": "client", "title": t}), 201)
            .await;
        let id = r.data()["id"].as_str().unwrap().to_string();
        clients.push(id.clone());
        world.records.push(id);
    }
    let types = [
        "lead", "job", "estimate", "client", "contact", "company", "job",
    ];
    for i in 0..n {
        let ty = *rng.pick(&types);
        let mut body = json!({
            "type": ty,
            "title": title(rng, i),
            "data": record_data(rng, ty == "job", world, &clients),
        });
        if rng.chance(0.7) {
            body["stage_id"] = json!(rng.pick(&stages));
        }
        if rng.chance(0.6) {
            let who = if rng.chance(0.2) {
                world.owner.clone()
            } else {
                rng.pick(&world.assignees).clone()
            };
            body["assignee_id"] = json!(who);
        }
        let r = app.post("/records", body, 201).await;
        let id = r.data()["id"].as_str().unwrap().to_string();
        if rng.chance(0.1) {
            app.patch(
                &format!("/records/{id}"),
                json!({"title": title(rng, i + 1)}),
                200,
            )
            .await;
        }
        world.records.push(id);
    }
}

const TASK_WORDS: &[&str] = &[
    "Call",
    "call",
    "CALL",
    "Email",
    "Čapek",
    "čapek",
    "Zürich",
    "50%",
    "a_b",
    "a\\b",
    "Follow up",
    "follow-UP",
    "Quote",
    "x%y",
    "Ünïcode",
    "ok",
];

async fn seed_tasks(app: &TestApp, world: &World, rng: &mut Rng, n: usize) {
    for i in 0..n {
        let words: Vec<&str> = (0..1 + rng.below(3))
            .map(|_| *rng.pick(TASK_WORDS))
            .collect();
        let mut body = json!({"title": format!("{} {}", words.join(" "), i % 13)});
        if rng.chance(0.5) {
            body["notes"] = json!(rng.pick(&[
                "Before noon",
                "before NOON",
                "Čapek said",
                "",
                "50% done",
                "a_b"
            ]));
        }
        if rng.chance(0.6) && !world.records.is_empty() {
            body["record_id"] = json!(rng.pick(&world.records));
        }
        if rng.chance(0.5) {
            let who = if rng.chance(0.25) {
                world.owner.clone()
            } else {
                rng.pick(&world.assignees).clone()
            };
            body["assignee_id"] = json!(who);
        }
        match rng.below(10) {
            0..=2 => {}
            3..=7 => body["due_date"] = json!(date_near(rng)),
            _ => body["due_date"] = json!(rng.pick(&["2024-02-29", "2030-12-31", "2025-06-15"])),
        }
        if rng.chance(0.4) {
            body["completed"] = json!(true);
        }
        app.post("/records/tasks", body, 201).await;
    }
}

fn by_id(rows: &[Value]) -> HashMap<String, Value> {
    rows.iter()
        .map(|r| (r["id"].as_str().unwrap().to_string(), r.clone()))
        .collect()
}

struct Lookups {
    stages: HashMap<String, Value>,
    pipelines: HashMap<String, Value>,
    object_types: HashMap<String, Value>,
    declared: BTreeMap<String, Kind>,
    declared_by_type: HashMap<String, BTreeMap<String, Kind>>,
    members: HashMap<String, Value>,
    me: String,
}

async fn lookups(app: &TestApp) -> Lookups {
    let schema = app.get("/schema", 200).await;
    let mut stages = HashMap::new();
    let mut pipelines = HashMap::new();
    for p in schema.data()["pipelines"].as_array().unwrap() {
        pipelines.insert(p["id"].as_str().unwrap().to_string(), p.clone());
        for s in p["stages"].as_array().unwrap() {
            stages.insert(s["id"].as_str().unwrap().to_string(), s.clone());
        }
    }
    let mut object_types = HashMap::new();
    let mut agreed: BTreeMap<String, Option<Kind>> = BTreeMap::new();
    let mut declared_by_type = HashMap::new();
    for t in schema.data()["object_types"].as_array().unwrap() {
        object_types.insert(t["id"].as_str().unwrap().to_string(), t.clone());
        let mut mine = BTreeMap::new();
        for f in t["fields"].as_array().unwrap() {
            let k = Kind::of_field_type(f["type"].as_str().unwrap());
            let key = f["key"].as_str().unwrap().to_string();
            mine.insert(key.clone(), k);
            agreed
                .entry(key)
                .and_modify(|x| {
                    if *x != Some(k) {
                        *x = None
                    }
                })
                .or_insert(Some(k));
        }
        declared_by_type.insert(t["slug"].as_str().unwrap().to_string(), mine);
    }
    let members = by_id(&all_rows(app, "/members").await);
    Lookups {
        stages,
        pipelines,
        object_types,
        declared: agreed
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect(),
        declared_by_type,
        members,
        me: owner_id(app).await,
    }
}

fn now_text() -> String {
    format_ts(OffsetDateTime::now_utc())
}

async fn records_model(app: &TestApp) -> Model {
    let lk = lookups(app).await;
    let rows = all_rows(app, "/records").await;
    Model {
        path: "/records",
        by_id: by_id(&rows),
        records: by_id(&rows),
        rows,
        fields: vec![
            ("id", Kind::Id, false),
            ("title", TITLE_TEXT, true),
            ("object_type_id", Kind::Id, true),
            ("pipeline_id", Kind::Id, true),
            ("stage_id", Kind::Id, true),
            ("assignee_id", Kind::Id, true),
            ("position", ASCII_TEXT, true),
            ("created_at", Kind::Datetime, true),
            ("updated_at", Kind::Datetime, true),
            ("stage.slug", ASCII_TEXT, false),
            ("stage.name", ASCII_TEXT, false),
            ("pipeline.slug", ASCII_TEXT, false),
            ("pipeline.name", ASCII_TEXT, false),
            ("object_type.slug", ASCII_TEXT, false),
            ("object_type.name", ASCII_TEXT, false),
            ("assignee.email", ASCII_TEXT, false),
            ("assignee.name", ASCII_TEXT, false),
            ("client.name", TITLE_TEXT, false),
            ("client.title", TITLE_TEXT, false),
        ],
        data_keys: vec!["amount", "vip", "due", "city", "score", "client"],
        declared: lk.declared,
        declared_by_type: lk.declared_by_type,
        default_sort: vec![("created_at".into(), true)],
        restricted: vec![],
        stages: lk.stages,
        pipelines: lk.pipelines,
        object_types: lk.object_types,
        members: lk.members,
        me: lk.me,
        today: today(),
        now: now_text(),
        enums: HashMap::new(),
    }
}

async fn tasks_model(app: &TestApp) -> Model {
    let lk = lookups(app).await;
    let rows = all_rows(app, "/records/tasks").await;
    let records = by_id(&all_rows(app, "/records").await);
    Model {
        path: "/records/tasks",
        by_id: by_id(&rows),
        rows,
        fields: vec![
            ("id", Kind::Id, false),
            ("title", ASCII_TEXT, true),
            ("notes", ASCII_TEXT, true),
            ("record_id", Kind::Id, true),
            ("assignee_id", Kind::Id, true),
            ("due_date", Kind::Date, true),
            ("completed", Kind::Bool, true),
            ("completed_at", Kind::Datetime, true),
            ("created_at", Kind::Datetime, true),
            ("updated_at", Kind::Datetime, true),
            ("record.title", TITLE_TEXT, false),
            ("assignee.email", ASCII_TEXT, false),
            ("assignee.name", ASCII_TEXT, false),
        ],
        data_keys: vec![],
        declared: BTreeMap::new(),
        declared_by_type: HashMap::new(),
        default_sort: vec![("created_at".into(), true)],
        restricted: vec![],
        stages: lk.stages,
        pipelines: lk.pipelines,
        object_types: lk.object_types,
        members: lk.members,
        records,
        me: lk.me,
        today: today(),
        now: now_text(),
        enums: HashMap::new(),
    }
}

async fn members_model(app: &TestApp) -> Model {
    let lk = lookups(app).await;
    let rows = all_rows(app, "/members").await;
    Model {
        path: "/members",
        by_id: by_id(&rows),
        rows,
        fields: vec![
            ("id", Kind::Id, false),
            ("name", ASCII_TEXT, true),
            ("email", ASCII_TEXT, true),
            ("role", Kind::Enum, true),
            ("created_at", Kind::Datetime, true),
            ("updated_at", Kind::Datetime, true),
        ],
        data_keys: vec![],
        declared: BTreeMap::new(),
        declared_by_type: HashMap::new(),
        default_sort: vec![("created_at".into(), false)],
        restricted: vec![],
        stages: HashMap::new(),
        pipelines: HashMap::new(),
        object_types: HashMap::new(),
        members: lk.members,
        records: HashMap::new(),
        me: lk.me,
        today: today(),
        now: now_text(),
        enums: HashMap::from([("role", vec!["owner", "admin", "member"])]),
    }
}

async fn keys_model(app: &TestApp) -> Model {
    let lk = lookups(app).await;
    let rows = all_rows(app, "/keys").await;
    Model {
        path: "/keys",
        by_id: by_id(&rows),
        rows,
        fields: vec![
            ("id", ASCII_TEXT, false),
            ("name", ASCII_TEXT, true),
            ("scope", Kind::Enum, true),
            ("member_id", Kind::Id, true),
            ("prefix", ASCII_TEXT, true),
            ("created_at", Kind::Datetime, true),
            ("last_used_at", Kind::Datetime, true),
            ("revoked_at", Kind::Datetime, true),
        ],
        data_keys: vec![],
        declared: BTreeMap::new(),
        declared_by_type: HashMap::new(),
        default_sort: vec![("created_at".into(), true)],
        // The calling key's `last_used_at` moves while the test runs.
        restricted: vec!["last_used_at"],
        stages: HashMap::new(),
        pipelines: HashMap::new(),
        object_types: HashMap::new(),
        members: lk.members,
        records: HashMap::new(),
        me: lk.me,
        today: today(),
        now: now_text(),
        enums: HashMap::from([("scope", vec!["read", "write", "admin"])]),
    }
}

// ---- 1. the oracle -------------------------------------------------------------------------------

/// Deletes the first client and five other records.
async fn delete_some(app: &TestApp, world: &World, rng: &mut Rng) {
    let mut gone = vec![world.records[0].clone()];
    while gone.len() < 6 {
        let id = rng.pick(&world.records).clone();
        if !gone.contains(&id) {
            gone.push(id);
        }
    }
    for id in gone {
        app.delete(&format!("/records/{id}"), 200).await;
    }
}

backend_test!(oracle_records, |app| async move {
    let seed = base_seed() ^ 0x11;
    let mut rng = Rng::new(seed);
    let mut world = seed_schema(app).await;
    seed_records(app, &mut world, &mut rng, 240).await;
    // Deleted records leave the list, and `client.name` of a record pointing at one is NULL.
    delete_some(app, &world, &mut rng).await;
    let model = records_model(app).await;
    assert!(model.rows.len() >= 240);
    run_oracle(app, &model, seed, 150).await;
});

backend_test!(oracle_tasks, |app| async move {
    let seed = base_seed() ^ 0x22;
    let mut rng = Rng::new(seed);
    let mut world = seed_schema(app).await;
    seed_records(app, &mut world, &mut rng, 30).await;
    seed_tasks(app, &world, &mut rng, 200).await;
    // Tasks keep the id of a deleted record; its `record.title` is NULL.
    delete_some(app, &world, &mut rng).await;
    let model = tasks_model(app).await;
    assert_eq!(model.rows.len(), 200);
    run_oracle(app, &model, seed, 150).await;
});

backend_test!(oracle_members_and_keys, |app| async move {
    let seed = base_seed() ^ 0x33;
    let mut rng = Rng::new(seed);
    let names = [
        ("Ann Ångström", "ann"),
        ("ann", "ann2"),
        ("ANN", "ann3"),
        ("bob BUILDER", "bob"),
        ("Čapek Karel", "karel"),
        ("čapek karel", "karel2"),
        ("Zoë_50%", "zoe"),
        ("a\\b", "backslash"),
        ("Zed", "zed"),
        ("zed", "zed2"),
        ("Éva", "eva"),
        ("eva", "eva2"),
    ];
    let mut ids = Vec::new();
    for (i, (name, local)) in names.iter().enumerate() {
        let role = if i % 4 == 0 { "admin" } else { "member" };
        let domain = if i % 3 == 0 {
            "Example.COM"
        } else {
            "example.org"
        };
        ids.push(member(app, name, &format!("{local}@{domain}"), role).await);
    }
    let mut keys = Vec::new();
    for i in 0..14 {
        let scope = *rng.pick(&["read", "write", "admin"]);
        let mut body = json!({"name": format!("{} {i}", rng.pick(WORDS)), "scope": scope});
        if rng.chance(0.5) {
            body["member_id"] = json!(rng.pick(&ids));
        }
        let r = app.post("/keys", body, 201).await;
        keys.push(r.data()["id"].as_str().unwrap().to_string());
    }
    for k in keys.iter().step_by(4) {
        app.delete(&format!("/keys/{k}"), 200).await;
    }
    let members = members_model(app).await;
    run_oracle(app, &members, seed, 80).await;
    let keys = keys_model(app).await;
    run_oracle(app, &keys, seed ^ 1, 80).await;
});

// ---- targeted semantics (the edges the oracle found, pinned down) ------------------------------

/// The ids of `path` matching `filter`, in `sort` order (offset mode, one page).
async fn matching(app: &TestApp, path: &str, filter: &str, sort: &str) -> Vec<String> {
    let r = list(
        app,
        path,
        &qs(&[("filter", filter), ("sort", sort), ("per_page", "100")]),
    )
    .await;
    assert_eq!(r.status, 200, "{filter}: {}", r.text);
    ids_of(&items(&r))
}

async fn record(app: &TestApp, body: Value) -> String {
    app.post("/records", body, 201).await.data()["id"]
        .as_str()
        .unwrap()
        .to_string()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

backend_test!(missing_relations_are_unknown, |app| async move {
    // A condition on a missing relation (no stage, no client, no record) is unknown, so `not`
    // does not match it either — whether or not any related row matches the condition.
    let client = record(app, json!({"type": "client", "title": "Big Corp"})).await;
    let on_board = record(
        app,
        json!({"type": "lead", "title": "On board", "pipeline": "main-sales", "stage": "new", "data": {"client": client}}),
    )
    .await;
    let off_board = record(app, json!({"type": "lead", "title": "Off board"})).await;
    let leads = |ids: Vec<String>| -> Vec<String> {
        ids.into_iter()
            .filter(|i| *i == on_board || *i == off_board)
            .collect()
    };
    for (filter, want) in [
        ("not (stage.slug eq \"nope\")", vec![on_board.clone()]),
        ("not (stage.slug eq \"new\")", vec![]),
        ("stage.slug ne \"nope\"", vec![on_board.clone()]),
        ("not (stage.slug in ())", vec![on_board.clone()]),
        ("not (pipeline.name like \"zz%\")", vec![on_board.clone()]),
        ("not (client.name eq \"Nope\")", vec![on_board.clone()]),
        ("not (client.name contains \"corp\")", vec![]),
        ("client.name nin (\"Nope\")", vec![on_board.clone()]),
        (
            "not (client.name nin (\"Big Corp\"))",
            vec![on_board.clone()],
        ),
        ("stage.slug isnull", vec![off_board.clone()]),
        ("not (stage.slug isnull)", vec![on_board.clone()]),
        ("stage.slug isnotnull", vec![on_board.clone()]),
        ("not (stage.slug isnotnull)", vec![off_board.clone()]),
        (
            "not (assignee.email notnull)",
            vec![on_board.clone(), off_board.clone()],
        ),
        ("not (client.name isnotnull)", vec![off_board.clone()]),
        ("client.name isnull", vec![off_board.clone()]),
    ] {
        assert_eq!(
            sorted(leads(matching(app, "/records", filter, "id").await)),
            sorted(want),
            "{filter}"
        );
    }
    // Tasks: `record.title` of a task on no record is unknown.
    let on = app
        .post(
            "/records/tasks",
            json!({"title": "On", "record_id": on_board}),
            201,
        )
        .await
        .data()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let off = app
        .post("/records/tasks", json!({"title": "Off"}), 201)
        .await
        .data()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        matching(app, "/records/tasks", "not record.title notnull", "id").await,
        vec![off.clone()]
    );
    assert_eq!(
        matching(
            app,
            "/records/tasks",
            "not (record.title contains \"zzz\")",
            "id"
        )
        .await,
        vec![on.clone()]
    );
    assert_eq!(
        matching(
            app,
            "/records/tasks",
            "not (assignee.email eq \"x@example.com\")",
            "id"
        )
        .await,
        Vec::<String>::new()
    );
});

backend_test!(empty_lists_and_missing_values, |app| async move {
    let ann = member(app, "Ann", "ann@example.com", "member").await;
    let assigned = record(
        app,
        json!({"type": "lead", "title": "A", "assignee_id": ann}),
    )
    .await;
    let unassigned = record(app, json!({"type": "lead", "title": "B"})).await;
    for (filter, want) in [
        ("assignee_id in ()", vec![]),
        ("not (assignee_id in ())", vec![assigned.clone()]),
        ("assignee_id nin ()", vec![assigned.clone()]),
        ("not (assignee_id nin ())", vec![]),
        (
            r#"not (assignee_id eq "00000000-0000-0000-0000-000000000000")"#,
            vec![assigned.clone()],
        ),
        ("data.x in ()", vec![]),
        ("not (data.x in ())", vec![]),
        ("not (data.x nin ())", vec![]),
        ("title nin ()", vec![assigned.clone(), unassigned.clone()]),
        ("assignee_id eq null", vec![unassigned.clone()]),
        ("assignee_id ne null", vec![assigned.clone()]),
    ] {
        assert_eq!(
            sorted(matching(app, "/records", filter, "id").await),
            sorted(want),
            "{filter}"
        );
    }
});

backend_test!(
    like_and_case_folding_agree_across_backends,
    |app| async move {
        // LIKE: `%` and `_` are wildcards, a backslash is a plain character (no escape character),
        // and the same on SQLite and PostgreSQL.
        let back = record(app, json!({"type": "lead", "title": "a\\b"})).await;
        let plain = record(app, json!({"type": "lead", "title": "ab"})).await;
        let trailing = record(app, json!({"type": "lead", "title": "abc\\"})).await;
        let pct = record(app, json!({"type": "lead", "title": "50% off_now"})).await;
        for (filter, want) in [
            (r#"title like "a\\b""#, vec![back.clone()]),
            (r#"title like "a\\%""#, vec![back.clone()]),
            (r#"title like "abc\\""#, vec![trailing.clone()]),
            (r#"title like "a_b""#, vec![back.clone()]),
            (r#"title like "ab""#, vec![plain.clone()]),
            (r#"title like "50%""#, vec![pct.clone()]),
            (r#"title like "%F_N%""#, vec![pct.clone()]),
            (r#"title contains "0% o""#, vec![pct.clone()]),
            (r#"title contains "f_n""#, vec![pct.clone()]),
            (r#"title contains "f%n""#, vec![]),
            (
                r#"title contains "\\""#,
                vec![back.clone(), trailing.clone()],
            ),
            (r#"title endswith "C\\""#, vec![trailing.clone()]),
        ] {
            assert_eq!(
                sorted(matching(app, "/records", filter, "id").await),
                sorted(want),
                "{filter}"
            );
        }

        // Record titles fold every language; other text (task titles, member names) folds ASCII
        // only — on both backends (docs/filters.md, "Case and text order").
        let upper = record(app, json!({"type": "lead", "title": "ČAPEK Émile"})).await;
        let lower = record(app, json!({"type": "lead", "title": "čapek émile"})).await;
        assert_eq!(
            sorted(matching(app, "/records", r#"title contains "Čapek""#, "id").await),
            sorted(vec![upper.clone(), lower.clone()])
        );
        let task = |t: &'static str| async move {
            app.post("/records/tasks", json!({"title": t}), 201)
                .await
                .data()["id"]
                .as_str()
                .unwrap()
                .to_string()
        };
        let t_upper = task("ČAPEK Émile").await;
        let t_lower = task("čapek émile").await;
        let t_ascii = task("Capek EMILE").await;
        for (filter, want) in [
            (r#"title contains "ČAPEK""#, vec![t_upper.clone()]),
            (r#"title contains "čapek""#, vec![t_lower.clone()]),
            (r#"title contains "Čap""#, vec![t_upper.clone()]),
            (r#"title contains "émile""#, vec![t_lower.clone()]),
            (r#"title contains "ÉMILE""#, vec![t_upper.clone()]),
            (r#"title contains "capek""#, vec![t_ascii.clone()]),
            (r#"title startswith "ČA""#, vec![t_upper.clone()]),
            (r#"title endswith "Émile""#, vec![t_upper.clone()]),
            (r#"title like "Č%""#, vec![t_upper.clone()]),
            (r#"title like "č%""#, vec![t_lower.clone()]),
        ] {
            let got = matching(app, "/records/tasks", filter, "id").await;
            assert_eq!(sorted(got), sorted(want), "{filter}");
        }
        // `émile` matches "ÉMILE"? No: É and é differ outside record titles.
        let ann = member(app, "ÉMILE Zola", "emile@example.com", "member").await;
        assert_eq!(
            matching(app, "/members", r#"name contains "ÉMIL""#, "id").await,
            vec![ann.clone()]
        );
        assert_eq!(
            matching(app, "/members", r#"name startswith "émile""#, "id").await,
            Vec::<String>::new()
        );
        assert_eq!(
            matching(app, "/members", r#"name startswith "Émile zOLA""#, "id").await,
            vec![ann]
        );
    }
);

backend_test!(client_ids_in_any_spelling_agree, |app| async move {
    // `client.name` resolves `data.client` the same way on both backends: a UUID in its
    // hyphenated form, in either case.
    let client = record(app, json!({"type": "client", "title": "Corp Inc"})).await;
    let simple = client.replace('-', "");
    let mut ids = Vec::new();
    for v in [
        json!(client),
        json!(client.to_uppercase()),
        json!(simple),
        json!(format!("{{{client}}}")),
        json!(format!(" {client}")),
        json!(format!("{}-", &client[..35])),
    ] {
        ids.push(
            record(
                app,
                json!({"type": "lead", "title": "L", "data": {"client": v}}),
            )
            .await,
        );
    }
    let got = matching(app, "/records", r#"client.name eq "Corp Inc""#, "id").await;
    assert_eq!(sorted(got), sorted(ids[..2].to_vec()));
});

// ---- 2. cursor walks -----------------------------------------------------------------------------

/// A sort as the oracle reads it, from `sort=` text.
fn parse_sort(raw: &str) -> SortSpec {
    let mut keys = Vec::new();
    let mut id_desc = None;
    for part in raw.split(',').map(str::trim) {
        let (desc, name) = match part.strip_prefix('-') {
            Some(n) => (true, n),
            None => (false, part.trim_start_matches('+')),
        };
        if name == "id" {
            id_desc = Some(desc);
            break;
        }
        keys.push((name.to_string(), desc));
    }
    let id_desc = id_desc.unwrap_or_else(|| keys.last().is_some_and(|k: &(String, bool)| k.1));
    SortSpec {
        raw: Some(raw.to_string()),
        keys,
        id_desc,
    }
}

const WALK_SORTS: &[&str] = &[
    "-created_at",
    "title",
    "-title,created_at",
    "data.amount",
    "-data.amount,title",
    "-data.city,title",
    "data.vip,-data.due",
    "stage_id,-position",
    "assignee_id",
    "-assignee_id,-title",
    "updated_at,-id",
    "-position",
    "object_type_id,data.score",
];

backend_test!(cursor_walk_every_sort_forward_and_back, |app| async move {
    let mut rng = Rng::new(base_seed() ^ 0x44);
    let mut world = seed_schema(app).await;
    seed_records(app, &mut world, &mut rng, 70).await;
    let model = records_model(app).await;
    for raw in WALK_SORTS {
        let case = Case {
            filter: None,
            filter_text: None,
            json: false,
            sort: parse_sort(raw),
            simple: vec![],
        };
        let want = ids_of(&model.expected(&case));
        let q = case.params();
        let pages = walk_cursor(app, "/records", &q, 7, false)
            .await
            .unwrap_or_else(|e| panic!("sort {raw}: {e}"));
        let got: Vec<String> = pages.iter().flat_map(|p| ids_of(&p.items)).collect();
        let unique: HashSet<&String> = got.iter().collect();
        assert_eq!(unique.len(), got.len(), "sort {raw}: a row appears twice");
        assert_eq!(got, want, "sort {raw}");
        assert!(pages[..pages.len() - 1].iter().all(|p| p.items.len() == 7));
        walk_back(app, "/records", &q, 7, &pages)
            .await
            .unwrap_or_else(|e| panic!("sort {raw}: {e}"));
        // The same walk by following next_cursor_url as given.
        let by_url = walk_cursor(app, "/records", &q, 7, true).await.unwrap();
        let got2: Vec<String> = by_url.iter().flat_map(|p| ids_of(&p.items)).collect();
        assert_eq!(got2, want, "sort {raw} by url");
    }
});

/// Creates records and deletes the given ones until told to stop, from another task.
fn background_writer(
    app: &TestApp,
    mut doomed: Vec<String>,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<(Vec<String>, Vec<String>)> {
    let client = app.client.clone();
    let base = app.base.clone();
    let auth = format!("Bearer {}", app.token);
    tokio::spawn(async move {
        let mut rng = Rng::new(7);
        let (mut created, mut deleted) = (Vec::new(), Vec::new());
        let mut i = 0;
        while !stop.load(AtomicOrdering::SeqCst) && i < 400 {
            i += 1;
            let body = json!({
                "type": "lead",
                "title": title(&mut rng, i),
                "data": {"amount": rng.int(0, 100), "city": rng.pick(CITIES)},
            });
            let r = client
                .post(format!("{base}/records"))
                .header("Authorization", &auth)
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201);
            let v: Value = r.json().await.unwrap();
            created.push(v["data"]["id"].as_str().unwrap().to_string());
            if let Some(id) = doomed.pop() {
                let r = client
                    .delete(format!("{base}/records/{id}"))
                    .header("Authorization", &auth)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(r.status(), 200);
                deleted.push(id);
            }
        }
        (created, deleted)
    })
}

// The documented order of an undeclared key over every JSON type (docs/filters.md), forward and
// backward by cursor pages of 2, and by offset.
backend_test!(undeclared_keys_sort_by_type_then_value, |app| async move {
    // In ascending order; within a group the id (creation order) breaks ties.
    let values: Vec<Option<Value>> = vec![
        Some(json!(-3.5)),
        Some(json!(2)),
        Some(json!(9)),
        Some(json!(10)),
        Some(json!(1e3)),
        Some(json!("")),
        Some(json!("10")),
        Some(json!("9")),
        Some(json!("Zebra")),
        Some(json!("apple")),
        Some(json!("Äpfel")),
        Some(json!(false)),
        Some(json!(true)),
        Some(json!([3, 2])),
        Some(json!([])),
        Some(json!({"b": 1})),
        Some(json!({})),
        Some(Value::Null),
        None,
    ];
    // Created in a shuffled order, so creation order alone cannot pass.
    let order = [
        7, 0, 12, 3, 18, 9, 15, 1, 10, 5, 17, 2, 14, 8, 11, 4, 16, 6, 13,
    ];
    let mut ids = vec![String::new(); values.len()];
    for &i in &order {
        let mut data = serde_json::Map::new();
        if let Some(v) = &values[i] {
            data.insert("mix".into(), v.clone());
        }
        let r = app
            .post(
                "/records",
                json!({"type": "lead", "title": format!("v{i}"), "data": data}),
                201,
            )
            .await;
        ids[i] = r.data()["id"].as_str().unwrap().to_string();
    }
    // Ties (two arrays, two objects, null and missing) are broken by the id, which follows the
    // direction of the last sort key.
    let tie_groups: [&[usize]; 3] = [&[13, 14], &[15, 16], &[17, 18]];
    let expected = |desc: bool| -> Vec<String> {
        let mut groups: Vec<Vec<usize>> = Vec::new();
        let mut i = 0;
        while i < values.len() {
            match tie_groups.iter().find(|g| g[0] == i) {
                Some(g) => {
                    groups.push(g.to_vec());
                    i += g.len();
                }
                None => {
                    groups.push(vec![i]);
                    i += 1;
                }
            }
        }
        // Missing values last ascending, first descending.
        if desc {
            groups.reverse();
        }
        groups
            .into_iter()
            .flat_map(|mut g| {
                g.sort_by(|a, b| {
                    let o = ids[*a].cmp(&ids[*b]);
                    if desc {
                        o.reverse()
                    } else {
                        o
                    }
                });
                g
            })
            .map(|i| ids[i].clone())
            .collect()
    };
    for (raw, desc) in [("data.mix", false), ("-data.mix", true)] {
        let want = expected(desc);
        let r = list(app, "/records", &qs(&[("sort", raw), ("per_page", "100")])).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(ids_of(r.data().as_array().unwrap()), want, "{raw}, offset");
        // Forward by cursor pages of 2, then back from the last page.
        let mut q = qs(&[("sort", raw), ("page[size]", "2")]);
        let mut pages: Vec<CursorPage> = Vec::new();
        loop {
            let p = cursor_page(&list(app, "/records", &q).await, "/records", 2)
                .unwrap_or_else(|e| panic!("{raw}: {e}"));
            let next = p.next.clone();
            pages.push(p);
            let Some(next) = next else { break };
            q = qs(&[("sort", raw), ("page[size]", "2"), ("page[cursor]", &next)]);
        }
        let forward: Vec<String> = pages.iter().flat_map(|p| ids_of(&p.items)).collect();
        assert_eq!(forward, want, "{raw}, forward by cursor");
        let mut back: Vec<String> = ids_of(&pages.last().unwrap().items);
        let mut prev = pages.last().unwrap().prev.clone();
        while let Some(c) = prev {
            let p = cursor_page(
                &list(
                    app,
                    "/records",
                    &qs(&[("sort", raw), ("page[size]", "2"), ("page[cursor]", &c)]),
                )
                .await,
                "/records",
                2,
            )
            .unwrap_or_else(|e| panic!("{raw}: {e}"));
            let mut items = ids_of(&p.items);
            items.extend(back);
            back = items;
            prev = p.prev;
        }
        assert_eq!(back, want, "{raw}, backward by cursor");
    }
});

backend_test!(cursor_walk_while_rows_come_and_go, |app| async move {
    let mut rng = Rng::new(base_seed() ^ 0x55);
    let mut world = seed_schema(app).await;
    seed_records(app, &mut world, &mut rng, 60).await;
    for raw in ["title", "-created_at", "data.amount,-title", "-data.city"] {
        let model = records_model(app).await;
        let sort = parse_sort(raw);
        let initial = ids_of(&model.rows);
        // Rows deleted during the walk: every fifth, some by the walker between pages, the
        // rest concurrently by another task.
        let doomed: Vec<String> = initial.iter().step_by(5).cloned().collect();
        let (mine, theirs) = doomed.split_at(doomed.len() / 2);
        let stop = Arc::new(AtomicBool::new(false));
        let writer = background_writer(app, theirs.to_vec(), stop.clone());
        let mut mine = mine.to_vec();
        let mut seen: Vec<Value> = Vec::new();
        let mut q = qs(&[("sort", raw), ("page[size]", "7")]);
        let mut pages = 0;
        loop {
            let r = list(app, "/records", &q).await;
            let p = cursor_page(&r, "/records", 7).unwrap_or_else(|e| panic!("{raw}: {e}"));
            seen.extend(p.items);
            pages += 1;
            assert!(pages < 200, "{raw}: the walk does not end");
            // Between pages: one insert and one delete of our own.
            app.post("/records", json!({"type": "job", "title": title(&mut rng, pages), "data": {"amount": rng.int(0, 100)}}), 201)
                .await;
            if let Some(id) = mine.pop() {
                app.delete(&format!("/records/{id}"), 200).await;
            }
            let Some(next) = p.next else { break };
            q = qs(&[("sort", raw), ("page[size]", "7"), ("page[cursor]", &next)]);
        }
        stop.store(true, AtomicOrdering::SeqCst);
        let (_created, _deleted) = writer.await.unwrap();
        let got = ids_of(&seen);
        let unique: HashSet<&String> = got.iter().collect();
        assert_eq!(unique.len(), got.len(), "{raw}: a row appears twice");
        let doomed: HashSet<&String> = doomed.iter().collect();
        for id in initial.iter().filter(|i| !doomed.contains(i)) {
            assert!(
                unique.contains(id),
                "{raw}: row {id}, there all along, was skipped"
            );
        }
        let declared = model.declared.clone();
        let sc = Scope {
            declared: &declared,
        };
        for w in seen.windows(2) {
            assert_eq!(
                model.cmp_rows(&sc, &w[0], &w[1], &sort),
                Ordering::Less,
                "{raw}: out of order:\n  {}\n  {}",
                w[0],
                w[1]
            );
        }
    }
});

fn assert_bad(r: &Resp, code: &str, param: &str, what: &str) {
    assert_eq!(r.status, 400, "{what}: {}", r.text);
    assert_eq!(r.error_code(), code, "{what}: {}", r.text);
    assert_eq!(r.body["details"]["parameter"], param, "{what}: {}", r.text);
}

fn flip(s: &str, at: usize) -> String {
    let mut b = s.as_bytes().to_vec();
    b[at] = if b[at] == b'A' { b'B' } else { b'A' };
    String::from_utf8(b).unwrap()
}

backend_test!(cursor_misuse_and_meta, |app| async move {
    let mut rng = Rng::new(base_seed() ^ 0x66);
    let mut world = seed_schema(app).await;
    seed_records(app, &mut world, &mut rng, 105).await;
    let first = list(
        app,
        "/records",
        &qs(&[("sort", "title"), ("page[size]", "5")]),
    )
    .await;
    let p = cursor_page(&first, "/records", 5).unwrap();
    assert!(p.prev.is_none());
    let c = p.next.clone().expect("a next cursor");
    assert_eq!(
        first.body["links"],
        json!([first.body["meta"]["next_cursor_url"]])
    );
    let url = first.body["meta"]["next_cursor_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(url.starts_with("/api/v1/records?"), "{url}");

    // Used as given: the same page either way, with both links.
    let second = list(
        app,
        "/records",
        &qs(&[("sort", "title"), ("page[size]", "5"), ("page[cursor]", &c)]),
    )
    .await;
    let p2 = cursor_page(&second, "/records", 5).unwrap();
    let via_url = get_url(app, &url).await;
    assert_eq!(via_url.status, 200, "{}", via_url.text);
    assert_eq!(ids_of(&items(&via_url)), ids_of(&p2.items));
    assert_eq!(
        second.body["links"],
        json!([
            second.body["meta"]["next_cursor_url"],
            second.body["meta"]["prev_cursor_url"]
        ])
    );
    let back = get_url(
        app,
        second.body["meta"]["prev_cursor_url"].as_str().unwrap(),
    )
    .await;
    assert_eq!(ids_of(&items(&back)), ids_of(&p.items));
    // Without page[size] a cursor pages by the default 30.
    let r = list(
        app,
        "/records",
        &qs(&[("sort", "title"), ("page[cursor]", &c)]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["meta"]["per_page"], 30);
    assert_eq!(items(&r).len(), 30);

    // Bound to its list, sort, filter and simple parameters.
    for (path, q) in [
        ("/records", qs(&[("sort", "-title")])),
        ("/records", qs(&[])),
        (
            "/records",
            qs(&[("sort", "title"), ("filter", "title contains \"a\"")]),
        ),
        ("/records", qs(&[("sort", "title"), ("type", "lead")])),
        ("/records", qs(&[("sort", "title"), ("search", "a")])),
        ("/records/tasks", qs(&[("sort", "title")])),
        ("/members", qs(&[("sort", "name")])),
        ("/keys", qs(&[("sort", "name")])),
    ] {
        let mut q = q.clone();
        q.push(("page[cursor]".into(), c.clone()));
        let r = list(app, path, &q).await;
        assert_bad(
            &r,
            "invalid_parameter",
            "page[cursor]",
            &format!("{path} {q:?}"),
        );
    }
    // The same sort spelled out (`title` is `title,id`) is the same list: the cursor holds.
    let r = list(
        app,
        "/records",
        &qs(&[
            ("sort", "title,id"),
            ("page[size]", "5"),
            ("page[cursor]", &c),
        ]),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(ids_of(&items(&r)), ids_of(&p2.items));
    // Tampered with, truncated or made up.
    let dot = c.find('.').unwrap();
    let mut bad: Vec<String> = vec![
        flip(&c, 3),
        flip(&c, dot - 1),
        flip(&c, dot + 2),
        flip(&c, c.len() - 1),
        c[..c.len() - 1].to_string(),
        c[..dot].to_string(),
        c.replace('.', ""),
        format!("{c}x"),
        format!("{c}.{c}"),
        "abc".into(),
        "a.b".into(),
        ".".into(),
        "%%%".into(),
        "eyJkIjoibiJ9.AAAAAAAAAAAAAAAAAAAAAA".into(),
        "x".repeat(5000),
        "😀.😀".into(),
    ];
    // A well-formed cursor of another server (another key) is refused too.
    bad.push("eyJkIjoibiIsImYiOiIwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAiLCJrIjpbIngiLCJ5Il19.AAAAAAAAAAAAAAAAAAAAAA".into());
    for b in &bad {
        let r = list(
            app,
            "/records",
            &qs(&[("sort", "title"), ("page[size]", "5"), ("page[cursor]", b)]),
        )
        .await;
        assert_bad(&r, "invalid_parameter", "page[cursor]", b);
    }

    // page[size]: positive integers, clamped to 100.
    for s in [
        "0",
        "-1",
        "abc",
        "1.5",
        "",
        " ",
        "1e2",
        "99999999999999999999999",
    ] {
        let r = list(app, "/records", &qs(&[("page[size]", s)])).await;
        assert_bad(&r, "invalid_parameter", "page[size]", s);
    }
    let r = list(app, "/records", &qs(&[("page[size]", "1000")])).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.body["meta"]["per_page"], 100);
    assert_eq!(items(&r).len(), 100);
    let r = list(app, "/records", &qs(&[("page[size]", "100")])).await;
    assert!(r.body["meta"]["next_cursor"].is_string());
    // Offset and cursor parameters do not mix.
    for q in [
        qs(&[("page", "2"), ("page[size]", "5")]),
        qs(&[("per_page", "10"), ("page[size]", "5")]),
        qs(&[("page", "1"), ("page[cursor]", &c)]),
    ] {
        let r = list(app, "/records", &q).await;
        assert_eq!(r.status, 400, "{q:?}: {}", r.text);
        r.error_code();
    }
    // Offset mode: per_page is clamped, zero/negative/non-numbers are refused.
    for s in ["0", "-1", "abc"] {
        let r = list(app, "/records", &qs(&[("per_page", s)])).await;
        assert_eq!(r.status, 400, "per_page={s}: {}", r.text);
        r.error_code();
    }
    let r = list(app, "/records", &qs(&[("per_page", "1000")])).await;
    assert_eq!(r.body["meta"]["per_page"], 100);
    assert_eq!(items(&r).len(), 100);
    assert!(r.body["meta"]["total"].as_u64().unwrap() >= 105);

    // An empty list in cursor mode: no cursors, no links.
    let r = list(
        app,
        "/records",
        &qs(&[
            ("filter", "title eq \"nothing at all\""),
            ("page[size]", "5"),
        ]),
    )
    .await;
    let p = cursor_page(&r, "/records", 5).unwrap();
    assert!(p.items.is_empty() && p.next.is_none() && p.prev.is_none());
    assert_eq!(r.body["links"], json!([]));
    // Every list has both modes.
    for path in ["/records/tasks", "/members", "/keys"] {
        let r = list(app, path, &qs(&[("page[size]", "2")])).await;
        cursor_page(&r, path, 2).unwrap_or_else(|e| panic!("{path}: {e}"));
    }
});

// ---- 3. errors -------------------------------------------------------------------------------------

async fn filter_error(app: &TestApp, path: &str, filter: &str) -> String {
    let r = list(app, path, &qs(&[("filter", filter)])).await;
    assert_bad(&r, "invalid_filter", "filter", filter);
    r.body["error"].as_str().unwrap().to_string()
}

async fn sort_error(app: &TestApp, path: &str, sort: &str) -> String {
    let r = list(app, path, &qs(&[("sort", sort)])).await;
    assert_bad(&r, "invalid_sort", "sort", sort);
    r.body["error"].as_str().unwrap().to_string()
}

backend_test!(filter_and_sort_errors, |app| async move {
    seed_schema(app).await;
    // The messages of filters.md, word for word.
    assert_eq!(
        filter_error(app, "/records", r#"titel eq "x""#).await,
        "filter: unknown field 'titel' at 1:1 (did you mean 'title'?)"
    );
    assert!(filter_error(app, "/records", r#"created_at contains "x""#)
        .await
        .starts_with(
            "filter: operator 'contains' is not allowed on datetime field 'created_at' at 1:12"
        ));
    assert_eq!(
        filter_error(app, "/records", "title eq").await,
        "filter: expected a value after 'eq' at 1:9"
    );
    // Positions on later lines and in the JSON form.
    let e = filter_error(app, "/records", "title eq \"a\"\n  and stage.slug gt \"b\"").await;
    assert!(
        e.contains("operator 'gt' is not allowed on string field 'stage.slug' at 2:18"),
        "{e}"
    );
    let e = filter_error(app, "/records", r#"[{"field": "title", "op": "eq", "value": "a"}, {"field": "titel", "op": "eq", "value": "x"}]"#).await;
    assert!(
        e.contains("unknown field 'titel'")
            && e.contains("did you mean 'title'?")
            && e.contains("$[1]"),
        "{e}"
    );
    let e = filter_error(app, "/records/tasks", "complted eq true").await;
    assert!(e.contains("did you mean 'completed'?"), "{e}");
    // Any custom-field key may be named (an undeclared key is just missing)...
    let r = list(app, "/records", &qs(&[("filter", "data.amont gt 5")])).await;
    assert_eq!(r.status, 200, "{}", r.text);
    // ...but only keys a field could have.
    filter_error(app, "/records", "data.a-b eq 1").await;
    let e = filter_error(app, "/records", "data.x.y eq 1").await;
    assert!(e.contains("unknown field 'data.x.y'"), "{e}");

    // Values are checked against the field's type.
    for (path, f, needle) in [
        ("/records", r#"data.amount gt "x""#, "number"),
        ("/records", r#"assignee_id eq "nope""#, "not a valid id"),
        ("/records", r#"created_at gt "yesterday""#, "date"),
        ("/records", "title eq 5", "string"),
        ("/records", "title in (\"a\", 5)", "string"),
        ("/records", "title contains (\"a\", \"b\")", "list"),
        ("/records", "title contains null", "null"),
        ("/records", "data.vip eq \"yes\"", "boolean"),
        ("/records/tasks", r#"completed eq "yes""#, "boolean"),
        ("/records/tasks", r#"due_date eq "tomorrow""#, "date"),
        ("/records/tasks", "due_date eq now", ""),
        ("/records/tasks", "completed gt false", "not allowed"),
        (
            "/members",
            r#"role eq "king""#,
            "one of: owner, admin, member",
        ),
        (
            "/keys",
            r#"scope in ("read", "root")"#,
            "one of: read, write, admin",
        ),
        ("/keys", "revoked_at contains \"2024\"", "not allowed"),
    ] {
        let r = list(app, path, &qs(&[("filter", f)])).await;
        if needle.is_empty() {
            // Accepted: `now` on a date is today.
            assert_eq!(r.status, 200, "{f}: {}", r.text);
            continue;
        }
        assert_bad(&r, "invalid_filter", "filter", f);
        let e = r.body["error"].as_str().unwrap();
        assert!(e.contains(needle), "{f}: {e}");
        assert!(e.contains(" at "), "{f}: no position in {e}");
    }

    // Sorts: unknown fields are refused naming the sortable ones.
    let e = sort_error(app, "/records", "titel").await;
    for name in ["title", "created_at", "position", "data.<key>", "id"] {
        assert!(e.contains(name), "{e} does not name {name}");
    }
    // Said as a sort error, with `id` listed once, last.
    assert!(e.starts_with("sort: unknown field 'titel'"), "{e}");
    assert!(e.ends_with(", id)") && !e.contains(", id, "), "{e}");
    for s in [
        "stage.slug",
        "title,title",
        "-",
        "title,,created_at",
        "data.",
        "data.a-b",
        "client.name",
    ] {
        sort_error(app, "/records", s).await;
    }
    let e = sort_error(app, "/members", "nmae").await;
    assert!(e.contains("name") && e.contains("role"), "{e}");
    sort_error(app, "/keys", "token").await;
    sort_error(app, "/records/tasks", "record.title").await;

    // Limits: depth 32, 200 conditions, 8 KiB.
    let nest = |n: usize| format!("{}title eq \"x\"{}", "(".repeat(n), ")".repeat(n));
    assert_eq!(
        list(app, "/records", &qs(&[("filter", &nest(32))]))
            .await
            .status,
        200
    );
    let e = filter_error(app, "/records", &nest(33)).await;
    assert!(e.contains("32"), "{e}");
    let nots = |n: usize| format!("{}title eq \"x\"", "not ".repeat(n));
    assert_eq!(
        list(app, "/records", &qs(&[("filter", &nots(32))]))
            .await
            .status,
        200
    );
    filter_error(app, "/records", &nots(33)).await;
    // Built as text: a deep serde_json::Value would overflow this test's own stack.
    let json_nots = |n: usize| {
        format!(
            "{}{{\"field\": \"title\", \"op\": \"eq\", \"value\": \"x\"}}{}",
            "{\"not\": ".repeat(n),
            "}".repeat(n)
        )
    };
    assert_eq!(
        list(app, "/records", &qs(&[("filter", &json_nots(32))]))
            .await
            .status,
        200
    );
    filter_error(app, "/records", &json_nots(33)).await;
    filter_error(app, "/records", &json_nots(1000)).await;
    filter_error(app, "/records", &"(".repeat(5000)).await;
    let conds = |n: usize| vec!["title eq \"x\""; n].join(" or ");
    assert_eq!(
        list(app, "/records", &qs(&[("filter", &conds(200))]))
            .await
            .status,
        200
    );
    let e = filter_error(app, "/records", &conds(201)).await;
    assert!(e.contains("200"), "{e}");
    let json_conds = |n: usize| {
        Value::Array(vec![json!({"field": "title", "op": "ne", "value": "x"}); n]).to_string()
    };
    assert_eq!(
        list(app, "/records", &qs(&[("filter", &json_conds(200))]))
            .await
            .status,
        200
    );
    filter_error(app, "/records", &json_conds(201)).await;
    let long = |n: usize| format!("title eq \"{}\"", "x".repeat(n - 11));
    assert_eq!(long(8192).len(), 8192);
    assert_eq!(
        list(app, "/records", &qs(&[("filter", &long(8192))]))
            .await
            .status,
        200
    );
    let e = filter_error(app, "/records", &long(8193)).await;
    assert!(e.contains("8192"), "{e}");
    filter_error(app, "/records", &long(20_000)).await;
});

backend_test!(no_filter_is_a_500, |app| async move {
    // Token soup, odd literals and odd fields: every answer is a 200 or a 400 with the error
    // envelope, on every list.
    let mut rng = Rng::new(base_seed() ^ 0x77);
    let tokens = [
        "title",
        "data.amount",
        "data.x.y",
        "data.",
        "stage.slug",
        "client.name",
        "record.title",
        "created_at",
        "due_date",
        "completed",
        "role",
        "scope",
        "id",
        "assignee_id",
        "eq",
        "ne",
        "lt",
        "in",
        "nin",
        "contains",
        "like",
        "isnull",
        "=",
        "!=",
        "<=",
        ">",
        "and",
        "or",
        "not",
        "(",
        ")",
        "[",
        "]",
        ",",
        "\"a\"",
        "\"\\\"\"",
        "\"\\u00e9\"",
        "\"\\ud800\"",
        "\"%_\\\\\"",
        "1",
        "-0",
        "1e308",
        "1e999",
        "0.5",
        "-",
        "true",
        "null",
        "now",
        "today",
        "today+99999d",
        "today-99999d",
        "today+1d",
        "sow",
        "eom",
        "me.id",
        "\"2024-02-30\"",
        "\"2024-01-01T00:00:00+25:00\"",
        "\"9999-12-31T23:59:59.999Z\"",
        "\"0000-01-01\"",
        "\"00000000-0000-0000-0000-000000000000\"",
        "{",
        "}",
        ":",
        "\"field\"",
        "\u{0}",
        "é",
        "\"",
    ];
    let fixed = [
        "created_at lt today+99999d",
        "due_date gt today-99999d",
        "due_date eq \"+10000-01-01\"",
        "created_at eq \"9999-12-31\"",
        "created_at gt \"9999-12-31T23:59:59.999Z\"",
        "data.amount gt 1e308",
        "data.amount lt -1e308",
        "data.amount eq 1e-320",
        "title like \"\\\\\"",
        "title like \"%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%%a\"",
        "data.amount in (1, \"a\")",
        "data.x eq me.id",
        "data.x gt now",
        "data.x lt today",
        "data.x isnull",
        "client.title in ()",
        "assignee.email nin ()",
        "id in (\"key_x\")",
        "id eq \"01a21f97-3512-7332-b9e8-2c1bc4850f4d\"",
        r#"{"field": "title", "op": "eq", "value": {"special": "now"}}"#,
        r#"{"field": "created_at", "op": "eq", "value": {"special": "bogus"}}"#,
        r#"{"field": "data.amount", "op": "in", "value": [[1]]}"#,
        r#"{"field": "title", "op": "eq", "value": 1, "value": 2}"#,
        r#"{"and": []}"#,
        r#"{"or": [{"not": {}}]}"#,
        r#"[[[[[[[[]]]]]]]]"#,
        r#"{"field": "title", "op": "isnull", "value": "x"}"#,
        r#"{"field": "completed", "op": "eq", "value": 1}"#,
    ];
    for path in ["/records", "/records/tasks", "/members", "/keys"] {
        let mut filters: Vec<String> = fixed.iter().map(|s| s.to_string()).collect();
        for _ in 0..60 {
            let n = 1 + rng.below(8);
            let parts: Vec<&str> = (0..n).map(|_| *rng.pick(&tokens)).collect();
            filters.push(parts.join(if rng.chance(0.8) { " " } else { "" }));
        }
        for f in &filters {
            for sort in ["", "data.amount", "-due_date,title"] {
                let mut q = qs(&[("filter", f)]);
                if !sort.is_empty() {
                    q.push(("sort".into(), sort.into()));
                }
                if rng.chance(0.3) {
                    q.push(("page[size]".into(), "3".into()));
                }
                let r = list(app, path, &q).await;
                assert!(
                    r.status == 200 || r.status == 400,
                    "{path} filter={f:?} sort={sort}: {} {}",
                    r.status,
                    r.text
                );
                if r.status == 400 {
                    r.error_code();
                } else {
                    assert_eq!(r.body["success"], true, "{}", r.text);
                }
            }
        }
    }
});

// ---- 4. the spec's example, and both forms -----------------------------------------------------

backend_test!(spec_example_and_both_forms, |app| async move {
    let ann = member(app, "Ann", "ann@example.com", "member").await;
    let big = record(app, json!({"type": "client", "title": "Big Corp"})).await;
    let small = record(app, json!({"type": "client", "title": "Small Inc"})).await;
    let acme_ltd = record(app, json!({"type": "lead", "title": "Acme Ltd", "pipeline": "main-sales", "stage": "new", "data": {"value": 900, "city": "Hartford"}})).await;
    let acme_two = record(app, json!({"type": "lead", "title": "ACME two", "assignee_id": ann, "pipeline": "main-sales", "stage": "won", "data": {"client": big, "value": 100, "city": "Hartford"}})).await;
    let acme_three = record(app, json!({"type": "job", "title": "the acme three", "data": {"client": small, "value": "700", "city": "hartford"}})).await;
    let other = record(app, json!({"type": "lead", "title": "Other", "assignee_id": ann, "pipeline": "main-sales", "stage": "contacted", "data": {"client": big, "value": 501}})).await;

    let spec =
        r#"title contains "Acme" and (created_at >= "2024-01-01" or client.name contains "Corp")"#;
    assert_eq!(
        sorted(matching(app, "/records", spec, "id").await),
        sorted(vec![acme_ltd.clone(), acme_two.clone(), acme_three.clone()])
    );
    let later =
        r#"title contains "Acme" and (created_at >= "2099-01-01" or client.name contains "Corp")"#;
    assert_eq!(
        matching(app, "/records", later, "id").await,
        vec![acme_two.clone()]
    );
    let spec_json = r#"[{"field": "title", "op": "contains", "value": "Acme"},
         {"or": [{"field": "created_at", "op": "gte", "value": "2099-01-01"},
                 {"field": "client.name", "op": "contains", "value": "Corp"}]}]"#;
    assert_eq!(
        matching(app, "/records", spec_json, "id").await,
        vec![acme_two.clone()]
    );

    // A handful of filters in both forms give the same rows (and the ones expected).
    let cases: Vec<(&str, Value, Vec<String>)> = vec![
        (
            r#"data.value gt 500 and data.city eq "Hartford""#,
            json!({"and": [{"field": "data.value", "op": "gt", "value": 500}, {"field": "data.city", "op": "eq", "value": "Hartford"}]}),
            vec![acme_ltd.clone()],
        ),
        (
            r#"stage.slug in ("new", "won") and not (assignee_id isnull)"#,
            json!([{"field": "stage.slug", "op": "in", "value": ["new", "won"]}, {"not": {"field": "assignee_id", "op": "isnull"}}]),
            vec![acme_two.clone()],
        ),
        (
            r#"title startswith "acme" or title endswith "THREE""#,
            json!({"or": [{"field": "title", "op": "startswith", "value": "acme"}, {"field": "title", "op": "endswith", "value": "THREE"}]}),
            vec![acme_ltd.clone(), acme_two.clone(), acme_three.clone()],
        ),
        (
            r#"assignee_id eq me.id or (assignee.email eq "ann@example.com" and data.value >= 501)"#,
            json!({"or": [{"field": "assignee_id", "op": "eq", "value": {"special": "me.id"}}, {"and": [{"field": "assignee.email", "op": "eq", "value": "ann@example.com"}, {"field": "data.value", "op": ">=", "value": 501}]}]}),
            vec![other.clone()],
        ),
        (
            r#"created_at eq today and created_at lt now and not (created_at lt today) and created_at gte sow and created_at lte eom"#,
            json!([{"field": "created_at", "op": "eq", "value": {"special": "today"}}, {"field": "created_at", "op": "lt", "value": {"special": "now"}}, {"not": {"field": "created_at", "op": "lt", "value": {"special": "today"}}}, {"field": "created_at", "op": "gte", "value": {"special": "sow"}}, {"field": "created_at", "op": "lte", "value": {"special": "eom"}}]),
            vec![
                big.clone(),
                small.clone(),
                acme_ltd.clone(),
                acme_two.clone(),
                acme_three.clone(),
                other.clone(),
            ],
        ),
        (
            r#"created_at lt today or created_at gt today or created_at gte today+1d"#,
            json!({"or": [{"field": "created_at", "op": "lt", "value": {"special": "today"}}, {"field": "created_at", "op": "gt", "value": {"special": "today"}}, {"field": "created_at", "op": "gte", "value": {"special": "today+1d"}}]}),
            vec![],
        ),
        (
            r#"client.name eq "Big Corp" and data.value ne 501"#,
            json!({"and": [{"field": "client.name", "op": "eq", "value": "Big Corp"}, {"field": "data.value", "op": "ne", "value": 501}]}),
            vec![acme_two.clone()],
        ),
        (
            r#"data.value eq "700" or data.city like "h%D""#,
            json!({"or": [{"field": "data.value", "op": "eq", "value": "700"}, {"field": "data.city", "op": "like", "value": "h%D"}]}),
            vec![acme_ltd.clone(), acme_two.clone(), acme_three.clone()],
        ),
    ];
    for (text, js, want) in cases {
        let a = matching(app, "/records", text, "id").await;
        let b = matching(app, "/records", &js.to_string(), "id").await;
        assert_eq!(a, b, "string and JSON forms differ for {text}");
        assert_eq!(sorted(a), sorted(want), "{text}");
    }
});

// ---- 5. events: `/events` and `/records/:id/activity` ----------------------------------------

/// `resource_type` and `resource_id` of an event as the server stores them (not in its JSON):
/// task events are about the task, pipeline and stage events about the pipeline or stage, and
/// every other event (`record.*`, `contact.*`, `company.*`, `pipeline.stage_changed`) about the
/// record; the id is the one of the resource the event carries.
fn event_resource(row: &Value) -> (&'static str, Value) {
    let name = row["event"].as_str().expect("an event name");
    let kind = match name.split('.').next() {
        Some("task") => "task",
        Some("stage") => "stage",
        Some("pipeline") if name != "pipeline.stage_changed" => "pipeline",
        _ => "record",
    };
    (kind, row["data"]["id"].clone())
}

/// The events of `path` (`/events` or a record's activity) as the oracle reads them.
async fn events_model(app: &TestApp, path: &'static str) -> Model {
    let rows = all_rows(app, path).await;
    Model {
        path,
        by_id: by_id(&rows),
        rows,
        fields: vec![
            ("id", Kind::Id, false),
            ("event", ASCII_TEXT, true),
            ("timestamp", Kind::Datetime, true),
            ("resource_type", ASCII_TEXT, false),
            ("resource_id", ASCII_TEXT, false),
        ],
        data_keys: vec!["title", "stage_id", "completed"],
        declared: BTreeMap::new(),
        declared_by_type: HashMap::new(),
        default_sort: vec![("timestamp".into(), true)],
        restricted: vec![],
        stages: HashMap::new(),
        pipelines: HashMap::new(),
        object_types: HashMap::new(),
        members: HashMap::new(),
        records: HashMap::new(),
        me: owner_id(app).await,
        today: today(),
        now: now_text(),
        enums: HashMap::new(),
    }
}

/// A `timestamp` condition. Every event is from today, so only values whose answer is stable:
/// `eq today`, `lt now`, `gte today`, fixed past instants, and stored timestamps (± 1 ms).
fn gen_event_timestamp(m: &Model, rng: &mut Rng) -> Node {
    let cmp = [Op::Eq, Op::Ne, Op::Lt, Op::Lte, Op::Gt, Op::Gte];
    let sampled = |rng: &mut Rng| -> Lit {
        let t = m
            .sample(rng, "timestamp", |v| {
                v.as_str().and_then(parse_ts).is_some()
            })
            .and_then(|v| v.as_str().and_then(parse_ts))
            .expect("events have timestamps");
        Lit::Str(match rng.below(4) {
            0 => format_ts(t + Duration::milliseconds(1)),
            1 => format_ts(t - Duration::milliseconds(1)),
            _ => format_ts(t),
        })
    };
    let (op, value) = match rng.below(8) {
        0 => (Op::Eq, Some(Lit::Special("today".into()))),
        1 => (Op::Lt, Some(Lit::Special("now".into()))),
        2 => (Op::Gte, Some(Lit::Special("today".into()))),
        3 => {
            let past = *rng.pick(&[
                "2024-01-01",
                "2024-02-29T12:30:00Z",
                "2025-06-15T08:00:00.250Z",
            ]);
            (*rng.pick(&cmp), Some(Lit::Str(past.to_string())))
        }
        4..=6 => (*rng.pick(&cmp), Some(sampled(rng))),
        _ => match rng.below(3) {
            0 | 1 => {
                let op = if rng.chance(0.5) { Op::In } else { Op::Nin };
                let n = 1 + rng.below(3);
                (op, Some(Lit::List((0..n).map(|_| sampled(rng)).collect())))
            }
            _ => (*rng.pick(&[Op::IsNull, Op::IsNotNull]), None),
        },
    };
    Node::Cond("timestamp".into(), op, value)
}

fn gen_event_cond(m: &Model, rng: &mut Rng) -> Node {
    let field = *rng.pick(&[
        "event",
        "event",
        "event",
        "timestamp",
        "timestamp",
        "id",
        "resource_type",
        "resource_id",
        "data.title",
        "data.title",
        "data.stage_id",
        "data.completed",
    ]);
    if field == "timestamp" {
        return gen_event_timestamp(m, rng);
    }
    // `data.<key>` is typed by the literal: mostly the type the key holds, sometimes not.
    let kind = match field {
        "id" => Kind::Id,
        "data.completed" if rng.chance(0.85) => Kind::Bool,
        "data.title" if rng.chance(0.1) => Kind::Number,
        _ => ASCII_TEXT,
    };
    let op = *rng.pick(kind.ops());
    let value = m.gen_value(rng, field, kind, op);
    Node::Cond(field.to_string(), op, value)
}

fn gen_event_node(m: &Model, rng: &mut Rng, depth: usize) -> Node {
    let p = if depth == 0 { 0.6 } else { 0.3 };
    if depth < 3 && rng.chance(p) {
        let n = 2 + rng.below(2);
        match rng.below(5) {
            0 | 1 => Node::And((0..n).map(|_| gen_event_node(m, rng, depth + 1)).collect()),
            2 | 3 => Node::Or((0..n).map(|_| gen_event_node(m, rng, depth + 1)).collect()),
            _ => Node::Not(Box::new(gen_event_node(m, rng, depth + 1))),
        }
    } else {
        gen_event_cond(m, rng)
    }
}

fn gen_event_sort(rng: &mut Rng) -> SortSpec {
    if rng.chance(0.1) {
        return SortSpec {
            raw: None,
            keys: vec![("timestamp".into(), true)],
            id_desc: true,
        };
    }
    let mut parts: Vec<String> = Vec::new();
    let n = rng.below(3);
    while parts.len() < n {
        let f = *rng.pick(&["timestamp", "event", "data.title"]);
        if parts.iter().all(|p| p.trim_start_matches(['-', '+']) != f) {
            let sign = match rng.below(5) {
                0 | 1 => "-",
                2 => "+",
                _ => "",
            };
            parts.push(format!("{sign}{f}"));
        }
    }
    if parts.is_empty() || rng.chance(0.2) {
        parts.push(if rng.chance(0.5) { "-id" } else { "id" }.into());
    }
    parse_sort(&parts.join(","))
}

fn gen_event_case(m: &Model, rng: &mut Rng) -> Case {
    let simple = if rng.chance(0.25) {
        let mut present: Vec<String> = m
            .rows
            .iter()
            .map(|r| r["event"].as_str().unwrap().to_string())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        // A valid name no event has.
        present.push("note.created".into());
        let mut names: Vec<String> = Vec::new();
        for _ in 0..1 + rng.below(3) {
            let n = rng.pick(&present).clone();
            if !names.contains(&n) {
                names.push(n);
            }
        }
        let k = if rng.chance(0.5) { "event" } else { "events" };
        vec![Simple::Events(names, k)]
    } else {
        vec![]
    };
    let filter = if rng.chance(0.05) {
        None
    } else {
        Some(gen_event_node(m, rng, 0))
    };
    let json = rng.chance(0.3);
    let filter_text = filter.as_ref().map(|f| {
        if json {
            to_json(f, true, rng).to_string()
        } else {
            to_text(f, rng)
        }
    });
    Case {
        filter,
        filter_text,
        json,
        sort: gen_event_sort(rng),
        simple,
    }
}

/// Records (some on the board, some contacts and companies) and tasks, created, updated, moved,
/// completed and deleted through the API: a few hundred events of a dozen names, the events of
/// one write sharing their millisecond. Returns the ids of the records.
async fn seed_events(app: &TestApp, rng: &mut Rng) -> Vec<String> {
    let stages = ["new", "contacted", "won"];
    let mut records = Vec::new();
    for i in 0..45 {
        let ty = *rng.pick(&["lead", "lead", "job", "client", "contact", "company"]);
        let mut body = json!({"type": ty, "title": title(rng, i)});
        if rng.chance(0.5) {
            body["pipeline"] = json!("main-sales");
            body["stage"] = json!(rng.pick(&stages));
        }
        if rng.chance(0.4) {
            body["data"] = json!({"city": rng.pick(CITIES)});
        }
        records.push(record(app, body).await);
    }
    for i in 0..60 {
        let id = rng.pick(&records).clone();
        let body = match rng.below(3) {
            0 => json!({"title": title(rng, 100 + i)}),
            1 => json!({"pipeline": "main-sales", "stage": rng.pick(&stages)}),
            _ => json!({"data": {"city": rng.pick(CITIES), "n": i}}),
        };
        app.patch(&format!("/records/{id}"), body, 200).await;
    }
    let mut tasks = Vec::new();
    for i in 0..45 {
        let mut body = json!({"title": title(rng, i)});
        if rng.chance(0.6) {
            body["record_id"] = json!(rng.pick(&records));
        }
        if rng.chance(0.25) {
            body["completed"] = json!(true);
        }
        let r = app.post("/records/tasks", body, 201).await;
        tasks.push(r.data()["id"].as_str().unwrap().to_string());
    }
    for i in 0..30 {
        let id = rng.pick(&tasks).clone();
        let body = match rng.below(3) {
            0 => json!({"title": title(rng, 200 + i)}),
            1 => json!({"completed": true}),
            _ => json!({"completed": false}),
        };
        app.patch(&format!("/records/tasks/{id}"), body, 200).await;
    }
    for id in tasks.iter().step_by(7) {
        app.delete(&format!("/records/tasks/{id}"), 200).await;
    }
    for id in records.iter().skip(3).step_by(8) {
        app.delete(&format!("/records/{id}"), 200).await;
    }
    records
}

backend_test!(oracle_events, |app| async move {
    let seed = base_seed() ^ 0x88;
    let mut rng = Rng::new(seed);
    let records = seed_events(app, &mut rng).await;
    let model = events_model(app, "/events").await;
    assert!(model.rows.len() >= 250, "{} events", model.rows.len());
    let names: HashSet<&str> = model
        .rows
        .iter()
        .map(|r| r["event"].as_str().unwrap())
        .collect();
    assert!(names.len() >= 10, "{names:?}");
    let stamps: HashSet<&str> = model
        .rows
        .iter()
        .map(|r| r["timestamp"].as_str().unwrap())
        .collect();
    assert!(
        stamps.len() < model.rows.len(),
        "no two events share a millisecond"
    );

    // resource_type / resource_id (not in the JSON): the derivation the oracle uses, checked
    // against the server's own narrowing by resource, `/records/:id/activity`.
    for id in records.iter().step_by(9) {
        let by_filter = matching(
            app,
            "/events",
            &format!("resource_type eq \"record\" and resource_id eq \"{id}\""),
            "-timestamp",
        )
        .await;
        let activity = ids_of(
            &walk_offset(app, &format!("/records/{id}/activity"), &[])
                .await
                .unwrap(),
        );
        assert!(!activity.is_empty());
        assert_eq!(by_filter, activity, "record {id}");
        let derived: Vec<String> = ids_of(&model.rows)
            .into_iter()
            .filter(|e| {
                let (t, rid) = event_resource(&model.by_id[e]);
                t == "record" && rid == json!(id)
            })
            .collect();
        assert_eq!(sorted(by_filter), sorted(derived), "record {id}");
    }
    let tasks = matching(app, "/events", r#"resource_type eq "task""#, "id").await;
    let want: Vec<String> = model
        .rows
        .iter()
        .filter(|r| r["event"].as_str().unwrap().starts_with("task."))
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(tasks, want);
    for s in ["resource_id", "-resource_type", "timestamp,resource_id"] {
        let e = sort_error(app, "/events", s).await;
        assert!(e.contains("timestamp"), "{e}");
    }

    run_oracle_with(app, &model, seed, 80, gen_event_case).await;
});

backend_test!(activity_lists_filter_and_page, |app| async move {
    let id = record(
        app,
        json!({"type": "lead", "title": "Watched v0", "pipeline": "main-sales", "stage": "new"}),
    )
    .await;
    let other = record(
        app,
        json!({"type": "lead", "title": "Other", "pipeline": "main-sales", "stage": "new"}),
    )
    .await;
    let path = format!("/records/{id}");
    // 2 (created, stage_changed) + 6 title updates + 3 moves of 3 events each = 17 events.
    let moves = ["contacted", "won", "new"];
    for i in 1..=9 {
        let body = if i % 3 == 0 {
            json!({"stage": moves[i / 3 - 1]})
        } else {
            json!({"title": format!("Watched v{i}")})
        };
        app.patch(&path, body, 200).await;
        // Noise on another record and a task on this one: not in this record's activity.
        app.patch(
            &format!("/records/{other}"),
            json!({"title": format!("Other {i}")}),
            200,
        )
        .await;
    }
    app.post(
        "/records/tasks",
        json!({"title": "About it", "record_id": id}),
        201,
    )
    .await;
    let activity: &'static str = Box::leak(format!("{path}/activity").into_boxed_str());
    let model = events_model(app, activity).await;
    assert_eq!(model.rows.len(), 17, "{:?}", ids_of(&model.rows));
    assert!(model.rows.iter().all(|r| r["data"]["id"] == json!(id)));

    let updated = Node::Cond(
        "event".into(),
        Op::Eq,
        Some(Lit::Str("record.updated".into())),
    );
    let cases: Vec<(Option<Node>, &str, Option<&str>)> = vec![
        (
            Some(updated.clone()),
            r#"event eq "record.updated""#,
            Some("timestamp"),
        ),
        (
            Some(updated.clone()),
            r#"{"field": "event", "op": "eq", "value": "record.updated"}"#,
            Some("-timestamp"),
        ),
        (None, "", None),
        (None, "", Some("event,-timestamp")),
        (
            Some(Node::Or(vec![
                Node::Cond(
                    "event".into(),
                    Op::In,
                    Some(Lit::List(vec![
                        Lit::Str("record.moved".into()),
                        Lit::Str("pipeline.stage_changed".into()),
                    ])),
                ),
                Node::Cond(
                    "data.title".into(),
                    Op::Contains,
                    Some(Lit::Str("V4".into())),
                ),
            ])),
            r#"event in ("record.moved", "pipeline.stage_changed") or data.title contains "V4""#,
            Some("-data.title,timestamp"),
        ),
    ];
    for (filter, text, sort) in cases {
        let case = Case {
            filter_text: filter.as_ref().map(|_| text.to_string()),
            filter,
            json: text.starts_with('{'),
            sort: match sort {
                Some(s) => parse_sort(s),
                None => SortSpec {
                    raw: None,
                    keys: model.default_sort.clone(),
                    id_desc: true,
                },
            },
            simple: vec![],
        };
        let want = ids_of(&model.expected(&case));
        assert!(want.len() > 4, "{}: {want:?}", case.describe());
        let q = case.params();
        let got = ids_of(&walk_offset(app, activity, &q).await.unwrap());
        assert_eq!(got, want, "offset: {}", case.describe());
        let pages = walk_cursor(app, activity, &q, 4, false)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.describe()));
        let got: Vec<String> = pages.iter().flat_map(|p| ids_of(&p.items)).collect();
        assert_eq!(got, want, "cursor: {}", case.describe());
        assert!(pages.len() >= 2);
        walk_back(app, activity, &q, 4, &pages)
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", case.describe()));
    }
    // The record.updated ones, oldest first, are this record's titles and moves in order.
    let titles: Vec<Value> = model
        .expected(&Case {
            filter: Some(updated),
            filter_text: None,
            json: false,
            sort: parse_sort("timestamp"),
            simple: vec![],
        })
        .iter()
        .map(|e| e["data"]["title"].clone())
        .collect();
    assert_eq!(titles.len(), 9);
    assert_eq!(titles[0], json!("Watched v1"));
    assert_eq!(titles[8], json!("Watched v8"));

    // A cursor is bound to its list: one from /events (same filter, sort and size) is refused
    // by the activity, and the other way round, as is one of another record's activity.
    let q = qs(&[
        ("filter", r#"event eq "record.updated""#),
        ("sort", "timestamp"),
        ("page[size]", "4"),
    ]);
    let cursor_of = |r: Resp| -> String {
        assert_eq!(r.status, 200, "{}", r.text);
        r.body["meta"]["next_cursor"]
            .as_str()
            .unwrap_or_else(|| panic!("no next_cursor: {}", r.text))
            .to_string()
    };
    let from_events = cursor_of(list(app, "/events", &q).await);
    let from_activity = cursor_of(list(app, activity, &q).await);
    let from_other = cursor_of(list(app, &format!("/records/{other}/activity"), &q).await);
    for (path, c) in [
        (activity, &from_events),
        (activity, &from_other),
        ("/events", &from_activity),
    ] {
        let mut q = q.clone();
        q.push(("page[cursor]".into(), c.clone()));
        let r = list(app, path, &q).await;
        assert_bad(&r, "invalid_parameter", "page[cursor]", path);
    }
    // ...while each works where it came from.
    for (path, c) in [("/events", &from_events), (activity, &from_activity)] {
        let mut q = q.clone();
        q.push(("page[cursor]".into(), c.clone()));
        assert_eq!(list(app, path, &q).await.status, 200);
    }
});
