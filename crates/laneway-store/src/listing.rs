//! Filtering, sorting and keyset pagination of list queries (`filters.md`), compiled to
//! parameterised sea-query expressions for SQLite and PostgreSQL alike.
//!
//! Each list endpoint describes its fields in a [`Registry`]: name, [`Kind`] and where the
//! value lives ([`Src`]: a column, a lowercased search twin, a column of a related table, a key
//! of the JSON `data`, or the title of a record whose id a `data` key holds). [`compile`] turns a
//! parsed filter into a condition, checking every field, operator and value against the
//! registry first, so a type error is a 400 before any SQL runs. [`Sort`] orders by registry
//! fields with the id as the final tie-breaker and builds the keyset condition for cursors.
//!
//! Semantics shared by both backends (and by the Rust oracle in the tests):
//! - SQL three-valued logic: a condition on a NULL (missing) value is unknown, so `ne`, `nin`,
//!   `not (...)` do not match rows where the field is NULL. A relation path is NULL when the
//!   row has no live related row (or it holds NULL), and `in ()`/`nin ()` are unknown on NULL.
//! - `contains`, `startswith`, `endswith` are case-insensitive, with `%` and `_` literal;
//!   `like` is case-insensitive with `%`/`_` wildcards and no escape character (a backslash is
//!   plain); `eq`/`in` on text are exact. Titles fold every letter (their search twin); other
//!   text folds ASCII letters only, on both backends.
//! - Days (`today`, `today±Nd`, `sow`, `eow`, `som`, `eom`, and a `YYYY-MM-DD` literal) compared
//!   with a datetime field mean the whole day in the workspace time zone: `eq` is within the day,
//!   `lt` before it, `lte` before its end, `gt` after its end, `gte` from its start. `sow`/`som`
//!   are the first day of the current ISO week/month, `eow`/`eom` the last.
//! - Text sorts compare bytes (UTF-8 code point order; `COLLATE "C"` on PostgreSQL). NULLs sort
//!   last ascending and first descending.

use std::collections::BTreeMap;

use laneway_core::filter::{self, Cond, Expr as F, FilterError, Loc, Op, Special, Value as V};
use sea_query::{Alias, Expr, LikeExpr, Order, Query, SelectStatement, SimpleExpr, Value as Sv};
use serde_json::Value as J;
use time::{Date, Duration, OffsetDateTime, Time};
use uuid::Uuid;

use crate::db::Backend;

/// The type of a filterable field.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    Text,
    Number,
    Bool,
    Datetime,
    Date,
    Id,
    /// Text limited to these values.
    Enum(Vec<&'static str>),
    /// A JSON array of strings (`multi_select`): `contains` tests membership.
    Tags,
    /// Whatever JSON an undeclared `data` key holds, as a sort key only: ordered by type
    /// ([`json_rank`]), then numbers numerically, strings byte-wise, `false` before `true`;
    /// arrays and objects tie among themselves; a missing key or JSON `null` is missing.
    Any,
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Text => "string",
            Kind::Number => "number",
            Kind::Bool => "boolean",
            Kind::Datetime => "datetime",
            Kind::Date => "date",
            Kind::Id => "id",
            Kind::Enum(_) => "enum",
            Kind::Tags => "list",
            Kind::Any => "any",
        }
    }

    pub fn ops(&self) -> &'static [Op] {
        use Op::*;
        match self {
            Kind::Text => &[
                Eq, Ne, In, NotIn, Contains, Like, StartsWith, EndsWith, IsNull, IsNotNull,
            ],
            Kind::Number | Kind::Datetime | Kind::Date => {
                &[Eq, Ne, Lt, Lte, Gt, Gte, In, NotIn, IsNull, IsNotNull]
            }
            Kind::Bool => &[Eq, Ne, IsNull, IsNotNull],
            Kind::Id | Kind::Enum(_) => &[Eq, Ne, In, NotIn, IsNull, IsNotNull],
            Kind::Tags => &[Contains, IsNull, IsNotNull],
            Kind::Any => &[],
        }
    }

    /// The declared custom-field type of `data.<key>` (spec §4), as a filter kind.
    pub fn of_field_type(t: &str) -> Kind {
        match t {
            "number" => Kind::Number,
            "boolean" => Kind::Bool,
            "date" => Kind::Date,
            "datetime" => Kind::Datetime,
            "member" | "record" => Kind::Id,
            "multi_select" => Kind::Tags,
            _ => Kind::Text,
        }
    }
}

