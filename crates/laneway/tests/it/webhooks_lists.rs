//! Oracle tests for the two webhook list endpoints, `GET /webhooks` and
//! `GET /webhooks/:id/deliveries` (`filters.md`), on both backends.
//!
//! Each test seeds varied rows through the API (webhooks with non-ASCII, `%` and `_` in names
//! and URLs, active and disabled ones, some with failures; deliveries that succeeded, failed,
//! were redelivered, pinged or paused), waits until the delivery engine has nothing left to do,
//! reads every row once unfiltered, then runs many random filters (string and JSON form) and
//! sorts. The rows each filter should match are decided by `laneway_core::filter::matches` (the
//! Rust evaluator with the SQL compiler's semantics) over the row's JSON; the order by the
//! documented sort rules (byte-wise text, NULLs last ascending and first descending, the id as
//! the final tie-breaker). The API's answer, walked through offset pages and through cursor
//! pages, must be exactly that list in that order.
//!
//! Seeded: the seed is printed; replay with `LANEWAY_FILTER_SEED=<n>`.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::time::Duration;

use laneway_core::filter::{self as lf, EvalCtx, FieldDef, FieldKind, ResourceFields};
use laneway_core::time::{format_date, format_ts, parse_ts};
use reqwest::Method;
use serde_json::{json, Value};
use time::{OffsetDateTime, UtcOffset};

use crate::receiver::{Receiver, Reply};
#[allow(unused_imports)]
use crate::support::{Backend, Resp, TestApp};
use crate::webhooks::{fast, webhook_test};

// ---- a small seeded RNG ---------------------------------------------------------------------

/// xorshift64*: deterministic, so a failing case replays with the same `LANEWAY_FILTER_SEED`.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
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
    /// Every way of writing the operator (keywords are case-insensitive).
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
    /// `today`, `today-1d`, `now`, `sow`, ...
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
        Lit::Bool(b) => kw(rng, if *b { "true" } else { "false" }),
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
            let mut out = String::new();
            for (i, e) in v.iter().enumerate() {
                if i > 0 {
                    let k = kw(rng, word);
                    out.push_str(&format!(" {k} "));
                }
                out.push_str(&group(e, rng));
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

// ---- the endpoints' fields -------------------------------------------------------------------

/// A field's type as the generator and the sort oracle see it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Text,
    /// Text limited to these values (only `eq`/`ne`/`in`/`nin` and the null tests).
    Enum(&'static [&'static str]),
    Number,
    Bool,
    Datetime,
    /// A UUID (compared as one).
    Id,
}

impl Kind {
    fn ops(self) -> &'static [Op] {
        use Op::*;
        match self {
            Kind::Text => &[
                Eq, Ne, In, Nin, Contains, Like, StartsWith, EndsWith, IsNull, IsNotNull,
            ],
            Kind::Number | Kind::Datetime => {
                &[Eq, Ne, Lt, Lte, Gt, Gte, In, Nin, IsNull, IsNotNull]
            }
            Kind::Bool => &[Eq, Ne, IsNull, IsNotNull],
            Kind::Id | Kind::Enum(_) => &[Eq, Ne, In, Nin, IsNull, IsNotNull],
        }
    }

    /// The registry's name for the type (`laneway_store::listing::Kind::name`).
    fn registry_name(self) -> &'static str {
        match self {
            Kind::Text => "string",
            Kind::Enum(_) => "enum",
            Kind::Number => "number",
            Kind::Bool => "boolean",
            Kind::Datetime => "datetime",
            Kind::Id => "id",
        }
    }
}

struct Field {
    name: &'static str,
    kind: Kind,
    nullable: bool,
    sortable: bool,
}

const fn field(name: &'static str, kind: Kind, nullable: bool, sortable: bool) -> Field {
    Field {
        name,
        kind,
        nullable,
        sortable,
    }
}

const ORDERINGS: &[&str] = &["none", "per_resource"];
const STATUSES: &[&str] = &[
    "pending",
    "in_flight",
    "succeeded",
    "failed",
    "paused",
    "quota_exceeded",
];

/// `laneway_store::repo::webhooks::registry()`, as the oracle reads it.
static WEBHOOK_LIST: &[Field] = &[
    field("id", Kind::Text, false, true),
    field("name", Kind::Text, false, true),
    field("url", Kind::Text, false, true),
    field("is_active", Kind::Bool, false, true),
    field("ordering", Kind::Enum(ORDERINGS), false, false),
    field("failure_count", Kind::Number, false, false),
    field("last_status", Kind::Number, true, false),
    field("disabled_reason", Kind::Text, true, false),
    field("created_at", Kind::Datetime, false, true),
    field("updated_at", Kind::Datetime, false, false),
    field("last_triggered_at", Kind::Datetime, true, true),
];

/// `laneway_store::repo::webhooks::delivery_registry()`, as the oracle reads it.
static DELIVERY_LIST: &[Field] = &[
    field("id", Kind::Id, false, true),
    field("event_id", Kind::Id, false, false),
    field("event", Kind::Text, false, true),
    field("status", Kind::Enum(STATUSES), false, true),
    field("attempts", Kind::Number, false, true),
    field("last_status", Kind::Number, true, false),
    field("last_duration_ms", Kind::Number, true, true),
    field("created_at", Kind::Datetime, false, true),
    field("updated_at", Kind::Datetime, false, true),
];

const fn fd(name: &'static str, pointer: &'static str, kind: FieldKind) -> FieldDef {
    FieldDef {
        name,
        pointer,
        kind,
    }
}

/// The oracle's view of a webhook as `GET /webhooks` returns it. Enums are text compared
/// exactly (the generator uses only the operators enums allow); the webhook id is text.
static WEBHOOK_FIELDS: ResourceFields = ResourceFields {
    resource: "webhook",
    fields: &[
        fd("id", "/id", FieldKind::Text),
        fd("name", "/name", FieldKind::Text),
        fd("url", "/url", FieldKind::Text),
        fd("is_active", "/is_active", FieldKind::Bool),
        fd("ordering", "/ordering", FieldKind::Text),
        fd("failure_count", "/failure_count", FieldKind::Number),
        fd("last_status", "/last_status", FieldKind::Number),
        fd("disabled_reason", "/disabled_reason", FieldKind::Text),
        fd("created_at", "/created_at", FieldKind::Datetime),
        fd("updated_at", "/updated_at", FieldKind::Datetime),
        fd(
            "last_triggered_at",
            "/last_triggered_at",
            FieldKind::Datetime,
        ),
    ],
    custom_data: false,
};