/// Where a field's value lives.
#[derive(Debug, Clone, PartialEq)]
pub enum Src {
    /// A column of the listed table.
    Col(&'static str),
    /// A text column with a lowercased twin used for the case-insensitive operators.
    Searchable {
        col: &'static str,
        search: &'static str,
    },
    /// A column of another workspace table reached by a foreign key of the listed one.
    Rel {
        fk: &'static str,
        table: &'static str,
        col: &'static str,
        /// The lowercased twin of `col`, when it has one.
        search: Option<&'static str>,
        /// The related table has `deleted_at`; deleted rows do not count.
        soft_delete: bool,
    },
    /// A key of the listed table's JSON `data` column.
    Data(String),
    /// The title of the live record whose id the `data` key holds (`client.name`).
    DataRecord(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    /// The key of the value in the API's JSON of an item (usually `name`).
    pub json_key: String,
    pub kind: Kind,
    pub src: Src,
    pub nullable: bool,
    pub sortable: bool,
}

impl Field {
    pub fn col(name: &'static str, kind: Kind) -> Field {
        Field {
            name: name.into(),
            json_key: name.into(),
            kind,
            src: Src::Col(name),
            nullable: false,
            sortable: true,
        }
    }
    pub fn nullable(mut self) -> Field {
        self.nullable = true;
        self
    }
    pub fn unsortable(mut self) -> Field {
        self.sortable = false;
        self
    }
    pub fn src(mut self, src: Src) -> Field {
        self.src = src;
        self
    }
    /// A field whose column is named differently from the field (`timestamp` → `created_at`).
    pub fn column(mut self, c: &'static str) -> Field {
        self.src = Src::Col(c);
        self
    }
    /// A text field with a lowercased search twin column.
    pub fn searchable(mut self, search: &'static str) -> Field {
        let Src::Col(c) = self.src else { return self };
        self.src = Src::Searchable { col: c, search };
        self
    }
    /// A field read from a related table through the foreign key `fk`.
    pub fn rel(
        name: &str,
        fk: &'static str,
        table: &'static str,
        col: &'static str,
        search: Option<&'static str>,
        soft_delete: bool,
    ) -> Field {
        Field {
            name: name.into(),
            json_key: name.into(),
            kind: Kind::Text,
            src: Src::Rel {
                fk,
                table,
                col,
                search,
                soft_delete,
            },
            nullable: true,
            sortable: false,
        }
    }
}

/// The fields of one list endpoint.
#[derive(Debug, Clone)]
pub struct Registry {
    /// The listed table, as it appears in the list query's `FROM`.
    pub table: &'static str,
    pub fields: Vec<Field>,
    /// The JSON column holding custom fields, when the resource has one.
    pub data: Option<&'static str>,
    /// Declared custom-field types by key (`data.<key>`).
    pub data_kinds: BTreeMap<String, Kind>,
    /// The id is text (API keys), not a UUID.
    pub id_text: bool,
}

impl Registry {
    pub fn new(table: &'static str, fields: Vec<Field>) -> Registry {
        Registry {
            table,
            fields,
            data: None,
            data_kinds: BTreeMap::new(),
            id_text: false,
        }
    }

    /// Adds `data.<key>` fields typed by declarations (undeclared keys take the literal's type),
    /// and `<key>.name` / `<key>.title` for keys declared as `record` plus `client.name`.
    pub fn with_data(mut self, col: &'static str, declared: BTreeMap<String, Kind>) -> Registry {
        self.data = Some(col);
        let mut rel_keys: Vec<String> = declared
            .iter()
            .filter(|(_, k)| **k == Kind::Id)
            .map(|(k, _)| k.clone())
            .collect();
        if !rel_keys.iter().any(|k| k == "client") {
            rel_keys.push("client".into());
        }
        for k in rel_keys {
            for leaf in ["name", "title"] {
                self.fields.push(
                    Field {
                        name: format!("{k}.{leaf}"),
                        json_key: String::new(),
                        kind: Kind::Text,
                        src: Src::DataRecord(k.clone()),
                        nullable: true,
                        sortable: false,
                    }
                    .unsortable(),
                );
            }
        }
        self.data_kinds = declared;
        self
    }

    /// A field by name, `data.<key>` included (its kind from the declaration, else `literal`).
    fn field(&self, name: &str, literal: Option<&Kind>) -> Option<Field> {
        if let Some(f) = self.fields.iter().find(|f| f.name == name) {
            return Some(f.clone());
        }
        let key = name.strip_prefix("data.")?;
        self.data?;
        if !valid_data_key(key) {
            return None;
        }
        let kind = self
            .data_kinds
            .get(key)
            .cloned()
            .or_else(|| literal.cloned())
            .unwrap_or(Kind::Text);
        Some(Field {
            name: name.into(),
            json_key: name.into(),
            kind,
            src: Src::Data(key.into()),
            nullable: true,
            sortable: true,
        })
    }

    /// The names a caller may use, for error messages.
    pub fn names(&self, sortable_only: bool) -> Vec<String> {
        let mut v: Vec<String> = self
            .fields
            .iter()
            .filter(|f| !sortable_only || f.sortable)
            .map(|f| f.name.clone())
            .collect();
        if self.data.is_some() {
            v.push("data.<key>".into());
        }
        v
    }

    fn unknown(&self, name: &str, at: Option<Loc>, sortable_only: bool) -> FilterError {
        let names = self.names(sortable_only);
        let mut e = FilterError::new(format!("unknown field '{name}'"), at);
        let mut candidates: Vec<String> = names
            .iter()
            .filter(|n| !n.ends_with("<key>"))
            .cloned()
            .collect();
        for k in self.data_kinds.keys() {
            candidates.push(format!("data.{k}"));
        }
        match filter::nearest(name, candidates.iter().map(String::as_str)) {
            Some(n) => e = e.with_hint(format!("did you mean '{n}'?")),
            None => e = e.with_hint(format!("fields: {}", names.join(", "))),
        }
        e
    }
}

/// Custom-field keys usable in filters and sorts: what an object type may declare, plus
/// upper-case letters for undeclared keys. Anything else cannot be addressed.
pub fn valid_data_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 64
        && k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What the special values resolve against.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub backend: Backend,
    pub workspace: String,
    /// The calling key's member (`me.id`).
    pub me: Option<Uuid>,
    pub now: OffsetDateTime,
    /// The workspace time zone: days start at its local midnight.
    pub zone: laneway_core::time::Zone,
}

impl Ctx {
    fn today(&self) -> Date {
        self.zone.date_at(self.now).unwrap_or(self.now.date())
    }
    fn day_start(&self, d: Date) -> OffsetDateTime {
        self.zone
            .day_start(d)
            .unwrap_or_else(|| d.with_time(Time::MIDNIGHT).assume_utc())
    }
    fn ts(&self, t: OffsetDateTime) -> Sv {
        match self.backend {
            Backend::Sqlite => laneway_core::time::format_ts(t).into(),
            Backend::Postgres => t.into(),
        }
    }
    fn special_day(&self, s: Special) -> Option<Date> {
        let today = self.today();
        Some(match s {
            Special::Today(n) => today.checked_add(Duration::days(n.into()))?,
            Special::Sow => {
                today - Duration::days(today.weekday().number_days_from_monday().into())
            }
            Special::Eow => {
                today + Duration::days((6 - today.weekday().number_days_from_monday()).into())
            }
            Special::Som => today.replace_day(1).ok()?,
            Special::Eom => {
                let first = today.replace_day(1).ok()?;
                let next = if first.month() == time::Month::December {
                    Date::from_calendar_date(first.year() + 1, time::Month::January, 1).ok()?
                } else {
                    Date::from_calendar_date(first.year(), first.month().next(), 1).ok()?
                };
                next - Duration::days(1)
            }
            Special::Now | Special::MeId => return None,
        })
    }
}

fn col(table: &str, c: &str) -> SimpleExpr {
    Expr::col((Alias::new(table), Alias::new(c))).into()
}

/// The SQL value of a `data` key as `kind` (NULL when the stored JSON has another type).
fn data_expr(backend: Backend, table: &str, data: &str, key: &str, kind: &Kind) -> SimpleExpr {
    let d = col(table, data);
    match backend {
        Backend::Sqlite => {
            let path = format!("$.{key}");
            let (types, value) = match kind {
                Kind::Number => ("('integer','real')", "CAST(json_extract(?, ?) AS REAL)"),
                Kind::Bool => ("('true','false')", "json_extract(?, ?)"),
                Kind::Tags => ("('array')", "json_extract(?, ?)"),
                _ => ("('text')", "json_extract(?, ?)"),
            };
            // sea-query's SQLite builder fills `?` in custom SQL in order, one expression each
            // (PostgreSQL's fills `$N`).
            let p: SimpleExpr = Expr::val(path).into();
            Expr::cust_with_exprs(
                format!("CASE WHEN json_type(?, ?) IN {types} THEN {value} END"),
                [d.clone(), p.clone(), d, p],
            )
        }
        Backend::Postgres => {
            let (ty, value) = match kind {
                Kind::Number => ("number", "($3 ->> $4)::float8"),
                Kind::Bool => ("boolean", "($3 ->> $4)::boolean"),
                Kind::Tags => ("array", "($3 -> $4)"),
                _ => ("string", "($3 ->> $4)"),
            };
            let k: SimpleExpr = Expr::val(key.to_string()).into();
            Expr::cust_with_exprs(
                format!("CASE WHEN jsonb_typeof($1 -> $2) = '{ty}' THEN {value} END"),
                [d.clone(), k.clone(), d, k],
            )
        }
    }
}

/// Text compared byte-wise on both backends.
fn bytewise(backend: Backend, e: SimpleExpr) -> SimpleExpr {
    match backend {
        Backend::Sqlite => e,
        Backend::Postgres => Expr::cust_with_expr("($1 COLLATE \"C\")", e),
    }
}

/// The value expression of a field of the listed table (relations excluded).
fn value_expr(reg: &Registry, f: &Field, ctx: &Ctx) -> SimpleExpr {
    match &f.src {
        Src::Col(c) | Src::Searchable { col: c, .. } => col(reg.table, c),
        Src::Data(k) => data_expr(
            ctx.backend,
            reg.table,
            reg.data.unwrap_or("data"),
            k,
            &f.kind,
        ),
        // Relations are compiled as sub-queries, never as plain values.
        Src::Rel { .. } | Src::DataRecord(_) => Expr::cust("NULL"),
    }
}

/// A literal converted for a field: a single SQL value, or a day (a range on datetimes).
#[derive(Debug, Clone)]
enum Lit {
    One(Sv),
    Day(OffsetDateTime, OffsetDateTime),
}

fn lit_kind(v: &V) -> Option<Kind> {
    match v {
        V::Number(_) => Some(Kind::Number),
        V::Bool(_) => Some(Kind::Bool),
        V::String(_) => Some(Kind::Text),
        V::Special(Special::Now) => Some(Kind::Datetime),
        V::Special(Special::MeId) => Some(Kind::Id),
        V::Special(_) => Some(Kind::Date),
        V::List(l) => l.first().and_then(lit_kind),
        V::Null => None,
    }
}

fn convert(f: &Field, v: &V, at: &Loc, ctx: &Ctx) -> Result<Lit, FilterError> {
    let text_stored = matches!(f.src, Src::Data(_));
    let bad = |expected: &str| {
        FilterError::new(
            format!(
                "field '{}' is a {}; {} is not {expected}",
                f.name,
                f.kind.name(),
                describe(v)
            ),
            Some(at.clone()),
        )
    };
    let lit = match (&f.kind, v) {
        (Kind::Text, V::String(s)) => Lit::One(s.clone().into()),
        (Kind::Tags, V::String(s)) => Lit::One(s.clone().into()),
        (Kind::Enum(allowed), V::String(s)) => {
            if !allowed.contains(&s.as_str()) {
                return Err(FilterError::new(
                    format!("'{s}' is not a value of field '{}'", f.name),
                    Some(at.clone()),
                )
                .with_hint(format!("one of: {}", allowed.join(", "))));
            }
            Lit::One(s.clone().into())
        }
        (Kind::Number, V::Number(n)) => Lit::One((*n).into()),
        (Kind::Bool, V::Bool(b)) => Lit::One((*b).into()),
        (Kind::Id, V::String(s)) => {
            let id = laneway_core::ids::parse_uuid(s).ok_or_else(|| {
                FilterError::new(
                    format!("'{s}' is not a valid id for field '{}'", f.name),
                    Some(at.clone()),
                )
            })?;
            id_value(id, text_stored)
        }
        (Kind::Id, V::Special(Special::MeId)) => match ctx.me {
            Some(id) => id_value(id, text_stored),
            None => {
                return Err(FilterError::new(
                    "'me.id' needs a key that belongs to a member",
                    Some(at.clone()),
                ))
            }
        },
        (Kind::Datetime, V::String(s)) => {
            if let Some(t) = laneway_core::time::parse_ts(s) {
                datetime_value(t, text_stored, ctx)
            } else if let Some(d) = laneway_core::time::parse_date(s) {
                day(d, ctx).ok_or_else(|| bad("a date before 9999-12-31"))?
            } else {
                return Err(bad(
                    "a date-time like \"2024-01-31T09:00:00Z\" or a date like \"2024-01-31\"",
                ));
            }
        }
        (Kind::Datetime, V::Special(Special::Now)) => datetime_value(ctx.now, text_stored, ctx),
        (Kind::Datetime, V::Special(s)) if *s != Special::MeId => {
            day(ctx.special_day(*s).ok_or_else(|| bad("a day"))?, ctx)
                .ok_or_else(|| bad("a day before 9999-12-31"))?
        }
        (Kind::Date, V::String(s)) => {
            let d = laneway_core::time::parse_date(s)
                .ok_or_else(|| bad("a date like \"2024-01-31\""))?;
            date_value(d, text_stored)
        }
        (Kind::Date, V::Special(Special::Now)) => date_value(ctx.today(), text_stored),
        (Kind::Date, V::Special(s)) if *s != Special::MeId => date_value(
            ctx.special_day(*s).ok_or_else(|| bad("a day"))?,
            text_stored,
        ),
        (kind, _) => {
            let expected = match kind {
                Kind::Text | Kind::Enum(_) | Kind::Tags => "a string",
                Kind::Number => "a number",
                Kind::Bool => "true or false",
                Kind::Id => "an id (a quoted UUID or me.id)",
                Kind::Datetime => "a date-time, a date or a special day",
                Kind::Date => "a date or a special day",
                Kind::Any => "a value",
            };
            return Err(bad(expected));
        }
    };
    Ok(lit)
}

fn describe(v: &V) -> String {
    match v {
        V::Null => "null".into(),
        V::Bool(b) => b.to_string(),
        V::Number(n) => n.to_string(),
        V::String(s) => format!("\"{s}\""),
        V::List(_) => "a list".into(),
        V::Special(s) => s.name(),
    }
}

fn id_value(id: Uuid, text_stored: bool) -> Lit {
    if text_stored {
        Lit::One(id.hyphenated().to_string().into())
    } else {
        Lit::One(id.into())
    }
}

fn datetime_value(t: OffsetDateTime, text_stored: bool, ctx: &Ctx) -> Lit {
    if text_stored {
        Lit::One(laneway_core::time::format_ts(t).into())
    } else {
        Lit::One(ctx.ts(t))
    }
}

fn date_value(d: Date, text_stored: bool) -> Lit {
    if text_stored {
        Lit::One(laneway_core::time::format_date(d).into())
    } else {
        Lit::One(d.into())
    }
}

/// A whole day; `None` when its end is past the last representable instant.
fn day(d: Date, ctx: &Ctx) -> Option<Lit> {
    let start = ctx.day_start(d);
    Some(Lit::Day(start, start.checked_add(Duration::days(1))?))
}

/// A bound value as the stored representation for day bounds on a data datetime.
fn bound(t: OffsetDateTime, f: &Field, ctx: &Ctx) -> SimpleExpr {
    let v = if matches!(f.src, Src::Data(_)) {
        laneway_core::time::format_ts(t).into()
    } else {
        ctx.ts(t)
    };
    Expr::val(v).into()
}

fn like_escaped(e: SimpleExpr, pattern: String) -> SimpleExpr {
    Expr::expr(e).like(LikeExpr::new(pattern).escape('\\'))
}

/// Lowercases ASCII letters only, identically on both backends (SQLite's `lower()` folds
/// ASCII only; PostgreSQL's folds every letter its locale knows).
fn lower(backend: Backend, e: SimpleExpr) -> SimpleExpr {
    match backend {
        Backend::Sqlite => sea_query::Func::lower(e).into(),
        Backend::Postgres => Expr::cust_with_expr(
            "translate($1, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz')",
            e,
        ),
    }
}

const NEVER: &str = "1 = 0";

/// One hexadecimal digit in a SQLite GLOB pattern.
const HEX: &str = "[0-9a-fA-F]";

/// Compiles a parsed filter for `reg`, resolving special values against `ctx`.
pub fn compile(reg: &Registry, e: &F, ctx: &Ctx) -> Result<SimpleExpr, FilterError> {
    Ok(match e {
        F::And(v) => {
            let mut it = v.iter();
            let first = compile(reg, it.next().ok_or_else(empty)?, ctx)?;
            it.try_fold(first, |acc, e| {
                Ok::<_, FilterError>(acc.and(compile(reg, e, ctx)?))
            })?
        }
        F::Or(v) => {
            let mut it = v.iter();
            let first = compile(reg, it.next().ok_or_else(empty)?, ctx)?;
            it.try_fold(first, |acc, e| {
                Ok::<_, FilterError>(acc.or(compile(reg, e, ctx)?))
            })?
        }
        F::Not(e) => compile(reg, e, ctx)?.not(),
        F::Cond(c) => cond(reg, c, ctx)?,
    })
}

fn empty() -> FilterError {
    FilterError::new("empty group", None)
}

fn cond(reg: &Registry, c: &Cond, ctx: &Ctx) -> Result<SimpleExpr, FilterError> {
    let literal = c.value.as_ref().and_then(lit_kind);
    let f = reg
        .field(&c.field, literal.as_ref())
        .ok_or_else(|| reg.unknown(&c.field, Some(c.at.clone()), false))?;
    // `eq null` / `ne null` read as the null tests.
    let (op, value) = match (c.op, &c.value) {
        (Op::Eq, Some(V::Null)) => (Op::IsNull, None),
        (Op::Ne, Some(V::Null)) => (Op::IsNotNull, None),
        (op, v) => (op, v.clone()),
    };
    if !f.kind.ops().contains(&op) {
        return Err(FilterError::new(
            format!(
                "operator '{}' is not allowed on {} field '{}'",
                c.op.name(),
                f.kind.name(),
                f.name
            ),
            Some(c.op_at.clone()),
        )
        .with_hint(format!(
            "allowed: {}",
            f.kind
                .ops()
                .iter()
                .map(|o| o.name())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    // Values are checked before anything is built.
    let lits: Vec<Lit> = match (&value, op) {
        (None, _) => vec![],
        (Some(V::List(items)), o) if o.takes_list() => items
            .iter()
            .map(|v| convert(&f, v, &c.value_at, ctx))
            .collect::<Result<_, _>>()?,
        (Some(v), o) if o.takes_list() => vec![convert(&f, v, &c.value_at, ctx)?],
        (Some(V::List(_)), o) => {
            return Err(FilterError::new(
                format!("operator '{}' takes one value, not a list", o.name()),
                Some(c.value_at.clone()),
            ))
        }
        (Some(V::Null), o) => {
            return Err(FilterError::new(
                format!("operator '{}' cannot compare with null", o.name()),
                Some(c.value_at.clone()),
            )
            .with_hint("use isnull or isnotnull"))
        }
        (Some(v), _) => vec![convert(&f, v, &c.value_at, ctx)?],
    };
    match &f.src {
        Src::Rel {
            fk,
            table,
            col: rc,
            search,
            soft_delete,
        } => {
            let inner_field = Field {
                name: f.name.clone(),
                json_key: String::new(),
                kind: f.kind.clone(),
                src: match search {
                    Some(search) => Src::Searchable { col: rc, search },
                    None => Src::Col(rc),
                },
                nullable: true,
                sortable: false,
            };
            let inner_reg = Registry::new(table, vec![]);
            let mut sub = Query::select()
                .expr(col(table, "id"))
                .from(Alias::new(*table))
                .and_where(col(table, "workspace_id").eq(ctx.workspace.clone()))
                .to_owned();
            if *soft_delete {
                sub.and_where(Expr::expr(col(table, "deleted_at")).is_null());
            }
            let fk_expr = Expr::col((Alias::new(reg.table), Alias::new(*fk)));
            match op {
                Op::IsNull | Op::IsNotNull => {
                    sub.and_where(Expr::expr(col(table, rc)).is_not_null());
                    let has = fk_expr.in_subquery(sub);
                    // Both are true or false, never unknown: `fk IN (..)` alone is NULL when
                    // the key is NULL, which `not (x isnotnull)` would then fail to match.
                    Ok(if op == Op::IsNull {
                        Expr::expr(col(reg.table, fk)).is_null().or(has.not())
                    } else {
                        Expr::expr(col(reg.table, fk)).is_not_null().and(has)
                    })
                }
                _ => {
                    // Without a live related row holding a value the field is NULL, so the
                    // condition is unknown (and stays so under `not`), as on any NULL.
                    let mut present = sub.clone();
                    present.and_where(Expr::expr(col(table, rc)).is_not_null());
                    let present = fk_expr.clone().in_subquery(present);
                    sub.and_where(apply(&inner_reg, &inner_field, op, &lits, ctx));
                    Ok(Expr::case(present, fk_expr.in_subquery(sub)).into())
                }
            }
        }
        Src::DataRecord(key) => {
            let alias = "rel_record";
            let data = data_expr(
                ctx.backend,
                reg.table,
                reg.data.unwrap_or("data"),
                key,
                &Kind::Text,
            );
            let id_match = match ctx.backend {
                // Only a UUID in its hyphenated form (either case), as the PostgreSQL regex.
                Backend::Sqlite => Expr::cust_with_exprs(
                    format!(
                        "(? = unhex(replace(?, '-', '')) AND ? GLOB '{}-{}-{}-{}-{}')",
                        HEX.repeat(8),
                        HEX.repeat(4),
                        HEX.repeat(4),
                        HEX.repeat(4),
                        HEX.repeat(12)
                    ),
                    [col(alias, "id"), data.clone(), data],
                ),
                Backend::Postgres => Expr::cust_with_exprs(
                    "$1 = CASE WHEN $2 ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$$' THEN ($3)::uuid END",
                    [col(alias, "id"), data.clone(), data],
                ),
            };
            let mut sub = Query::select()
                .expr(Expr::val(1))
                .from_as(Alias::new("records"), Alias::new(alias))
                .and_where(col(alias, "workspace_id").eq(ctx.workspace.clone()))
                .and_where(Expr::expr(col(alias, "deleted_at")).is_null())
                .and_where(id_match)
                .to_owned();
            let inner_field = Field {
                name: f.name.clone(),
                json_key: String::new(),
                kind: Kind::Text,
                src: Src::Searchable {
                    col: "title",
                    search: "title_search",
                },
                nullable: false,
                sortable: false,
            };
            let inner_reg = Registry::new(alias, vec![]);
            match op {
                Op::IsNull => Ok(Expr::exists(sub).not()),
                Op::IsNotNull => Ok(Expr::exists(sub)),
                _ => {
                    // No live record behind the key: the field is NULL, the condition unknown.
                    let present = Expr::exists(sub.clone());
                    sub.and_where(apply(&inner_reg, &inner_field, op, &lits, ctx));
                    Ok(Expr::case(present, Expr::exists(sub)).into())
                }
            }
        }
        _ => Ok(apply(reg, &f, op, &lits, ctx)),
    }
}

/// `field op values` on a field of `reg.table` (or the inner table of a relation).
fn apply(reg: &Registry, f: &Field, op: Op, lits: &[Lit], ctx: &Ctx) -> SimpleExpr {
    let v = value_expr(reg, f, ctx);
    let text_needle = |l: &Lit| -> String {
        match l {
            Lit::One(Sv::String(Some(s))) => s.to_string(),
            _ => String::new(),
        }
    };
    // The case-insensitive side of a text field.
    let folded = || -> SimpleExpr {
        match &f.src {
            Src::Searchable { search, .. } => col(reg.table, search),
            _ => lower(ctx.backend, v.clone()),
        }
    };
    let fold = |s: &str| -> String {
        match &f.src {
            // The search twin holds Rust's Unicode lowercasing.
            Src::Searchable { .. } => crate::repo::search_text(s),
            // SQLite's lower() folds ASCII only; fold the needle the same way on both backends.
            _ => s.to_ascii_lowercase(),
        }
    };
    // SQLite: a record title's substring operators go through the trigram index.
    if ctx.backend == Backend::Sqlite
        && matches!(
            f.src,
            Src::Searchable {
                search: "title_search",
                ..
            }
        )
        && matches!(op, Op::Contains | Op::StartsWith | Op::EndsWith)
        && !lits.is_empty()
    {
        let needle = glob_escape(&fold(&text_needle(&lits[0])));
        let pattern = match op {
            Op::Contains => Some(format!("*{needle}*")),
            Op::StartsWith => Some(format!("{needle}*")),
            Op::EndsWith => Some(format!("*{needle}")),
            _ => None,
        };
        if let Some(p) = pattern {
            let hits = Query::select()
                .expr(Expr::cust("rowid"))
                .from(Alias::new("records_fts"))
                .and_where(Expr::cust_with_values("title_search GLOB ?", [p]))
                .to_owned();
            return Expr::col((Alias::new(reg.table), Alias::new("search_key"))).in_subquery(hits);
        }
    }
    match op {
        Op::IsNull => Expr::expr(v).is_null(),
        Op::IsNotNull => Expr::expr(v).is_not_null(),
        Op::Contains if f.kind == Kind::Tags => tags_contain(reg, f, &text_needle(&lits[0]), ctx),
        Op::Contains => like_escaped(
            folded(),
            format!(
                "%{}%",
                crate::repo::escape_like(&fold(&text_needle(&lits[0])))
            ),
        ),
        Op::StartsWith => like_escaped(
            folded(),
            format!(
                "{}%",
                crate::repo::escape_like(&fold(&text_needle(&lits[0])))
            ),
        ),
        Op::EndsWith => like_escaped(
            folded(),
            format!(
                "%{}",
                crate::repo::escape_like(&fold(&text_needle(&lits[0])))
            ),
        ),
        // `%` and `_` are wildcards; a backslash is a plain character on both backends
        // (PostgreSQL's LIKE would otherwise take it as its escape character).
        Op::Like => {
            let pattern = fold(&text_needle(&lits[0])).replace('\\', "\\\\");
            like_escaped(folded(), pattern)
        }
        Op::In | Op::NotIn => {
            if lits.is_empty() {
                // Nothing is in an empty list; a NULL value stays unknown (under `not` too).
                let known = Expr::expr(v).is_not_null();
                let answer = Expr::cust(if op == Op::In { NEVER } else { "1 = 1" });
                return Expr::case(known, answer).into();
            }
            let any = lits
                .iter()
                .map(|l| compare(&v, Op::Eq, l, f, ctx))
                .reduce(SimpleExpr::or)
                .unwrap_or_else(|| Expr::cust(NEVER));
            if op == Op::In {
                any
            } else {
                // NOT over a NULL value stays unknown, as `nin` must not match NULL.
                any.not()
            }
        }
        _ => compare(&v, op, &lits[0], f, ctx),
    }
}

/// `s` with GLOB's special characters taken literally (each in a one-character class).
fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '*' | '?' | '[' => {
                out.push('[');
                out.push(ch);
                out.push(']');
            }
            _ => out.push(ch),
        }
    }
    out
}

fn compare(v: &SimpleExpr, op: Op, l: &Lit, f: &Field, ctx: &Ctx) -> SimpleExpr {
    let e = || Expr::expr(v.clone());
    match l {
        Lit::One(x) => {
            let x = x.clone();
            match op {
                Op::Eq => e().eq(x),
                Op::Ne => e().ne(x),
                Op::Lt => e().lt(x),
                Op::Lte => e().lte(x),
                Op::Gt => e().gt(x),
                Op::Gte => e().gte(x),
                _ => Expr::cust(NEVER),
            }
        }
        Lit::Day(a, b) => {
            let (a, b) = (bound(*a, f, ctx), bound(*b, f, ctx));
            match op {
                Op::Eq => e().gte(a).and(e().lt(b)),
                Op::Ne => e().lt(a).or(e().gte(b)),
                Op::Lt => e().lt(a),
                Op::Lte => e().lt(b),
                Op::Gt => e().gte(b),
                Op::Gte => e().gte(a),
                _ => Expr::cust(NEVER),
            }
        }
    }
}

fn tags_contain(reg: &Registry, f: &Field, needle: &str, ctx: &Ctx) -> SimpleExpr {
    let Src::Data(key) = &f.src else {
        return Expr::cust(NEVER);
    };
    let d = col(reg.table, reg.data.unwrap_or("data"));
    match ctx.backend {
        Backend::Sqlite => Expr::cust_with_exprs(
            "EXISTS (SELECT 1 FROM json_each(?, ?) WHERE json_each.type = 'text' AND json_each.value = ?)",
            [d, Expr::val(format!("$.{key}")).into(), Expr::val(needle.to_string()).into()],
        ),
        Backend::Postgres => Expr::cust_with_exprs(
            "(jsonb_typeof($1 -> $2) = 'array' AND ($3 -> $4) @> jsonb_build_array($5::text))",
            [
                d.clone(),
                Expr::val(key.to_string()).into(),
                d,
                Expr::val(key.to_string()).into(),
                Expr::val(needle.to_string()).into(),
            ],
        ),
    }
}

fn rest_is_empty<'a>(parts: &mut impl Iterator<Item = &'a str>) -> bool {
    parts.all(|p| p.trim().is_empty())
}

/// One key of a sort.
#[derive(Debug, Clone)]
pub struct SortKey {
    pub field: Field,
    pub desc: bool,
}

/// A parsed `sort=`: the caller's keys; the id is always the last tie-breaker.
#[derive(Debug, Clone)]
pub struct Sort {
    pub keys: Vec<SortKey>,
    /// The id column of the listed table and whether it sorts descending.
    pub id_desc: bool,
}

impl Sort {
    /// Reads `sort=-created_at,title`. `default` is used when `raw` is absent or blank.
    pub fn parse(reg: &Registry, raw: Option<&str>, default: &str) -> Result<Sort, FilterError> {
        let raw = raw
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .unwrap_or(default);
        let mut keys: Vec<SortKey> = Vec::new();
        let mut parts = raw.split(',');
        while let Some(part) = parts.next() {
            let part = part.trim();
            let (desc, name) = match part.strip_prefix('-') {
                Some(n) => (true, n.trim()),
                None => (false, part.strip_prefix('+').unwrap_or(part).trim()),
            };
            if name.is_empty() {
                return Err(FilterError::new(
                    format!("sort: empty field in '{raw}'"),
                    None,
                ));
            }
            if name == "id" {
                if !rest_is_empty(&mut parts) {
                    return Err(FilterError::new(
                        "sort: 'id' is unique, so it must be the last field",
                        None,
                    ));
                }
                return Ok(Sort {
                    keys,
                    id_desc: desc,
                });
            }
            let f = reg
                .field(name, None)
                .filter(|f| f.sortable)
                .ok_or_else(|| {
                    let mut e = reg.unknown(name, None, true);
                    e.message = format!("sort: unknown field '{name}'");
                    // `id` last, once: it is always the final tie-breaker.
                    let names: Vec<String> =
                        reg.names(true).into_iter().filter(|n| n != "id").collect();
                    e.hint = Some(format!("sortable: {}, id", names.join(", ")));
                    e
                })?;
            if keys.iter().any(|k| k.field.name == f.name) {
                return Err(FilterError::new(
                    format!("sort: field '{name}' appears twice"),
                    None,
                ));
            }
            if f.kind == Kind::Tags {
                return Err(FilterError::new(
                    format!("sort: field '{name}' is a list and cannot be sorted"),
                    None,
                ));
            }
            let mut f = f;
            if let Src::Data(k) = &f.src {
                if !reg.data_kinds.contains_key(k) {
                    f.kind = Kind::Any;
                }
            }
            keys.push(SortKey { field: f, desc });
        }
        let id_desc = keys.last().is_some_and(|k| k.desc);
        Ok(Sort { keys, id_desc })
    }