/// The oracle's view of a delivery as `GET /webhooks/:id/deliveries` returns it.
static DELIVERY_FIELDS: ResourceFields = ResourceFields {
    resource: "delivery",
    fields: &[
        fd("id", "/id", FieldKind::Id),
        fd("event_id", "/event_id", FieldKind::Id),
        fd("event", "/event", FieldKind::Text),
        fd("status", "/status", FieldKind::Text),
        fd("attempts", "/attempts", FieldKind::Number),
        fd("last_status", "/last_status", FieldKind::Number),
        fd("last_duration_ms", "/last_duration_ms", FieldKind::Number),
        fd("created_at", "/created_at", FieldKind::Datetime),
        fd("updated_at", "/updated_at", FieldKind::Datetime),
    ],
    custom_data: false,
};

/// The oracle's field lists are the server's registries: names, types, nullability and
/// sortability, in order.
fn assert_matches_registry(reg: &laneway_store::listing::Registry, ours: &[Field]) {
    let got: Vec<(String, &str, bool, bool)> = reg
        .fields
        .iter()
        .map(|f| (f.name.clone(), f.kind.name(), f.nullable, f.sortable))
        .collect();
    let want: Vec<(String, &str, bool, bool)> = ours
        .iter()
        .map(|f| {
            (
                f.name.to_string(),
                f.kind.registry_name(),
                f.nullable,
                f.sortable,
            )
        })
        .collect();
    assert_eq!(got, want, "the registry changed; update the oracle");
    for f in &reg.fields {
        if let laneway_store::listing::Kind::Enum(values) = &f.kind {
            let ours = ours.iter().find(|o| o.name == f.name).unwrap();
            let Kind::Enum(mine) = ours.kind else {
                panic!("{} is an enum", f.name)
            };
            assert_eq!(mine.to_vec(), *values, "{}", f.name);
        }
    }
}

// ---- the model and the oracle -----------------------------------------------------------------

/// One list endpoint: its rows as read unfiltered and its fields.
struct Model {
    path: String,
    rows: Vec<Value>,
    by_id: HashMap<String, Value>,
    fields: &'static [Field],
    resource: &'static ResourceFields,
    /// Words to build needles from besides the rows' own text.
    words: &'static [&'static str],
    /// The endpoint has the simple `status=` parameter (deliveries).
    status_param: bool,
}

#[derive(Clone, Debug)]
struct SortSpec {
    /// The `sort=` text, or `None` for the default (`-created_at`).
    raw: Option<String>,
    keys: Vec<(&'static str, bool)>,
    id_desc: bool,
}

struct Case {
    /// The string form (what the oracle parses).
    text: Option<String>,
    /// What is sent: the string form, or the JSON form when `json`.
    sent: Option<String>,
    json: bool,
    sort: SortSpec,
    /// `status=` (deliveries).
    status: Option<&'static str>,
}

impl Case {
    fn params(&self) -> Vec<(String, String)> {
        let mut q = Vec::new();
        if let Some(s) = self.status {
            q.push(("status".to_string(), s.to_string()));
        }
        if let Some(f) = &self.sent {
            q.push(("filter".into(), f.clone()));
        }
        if let Some(s) = &self.sort.raw {
            q.push(("sort".into(), s.clone()));
        }
        q
    }

    fn describe(&self) -> String {
        format!(
            "filter ({}): {}\n  as text: {}\n  sort: {:?}\n  status: {:?}",
            if self.json { "JSON" } else { "string" },
            self.sent.as_deref().unwrap_or("-"),
            self.text.as_deref().unwrap_or("-"),
            self.sort.raw,
            self.status
        )
    }
}

/// A sort value: what a field's SQL value orders as.
#[derive(Debug, PartialEq, PartialOrd)]
enum Sv {
    Text(Vec<u8>),
    Num(f64),
    Bool(bool),
    Time(OffsetDateTime),
    Uuid(uuid::Uuid),
}

impl Model {
    fn field(&self, name: &str) -> &'static Field {
        self.fields
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no field {name}"))
    }

    fn sort_value(&self, row: &Value, name: &str) -> Option<Sv> {
        let v = row.get(name).filter(|v| !v.is_null())?;
        let f = self.field(name);
        Some(match f.kind {
            Kind::Text | Kind::Enum(_) => Sv::Text(v.as_str().unwrap().as_bytes().to_vec()),
            Kind::Number => Sv::Num(v.as_f64().unwrap()),
            Kind::Bool => Sv::Bool(v.as_bool().unwrap()),
            Kind::Datetime => Sv::Time(parse_ts(v.as_str().unwrap()).unwrap()),
            Kind::Id => Sv::Uuid(uuid::Uuid::parse_str(v.as_str().unwrap()).unwrap()),
        })
    }