    /// The canonical text of this sort (cursors are bound to it).
    pub fn canonical(&self) -> String {
        let mut parts: Vec<String> = self
            .keys
            .iter()
            .map(|k| format!("{}{}", if k.desc { "-" } else { "" }, k.field.name))
            .collect();
        parts.push(format!("{}id", if self.id_desc { "-" } else { "" }));
        parts.join(",")
    }

    fn key_expr(&self, reg: &Registry, k: &SortKey, ctx: &Ctx) -> SimpleExpr {
        let v = value_expr(reg, &k.field, ctx);
        if sorts_bytewise(&k.field) {
            bytewise(ctx.backend, v)
        } else {
            v
        }
    }

    /// Adds `ORDER BY` for walking forward (`backward == false`) or backward.
    pub fn order(&self, q: &mut SelectStatement, reg: &Registry, ctx: &Ctx, backward: bool) {
        let dir = |desc: bool| {
            if desc != backward {
                Order::Desc
            } else {
                Order::Asc
            }
        };
        for k in &self.keys {
            if let Some((rank, typed)) = any_parts(reg, k, ctx) {
                // Missing last ascending, first descending; then the type; then the value of
                // each type (NULL in rows of the other types, which the rank already ordered).
                q.order_by_expr(Expr::expr(rank.clone()).is_null(), dir(k.desc));
                q.order_by_expr(rank, dir(k.desc));
                for (_, e) in typed {
                    q.order_by_expr(e, dir(k.desc));
                }
                continue;
            }
            let e = self.key_expr(reg, k, ctx);
            if k.field.nullable {
                // NULLs last ascending, first descending, on both backends.
                q.order_by_expr(Expr::expr(e.clone()).is_null(), dir(k.desc));
            }
            q.order_by_expr(e, dir(k.desc));
        }
        q.order_by_expr(col(reg.table, "id"), dir(self.id_desc));
    }