    /// The order of `listing.rs`: each key (NULLs last ascending, first descending), then the id.
    fn cmp_rows(&self, a: &Value, b: &Value, sort: &SortSpec) -> Ordering {
        for (name, desc) in &sort.keys {
            let (va, vb) = (self.sort_value(a, name), self.sort_value(b, name));
            let o = match (&va, &vb) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Greater,
                (Some(_), None) => Ordering::Less,
                (Some(x), Some(y)) => x
                    .partial_cmp(y)
                    .unwrap_or_else(|| panic!("cannot order {x:?} and {y:?}")),
            };
            let o = if *desc { o.reverse() } else { o };
            if o != Ordering::Equal {
                return o;
            }
        }
        let ia = self.sort_value(a, "id").unwrap();
        let ib = self.sort_value(b, "id").unwrap();
        let o = ia.partial_cmp(&ib).unwrap();
        if sort.id_desc {
            o.reverse()
        } else {
            o
        }
    }

    fn expected(&self, case: &Case, ctx: &EvalCtx) -> Vec<Value> {
        let expr = case.text.as_ref().map(|t| {
            lf::parse_str(t).unwrap_or_else(|e| panic!("the oracle cannot parse {t}: {e}"))
        });
        let mut out: Vec<Value> = self
            .rows
            .iter()
            .filter(|r| case.status.is_none_or(|s| r["status"] == json!(s)))
            .filter(|r| match &expr {
                None => true,
                Some(e) => lf::matches(e, self.resource, r, ctx),
            })
            .cloned()
            .collect();
        out.sort_by(|a, b| self.cmp_rows(a, b, &case.sort));
        out
    }

    /// A hand-written case: a filter in either form, a `sort=` and `status=`. The oracle reads
    /// the JSON form through its printed string form.
    fn fixed(&self, filter: &str, sort: Option<&str>, status: Option<&'static str>) -> Case {
        let json = filter.trim_start().starts_with(['{', '[']);
        let text = if json {
            let e = lf::parse_json(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
            lf::to_string(&e)
        } else {
            filter.to_string()
        };
        Case {
            text: Some(text),
            sent: Some(filter.to_string()),
            json,
            sort: self.sort_spec(sort),
            status,
        }
    }

    /// Reads `sort=` as the server does: `-` descending, `+` ascending, `id` last and optional,
    /// the id following the last key's direction otherwise.
    fn sort_spec(&self, raw: Option<&str>) -> SortSpec {
        let Some(raw) = raw else {
            return SortSpec {
                raw: None,
                keys: vec![("created_at", true)],
                id_desc: true,
            };
        };
        let mut keys = Vec::new();
        let mut id_desc = None;
        for part in raw.split(',').map(str::trim) {
            let (desc, name) = match part.strip_prefix('-') {
                Some(n) => (true, n),
                None => (false, part.strip_prefix('+').unwrap_or(part)),
            };
            if name == "id" {
                id_desc = Some(desc);
            } else {
                keys.push((self.field(name).name, desc));
            }
        }
        SortSpec {
            raw: Some(raw.to_string()),
            id_desc: id_desc.unwrap_or_else(|| keys.last().is_some_and(|k| k.1)),
            keys,
        }
    }

    // ---- generating cases ----

    fn sample(&self, rng: &mut Rng, name: &str) -> Option<Value> {
        for _ in 0..16 {
            let row = rng.pick(&self.rows);
            match row.get(name) {
                Some(v) if !v.is_null() => return Some(v.clone()),
                _ => {}
            }
        }
        None
    }

    fn gen_text(&self, rng: &mut Rng, name: &str, op: Op) -> String {
        let base = if rng.chance(0.2) {
            rng.pick(self.words).to_string()
        } else {
            self.sample(rng, name)
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_else(|| rng.pick(self.words).to_string())
        };
        let n = base.chars().count();
        let slice = |from: usize, to: usize| -> String {
            base.chars()
                .skip(from)
                .take(to.saturating_sub(from))
                .collect()
        };
        let s = match op {
            Op::Contains => {
                let a = rng.below(n + 1);
                let b = (a + 1 + rng.below(6)).min(n);
                slice(a, b)
            }
            Op::StartsWith => slice(0, (1 + rng.below(8)).min(n)),
            Op::EndsWith => slice(n - (1 + rng.below(8)).min(n), n),
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
                p
            }
            _ => base,
        };
        let mangle = match op {
            Op::Eq | Op::Ne | Op::In | Op::Nin => 0.15,
            _ => 0.5,
        };
        if rng.chance(mangle) {
            mangle_case(&s, rng)
        } else {
            s
        }
    }

    fn gen_datetime(&self, rng: &mut Rng, name: &str) -> Lit {
        let ts = self
            .sample(rng, name)
            .and_then(|v| v.as_str().and_then(parse_ts));
        let today = OffsetDateTime::now_utc().date();
        match (rng.below(12), ts) {
            (0..=4, Some(t)) => Lit::Str(format_ts(t)),
            (5, Some(t)) => {
                let off = UtcOffset::from_hms(2, 0, 0).unwrap();
                Lit::Str(
                    t.to_offset(off)
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap(),
                )
            }
            (6 | 7, Some(t)) => {
                let ms = if rng.chance(0.5) { 1 } else { -1 };
                Lit::Str(format_ts(t + time::Duration::milliseconds(ms)))
            }
            (8, _) => Lit::Str(match rng.below(3) {
                0 => format_date(today),
                1 => format_date(today - time::Duration::days(1)),
                _ => "2024-01-01".into(),
            }),
            _ => Lit::Special(
                rng.pick(&[
                    "today", "today", "today-1d", "today+1d", "now", "now", "sow", "eow", "som",
                    "eom",
                ])
                .to_string(),
            ),
        }
    }

    fn gen_number(&self, rng: &mut Rng, name: &str) -> f64 {
        let base = self.sample(rng, name).and_then(|v| v.as_f64());
        match (rng.below(6), base) {
            (0..=2, Some(n)) => n,
            (3, Some(n)) => n + *rng.pick(&[-1.0, 1.0, 0.5, -0.5]),
            _ => *rng.pick(&[0.0, 1.0, 2.0, 3.0, 200.0, 410.0, 500.0, -1.0, 2.5]),
        }
    }

    fn gen_id(&self, rng: &mut Rng, name: &str) -> String {
        let id = self
            .sample(rng, name)
            .and_then(|v| v.as_str().map(String::from));
        match (rng.below(10), id) {
            (0, _) | (_, None) => uuid::Uuid::now_v7().to_string(),
            (1, Some(id)) => id.to_uppercase(),
            (2, Some(id)) => uuid::Uuid::parse_str(&id).unwrap().simple().to_string(),
            (_, Some(id)) => id,
        }
    }

    fn gen_single(&self, rng: &mut Rng, f: &Field, op: Op) -> Lit {
        match f.kind {
            Kind::Text => Lit::Str(self.gen_text(rng, f.name, op)),
            Kind::Enum(values) => {
                // Mostly values that occur.
                match self.sample(rng, f.name) {
                    Some(Value::String(s)) if rng.chance(0.7) => Lit::Str(s),
                    _ => Lit::Str(rng.pick(values).to_string()),
                }
            }
            Kind::Number => Lit::Num(self.gen_number(rng, f.name)),
            Kind::Bool => Lit::Bool(rng.chance(0.5)),
            Kind::Datetime => self.gen_datetime(rng, f.name),
            Kind::Id => Lit::Str(self.gen_id(rng, f.name)),
        }
    }

    fn gen_value(&self, rng: &mut Rng, f: &Field, op: Op) -> Option<Lit> {
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
            let items: Vec<Lit> = (0..n).map(|_| self.gen_single(rng, f, Op::Eq)).collect();
            if n == 1 && rng.chance(0.3) {
                return items.into_iter().next();
            }
            return Some(Lit::List(items));
        }
        Some(self.gen_single(rng, f, op))
    }

    fn gen_cond(&self, rng: &mut Rng) -> Node {
        let f = rng.pick(self.fields);
        // Nullable fields get their null tests more often than the uniform pick would.
        let op = if f.nullable && rng.chance(0.25) {
            *rng.pick(&[Op::IsNull, Op::IsNotNull])
        } else {
            *rng.pick(f.kind.ops())
        };
        let value = self.gen_value(rng, f, op);
        Node::Cond(f.name.to_string(), op, value)
    }

    fn gen_node(&self, rng: &mut Rng, depth: usize) -> Node {
        let p = if depth == 0 { 0.6 } else { 0.3 };
        if depth < 3 && rng.chance(p) {
            let n = 2 + rng.below(2);
            match rng.below(5) {
                0 | 1 => Node::And((0..n).map(|_| self.gen_node(rng, depth + 1)).collect()),
                2 | 3 => Node::Or((0..n).map(|_| self.gen_node(rng, depth + 1)).collect()),
                _ => Node::Not(Box::new(self.gen_node(rng, depth + 1))),
            }
        } else {
            self.gen_cond(rng)
        }
    }

    fn gen_sort(&self, rng: &mut Rng) -> SortSpec {
        if rng.chance(0.1) {
            return SortSpec {
                raw: None,
                keys: vec![("created_at", true)],
                id_desc: true,
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
        let candidates: Vec<&'static str> = self
            .fields
            .iter()
            .filter(|f| f.sortable && f.name != "id")
            .map(|f| f.name)
            .collect();
        let n = 1 + rng.below(3).min(candidates.len() - 1);
        let mut keys: Vec<(&'static str, bool)> = Vec::new();
        while keys.len() < n {
            let f = *rng.pick(&candidates);
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
                    f.to_string()
                }
            })
            .collect();
        let mut id_desc = keys.last().unwrap().1;
        if rng.chance(0.2) {
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

    fn gen_case(&self, rng: &mut Rng) -> Case {
        let status = if self.status_param && rng.chance(0.2) {
            Some(*rng.pick(STATUSES))
        } else {
            None
        };
        let filter = if rng.chance(0.04) {
            None
        } else {
            Some(self.gen_node(rng, 0))
        };
        let json = rng.chance(0.35);
        let text = filter.as_ref().map(|f| to_text(f, rng));
        let sent = if json {
            filter.as_ref().map(|f| to_json(f, true, rng).to_string())
        } else {
            text.clone()
        };
        Case {
            text,
            sent,
            json,
            sort: self.gen_sort(rng),
            status,
        }
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

// ---- talking to the API ------------------------------------------------------------------------

async fn list(app: &TestApp, path: &str, q: &[(String, String)]) -> Resp {
    app.send(app.req(Method::GET, path).query(q)).await
}

/// The server's origin, against which `next_cursor_url` resolves.
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

/// Every row in offset mode, `per_page` at a time, checking `meta`.
async fn walk_offset(
    app: &TestApp,
    path: &str,
    q: &[(String, String)],
    per_page: usize,
) -> Result<Vec<Value>, String> {
    let mut out = Vec::new();
    let mut page = 1;
    loop {
        let mut q = q.to_vec();
        q.push(("per_page".into(), per_page.to_string()));
        q.push(("page".into(), page.to_string()));
        let r = list(app, path, &q).await;
        if r.status != 200 {
            return Err(format!("offset page {page}: {} {}", r.status, r.text));
        }
        let meta = &r.body["meta"];
        if meta["page"] != json!(page) || meta["per_page"] != json!(per_page) {
            return Err(format!("offset meta: {meta}"));
        }
        let total = meta["total"].as_u64().ok_or("no meta.total")? as usize;
        let got = items(&r);
        let n = got.len();
        out.extend(got);
        if n < per_page || out.len() >= total {
            if out.len() != total {
                return Err(format!("meta.total {total} but {} rows", out.len()));
            }
            return Ok(out);
        }
        page += 1;
        if page > 200 {
            return Err("more than 200 offset pages".into());
        }
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
        if pages.len() > 300 {
            return Err("more than 300 pages".into());
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

/// Walks back from the last page with `prev_cursor`; every page must equal its forward twin.
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

/// Every row, unfiltered, in one read (`per_page=100`).
async fn all_rows(app: &TestApp, path: &str) -> Vec<Value> {
    let r = app.get(&format!("{path}?per_page=100&sort=id"), 200).await;
    let rows = items(&r);
    assert_eq!(
        r.body["meta"]["total"],
        json!(rows.len()),
        "more than one page of {path}"
    );
    rows
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
    let missing: Vec<&String> = e.iter().filter(|x| !g.contains(x)).collect();
    let extra: Vec<&String> = g.iter().filter(|x| !e.contains(x)).collect();
    format!(
        "{} expected, {} returned ({} missing, {} extra); first difference at #{i}:\n    expected {}\n    returned {}",
        e.len(),
        g.len(),
        missing.len(),
        extra.len(),
        show(e.get(i)),
        show(g.get(i))
    )
}

/// What the oracle checked.
#[derive(Debug, Default)]
struct Stats {
    cases: usize,
    /// Of which hand-written.
    fixed: usize,
    /// How many rows each hand-written case matched.
    fixed_answers: Vec<usize>,
    filters: usize,
    json: usize,
    sorts: BTreeSet<String>,
    fields: BTreeSet<String>,
    matched: usize,
    empty: usize,
    offset_pages: usize,
    cursor_pages: usize,
    walked_back: usize,
}

/// Runs `n` random cases against the model; panics with every failure (up to 8) described.
/// Hand-written `fixed` cases run first, then `n` random ones.
async fn run_oracle(app: &TestApp, model: &Model, seed: u64, fixed: Vec<Case>, n: usize) -> Stats {
    let mut rng = Rng::new(seed);
    let mut failures: Vec<String> = Vec::new();
    let mut st = Stats::default();
    let n_fixed = fixed.len();
    let mut fixed = fixed.into_iter();
    for i in 0..n_fixed + n {
        let case = match fixed.next() {
            Some(c) => {
                st.fixed += 1;
                c
            }
            None => model.gen_case(&mut rng),
        };
        let q = case.params();
        let ctx = EvalCtx {
            now: OffsetDateTime::now_utc(),
            zone: laneway_core::time::Zone::utc(),
            me: None,
        };
        let want = model.expected(&case, &ctx);
        st.cases += 1;
        if let Some(t) = &case.text {
            st.filters += 1;
            for c in lf::parse_str(t).unwrap().conditions() {
                st.fields.insert(c.field.clone());
            }
        }
        if i < n_fixed {
            st.fixed_answers.push(want.len());
        }
        st.json += usize::from(case.json);
        st.sorts
            .insert(case.sort.raw.clone().unwrap_or_else(|| "(default)".into()));
        st.matched += want.len();
        st.empty += usize::from(want.is_empty());
        let mut fail = |what: String| {
            failures.push(format!(
                "case {i} (seed {seed}, {:?}) on {}: {what}\n  {}",
                app.backend,
                model.path,
                case.describe()
            ))
        };
        let per_page = *rng.pick(&[7usize, 20, 50, 100]);
        match walk_offset(app, &model.path, &q, per_page).await {
            Err(e) => fail(format!("offset walk (per_page {per_page}) failed: {e}")),
            Ok(got) => {
                st.offset_pages += got.len().div_ceil(per_page).max(1);
                if ids_of(&got) != ids_of(&want) {
                    fail(format!(
                        "offset (per_page {per_page}): {}",
                        first_difference(model, &want, &got)
                    ));
                } else if let Some((a, b)) = got.iter().zip(&want).find(|(a, b)| a != b) {
                    fail(format!(
                        "row differs from the unfiltered read:\n  {a}\n  {b}"
                    ));
                }
            }
        }
        let size = *rng.pick(&[2u64, 3, 7, 10, 25, 40, 100, 150]);
        let by_url = rng.chance(0.3);
        match walk_cursor(app, &model.path, &q, size, by_url).await {
            Err(e) => fail(format!("cursor walk (size {size}) failed: {e}")),
            Ok(pages) => {
                st.cursor_pages += pages.len();
                let got: Vec<Value> = pages.iter().flat_map(|p| p.items.clone()).collect();
                if ids_of(&got) != ids_of(&want) {
                    fail(format!(
                        "cursor (size {size}, by_url {by_url}): {}",
                        first_difference(model, &want, &got)
                    ));
                } else if pages.len() > 1 && rng.chance(0.3) {
                    st.walked_back += 1;
                    if let Err(e) = walk_back(app, &model.path, &q, size, &pages).await {
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
    let n = st.cases;
    let avg = st.matched as f64 / n as f64;
    assert!(
        st.empty < n / 2 && avg < model.rows.len() as f64 * 0.9,
        "degenerate cases: {} empty of {n}, {avg:.1} rows on average of {}",
        st.empty,
        model.rows.len()
    );
    // Every filterable field was tried.
    let all: BTreeSet<String> = model.fields.iter().map(|f| f.name.to_string()).collect();
    let untried: Vec<&String> = all.difference(&st.fields).collect();
    assert!(untried.is_empty(), "fields never filtered on: {untried:?}");
    st
}

fn report(what: &str, app: &TestApp, seed: u64, model: &Model, st: &Stats) {
    eprintln!(
        "{what} oracle on {:?}: seed {seed} (replay with LANEWAY_FILTER_SEED={}), {} rows; \
         {} cases ({} hand-written, matching {:?} rows; {} with a filter, {} in JSON form), {} distinct sorts, {} fields filtered; \
         {} rows matched in all, {} empty answers; {} offset pages, {} cursor pages, {} walked back",
        app.backend,
        base_seed(),
        model.rows.len(),
        st.cases,
        st.fixed,
        st.fixed_answers,
        st.filters,
        st.json,
        st.sorts.len(),
        st.fields.len(),
        st.matched,
        st.empty,
        st.offset_pages,
        st.cursor_pages,
        st.walked_back
    );
}

/// Polls until `pred` holds on `GET path` (its whole body), 20 s at most.
async fn wait_for(app: &TestApp, path: &str, what: &str, pred: impl Fn(&Value) -> bool) {
    let start = std::time::Instant::now();
    loop {
        let r = app.get(path, 200).await;
        if pred(&r.body) {
            return;
        }
        if start.elapsed() > Duration::from_secs(20) {
            panic!("{what}: {path} never got there: {}", r.text);
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

fn total(body: &Value) -> u64 {
    body["meta"]["total"].as_u64().unwrap_or(u64::MAX)
}

fn sid(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

fn port_of(url: &str) -> u16 {
    reqwest::Url::parse(url)
        .unwrap()
        .port()
        .expect("the receiver's url has a port")
}

// ---- GET /webhooks -------------------------------------------------------------------------------

/// Names: mixed case, non-ASCII, LIKE wildcards, quotes and backslashes, duplicates.
const NAMES: &[&str] = &[
    "Acme",
    "acme",
    "ACME",
    "Čapek",
    "čapek",
    "ČAPEK",
    "Zürich",
    "ZÜRICH",
    "zürich",
    "50% off",
    "100%",
    "under_score",
    "a_b",
    "A_B",
    "x%y_z",
    "Straße",
    "Ünïcode",
    "ñandú",
    "Łódź",
    "O'Brien",
    "\"quoted\"",
    "back\\slash",
    "Globex Corp",
    "globex corp",
    "β-test",
    "Ab",
    "aB",
    "Hook 1",
    "hook 10",
    "hook 2",
];

/// Needles besides the rows' own text.
const WORDS: &[&str] = &[
    "acme",
    "ČAPEK",
    "čap",
    "ZÜR",
    "%",
    "_",
    "50%",
    "a_b",
    "x%y",
    "\\",
    "hook",
    "HOOK",
    "/p/",
    "/P/",
    "127.0.0.1",
    "%25",
    "%C3",
    "wh_",
    "consecutive",
    "410 Gone",
    "task.",
    "record.",
];

fn path_for(i: usize) -> String {
    match i % 8 {
        0 => format!("/p/{i}"),
        1 => format!("/P/{i}/Hook_A"),
        2 => format!("/p/{i}/50%25off"),
        3 => format!("/p/{i}/caf%C3%A9"),
        4 => format!("/p/{i}/Zürich"),
        5 => format!("/p/{i}?q=a_b&x=1"),
        6 => format!("/hooks/{i}/under_score"),
        _ => format!("/p/{i}/ÀB%20c"),
    }
}

fn list_config(c: &mut laneway_server::ServerConfig) {
    fast(c);
    c.webhooks.max_webhooks = 200;
    // Three quick attempts; failures never disable (only a 410 does, at once).
    c.webhooks.retry_schedule = vec![
        Duration::ZERO,
        Duration::from_millis(30),
        Duration::from_millis(30),
    ];
    c.webhooks.disable_after = 1000;
}

webhook_test!(webhooks_list_oracle, list_config, |app| async move {
    assert_matches_registry(&laneway_store::repo::webhooks::registry(), WEBHOOK_LIST);
    let seed = base_seed() ^ 0x3EB0;
    let mut rng = Rng::new(seed);
    let rx = Receiver::start().await;
    let port = port_of(&rx.url);

    // 60 webhooks. Every fifth subscribes to task.created (its attempts will fail), every
    // seventh from the fourth to record.created (it will be told 410 Gone), the rest to ping.
    let mut ids = Vec::new();
    let (mut failing, mut gone) = (Vec::new(), Vec::new());
    for i in 0..60 {
        let events = if i % 5 == 0 {
            json!(["task.created"])
        } else if i % 7 == 3 {
            json!(["record.created"])
        } else {
            json!(["ping"])
        };
        let mut body = json!({
            "url": format!("http://127.0.0.1:{port}{}", path_for(i)),
            "events": events,
            "is_active": !rng.chance(0.25),
            "ordering": if rng.chance(0.3) { "per_resource" } else { "none" },
        });
        // Some keep the default name, the URL's host.
        if i % 9 != 4 && !rng.chance(0.1) {
            let mut name = rng.pick(NAMES).to_string();
            if rng.chance(0.3) {
                name = format!("{name} {i}");
            }
            body["name"] = json!(name);
        }
        let w = app.post("/webhooks", body, 201).await.data().clone();
        let id = sid(&w);
        if i % 5 == 0 {
            failing.push(id.clone());
        } else if i % 7 == 3 {
            gone.push(id.clone());
        }
        ids.push(id);
    }

    // task.created answered 500: three failed attempts each (paused on inactive webhooks).
    rx.by_default(Reply::status(500));
    app.post("/records/tasks", json!({"title": "fails"}), 201)
        .await;
    for id in &failing {
        wait_for(
            app,
            &format!("/webhooks/{id}/deliveries"),
            "task.created settles",
            |b| {
                let d = b["data"].as_array().unwrap();
                d.len() == 1 && ["failed", "paused"].contains(&d[0]["status"].as_str().unwrap())
            },
        )
        .await;
    }
    // record.created answered 410 Gone: the active ones are disabled at once.
    rx.by_default(Reply::status(410));
    app.post("/records", json!({"type": "lead", "title": "gone"}), 201)
        .await;
    for id in &gone {
        wait_for(
            app,
            &format!("/webhooks/{id}/deliveries"),
            "record.created settles",
            |b| {
                let d = b["data"].as_array().unwrap();
                d.len() == 1 && d[0]["status"] == "paused"
            },
        )
        .await;
    }
    // Test sends (synchronous) to about half, answered 200 or 500.
    for id in &ids {
        if rng.chance(0.5) {
            let status = if rng.chance(0.6) { 200 } else { 500 };
            rx.by_default(Reply::status(status));
            let r = app
                .post(&format!("/webhooks/{id}/test"), json!({}), 200)
                .await;
            assert_eq!(r.data()["last_status"], status, "{}", r.text);
        }
    }
    // A few renames and pauses, so updated_at differs from created_at.
    for id in ids.iter().step_by(6) {
        let body = if rng.chance(0.5) {
            json!({"name": format!("{} renamed", rng.pick(NAMES))})
        } else {
            json!({"is_active": false})
        };
        app.patch(&format!("/webhooks/{id}"), body, 200).await;
    }
    // Nothing is left to send: the data holds still from here.
    tokio::time::sleep(Duration::from_millis(20)).await;

    let rows = all_rows(app, "/webhooks").await;
    assert_eq!(rows.len(), 60);
    let count = |p: &dyn Fn(&Value) -> bool| rows.iter().filter(|r| p(r)).count();
    let variety = [
        ("inactive", count(&|r| r["is_active"] == false)),
        (
            "disabled by 410",
            count(&|r| r["disabled_reason"].is_string()),
        ),
        ("failure_count > 0", count(&|r| r["failure_count"] != 0)),
        ("last_status 500", count(&|r| r["last_status"] == 500)),
        ("last_status 200", count(&|r| r["last_status"] == 200)),
        (
            "never triggered",
            count(&|r| r["last_triggered_at"].is_null()),
        ),
        ("per_resource", count(&|r| r["ordering"] == "per_resource")),
        ("default name", count(&|r| r["name"] == "127.0.0.1")),
    ];
    for (what, n) in variety {
        assert!(n > 0 && n < rows.len(), "{what}: {n} of {}", rows.len());
    }
    eprintln!("webhooks seeded on {:?}: {variety:?}", app.backend);

    let model = Model {
        path: "/webhooks".into(),
        by_id: rows.iter().map(|r| (sid(r), r.clone())).collect(),
        rows,
        fields: WEBHOOK_LIST,
        resource: &WEBHOOK_FIELDS,
        words: WORDS,
        status_param: false,
    };
    // Hand-written cases first: the corners the random ones may miss on some seed.
    let triggered = model
        .rows
        .iter()
        .find_map(|r| r["last_triggered_at"].as_str())
        .unwrap()
        .to_string();
    let mid_created = model.rows[30]["created_at"].as_str().unwrap().to_string();
    let some_id = model.rows[7]["id"].as_str().unwrap().to_string();
    let fixed = vec![
        // ne / not / nin never match NULL; isnull and `eq null` find it.
        model.fixed(
            &format!("last_triggered_at ne \"{triggered}\""),
            Some("last_triggered_at"),
            None,
        ),
        model.fixed("not (last_status eq 500)", Some("-is_active,url"), None),
        model.fixed("last_status nin ()", Some("name"), None),
        model.fixed("last_status in ()", None, None),
        model.fixed(
            "disabled_reason eq null",
            Some("-last_triggered_at,-id"),
            None,
        ),
        model.fixed(
            "last_triggered_at isnull and is_active eq false",
            Some("-last_triggered_at"),
            None,
        ),
        model.fixed(
            r#"{"not": {"field": "failure_count", "op": "gt", "value": 0}}"#,
            Some("last_triggered_at,name"),
            None,
        ),
        // Case folds ASCII only; % and _ are literal in contains, wildcards in like, and a
        // backslash is a plain character.
        model.fixed(r#"name contains "čap""#, Some("name"), None),
        model.fixed(
            r#"name contains "ČAP" or name startswith "zü""#,
            Some("-name"),
            None,
        ),
        model.fixed(
            r#"name contains "%" or name contains "_""#,
            Some("url"),
            None,
        ),
        model.fixed(r#"name like "%\\%""#, None, None),
        model.fixed(
            r#"name like "a_b" or name like "%O'%""#,
            Some("name,id"),
            None,
        ),
        model.fixed(
            r#"url contains "%25" or url endswith "UNDER_SCORE""#,
            Some("-url"),
            None,
        ),
        model.fixed(
            r#"disabled_reason contains "410 GONE""#,
            Some("is_active"),
            None,
        ),
        // Exact instants, whole days, now.
        model.fixed(
            &format!("created_at lte \"{mid_created}\""),
            Some("-created_at"),
            None,
        ),
        model.fixed(
            &format!("created_at gt \"{mid_created}\" and updated_at gt \"{mid_created}\""),
            Some("is_active,-last_triggered_at"),
            None,
        ),
        model.fixed(
            "created_at eq today and last_triggered_at lt now",
            None,
            None,
        ),
        model.fixed(
            &format!("id eq \"{some_id}\" or ordering eq \"per_resource\""),
            Some("-is_active,-name"),
            None,
        ),
    ];
    let st = run_oracle(app, &model, seed, fixed, 80).await;
    report("GET /webhooks", app, seed, &model, &st);
    // The data held still while the oracle ran.
    assert_eq!(all_rows(app, "/webhooks").await, model.rows);
});

// ---- GET /webhooks/:id/deliveries ----------------------------------------------------------------

fn deliveries_config(c: &mut laneway_server::ServerConfig) {
    fast(c);
    // One attempt: a 500 fails the delivery for good.
    c.webhooks.retry_schedule = vec![Duration::ZERO];
    c.webhooks.disable_after = 10_000;
    c.webhooks.history = 1000;
}

/// Waits until the webhook has `expected` deliveries and none is pending or in flight.
async fn settle(app: &TestApp, base: &str, expected: u64, what: &str) {
    wait_for(app, &format!("{base}?per_page=1"), what, |b| {
        total(b) == expected
    })
    .await;
    for s in ["pending", "in_flight"] {
        wait_for(app, &format!("{base}?per_page=1&status={s}"), what, |b| {
            total(b) == 0
        })
        .await;
    }
}

webhook_test!(
    deliveries_list_oracle,
    deliveries_config,
    |app| async move {
        assert_matches_registry(
            &laneway_store::repo::webhooks::delivery_registry(),
            DELIVERY_LIST,
        );
        let seed = base_seed() ^ 0xDE11;
        let mut rng = Rng::new(seed);
        let rx = Receiver::start().await;
        let hook = app
            .post(
                "/webhooks",
                json!({"url": rx.url, "name": "deliveries",
                   "events": ["record.created", "record.updated", "record.deleted",
                              "task.created", "task.updated"]}),
                201,
            )
            .await
            .data()
            .clone();
        let id = sid(&hook);
        let base = format!("/webhooks/{id}/deliveries");
        let mut expected = 0u64;
        let mut records: Vec<String> = Vec::new();
        let mut tasks: Vec<String> = Vec::new();

        // Answered 200: succeeded, one attempt.
        rx.by_default(Reply::ok());
        for i in 0..14 {
            let r = app
                .post(
                    "/records",
                    json!({"type": "lead", "title": format!("{} {i}", rng.pick(NAMES))}),
                    201,
                )
                .await;
            records.push(sid(r.data()));
        }
        for (i, r) in records.iter().take(8).enumerate() {
            app.patch(
                &format!("/records/{r}"),
                json!({"title": format!("v{i}")}),
                200,
            )
            .await;
        }
        for i in 0..8 {
            let r = app
                .post("/records/tasks", json!({"title": format!("task {i}")}), 201)
                .await;
            tasks.push(sid(r.data()));
        }
        expected += 14 + 8 + 8;
        settle(app, &base, expected, "the 200s").await;

        // Answered 500 with a one-attempt schedule: failed.
        rx.by_default(Reply::status(500));
        for i in 0..12 {
            let r = app
                .post(
                    "/records",
                    json!({"type": "lead", "title": format!("failing {i}")}),
                    201,
                )
                .await;
            records.push(sid(r.data()));
        }
        for r in records.iter().skip(14).take(6) {
            app.patch(&format!("/records/{r}"), json!({"title": "again"}), 200)
                .await;
        }
        for r in records.iter().skip(8).take(4) {
            app.delete(&format!("/records/{r}"), 200).await;
        }
        for i in 0..6 {
            let r = app
                .post(
                    "/records/tasks",
                    json!({"title": format!("late task {i}")}),
                    201,
                )
                .await;
            tasks.push(sid(r.data()));
        }
        for t in tasks.iter().take(4) {
            app.patch(
                &format!("/records/tasks/{t}"),
                json!({"title": "renamed"}),
                200,
            )
            .await;
        }
        expected += 12 + 6 + 4 + 6 + 4;
        settle(app, &base, expected, "the 500s").await;

        // Some failed ones redelivered to a receiver answering 200: succeeded on attempt 2.
        rx.by_default(Reply::ok());
        let failed = app
            .get(&format!("{base}?status=failed&per_page=100"), 200)
            .await;
        let failed = ids_of(&items(&failed));
        assert_eq!(failed.len(), 32);
        for d in failed.iter().step_by(5) {
            app.post(&format!("{base}/{d}/redeliver"), json!({}), 200)
                .await;
        }
        settle(app, &base, expected, "the redeliveries").await;

        // Test sends: ping deliveries, succeeded or failed.
        for i in 0..10 {
            let status = if i % 3 == 0 { 500 } else { 200 };
            rx.by_default(Reply::status(status));
            app.post(&format!("/webhooks/{id}/test"), json!({}), 200)
                .await;
        }
        expected += 10;

        // Paused: created while the webhook is off, never attempted (no last_status).
        app.patch(&format!("/webhooks/{id}"), json!({"is_active": false}), 200)
            .await;
        for i in 0..8 {
            app.post(
                "/records",
                json!({"type": "lead", "title": format!("while paused {i}")}),
                201,
            )
            .await;
        }
        expected += 8;
        settle(app, &base, expected, "the paused ones").await;
        tokio::time::sleep(Duration::from_millis(20)).await;

        let rows = all_rows(app, &base).await;
        assert_eq!(rows.len() as u64, expected);
        let mut by_status: HashMap<String, usize> = HashMap::new();
        for r in &rows {
            *by_status
                .entry(r["status"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
        assert_eq!(
            by_status.get("succeeded"),
            Some(&(30 + 7 + 6)),
            "{by_status:?}"
        );
        assert_eq!(
            by_status.get("failed"),
            Some(&(32 - 7 + 4)),
            "{by_status:?}"
        );
        assert_eq!(by_status.get("paused"), Some(&8), "{by_status:?}");
        // The last attempt's response time sits beside its status: set exactly when an
        // attempt was made.
        for r in &rows {
            let attempted = r["attempts"].as_u64().unwrap() > 0;
            assert_eq!(r["last_duration_ms"].is_u64(), attempted, "{r}");
            assert_eq!(r["last_duration_ms"].is_null(), !attempted, "{r}");
        }
        let events: BTreeSet<&str> = rows.iter().map(|r| r["event"].as_str().unwrap()).collect();
        assert_eq!(events.len(), 6, "{events:?}");
        let attempts: BTreeSet<u64> = rows
            .iter()
            .map(|r| r["attempts"].as_u64().unwrap())
            .collect();
        assert_eq!(attempts, BTreeSet::from([0, 1, 2]));
        let stamps: BTreeSet<&str> = rows
            .iter()
            .map(|r| r["created_at"].as_str().unwrap())
            .collect();
        eprintln!(
        "deliveries seeded on {:?}: {by_status:?}, events {events:?}, {} distinct created_at of {}",
        app.backend,
        stamps.len(),
        rows.len()
    );

        let model = Model {
            path: base.clone(),
            by_id: rows.iter().map(|r| (sid(r), r.clone())).collect(),
            rows,
            fields: DELIVERY_LIST,
            resource: &DELIVERY_FIELDS,
            words: &[
                "record.", "task.", "RECORD", "created", "Updated", "ping", "PING", "d.", "_", "%",
                "e%e", "task_",
            ],
            status_param: true,
        };
        let some = model.rows[11]["id"].as_str().unwrap().to_string();
        let other = model.rows[50]["id"].as_str().unwrap().to_string();
        let mid_updated = model.rows[40]["updated_at"].as_str().unwrap().to_string();
        let fixed = vec![
            model.fixed("last_status isnull", Some("-attempts,event"), None),
            model.fixed("last_duration_ms gte 0", Some("-last_duration_ms"), None),
            model.fixed(
                "last_duration_ms isnull",
                Some("last_duration_ms,event"),
                None,
            ),
            model.fixed(
                "last_duration_ms lt 5",
                Some("last_duration_ms"),
                Some("succeeded"),
            ),
            model.fixed("last_status ne 500", Some("status,-created_at"), None),
            model.fixed("not (last_status gte 300)", Some("-updated_at"), None),
            model.fixed(
                r#"status in ("paused", "failed") and attempts lt 1.5"#,
                Some("attempts,-id"),
                None,
            ),
            model.fixed(
                r#"event startswith "TASK.""#,
                Some("event,created_at"),
                None,
            ),
            model.fixed(
                r#"event like "record.%ed""#,
                Some("-status,-event"),
                Some("failed"),
            ),
            model.fixed(
                &format!(
                    "id in (\"{}\", \"{}\")",
                    some.to_uppercase(),
                    uuid::Uuid::parse_str(&other).unwrap().simple()
                ),
                Some("-id"),
                None,
            ),
            model.fixed(
                &format!("updated_at gte \"{mid_updated}\" or attempts eq 2"),
                Some("updated_at"),
                Some("succeeded"),
            ),
            model.fixed(r#"event eq "ping""#, None, Some("paused")),
        ];
        let st = run_oracle(app, &model, seed, fixed, 80).await;
        report("GET /webhooks/:id/deliveries", app, seed, &model, &st);
        assert_eq!(all_rows(app, &base).await, model.rows);
    }
);