    /// The boundary values of an item (as the API returns it) for a cursor: one per key, then
    /// the id.
    pub fn boundary(&self, item: &J) -> Vec<J> {
        let mut out: Vec<J> = self
            .keys
            .iter()
            .map(|k| item_value(item, &k.field))
            .collect();
        out.push(item.get("id").cloned().unwrap_or(J::Null));
        out
    }

    /// Rows strictly after `boundary` in this order (before it when `backward`).
    pub fn after(
        &self,
        reg: &Registry,
        ctx: &Ctx,
        boundary: &[J],
        backward: bool,
    ) -> Result<SimpleExpr, FilterError> {
        let bad = || FilterError::new("page[cursor] is not valid", None);
        if boundary.len() != self.keys.len() + 1 {
            return Err(bad());
        }
        // (strictly-after on key i) AND (equal on every key before it), OR-ed over i.
        let mut alternatives: Vec<SimpleExpr> = Vec::new();
        let mut equal_so_far: Vec<SimpleExpr> = Vec::new();
        for (k, b) in self.keys.iter().zip(boundary) {
            let desc = k.desc != backward;
            if let Some((rank, typed)) = any_parts(reg, k, ctx) {
                let (after, equal) =
                    any_after(ctx.backend, rank, typed, b, desc).ok_or_else(bad)?;
                if let Some(a) = after {
                    alternatives.push(conj(equal_so_far.iter().cloned().chain([a])));
                }
                equal_so_far.push(equal);
                continue;
            }
            let e = self.key_expr(reg, k, ctx);
            let (after, equal) = if b.is_null() {
                if !k.field.nullable {
                    return Err(bad());
                }
                // NULLs are last ascending, first descending.
                if desc {
                    (
                        Some(Expr::expr(e.clone()).is_not_null()),
                        Expr::expr(e).is_null(),
                    )
                } else {
                    (None, Expr::expr(e).is_null())
                }
            } else {
                let v: SimpleExpr =
                    Expr::val(cursor_value(&k.field, b, ctx).ok_or_else(bad)?).into();
                let v = if sorts_bytewise(&k.field) {
                    bytewise(ctx.backend, v)
                } else {
                    v
                };
                let strictly = if desc {
                    Expr::expr(e.clone()).lt(v.clone())
                } else {
                    let gt = Expr::expr(e.clone()).gt(v.clone());
                    if k.field.nullable {
                        gt.or(Expr::expr(e.clone()).is_null())
                    } else {
                        gt
                    }
                };
                (Some(strictly), Expr::expr(e).eq(v))
            };
            if let Some(a) = after {
                alternatives.push(conj(equal_so_far.iter().cloned().chain([a])));
            }
            equal_so_far.push(equal);
        }
        let raw_id = boundary.last().and_then(J::as_str).ok_or_else(bad)?;
        let id: Sv = if reg.id_text {
            raw_id.to_string().into()
        } else {
            laneway_core::ids::parse_uuid(raw_id)
                .ok_or_else(bad)?
                .into()
        };
        let idc = Expr::col((Alias::new(reg.table), Alias::new("id")));
        let id_after = if self.id_desc != backward {
            idc.lt(id)
        } else {
            idc.gt(id)
        };
        alternatives.push(conj(equal_so_far.into_iter().chain([id_after])));
        Ok(alternatives
            .into_iter()
            .reduce(SimpleExpr::or)
            .unwrap_or_else(|| Expr::cust(NEVER)))
    }
}

fn conj(it: impl Iterator<Item = SimpleExpr>) -> SimpleExpr {
    it.reduce(SimpleExpr::and)
        .unwrap_or_else(|| Expr::cust("1 = 1"))
}

/// The value of a field in an item as the API returns it, mirroring its SQL expression
/// (a `data` key of another JSON type is NULL).
pub fn item_value(item: &J, f: &Field) -> J {
    match &f.src {
        Src::Data(k) => {
            let v = item
                .get("data")
                .and_then(|d| d.get(k))
                .cloned()
                .unwrap_or(J::Null);
            if f.kind == Kind::Any {
                // Arrays and objects tie among themselves: their rank is all a cursor needs.
                return match v {
                    J::Array(_) => J::Array(Vec::new()),
                    J::Object(_) => J::Object(Default::default()),
                    v => v,
                };
            }
            let fits = match f.kind {
                Kind::Number => v.is_number(),
                Kind::Bool => v.is_boolean(),
                Kind::Tags => v.is_array(),
                _ => v.is_string(),
            };
            if fits {
                v
            } else {
                J::Null
            }
        }
        _ => item.get(&f.json_key).cloned().unwrap_or(J::Null),
    }
}

/// A boundary value read back from a cursor as a bind value of the field's column.
fn cursor_value(f: &Field, v: &J, ctx: &Ctx) -> Option<Sv> {
    let text_stored = matches!(f.src, Src::Data(_));
    Some(match &f.kind {
        Kind::Number => v.as_f64()?.into(),
        Kind::Bool => v.as_bool()?.into(),
        Kind::Text | Kind::Enum(_) | Kind::Tags => v.as_str()?.to_string().into(),
        Kind::Id if text_stored => v.as_str()?.to_string().into(),
        Kind::Id => laneway_core::ids::parse_uuid(v.as_str()?)?.into(),
        Kind::Datetime if text_stored => v.as_str()?.to_string().into(),
        Kind::Datetime => ctx.ts(laneway_core::time::parse_ts(v.as_str()?)?),
        Kind::Date if text_stored => v.as_str()?.to_string().into(),
        Kind::Date => laneway_core::time::parse_date(v.as_str()?)?.into(),
        // Read by `any_after`, never as one value.
        Kind::Any => return None,
    })
}

/// Whether a field's SQL value is text (compared byte-wise on both backends).
fn sorts_bytewise(f: &Field) -> bool {
    match f.kind {
        Kind::Text | Kind::Enum(_) | Kind::Tags => true,
        Kind::Id | Kind::Datetime | Kind::Date => matches!(f.src, Src::Data(_)),
        Kind::Number | Kind::Bool | Kind::Any => false,
    }
}

/// The type rank of a JSON value in a sort over an undeclared key: numbers 0, strings 1,
/// booleans 2, arrays 3, objects 4; `null` has none (it sorts as a missing key).
pub fn json_rank(v: &J) -> Option<i64> {
    match v {
        J::Number(_) => Some(0),
        J::String(_) => Some(1),
        J::Bool(_) => Some(2),
        J::Array(_) => Some(3),
        J::Object(_) => Some(4),
        J::Null => None,
    }
}

/// The SQL of [`json_rank`] over a `data` key (NULL when missing or `null`), the same on both
/// backends.
fn rank_expr(backend: Backend, table: &str, data: &str, key: &str) -> SimpleExpr {
    let d = col(table, data);
    match backend {
        Backend::Sqlite => Expr::cust_with_exprs(
            "CASE json_type(?, ?) WHEN 'integer' THEN 0 WHEN 'real' THEN 0 WHEN 'text' THEN 1 \
             WHEN 'true' THEN 2 WHEN 'false' THEN 2 WHEN 'array' THEN 3 WHEN 'object' THEN 4 END",
            [d, Expr::val(format!("$.{key}")).into()],
        ),
        Backend::Postgres => Expr::cust_with_exprs(
            "CASE jsonb_typeof($1 -> $2) WHEN 'number' THEN 0 WHEN 'string' THEN 1 \
             WHEN 'boolean' THEN 2 WHEN 'array' THEN 3 WHEN 'object' THEN 4 END",
            [d, Expr::val(key.to_string()).into()],
        ),
    }
}

/// For a [`Kind::Any`] sort key: its rank expression and, per rank that has values, the typed
/// expression compared within that rank (numbers, byte-wise strings, booleans).
fn any_parts(
    reg: &Registry,
    k: &SortKey,
    ctx: &Ctx,
) -> Option<(SimpleExpr, Vec<(i64, SimpleExpr)>)> {
    let (Kind::Any, Src::Data(key)) = (&k.field.kind, &k.field.src) else {
        return None;
    };
    let data = reg.data.unwrap_or("data");
    let typed = |kind: Kind| data_expr(ctx.backend, reg.table, data, key, &kind);
    Some((
        rank_expr(ctx.backend, reg.table, data, key),
        vec![
            (0, typed(Kind::Number)),
            (1, bytewise(ctx.backend, typed(Kind::Text))),
            (2, typed(Kind::Bool)),
        ],
    ))
}

/// Rows strictly after, and rows equal to, boundary value `b` of a [`Kind::Any`] key, in the
/// direction read (`desc`); `None` for a value no cursor of ours holds.
fn any_after(
    backend: Backend,
    rank: SimpleExpr,
    typed: Vec<(i64, SimpleExpr)>,
    b: &J,
    desc: bool,
) -> Option<(Option<SimpleExpr>, SimpleExpr)> {
    let Some(r) = json_rank(b) else {
        // Missing values are last ascending, first descending.
        let after = desc.then(|| Expr::expr(rank.clone()).is_not_null());
        return Some((after, Expr::expr(rank).is_null()));
    };
    let value: Option<Sv> = match b {
        J::Number(n) => Some(n.as_f64()?.into()),
        J::String(s) => Some(s.clone().into()),
        J::Bool(v) => Some((*v).into()),
        _ => None,
    };
    let same_rank = Expr::expr(rank.clone()).eq(r);
    let other_rank = if desc {
        Expr::expr(rank.clone()).lt(r)
    } else {
        Expr::expr(rank.clone())
            .gt(r)
            .or(Expr::expr(rank).is_null())
    };
    let Some(value) = value else {
        // Arrays and objects: equal to every value of their type.
        return Some((Some(other_rank), same_rank));
    };
    let (_, e) = typed.into_iter().find(|(t, _)| *t == r)?;
    let v: SimpleExpr = Expr::val(value).into();
    let v = if r == 1 { bytewise(backend, v) } else { v };
    let within = if desc {
        Expr::expr(e.clone()).lt(v.clone())
    } else {
        Expr::expr(e.clone()).gt(v.clone())
    };
    Some((
        Some(other_rank.or(same_rank.clone().and(within))),
        same_rank.and(Expr::expr(e).eq(v)),
    ))
}

/// How a list is paged.
#[derive(Debug, Clone)]
pub enum Paging {
    /// `page`/`per_page`: a window and the total.
    Offset { offset: u64, limit: u64 },
    /// `page[size]`/`page[cursor]`: rows after (or, `backward`, before) a boundary built with
    /// [`Sort::after`]; no total.
    Cursor {
        size: u64,
        after: Option<SimpleExpr>,
        backward: bool,
    },
}

/// A compiled list request: filter, order and page.
#[derive(Debug, Clone)]
pub struct ListSpec {
    pub filter: Option<SimpleExpr>,
    pub sort: Sort,
    pub paging: Paging,
}

/// One page of a list.
#[derive(Debug)]
pub struct Listed<T> {
    /// In the order of the sort, whichever direction the page was read in.
    pub items: Vec<T>,
    /// Offset mode only.
    pub total: Option<i64>,
    /// Cursor mode: whether rows remain in the direction read.
    pub more: bool,
}

/// Runs a list query: `q` selects the resource's rows of one workspace, with its simple
/// parameters already applied; the spec adds the filter, the order and the page.
pub async fn run<T: crate::FromRow>(
    s: &mut crate::Session,
    mut q: SelectStatement,
    reg: &Registry,
    ctx: &Ctx,
    spec: &ListSpec,
) -> crate::StoreResult<Listed<T>> {
    if let Some(f) = &spec.filter {
        q.and_where(f.clone());
    }
    match &spec.paging {
        Paging::Offset { offset, limit } => {
            let total = s
                .fetch_one::<crate::row::Count, _>(&crate::repo::count_of(&q))
                .await?
                .0;
            spec.sort.order(&mut q, reg, ctx, false);
            q.limit(*limit).offset(*offset);
            Ok(Listed {
                items: s.fetch_all(&q).await?,
                total: Some(total),
                more: false,
            })
        }
        Paging::Cursor {
            size,
            after,
            backward,
        } => {
            if let Some(a) = after {
                q.and_where(a.clone());
            }
            spec.sort.order(&mut q, reg, ctx, *backward);
            q.limit(size + 1);
            let mut items: Vec<T> = s.fetch_all(&q).await?;
            let more = items.len() as u64 > *size;
            items.truncate(*size as usize);
            if *backward {
                items.reverse();
            }
            Ok(Listed {
                items,
                total: None,
                more,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sea_query::{PostgresQueryBuilder, SqliteQueryBuilder};

    fn sql(backend: Backend, filter: &str) -> String {
        let reg = Registry::new(
            "records",
            vec![Field::col("title", Kind::Text).searchable("title_search")],
        )
        .with_data("data", BTreeMap::new());
        let ctx = Ctx {
            backend,
            workspace: "ws".into(),
            me: None,
            now: OffsetDateTime::UNIX_EPOCH,
            zone: laneway_core::time::Zone::utc(),
        };
        let e = compile(&reg, &filter::parse(filter).unwrap(), &ctx).unwrap();
        let q = Query::select()
            .expr(Expr::val(1))
            .from(Alias::new("records"))
            .and_where(e)
            .to_owned();
        match backend {
            Backend::Sqlite => format!("{:?}", q.build(SqliteQueryBuilder)),
            Backend::Postgres => format!("{:?}", q.build(PostgresQueryBuilder)),
        }
    }

    fn both(filter: &str) -> String {
        let declared = BTreeMap::from([
            ("amount".to_string(), Kind::Number),
            ("vip".to_string(), Kind::Bool),
            ("tags".to_string(), Kind::Tags),
            ("client".to_string(), Kind::Id),
        ]);
        let reg = crate::repo::records::registry(declared);
        let mut out = format!("filter: {filter}\n");
        for backend in [Backend::Sqlite, Backend::Postgres] {
            let ctx = Ctx {
                backend,
                workspace: "ws_1".into(),
                me: Some(Uuid::from_u128(7)),
                // Wednesday 2024-05-15 13:30 UTC.
                now: OffsetDateTime::from_unix_timestamp(1_715_779_800).unwrap(),
                zone: laneway_core::time::Zone::utc(),
            };
            let e = compile(&reg, &filter::parse(filter).unwrap(), &ctx).unwrap();
            let q = Query::select()
                .expr(Expr::val(1))
                .from(Alias::new("records"))
                .and_where(e)
                .to_owned();
            let (sql, values) = match backend {
                Backend::Sqlite => q.build(SqliteQueryBuilder),
                Backend::Postgres => q.build(PostgresQueryBuilder),
            };
            out.push_str(&format!("{backend:?}: {sql}\n  values: {:?}\n", values.0));
        }
        out
    }

    /// The SQL each kind of condition becomes, on both dialects.
    #[test]
    fn sql_snapshots() {
        let filters = [
            r#"title contains "50%_off""#,
            r#"title like "smith%""#,
            r#"title startswith "a" or title endswith "z""#,
            r#"title eq "Acme" and not (title in ("x", "y"))"#,
            r#"title nin ()"#,
            r#"title in []"#,
            r#"stage.slug eq "won" and assignee.email contains "sam""#,
            r#"assignee.name isnull"#,
            r#"object_type.slug in ("lead", "job")"#,
            r#"client.name contains "corp""#,
            r#"client.name isnull"#,
            r#"data.amount gte 500 and data.amount lt 1000.5"#,
            r#"data.city eq "Hartford""#,
            r#"data.vip eq true"#,
            r#"data.tags contains "roof""#,
            r#"data.client eq "00000000-0000-0000-0000-000000000009""#,
            r#"assignee_id eq me.id"#,
            r#"stage_id isnull"#,
            r#"created_at eq today"#,
            r#"created_at gt today-7d and created_at lte eow"#,
            r#"created_at gte som and updated_at lt now"#,
            r#"created_at ne "2024-01-31""#,
            r#"created_at lt "2024-01-31T09:30:00+02:00""#,
        ];
        let all: Vec<String> = filters.iter().map(|f| both(f)).collect();
        insta::assert_snapshot!(all.join("\n"));
    }

    #[test]
    fn type_errors_come_before_sql() {
        let reg = crate::repo::records::registry(BTreeMap::new());
        let ctx = Ctx {
            backend: Backend::Sqlite,
            workspace: "ws".into(),
            me: None,
            now: OffsetDateTime::UNIX_EPOCH,
            zone: laneway_core::time::Zone::utc(),
        };
        let err = |f: &str| match filter::parse(f) {
            Ok(e) => compile(&reg, &e, &ctx).unwrap_err().to_string(),
            Err(e) => e.to_string(),
        };
        assert_eq!(
            err(r#"titel eq "x""#),
            "filter: unknown field 'titel' at 1:1 (did you mean 'title'?)"
        );
        assert!(err(r#"created_at contains "x""#).starts_with(
            "filter: operator 'contains' is not allowed on datetime field 'created_at' at 1:12"
        ));
        assert!(err(r#"assignee_id eq "nope""#).contains("not a valid id"));
        assert!(err(r#"assignee_id eq me.id"#).contains("me.id"));
        assert!(err(r#"created_at gt "yesterday""#).contains("date-time"));
        assert!(err(r#"title eq 5"#).contains("is not a string"));
        assert!(err(r#"title gt "a""#).contains("not allowed"));
        assert!(err(r#"title eq ("a", "b")"#).contains("not a list"));
        assert!(err(r#"title contains null"#).contains("null"));
    }

    #[test]
    fn data_fields_bind_every_placeholder() {
        assert_eq!(
            sql(Backend::Sqlite, "data.value gt 100"),
            r#"("SELECT ? FROM \"records\" WHERE (CASE WHEN json_type(\"records\".\"data\", ?) IN ('integer','real') THEN CAST(json_extract(\"records\".\"data\", ?) AS REAL) END) > ?", Values([Int(Some(1)), String(Some("$.value")), String(Some("$.value")), Double(Some(100.0))]))"#
        );
        assert_eq!(
            sql(Backend::Postgres, "data.value gt 100"),
            r#"("SELECT $1 FROM \"records\" WHERE (CASE WHEN jsonb_typeof(\"records\".\"data\" -> $2) = 'number' THEN (\"records\".\"data\" ->> $3)::float8 END) > $4", Values([Int(Some(1)), String(Some("value")), String(Some("value")), Double(Some(100.0))]))"#
        );
    }
}
