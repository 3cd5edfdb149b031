//! Evaluating a filter in Rust, against the JSON of one resource (a webhook's `filter` against
//! an event's `data`).
//!
//! The list endpoints compile filters to SQL (`laneway-store`'s `listing`); a webhook filter is
//! the same language with the same meaning, evaluated here instead, so a filter that selects a
//! record in `GET /records?filter=` selects it in a webhook too. The rules, as in SQL:
//!
//! - Three-valued logic. A field the resource lacks, or holds `null`, is NULL; a condition on a
//!   NULL value is unknown, `not` of unknown is unknown, `and`/`or` combine unknowns as SQL does,
//!   and an unknown filter does not match. So `ne`, `nin` and `not (...)` never match a NULL
//!   value; only `isnull`/`isnotnull` (and `eq null`/`ne null`, which mean them) test for it.
//!   `in ()` is false and `nin ()` true on a value, both unknown on NULL.
//! - Types. Each field has a [`FieldKind`]; a literal must fit it ([`check`] says so at
//!   registration, with the messages of the list endpoints). `data.<key>` takes the type of the
//!   literal it is compared with (a number, `true`/`false`, otherwise text; `me.id` an id,
//!   `now` a date-time, a special day a date) and a stored value of another JSON type is NULL:
//!   with `data.amount gt 500`, `"amount": "600"` is NULL, and `data.amount isnull` (typed as
//!   text) holds for `"amount": 600`. Ids compare as UUIDs (any case or form of the literal);
//!   `data.<key>` values compare as the stored text, byte by byte.
//! - Text. `eq`, `in` and the order compare bytes. `contains`, `startswith`, `endswith` and
//!   `like` ignore case: a record's `title` folds every letter (Unicode lowercasing, like its
//!   search column), every other text folds ASCII letters only. `contains`/`startswith`/
//!   `endswith` take `%` and `_` literally; `like` takes them as wildcards and a backslash as a
//!   plain character. On a list (`multi_select`) field, `contains` tests membership, exactly.
//! - Days. `today`, `today±Nd`, `sow`, `eow`, `som`, `eom` and a `"YYYY-MM-DD"` literal are days
//!   in the workspace time zone ([`EvalCtx::zone`]); compared with a date-time field a day is
//!   the whole day (`eq` within it, `lt` before its start, `lte` before its end, `gt` from its
//!   end, `gte` from its start). `now` on a date field is today. `me.id` is
//!   [`EvalCtx::me`]; without a member it is NULL (the condition is unknown).
//! - A condition that does not fit the resource (an unchecked filter, or one checked for other
//!   resources: `position gt 3` is about stages, and records' `position` is text) is unknown.
//!   Nothing here panics, whatever the tree and the JSON.

use std::cmp::Ordering;

use serde_json::Value as J;
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration, OffsetDateTime, UtcOffset};
use uuid::Uuid;

use super::{nearest, Cond, Expr, FilterError, Op, Special, Value as V};

/// The type of a filterable field, which decides the operators it takes and how its values and
/// literals compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    /// A UUID, held as text in the JSON; compared as a UUID.
    Id,
    /// Text; the case-insensitive operators fold ASCII letters only.
    Text,
    /// Text whose case-insensitive operators fold every letter (Unicode lowercasing): a
    /// record's `title`, as its search column does in the list endpoints.
    Title,
    /// A JSON number.
    Number,
    /// `true` or `false`.
    Bool,
    /// `YYYY-MM-DD`.
    Date,
    /// An RFC 3339 instant (`YYYY-MM-DDTHH:MM:SS.mmmZ` in the API).
    Datetime,
    /// A JSON array of strings (a `multi_select` custom field): `contains` tests membership.
    Tags,
    /// `data.<key>`: takes the type of the literal it is compared with (text when there is
    /// none), and a stored value of another JSON type is NULL.
    Any,
}

impl FieldKind {
    /// The type's name in messages (`string`, `number`, `boolean`, `datetime`, `date`, `id`,
    /// `list`; `any` for [`FieldKind::Any`]).
    pub fn name(self) -> &'static str {
        match self {
            FieldKind::Text | FieldKind::Title => "string",
            FieldKind::Number => "number",
            FieldKind::Bool => "boolean",
            FieldKind::Datetime => "datetime",
            FieldKind::Date => "date",
            FieldKind::Id => "id",
            FieldKind::Tags => "list",
            FieldKind::Any => "any",
        }
    }

    /// The operators the type allows (`eq null`/`ne null` count as `isnull`/`isnotnull`).
    /// [`FieldKind::Any`] allows what the literal's type allows, so every operator here.
    pub fn ops(self) -> &'static [Op] {
        use Op::*;
        match self {
            FieldKind::Text | FieldKind::Title => &[
                Eq, Ne, In, NotIn, Contains, Like, StartsWith, EndsWith, IsNull, IsNotNull,
            ],
            FieldKind::Number | FieldKind::Datetime | FieldKind::Date => {
                &[Eq, Ne, Lt, Lte, Gt, Gte, In, NotIn, IsNull, IsNotNull]
            }
            FieldKind::Bool => &[Eq, Ne, IsNull, IsNotNull],
            FieldKind::Id => &[Eq, Ne, In, NotIn, IsNull, IsNotNull],
            FieldKind::Tags => &[Contains, IsNull, IsNotNull],
            FieldKind::Any => &Op::ALL,
        }
    }
}

/// One filterable field of a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDef {
    /// The name a filter uses, e.g. `title` or `object_type.slug`.
    pub name: &'static str,
    /// Where the value is in the resource's JSON (an event's `data`), as a JSON pointer, e.g.
    /// `/title` or `/object_types/slug`.
    pub pointer: &'static str,
    /// The field's type.
    pub kind: FieldKind,
}

/// The filterable fields of the resource an event is about, and where each is found in the
/// event's `data` JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceFields {
    /// The event's `resource_type`: `record`, `task`, `pipeline`, `stage`, `note`, `comment` or `contract`.
    pub resource: &'static str,
    /// The named fields, in the order error messages list them.
    pub fields: &'static [FieldDef],
    /// The resource has custom fields in `data` (records): `data.<key>` reads `/data/<key>`,
    /// typed as [`FieldKind::Any`], for keys of letters, digits and `_` starting with a letter
    /// or `_` (at most 64 characters), as in the list endpoints.
    pub custom_data: bool,
}

const fn fd(name: &'static str, pointer: &'static str, kind: FieldKind) -> FieldDef {
    FieldDef {
        name,
        pointer,
        kind,
    }
}

/// Records, as `record.*` (and `contact.*`, `company.*`, `pipeline.stage_changed`,
/// `record.moved`) events carry them. Relations other than the embedded object type (`stage.slug`,
/// `assignee.email`, `client.name`, ...) are not in the event and so not filterable.
pub static RECORD_FIELDS: ResourceFields = ResourceFields {
    resource: "record",
    fields: &[
        fd("id", "/id", FieldKind::Id),
        fd("title", "/title", FieldKind::Title),
        fd("object_type_id", "/object_type_id", FieldKind::Id),
        fd("pipeline_id", "/pipeline_id", FieldKind::Id),
        fd("stage_id", "/stage_id", FieldKind::Id),
        fd("assignee_id", "/assignee_id", FieldKind::Id),
        fd("position", "/position", FieldKind::Text),
        fd("created_at", "/created_at", FieldKind::Datetime),
        fd("updated_at", "/updated_at", FieldKind::Datetime),
        fd("deleted_at", "/deleted_at", FieldKind::Datetime),
        fd("object_type.slug", "/object_types/slug", FieldKind::Text),
        fd("object_type.name", "/object_types/name", FieldKind::Text),
    ],
    custom_data: true,
};

/// Tasks, as `task.*` events carry them.
pub static TASK_FIELDS: ResourceFields = ResourceFields {
    resource: "task",
    fields: &[
        fd("id", "/id", FieldKind::Id),
        fd("title", "/title", FieldKind::Text),
        fd("record_id", "/record_id", FieldKind::Id),
        fd("assignee_id", "/assignee_id", FieldKind::Id),
        fd("due_date", "/due_date", FieldKind::Date),
        fd("notes", "/notes", FieldKind::Text),
        fd("completed", "/completed", FieldKind::Bool),
        fd("completed_at", "/completed_at", FieldKind::Datetime),
        fd("created_at", "/created_at", FieldKind::Datetime),
        fd("updated_at", "/updated_at", FieldKind::Datetime),
        fd("deleted_at", "/deleted_at", FieldKind::Datetime),
    ],
    custom_data: false,
};

/// Pipelines (boards), as `pipeline.*` events carry them.
pub static PIPELINE_FIELDS: ResourceFields = ResourceFields {
    resource: "pipeline",
    fields: &[
        fd("id", "/id", FieldKind::Id),
        fd("name", "/name", FieldKind::Text),
        fd("slug", "/slug", FieldKind::Text),
        fd("created_at", "/created_at", FieldKind::Datetime),
        fd("updated_at", "/updated_at", FieldKind::Datetime),
    ],
    custom_data: false,
};

/// Stages (columns), as `stage.*` events carry them.
pub static STAGE_FIELDS: ResourceFields = ResourceFields {
    resource: "stage",
    fields: &[
        fd("id", "/id", FieldKind::Id),
        fd("name", "/name", FieldKind::Text),
        fd("slug", "/slug", FieldKind::Text),
        fd("pipeline_id", "/pipeline_id", FieldKind::Id),
        fd("position", "/position", FieldKind::Number),
        fd("created_at", "/created_at", FieldKind::Datetime),
        fd("updated_at", "/updated_at", FieldKind::Datetime),
    ],
    custom_data: false,
};

/// Notes, as `note.*` events carry them.
pub static NOTE_FIELDS: ResourceFields = ResourceFields {
    resource: "note",
    fields: &[
        fd("id", "/id", FieldKind::Id),
        fd("title", "/title", FieldKind::Text),
        fd("body", "/body", FieldKind::Text),
        fd("record_id", "/record_id", FieldKind::Id),
        fd("pipeline_id", "/pipeline_id", FieldKind::Id),
        fd("author_id", "/author_id", FieldKind::Id),
        fd("created_at", "/created_at", FieldKind::Datetime),
        fd("updated_at", "/updated_at", FieldKind::Datetime),
        fd("deleted_at", "/deleted_at", FieldKind::Datetime),
    ],
    custom_data: false,
};

/// Comments, as `comment.created` events carry them.
pub static COMMENT_FIELDS: ResourceFields = ResourceFields {
    resource: "comment",
    fields: &[
        fd("id", "/id", FieldKind::Id),
        fd("body", "/body", FieldKind::Text),
        fd("author_id", "/author_id", FieldKind::Id),
        fd("record_id", "/record_id", FieldKind::Id),
        fd("task_id", "/task_id", FieldKind::Id),
        fd("created_at", "/created_at", FieldKind::Datetime),
    ],
    custom_data: false,
};

/// Contracts, as `contract.*` events carry them.
pub static CONTRACT_FIELDS: ResourceFields = ResourceFields {
    resource: "contract",
    fields: &[
        fd("id", "/id", FieldKind::Id),
        fd("record_id", "/record_id", FieldKind::Id),
        fd("title", "/title", FieldKind::Text),
        fd("body", "/body", FieldKind::Text),
        fd("status", "/status", FieldKind::Text),
        fd("signer_name", "/signer_name", FieldKind::Text),
        fd("signed_at", "/signed_at", FieldKind::Datetime),
        fd("sent_at", "/sent_at", FieldKind::Datetime),
        fd("created_at", "/created_at", FieldKind::Datetime),
        fd("updated_at", "/updated_at", FieldKind::Datetime),
    ],
    custom_data: false,
};

/// Every resource an event can be about, for a webhook subscribed to `*`.
pub static RESOURCES: [&ResourceFields; 7] = [
    &RECORD_FIELDS,
    &TASK_FIELDS,
    &PIPELINE_FIELDS,
    &STAGE_FIELDS,
    &NOTE_FIELDS,
    &COMMENT_FIELDS,
    &CONTRACT_FIELDS,
];

/// The fields of the resource an event is about, by its `resource_type` (`record`, `task`,
/// `pipeline`, `stage`, `note`, `comment`, `contract`); `None` for any other.
pub fn resource_fields(resource_type: &str) -> Option<&'static ResourceFields> {
    RESOURCES
        .iter()
        .copied()
        .find(|r| r.resource == resource_type)
}

/// Where a field's value is.
#[derive(Debug, Clone, Copy)]
enum Src<'a> {
    Pointer(&'static str),
    /// A key of the custom fields, `/data/<key>`.
    Data(&'a str),
}

impl ResourceFields {
    /// The kind of a field by its filter name ([`FieldKind::Any`] for `data.<key>`); `None`
    /// when the resource has no such field.
    pub fn kind_of(&self, name: &str) -> Option<FieldKind> {
        self.lookup(name).map(|(_, k)| k)
    }

    /// The names a filter may use, `data.<key>` last when the resource has custom fields.
    pub fn names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.fields
            .iter()
            .map(|f| f.name)
            .chain(self.custom_data.then_some("data.<key>"))
    }

    fn lookup<'a>(&self, name: &'a str) -> Option<(Src<'a>, FieldKind)> {
        if let Some(f) = self.fields.iter().find(|f| f.name == name) {
            return Some((Src::Pointer(f.pointer), f.kind));
        }
        let key = name.strip_prefix("data.")?;
        (self.custom_data && valid_data_key(key)).then_some((Src::Data(key), FieldKind::Any))
    }
}

/// Custom-field keys a filter can address (the rule of the list endpoints): letters, digits and
/// `_`, starting with a letter or `_`, at most 64 characters.
fn valid_data_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 64
        && k.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// What the special values resolve against when a filter is evaluated.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalCtx {
    /// `now`, and the day `today` and the other special days are counted from.
    pub now: OffsetDateTime,
    /// The workspace time zone: days start at its local midnight.
    pub zone: crate::time::Zone,
    /// `me.id`; `None` makes `me.id` NULL (the conditions using it unknown).
    pub me: Option<Uuid>,
}

impl EvalCtx {
    /// What [`check`] converts literals with: the specials only need to be well-formed there.
    fn for_check() -> EvalCtx {
        EvalCtx {
            now: OffsetDateTime::UNIX_EPOCH,
            zone: crate::time::Zone::utc(),
            me: Some(Uuid::nil()),
        }
    }

    fn today(&self) -> Option<Date> {
        self.zone.date_at(self.now)
    }

    /// The first instant of `d` in the workspace time zone.
    fn day_start(&self, d: Date) -> Option<OffsetDateTime> {
        self.zone.day_start(d)
    }

    fn special_day(&self, s: Special) -> Option<Date> {
        let today = self.today()?;
        let from_monday = i64::from(today.weekday().number_days_from_monday());
        match s {
            Special::Today(n) => today.checked_add(Duration::days(n.into())),
            Special::Sow => today.checked_sub(Duration::days(from_monday)),
            Special::Eow => today.checked_add(Duration::days(6 - from_monday)),
            Special::Som => today.replace_day(1).ok(),
            Special::Eom => {
                let first = today.replace_day(1).ok()?;
                let next = if first.month() == time::Month::December {
                    Date::from_calendar_date(first.year().checked_add(1)?, time::Month::January, 1)
                        .ok()?
                } else {
                    Date::from_calendar_date(first.year(), first.month().next(), 1).ok()?
                };
                next.previous_day()
            }
            Special::Now | Special::MeId => None,
        }
    }
}

/// Checks a filter at registration: every field exists for at least one of `resources`, and
/// every condition fits (operator allowed on the field's type, literals of that type) for at
/// least one resource that has the field, as the list endpoints would check it. `me.id` and
/// the special days are accepted wherever their type fits; they resolve when evaluated.
///
/// Errors read as the list endpoints' do, e.g. `filter: unknown field 'titel' at 1:1 (did you
/// mean 'title'?)` (or, without a close name, the list of fields), `filter: operator 'gt' is
/// not allowed on string field 'title' at 1:7 (allowed: ...)`. When no resource accepts a
/// condition, the error is the one of the first resource that has the field.
pub fn check(expr: &Expr, resources: &[&ResourceFields]) -> Result<(), FilterError> {
    match expr {
        Expr::And(v) | Expr::Or(v) => {
            if v.is_empty() {
                return Err(FilterError::new("empty group", None));
            }
            v.iter().try_for_each(|e| check(e, resources))
        }
        Expr::Not(e) => check(e, resources),
        Expr::Cond(c) => check_cond(c, resources),
    }
}

fn check_cond(c: &Cond, resources: &[&ResourceFields]) -> Result<(), FilterError> {
    let ctx = EvalCtx::for_check();
    let mut first_err: Option<FilterError> = None;
    for r in resources {
        let Some((_, kind)) = r.lookup(&c.field) else {
            continue;
        };
        match prepare(c, kind, &ctx) {
            Ok(_) => return Ok(()),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or_else(|| unknown_field(c, resources)))
}

fn unknown_field(c: &Cond, resources: &[&ResourceFields]) -> FilterError {
    let mut names: Vec<&str> = Vec::new();
    for r in resources {
        for n in r.names() {
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    let e = FilterError::new(format!("unknown field '{}'", c.field), Some(c.at.clone()));
    let candidates = names.iter().copied().filter(|n| !n.ends_with("<key>"));
    match nearest(&c.field, candidates) {
        Some(n) => e.with_hint(format!("did you mean '{n}'?")),
        None if c.field.contains('.') && !c.field.starts_with("data.") => e.with_hint(format!(
            "a webhook filter sees only the event's data, not related resources; fields: {}",
            names.join(", ")
        )),
        None => e.with_hint(format!("fields: {}", names.join(", "))),
    }
}

/// True when `expr` holds for the resource whose JSON is `data` (an event's `data`) with the
/// fields `fields`: a field the resource lacks (or holds `null`) is NULL for three-valued
/// logic, so only `isnull`/`isnotnull` see it, and a filter that comes out unknown does not
/// match. See the module documentation for the rules.
pub fn matches(expr: &Expr, fields: &ResourceFields, data: &J, ctx: &EvalCtx) -> bool {
    evaluate(expr, fields, data, ctx) == Some(true)
}

/// The three-valued truth of `expr` for the resource whose JSON is `data`: `Some(true)`,
/// `Some(false)`, or `None` for unknown (SQL's NULL). [`matches()`] is `Some(true)`.
pub fn evaluate(expr: &Expr, fields: &ResourceFields, data: &J, ctx: &EvalCtx) -> Option<bool> {
    match expr {
        Expr::And(v) => {
            let mut out = Some(true);
            for e in v {
                match evaluate(e, fields, data, ctx) {
                    Some(false) => return Some(false),
                    None => out = None,
                    Some(true) => {}
                }
            }
            out
        }
        Expr::Or(v) => {
            let mut out = Some(false);
            for e in v {
                match evaluate(e, fields, data, ctx) {
                    Some(true) => return Some(true),
                    None => out = None,
                    Some(false) => {}
                }
            }
            out
        }
        Expr::Not(e) => evaluate(e, fields, data, ctx).map(|b| !b),
        Expr::Cond(c) => eval_cond(c, fields, data, ctx),
    }
}

fn eval_cond(c: &Cond, fields: &ResourceFields, data: &J, ctx: &EvalCtx) -> Option<bool> {
    let Some((src, kind)) = fields.lookup(&c.field) else {
        // The resource lacks the field: its value is NULL.
        return match normalise_op(c) {
            (Op::IsNull, _) => Some(true),
            (Op::IsNotNull, _) => Some(false),
            _ => None,
        };
    };
    // A condition that does not fit this resource is unknown.
    let p = prepare(c, kind, ctx).ok()?;
    let v = field_value(data, src, p.kind, p.text_stored);
    apply(&p, v)
}

/// A value to compare: a field's or a literal's, as the SQL of the list endpoints holds it.
#[derive(Debug, Clone, PartialEq)]
enum Val {
    /// Compared byte by byte.
    Text(String),
    Num(f64),
    Bool(bool),
    Id(Uuid),
    Time(OffsetDateTime),
    Date(Date),
    /// The string elements of a JSON array.
    Tags(Vec<String>),
}

fn cmp(a: &Val, b: &Val) -> Option<Ordering> {
    match (a, b) {
        (Val::Text(a), Val::Text(b)) => Some(a.as_bytes().cmp(b.as_bytes())),
        (Val::Num(a), Val::Num(b)) => a.partial_cmp(b),
        (Val::Bool(a), Val::Bool(b)) => Some(a.cmp(b)),
        (Val::Id(a), Val::Id(b)) => Some(a.cmp(b)),
        (Val::Time(a), Val::Time(b)) => Some(a.cmp(b)),
        (Val::Date(a), Val::Date(b)) => Some(a.cmp(b)),
        _ => None,
    }
}

/// A literal converted for a field.
#[derive(Debug, Clone, PartialEq)]
enum Lit {
    One(Val),
    /// A whole day `[start, end)` compared with a date-time.
    Day(Val, Val),
    /// NULL: `me.id` without a member, or a special day out of range.
    Unknown,
}

/// A condition checked against a field's kind, its literals converted.
#[derive(Debug)]
struct Prepared {
    /// `eq null`/`ne null` read as `isnull`/`isnotnull`.
    op: Op,
    /// The field's kind, [`FieldKind::Any`] resolved by the literal.
    kind: FieldKind,
    /// A `data.<key>`: values (ids, dates, date-times) compare as the stored text.
    text_stored: bool,
    lits: Vec<Lit>,
}

/// The type a literal gives `data.<key>`.
fn lit_kind(v: &V) -> Option<FieldKind> {
    match v {
        V::Number(_) => Some(FieldKind::Number),
        V::Bool(_) => Some(FieldKind::Bool),
        V::String(_) => Some(FieldKind::Text),
        V::Special(Special::Now) => Some(FieldKind::Datetime),
        V::Special(Special::MeId) => Some(FieldKind::Id),
        V::Special(_) => Some(FieldKind::Date),
        V::List(l) => l.first().and_then(lit_kind),
        V::Null => None,
    }
}

fn normalise_op(c: &Cond) -> (Op, Option<&V>) {
    match (c.op, &c.value) {
        (Op::Eq, Some(V::Null)) => (Op::IsNull, None),
        (Op::Ne, Some(V::Null)) => (Op::IsNotNull, None),
        (op, v) => (op, v.as_ref()),
    }
}

/// Checks `c` against a field of kind `kind` and converts its literals (the list endpoints'
/// checks, in their order and with their messages).
fn prepare(c: &Cond, kind: FieldKind, ctx: &EvalCtx) -> Result<Prepared, FilterError> {
    let text_stored = kind == FieldKind::Any;
    let kind = if text_stored {
        c.value
            .as_ref()
            .and_then(lit_kind)
            .unwrap_or(FieldKind::Text)
    } else {
        kind
    };
    let (op, value) = normalise_op(c);
    if !kind.ops().contains(&op) {
        return Err(FilterError::new(
            format!(
                "operator '{}' is not allowed on {} field '{}'",
                c.op.name(),
                kind.name(),
                c.field
            ),
            Some(c.op_at.clone()),
        )
        .with_hint(format!(
            "allowed: {}",
            kind.ops()
                .iter()
                .map(|o| o.name())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let conv = |v: &V| convert(c, kind, text_stored, v, ctx);
    let lits = match value {
        None if op.is_unary() => vec![],
        None => {
            return Err(FilterError::new(
                format!("expected a value after '{}'", c.op.name()),
                Some(c.value_at.clone()),
            ))
        }
        Some(V::List(items)) if op.takes_list() => {
            items.iter().map(conv).collect::<Result<Vec<_>, _>>()?
        }
        Some(v) if op.takes_list() => vec![conv(v)?],
        Some(V::List(_)) => {
            return Err(FilterError::new(
                format!("operator '{}' takes one value, not a list", op.name()),
                Some(c.value_at.clone()),
            ))
        }
        Some(V::Null) => {
            return Err(FilterError::new(
                format!("operator '{}' cannot compare with null", op.name()),
                Some(c.value_at.clone()),
            )
            .with_hint("use isnull or isnotnull"))
        }
        Some(v) => vec![conv(v)?],
    };
    Ok(Prepared {
        op,
        kind,
        text_stored,
        lits,
    })
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

fn convert(
    c: &Cond,
    kind: FieldKind,
    text_stored: bool,
    v: &V,
    ctx: &EvalCtx,
) -> Result<Lit, FilterError> {
    let at = &c.value_at;
    let bad = |expected: &str| {
        FilterError::new(
            format!(
                "field '{}' is a {}; {} is not {expected}",
                c.field,
                kind.name(),
                describe(v)
            ),
            Some(at.clone()),
        )
    };
    let time = |t: OffsetDateTime| {
        if text_stored {
            Val::Text(crate::time::format_ts(t))
        } else {
            Val::Time(t)
        }
    };
    let date = |d: Date| {
        if text_stored {
            Val::Text(crate::time::format_date(d))
        } else {
            Val::Date(d)
        }
    };
    let id = |u: Uuid| {
        if text_stored {
            Val::Text(u.hyphenated().to_string())
        } else {
            Val::Id(u)
        }
    };
    // A whole day, for a date-time field.
    let day = |d: Date| -> Option<Lit> {
        let start = ctx.day_start(d)?;
        let end = start.checked_add(Duration::days(1))?;
        Some(Lit::Day(time(start), time(end)))
    };
    Ok(match (kind, v) {
        (FieldKind::Text | FieldKind::Title | FieldKind::Tags, V::String(s)) => {
            Lit::One(Val::Text(s.clone()))
        }
        (FieldKind::Number, V::Number(n)) => Lit::One(Val::Num(*n)),
        (FieldKind::Bool, V::Bool(b)) => Lit::One(Val::Bool(*b)),
        (FieldKind::Id, V::String(s)) => {
            let u = crate::ids::parse_uuid(s).ok_or_else(|| {
                FilterError::new(
                    format!("'{s}' is not a valid id for field '{}'", c.field),
                    Some(at.clone()),
                )
            })?;
            Lit::One(id(u))
        }
        (FieldKind::Id, V::Special(Special::MeId)) => match ctx.me {
            Some(u) => Lit::One(id(u)),
            None => Lit::Unknown,
        },
        (FieldKind::Datetime, V::String(s)) => {
            if let Some(t) = parse_ts(s) {
                Lit::One(time(t))
            } else if let Some(d) = parse_date(s) {
                day(d).ok_or_else(|| bad("a date before 9999-12-31"))?
            } else {
                return Err(bad(
                    "a date-time like \"2024-01-31T09:00:00Z\" or a date like \"2024-01-31\"",
                ));
            }
        }
        (FieldKind::Datetime, V::Special(Special::Now)) => match utc_ms(ctx.now) {
            Some(t) => Lit::One(time(t)),
            None => Lit::Unknown,
        },
        (FieldKind::Datetime, V::Special(s)) if *s != Special::MeId => {
            ctx.special_day(*s).and_then(day).unwrap_or(Lit::Unknown)
        }
        (FieldKind::Date, V::String(s)) => {
            let d = parse_date(s).ok_or_else(|| bad("a date like \"2024-01-31\""))?;
            Lit::One(date(d))
        }
        (FieldKind::Date, V::Special(Special::Now)) => match ctx.today() {
            Some(d) => Lit::One(date(d)),
            None => Lit::Unknown,
        },
        (FieldKind::Date, V::Special(s)) if *s != Special::MeId => match ctx.special_day(*s) {
            Some(d) => Lit::One(date(d)),
            None => Lit::Unknown,
        },
        (kind, _) => {
            let expected = match kind {
                FieldKind::Text | FieldKind::Title | FieldKind::Tags | FieldKind::Any => "a string",
                FieldKind::Number => "a number",
                FieldKind::Bool => "true or false",
                FieldKind::Id => "an id (a quoted UUID or me.id)",
                FieldKind::Datetime => "a date-time, a date or a special day",
                FieldKind::Date => "a date or a special day",
            };
            return Err(bad(expected));
        }
    })
}

/// UTC, whole milliseconds (what the API stores and shows); `None` out of range.
fn utc_ms(t: OffsetDateTime) -> Option<OffsetDateTime> {
    t.checked_to_offset(UtcOffset::UTC)
        .map(crate::time::truncate_ms)
}

/// `crate::time::parse_ts`, but `None` rather than a panic for an instant whose UTC form is
/// out of range (`9999-12-31T23:00:00-05:00`).
fn parse_ts(s: &str) -> Option<OffsetDateTime> {
    utc_ms(OffsetDateTime::parse(s, &Rfc3339).ok()?)
}

/// `crate::time::parse_date` on top of [`parse_ts`]: `YYYY-MM-DD`, or an instant's UTC date.
fn parse_date(s: &str) -> Option<Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(s, &fmt)
        .ok()
        .or_else(|| parse_ts(s).map(|t| t.date()))
}

/// A field's value in `data` as `kind` sees it; `None` is NULL (missing, `null`, or a value of
/// another type).
fn field_value(data: &J, src: Src, kind: FieldKind, text_stored: bool) -> Option<Val> {
    let raw = match src {
        Src::Pointer(p) => data.pointer(p)?,
        Src::Data(k) => data.get("data")?.get(k)?,
    };
    if kind == FieldKind::Tags {
        let items = raw.as_array()?;
        return Some(Val::Tags(
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
        ));
    }
    match kind {
        FieldKind::Number => raw.as_f64().filter(|n| n.is_finite()).map(Val::Num),
        FieldKind::Bool => raw.as_bool().map(Val::Bool),
        _ => {
            let s = raw.as_str()?;
            if text_stored {
                return Some(Val::Text(s.to_string()));
            }
            match kind {
                FieldKind::Id => crate::ids::parse_uuid(s).map(Val::Id),
                FieldKind::Datetime => parse_ts(s).map(Val::Time),
                FieldKind::Date => parse_date(s).map(Val::Date),
                _ => Some(Val::Text(s.to_string())),
            }
        }
    }
}

fn apply(p: &Prepared, v: Option<Val>) -> Option<bool> {
    match p.op {
        Op::IsNull => return Some(v.is_none()),
        Op::IsNotNull => return Some(v.is_some()),
        _ => {}
    }
    // A condition on NULL is unknown.
    let v = v?;
    let needle = || match p.lits.first() {
        Some(Lit::One(Val::Text(s))) => Some(s.as_str()),
        _ => None,
    };
    match p.op {
        Op::Contains if p.kind == FieldKind::Tags => {
            let Val::Tags(items) = &v else { return None };
            let n = needle()?;
            Some(items.iter().any(|i| i == n))
        }
        Op::Contains | Op::StartsWith | Op::EndsWith | Op::Like => {
            let Val::Text(hay) = &v else { return None };
            let n = needle()?;
            let fold = |s: &str| {
                if p.kind == FieldKind::Title {
                    s.to_lowercase()
                } else {
                    s.to_ascii_lowercase()
                }
            };
            let (hay, n) = (fold(hay), fold(n));
            Some(match p.op {
                Op::Contains => hay.contains(&n),
                Op::StartsWith => hay.starts_with(&n),
                Op::EndsWith => hay.ends_with(&n),
                _ => like_match(&hay, &n),
            })
        }
        Op::In | Op::NotIn => {
            // SQL's `v = a OR v = b ...`: true if any is, else unknown if any is, else false.
            let mut any = Some(false);
            for l in &p.lits {
                match compare(&v, Op::Eq, l) {
                    Some(true) => {
                        any = Some(true);
                        break;
                    }
                    None => any = None,
                    Some(false) => {}
                }
            }
            if p.op == Op::In {
                any
            } else {
                any.map(|b| !b)
            }
        }
        op => compare(&v, op, p.lits.first()?),
    }
}

fn compare(v: &Val, op: Op, l: &Lit) -> Option<bool> {
    use Ordering::*;
    match l {
        Lit::Unknown => None,
        Lit::One(x) => {
            let o = cmp(v, x)?;
            match op {
                Op::Eq => Some(o == Equal),
                Op::Ne => Some(o != Equal),
                Op::Lt => Some(o == Less),
                Op::Lte => Some(o != Greater),
                Op::Gt => Some(o == Greater),
                Op::Gte => Some(o != Less),
                _ => None,
            }
        }
        Lit::Day(a, b) => {
            let (lo, hi) = (cmp(v, a)?, cmp(v, b)?);
            match op {
                Op::Eq => Some(lo != Less && hi == Less),
                Op::Ne => Some(lo == Less || hi != Less),
                Op::Lt => Some(lo == Less),
                Op::Lte => Some(hi == Less),
                Op::Gt => Some(hi != Less),
                Op::Gte => Some(lo != Less),
                _ => None,
            }
        }
    }
}

/// SQL LIKE over characters without an escape character: `%` any run (empty included), `_` one
/// character, everything else (a backslash too) itself. Linear in practice: on a mismatch it
/// backtracks only to the last `%`.
fn like_match(s: &str, p: &str) -> bool {
    let s: Vec<char> = s.chars().collect();
    let p: Vec<char> = p.chars().collect();
    let (mut i, mut j) = (0, 0);
    // After the last `%` seen: the pattern index past it and the text index it stands at.
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if j < p.len() && p[j] == '%' {
            star = Some((j + 1, i));
            j += 1;
        } else if j < p.len() && (p[j] == '_' || p[j] == s[i]) {
            i += 1;
            j += 1;
        } else if let Some((pj, si)) = star {
            // Let the `%` take one more character and retry from there.
            star = Some((pj, si + 1));
            i = si + 1;
            j = pj;
        } else {
            return false;
        }
    }
    p[j..].iter().all(|&c| c == '%')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{parse, Loc};
    use serde_json::json;

    const ME: &str = "0190a1b2-0000-7000-8000-000000000007";
    const OTHER: &str = "0190a1b2-0000-7000-8000-000000000008";

    fn record() -> J {
        json!({
            "id": "0190a1b2-0000-7000-8000-000000000001",
            "title": "Élan Acme 50%_off \\ roof",
            "object_type_id": "0190a1b2-0000-7000-8000-000000000002",
            "pipeline_id": "0190a1b2-0000-7000-8000-000000000003",
            "stage_id": null,
            "assignee_id": ME,
            "position": "a0",
            "data": {
                "amount": 750,
                "amount_text": "600",
                "ratio": 0.5,
                "city": "Hartford",
                "vip": true,
                "tags": ["roof", "Solar"],
                "client": "0190A1B2-0000-7000-8000-000000000009",
                "owner": ME,
                "due": "2024-06-01",
                "seen": "2024-05-31T19:00:00.000Z",
                "nothing": null,
                "Name": "Zoë ÉCOLE",
                "path": "a\\b%c_d"
            },
            // In +05:00 (the tests' zone, where today is Saturday 2024-06-01): the first
            // instant of today, and the last of it.
            "created_at": "2024-05-31T19:00:00.000Z",
            "updated_at": "2024-06-01T18:59:59.999Z",
            "object_types": {"name": "Lead", "slug": "lead", "icon": null}
        })
    }

    fn task() -> J {
        json!({
            "id": "0190a1b2-0000-7000-8000-0000000000a1",
            "title": "Élan call",
            "record_id": "0190a1b2-0000-7000-8000-000000000001",
            "assignee_id": null,
            "due_date": "2024-06-02",
            "notes": null,
            "completed": false,
            "completed_at": null,
            "created_at": "2024-05-27T00:00:00.000Z",
            "updated_at": "2024-05-31T18:59:59.999Z"
        })
    }

    fn stage() -> J {
        json!({
            "id": "0190a1b2-0000-7000-8000-0000000000b1",
            "name": "Won",
            "slug": "won",
            "position": 3,
            "pipeline_id": "0190a1b2-0000-7000-8000-000000000003"
        })
    }

    fn pipeline() -> J {
        json!({
            "id": "0190a1b2-0000-7000-8000-000000000003",
            "name": "Sales",
            "slug": "sales",
            "stages": []
        })
    }

    /// 2024-05-31 20:00 UTC, which is Saturday 2024-06-01 01:00 in +05:00: today is June 1
    /// there (May 31 in UTC), the ISO week runs May 27 – June 2 and the month is June.
    fn ctx() -> EvalCtx {
        EvalCtx {
            now: OffsetDateTime::parse("2024-05-31T20:00:00.123456Z", &Rfc3339).unwrap(),
            zone: crate::time::Zone::fixed(UtcOffset::from_hms(5, 0, 0).unwrap()),
            me: Some(Uuid::parse_str(ME).unwrap()),
        }
    }

    fn eval_on(fields: &ResourceFields, data: &J, ctx: &EvalCtx, filter: &str) -> Option<bool> {
        let e = parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        let got = evaluate(&e, fields, data, ctx);
        assert_eq!(matches(&e, fields, data, ctx), got == Some(true));
        got
    }

    const T: Option<bool> = Some(true);
    const F: Option<bool> = Some(false);
    const U: Option<bool> = None;

    fn run(fields: &ResourceFields, data: &J, ctx: &EvalCtx, cases: &[(&str, Option<bool>)]) {
        let mut failures = Vec::new();
        for (filter, want) in cases {
            let got = eval_on(fields, data, ctx, filter);
            if got != *want {
                failures.push(format!("{filter}: want {want:?}, got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    #[test]
    fn record_fields_and_operators() {
        let id = "0190a1b2-0000-7000-8000-000000000001";
        let upper = id.to_uppercase();
        let cases: Vec<(String, Option<bool>)> = vec![
            (format!(r#"id eq "{id}""#), T),
            // Ids compare as UUIDs, whatever the literal's case or form.
            (format!(r#"id eq "{upper}""#), T),
            (format!(r#"id eq "{}""#, id.replace('-', "")), T),
            (format!(r#"id ne "{id}""#), F),
            (format!(r#"id in ("{OTHER}", "{id}")"#), T),
            (format!(r#"id nin ("{OTHER}", "{id}")"#), F),
            (format!(r#"id nin ("{OTHER}")"#), T),
            (format!(r#"id in "{id}""#), T),
            ("id in ()".into(), F),
            ("id nin ()".into(), T),
            // Text: exact, byte-wise.
            (r#"object_type.slug eq "lead""#.into(), T),
            (r#"object_type.slug eq "Lead""#.into(), F),
            (r#"object_type.name eq "Lead""#.into(), T),
            (r#"object_type.slug in ("job", "lead")"#.into(), T),
            (r#"object_type.slug nin ("job", "lead")"#.into(), F),
            (r#"object_type.slug ne "job""#.into(), T),
            (r#"position eq "a0""#.into(), T),
            (r#"position startswith "A""#.into(), T),
            // Case-insensitive operators.
            (r#"object_type.name contains "EA""#.into(), T),
            (r#"object_type.name startswith "le""#.into(), T),
            (r#"object_type.name endswith "AD""#.into(), T),
            (r#"object_type.name like "l_a%""#.into(), T),
            (r#"object_type.name like "l_a""#.into(), F),
            (r#"object_type.name like "%""#.into(), T),
            (r#"object_type.name contains """#.into(), T),
            // Dates and date-times (see the day tests for more).
            (r#"created_at eq "2024-05-31T19:00:00Z""#.into(), T),
            (r#"created_at eq "2024-06-01T00:00:00+05:00""#.into(), T),
            (r#"created_at lt "2024-05-31T19:00:00.001Z""#.into(), T),
            (r#"created_at lte "2024-05-31T19:00:00Z""#.into(), T),
            (r#"created_at gt "2024-05-31T19:00:00Z""#.into(), F),
            (r#"created_at gte "2024-05-31T19:00:00Z""#.into(), T),
            (
                r#"created_at in ("2024-05-31T19:00:00Z", "2020-01-01")"#.into(),
                T,
            ),
            (r#"deleted_at isnull"#.into(), T),
            (r#"deleted_at isnotnull"#.into(), F),
            (r#"deleted_at lt now"#.into(), U),
            (r#"stage_id isnull and pipeline_id isnotnull"#.into(), T),
            (r#"stage_id eq null"#.into(), T),
            (r#"pipeline_id ne null"#.into(), T),
            (format!(r#"stage_id ne "{OTHER}""#), U),
            (format!(r#"stage_id nin ("{OTHER}")"#), U),
            ("stage_id in ()".into(), U),
            ("stage_id nin ()".into(), U),
            ("assignee_id eq me.id".into(), T),
            ("assignee_id ne me.id".into(), F),
            (format!(r#"assignee_id in ("{OTHER}", me.id)"#), T),
        ];
        let mut failures = Vec::new();
        for (filter, want) in &cases {
            let got = eval_on(&RECORD_FIELDS, &record(), &ctx(), filter);
            if got != *want {
                failures.push(format!("{filter}: want {want:?}, got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "\n{}", failures.join("\n"));
    }

    #[test]
    fn three_valued_logic() {
        let r = record();
        run(
            &RECORD_FIELDS,
            &r,
            &ctx(),
            &[
                // stage_id is null: a comparison is unknown, so is its negation.
                (r#"stage_id eq "0190a1b2-0000-7000-8000-000000000004""#, U),
                (
                    r#"not (stage_id eq "0190a1b2-0000-7000-8000-000000000004")"#,
                    U,
                ),
                (r#"not stage_id isnull"#, F),
                (r#"not not stage_id isnull"#, T),
                // and: false wins over unknown, unknown over true.
                (r#"stage_id eq me.id and title contains "acme""#, U),
                (r#"stage_id eq me.id and title contains "zzz""#, F),
                (r#"not (stage_id eq me.id and title contains "zzz")"#, T),
                (r#"not (stage_id eq me.id and title contains "acme")"#, U),
                // or: true wins over unknown, unknown over false.
                (r#"stage_id eq me.id or title contains "acme""#, T),
                (r#"stage_id eq me.id or title contains "zzz""#, U),
                (r#"not (stage_id eq me.id or title contains "zzz")"#, U),
                (r#"stage_id eq me.id or stage_id isnull"#, T),
                // The spec's way to include NULLs with ne.
                (r#"stage_id ne me.id or stage_id isnull"#, T),
                // A field absent from the JSON is NULL just the same.
                (r#"deleted_at gt "2020-01-01""#, U),
                (r#"not (deleted_at gt "2020-01-01")"#, U),
                (r#"deleted_at eq null"#, T),
                (r#"data.missing isnull"#, T),
                (r#"data.missing eq "x""#, U),
                (r#"data.missing ne "x""#, U),
                (r#"data.nothing isnull"#, T),
                (r#"data.nothing in ("a")"#, U),
                (r#"data.nothing nin ("a")"#, U),
                (r#"not (data.nothing nin ("a"))"#, U),
            ],
        );
        // Without `data` at all, and with a non-object resource.
        for data in [
            json!({"title": "x"}),
            json!(null),
            json!([1, 2]),
            json!("s"),
        ] {
            run(
                &RECORD_FIELDS,
                &data,
                &ctx(),
                &[
                    (r#"data.city eq "x""#, U),
                    (r#"data.city isnull"#, T),
                    (r#"object_type.slug ne "x""#, U),
                    (r#"object_type.slug isnull"#, T),
                    (r#"created_at lt now"#, U),
                ],
            );
        }
    }

    #[test]
    fn in_with_null_elements_and_unknown_me() {
        let no_me = EvalCtx { me: None, ..ctx() };
        let r = record();
        run(
            &RECORD_FIELDS,
            &r,
            &no_me,
            &[
                // me.id without a member is NULL: `x = NULL` is unknown...
                ("assignee_id eq me.id", U),
                ("assignee_id ne me.id", U),
                // ...and `x IN (a, NULL)` is true when x = a, else unknown.
                (&format!(r#"assignee_id in (me.id, "{ME}")"#), T),
                (&format!(r#"assignee_id in (me.id, "{OTHER}")"#), U),
                (&format!(r#"assignee_id nin (me.id, "{ME}")"#), F),
                (&format!(r#"assignee_id nin (me.id, "{OTHER}")"#), U),
                ("assignee_id isnotnull", T),
                ("data.owner eq me.id", U),
            ],
        );
    }

    #[test]
    fn case_folding() {
        let r = record();
        run(
            &RECORD_FIELDS,
            &r,
            &ctx(),
            &[
                // A record's title folds every letter...
                (r#"title contains "élan""#, T),
                (r#"title startswith "ÉLAN acme""#, T),
                (r#"title endswith "ROOF""#, T),
                (r#"title like "élan%""#, T),
                (r#"title eq "élan Acme 50%_off \\ roof""#, F),
                (r#"title eq "Élan Acme 50%_off \\ roof""#, T),
                // ...other text only ASCII letters: É and é differ.
                (r#"data.Name contains "zoë école""#, F),
                (r#"data.Name contains "ZOë ÉCOLE""#, T),
                (r#"data.Name startswith "zoË""#, F),
                (r#"data.Name like "%école""#, F),
                (r#"data.Name like "%Écol_""#, T),
                (r#"data.city contains "HART""#, T),
                (r#"data.city eq "hartford""#, F),
                (r#"data.city in ("hartford")"#, F),
            ],
        );
        // Task titles are not record titles: ASCII folding only.
        run(
            &TASK_FIELDS,
            &task(),
            &ctx(),
            &[
                (r#"title contains "élan""#, F),
                (r#"title contains "Élan CALL""#, T),
            ],
        );
    }

    #[test]
    fn wildcards_and_backslashes() {
        let r = record();
        run(
            &RECORD_FIELDS,
            &r,
            &ctx(),
            &[
                // contains/startswith/endswith take % and _ literally.
                (r#"title contains "50%_off""#, T),
                (r#"title contains "50%""#, T),
                (r#"title contains "5_%""#, F),
                (r#"title contains "50_""#, F),
                (r#"title contains "%""#, T),
                (r#"title startswith "%""#, F),
                (r#"title endswith "_""#, F),
                (r#"title contains "\\ roof""#, T),
                (r#"data.path contains "\\b%c_""#, T),
                (r#"data.path contains "b%c_d""#, T),
                (r#"data.path contains "bxc""#, F),
                // like: % and _ are wildcards, a backslash is a plain character.
                (r#"title like "%50%""#, T),
                (r#"title like "%\\ roof""#, T),
                (r#"title like "%\\_roof""#, T),
                (r#"title like "%\\%roof""#, T),
                (r#"title like "élan acme 50%""#, T),
                (r#"title like "élan acme 50""#, F),
                (r#"title like "élan_acme%""#, T),
                (r#"title like "_lan%""#, T),
                (r#"title like "__lan%""#, F),
                (r#"data.path like "a\\b%c_d""#, T),
                (r#"data.path like "a\\b_c_d""#, T),
                (r#"data.path like "a_b_c_d""#, T),
                (r#"data.path like "a%d""#, T),
                (r#"data.path like "a%%%""#, T),
                (r#"data.path like "%a%b%c%d%""#, T),
                (r#"data.path like "%e%""#, F),
                (r#"data.path like """#, F),
            ],
        );
    }

    #[test]
    fn custom_fields_take_the_literals_type() {
        let r = record();
        run(
            &RECORD_FIELDS,
            &r,
            &ctx(),
            &[
                ("data.amount gt 500", T),
                ("data.amount gte 750", T),
                ("data.amount lt 750.5", T),
                ("data.amount eq 750", T),
                ("data.amount in (1, 750)", T),
                ("data.amount nin (1, 2)", T),
                ("data.ratio lt 1", T),
                ("data.ratio eq 0.5", T),
                // A string "600" is not a number: NULL for a number comparison.
                ("data.amount_text gt 500", U),
                ("not (data.amount_text gt 500)", U),
                // A number is not a string: NULL for a text comparison.
                (r#"data.amount eq "750""#, U),
                (r#"data.amount contains "7""#, U),
                // A condition without a literal types the key as text: a number is NULL.
                ("data.amount isnull", T),
                ("data.amount isnotnull", F),
                ("data.amount_text isnotnull", T),
                // Text has no order operators (check refuses them): unknown.
                (r#"data.amount_text gt "5""#, U),
                (r#"data.city lt "a""#, U),
                ("data.vip eq true", T),
                ("data.vip ne true", F),
                ("data.vip eq 1", U),
                (r#"data.vip eq "true""#, U),
                // multi_select arrays are not strings.
                (r#"data.tags contains "roof""#, U),
                ("data.tags isnull", T),
                // Ids in data compare as the stored text (no canonicalisation).
                (
                    r#"data.client eq "0190A1B2-0000-7000-8000-000000000009""#,
                    T,
                ),
                (
                    r#"data.client eq "0190a1b2-0000-7000-8000-000000000009""#,
                    F,
                ),
                ("data.owner eq me.id", T),
                ("data.owner in (me.id)", T),
                (
                    r#"data.owner in (me.id, "0190A1B2-0000-7000-8000-000000000009")"#,
                    T,
                ),
                ("data.client ne me.id", T),
                // Dates in data compare as text.
                ("data.due eq today", T),
                ("data.due eq som", T),
                ("data.due lte eow", T),
                ("data.due gt sow", T),
                ("data.due eq today-1d", F),
                // As text: "2024-06-01" is after "2024-05-31T20:00:00.123Z".
                ("data.due lt now", F),
                (r#"data.due eq "2024-06-01""#, T),
                // `now` types the key as a date-time, text-stored: compared with the
                // millisecond text of now.
                ("data.seen lt now", T),
                ("data.seen gt now", F),
                // A list starting with now makes a date-time; a day in it is the whole day
                // (bounds in the stored text form).
                ("data.seen in (now, today)", T),
                ("data.seen in (now, today+1d)", F),
                // As text, "2024-06-01" is inside ["2024-05-31T19:00:00.000Z",
                // "2024-06-01T19:00:00.000Z"), as it is in SQL.
                ("data.due in (now, today)", T),
                ("data.due in (now, today+1d)", F),
            ],
        );
    }

    #[test]
    fn days_in_a_non_utc_zone() {
        // now = 2024-05-31T20:00Z = 2024-06-01 01:00 at +05:00 (a Saturday).
        let at = |created: &str, updated: &str| {
            let mut r = record();
            r["created_at"] = json!(created);
            r["updated_at"] = json!(updated);
            r
        };
        // The day 2024-06-01 at +05:00 is [2024-05-31T19:00Z, 2024-06-01T19:00Z).
        let before = at("2024-05-31T18:59:59.999Z", "2024-06-01T19:00:00.000Z");
        run(
            &RECORD_FIELDS,
            &before,
            &ctx(),
            &[
                ("created_at eq today", F),
                ("created_at lt today", T),
                ("created_at lte today", T),
                ("created_at eq today-1d", T),
                ("created_at ne today", T),
                ("created_at gte today", F),
                ("updated_at eq today", F),
                ("updated_at gt today", T),
                ("updated_at gte today+1d", T),
                ("updated_at eq today+1d", T),
                ("updated_at lte today", F),
                ("created_at lt som", T),
                ("created_at gte sow", T),
                ("updated_at lte eow", T),
                ("updated_at lte eom", T),
                ("created_at eq eom", F),
                (r#"created_at eq "2024-05-31""#, T),
                (r#"created_at eq "2024-06-01""#, F),
                (r#"updated_at gt "2024-06-01""#, T),
            ],
        );
        let inside = record();
        run(
            &RECORD_FIELDS,
            &inside,
            &ctx(),
            &[
                ("created_at eq today", T),
                ("updated_at eq today", T),
                ("created_at ne today", F),
                ("created_at gte today", T),
                ("updated_at lte today", T),
                ("updated_at lt today", F),
                ("updated_at gt today", F),
                ("created_at eq som", T),
                ("created_at gte som and updated_at lte eom", T),
                ("created_at in (today-1d, today)", T),
                ("created_at nin (today-1d, today)", F),
                ("created_at lt now", T),
                ("updated_at gt now", T),
            ],
        );
        // Weeks: May 27 (Mon) – June 2 (Sun). The task is due on Sunday June 2.
        run(
            &TASK_FIELDS,
            &task(),
            &ctx(),
            &[
                ("due_date eq eow", T),
                ("due_date gt today", T),
                ("due_date eq today+1d", T),
                ("due_date lte eow", T),
                ("due_date gte sow", T),
                ("due_date lt eom", T),
                ("due_date gt som", T),
                ("due_date eq now", F),
                ("due_date gt now", T),
                (r#"due_date eq "2024-06-02""#, T),
                (r#"due_date eq "2024-06-02T12:00:00+02:00""#, T),
                (r#"due_date in ("2024-01-01", "2024-06-02")"#, T),
                ("created_at eq sow", T),
                ("updated_at lt today", T),
                ("updated_at eq today-1d", T),
                ("completed eq false", T),
                ("completed ne true", T),
                ("completed_at isnull", T),
                ("completed_at lt now", U),
                ("notes isnull", T),
                (r#"notes contains "x""#, U),
                ("assignee_id eq me.id", U),
                ("record_id eq \"0190a1b2-0000-7000-8000-000000000001\"", T),
            ],
        );
        // The same instants in UTC, where today is Friday May 31 and the month is May.
        let utc = EvalCtx {
            zone: crate::time::Zone::fixed(UtcOffset::UTC),
            ..ctx()
        };
        run(
            &RECORD_FIELDS,
            &before,
            &utc,
            &[
                ("created_at eq today", T),
                ("updated_at eq today+1d", T),
                ("created_at gte som", T),
                ("updated_at gt eom", T),
            ],
        );
        run(
            &TASK_FIELDS,
            &task(),
            &utc,
            &[("due_date eq today+2d", T), ("due_date eq eow", T)],
        );
        // West of UTC: at -08:00, now is Friday May 31 12:00; som is May 1, eom May 31.
        let west = EvalCtx {
            zone: crate::time::Zone::fixed(UtcOffset::from_hms(-8, 0, 0).unwrap()),
            ..ctx()
        };
        let r = at("2024-05-01T07:59:59.999Z", "2024-05-01T08:00:00.000Z");
        run(
            &RECORD_FIELDS,
            &r,
            &west,
            &[
                ("created_at lt som", T),
                ("updated_at eq som", T),
                ("updated_at lte eom", T),
                ("updated_at eq today-30d", T),
            ],
        );
        // eom across a year end, and sow on a Monday.
        let dec = EvalCtx {
            now: OffsetDateTime::parse("2024-12-30T10:00:00Z", &Rfc3339).unwrap(),
            zone: crate::time::Zone::fixed(UtcOffset::UTC),
            me: None,
        };
        let mut t = task();
        t["due_date"] = json!("2024-12-31");
        t["created_at"] = json!("2024-12-30T00:00:00.000Z");
        run(
            &TASK_FIELDS,
            &t,
            &dec,
            &[
                ("due_date eq eom", T),
                ("created_at eq sow", T),
                ("due_date lt eow", T),
                ("created_at eq today", T),
            ],
        );
    }

    #[test]
    fn other_resources() {
        run(
            &STAGE_FIELDS,
            &stage(),
            &ctx(),
            &[
                ("position eq 3", T),
                ("position gt 2.5", T),
                ("position in (1, 2)", F),
                (r#"slug eq "won""#, T),
                (r#"name contains "ON""#, T),
                ("pipeline_id eq \"0190a1b2-0000-7000-8000-000000000003\"", T),
                // Not in the stage's JSON today: NULL.
                ("created_at isnull", T),
                ("created_at lt now", U),
                // A records-only field on a stage is NULL.
                (r#"object_type.slug eq "lead""#, U),
                (r#"object_type.slug isnull"#, T),
                ("data.amount gt 1", U),
                ("data.amount isnull", T),
                // A condition that fits records but not stages (position is text there).
                (r#"position eq "a0""#, U),
                (r#"not (position eq "a0")"#, U),
            ],
        );
        run(
            &PIPELINE_FIELDS,
            &pipeline(),
            &ctx(),
            &[
                (r#"slug in ("sales", "ops")"#, T),
                (r#"name like "s%s""#, T),
                ("position eq 3", U),
            ],
        );
        // On records, `position gt 3` does not fit (text) and is unknown.
        run(
            &RECORD_FIELDS,
            &record(),
            &ctx(),
            &[("position gt 3", U), ("position isnotnull", T)],
        );
    }

    #[test]
    fn unfit_conditions_are_unknown() {
        let r = record();
        let c = ctx();
        run(
            &RECORD_FIELDS,
            &r,
            &c,
            &[
                ("title gt 5", U),
                (r#"title gt "a""#, U),
                ("created_at contains \"x\"", U),
                (r#"id eq "nope""#, U),
                ("titel eq \"x\"", U),
                ("titel isnull", T),
                (r#"stage.slug eq "won""#, U),
                ("not titel isnull", F),
            ],
        );
        // Trees the parser never makes.
        let at = Loc::Pos { line: 1, col: 1 };
        let cond = |field: &str, op: Op, value: Option<V>| {
            Expr::Cond(Cond {
                field: field.into(),
                op,
                value,
                at: at.clone(),
                op_at: at.clone(),
                value_at: at.clone(),
            })
        };
        assert_eq!(evaluate(&Expr::And(vec![]), &RECORD_FIELDS, &r, &c), T);
        assert_eq!(evaluate(&Expr::Or(vec![]), &RECORD_FIELDS, &r, &c), F);
        for e in [
            cond("title", Op::Eq, None),
            cond("title", Op::Contains, Some(V::List(vec![]))),
            cond("title", Op::Contains, Some(V::Null)),
            cond("title", Op::In, Some(V::List(vec![V::Null]))),
            cond("title", Op::IsNull, Some(V::String("x".into()))),
            cond("data.x", Op::Eq, Some(V::Number(f64::NAN))),
        ] {
            let got = evaluate(&e, &RECORD_FIELDS, &r, &c);
            assert!(got.is_none() || e.conditions()[0].op == Op::IsNull, "{e:?}");
        }
        assert!(!matches(
            &cond("data.amount", Op::Eq, Some(V::Number(f64::NAN))),
            &RECORD_FIELDS,
            &r,
            &c
        ));
    }

    #[test]
    fn tags_contain_an_element_exactly() {
        static TAGGED: ResourceFields = ResourceFields {
            resource: "tagged",
            fields: &[fd("tags", "/data/tags", FieldKind::Tags)],
            custom_data: false,
        };
        let r = record();
        run(
            &TAGGED,
            &r,
            &ctx(),
            &[
                (r#"tags contains "roof""#, T),
                (r#"tags contains "Solar""#, T),
                (r#"tags contains "solar""#, F),
                (r#"tags contains "oof""#, F),
                ("tags isnotnull", T),
                (r#"tags eq "roof""#, U),
            ],
        );
        let mut odd = r.clone();
        odd["data"]["tags"] = json!([1, null, "roof", ["x"]]);
        run(&TAGGED, &odd, &ctx(), &[(r#"tags contains "roof""#, T)]);
        odd["data"]["tags"] = json!("roof");
        run(
            &TAGGED,
            &odd,
            &ctx(),
            &[(r#"tags contains "roof""#, U), ("tags isnull", T)],
        );
        assert!(check(&parse("tags contains \"x\"").unwrap(), &[&TAGGED]).is_ok());
        let e = check(&parse("tags eq \"x\"").unwrap(), &[&TAGGED]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "filter: operator 'eq' is not allowed on list field 'tags' at 1:6 (allowed: contains, isnull, isnotnull)"
        );
    }

    #[test]
    fn json_form_evaluates_alike() {
        let r = record();
        let text = r#"object_type.slug eq "lead" and (data.amount gt 500 or title contains "x") and not (assignee_id ne me.id)"#;
        let json = r#"[{"field": "object_type.slug", "op": "eq", "value": "lead"},
            {"or": [{"field": "data.amount", "op": ">", "value": 500},
                    {"field": "title", "op": "contains", "value": "x"}]},
            {"not": {"field": "assignee_id", "op": "neq", "value": {"special": "me.id"}}}]"#;
        assert_eq!(eval_on(&RECORD_FIELDS, &r, &ctx(), text), T);
        assert_eq!(eval_on(&RECORD_FIELDS, &r, &ctx(), json), T);
        // The string "now" stays a string in the JSON form.
        let now_str = r#"{"field": "data.city", "op": "eq", "value": "now"}"#;
        assert_eq!(eval_on(&RECORD_FIELDS, &r, &ctx(), now_str), F);
    }

    fn check_err(filter: &str, resources: &[&ResourceFields]) -> String {
        let e = parse(filter).unwrap_or_else(|e| panic!("{filter}: {e}"));
        match check(&e, resources) {
            Ok(()) => panic!("{filter}: accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn check_accepts_what_fits() {
        let ok = [
            r#"object_type.slug eq "lead" and data.amount gt 500"#,
            "data.x gt 5",
            r#"data.x eq "5""#,
            "data.x in (1, 2)",
            "data.x in ()",
            "data.x isnull",
            "data.x eq null",
            "data.x eq me.id",
            "data.x lt now",
            "data.x eq today",
            "data._Key9 eq true",
            "assignee_id eq me.id",
            "assignee_id in (me.id, \"0190a1b2-0000-7000-8000-000000000009\")",
            "created_at eq today and updated_at gte som and created_at lt now",
            r#"created_at gt "2024-01-01" and created_at lt "2024-01-01T10:00:00+02:00""#,
            r#"title like "a%" and title contains "%" and title startswith "x""#,
            r#"stage_id ne null"#,
            r#"id in "0190a1b2-0000-7000-8000-000000000009""#,
        ];
        for f in ok {
            let e = parse(f).unwrap();
            assert_eq!(check(&e, &[&RECORD_FIELDS]), Ok(()), "{f}");
        }
        let tasks = [
            "due_date lte today+7d and completed eq false",
            "due_date eq now",
            "completed_at isnotnull",
            r#"notes contains "call""#,
        ];
        for f in tasks {
            assert_eq!(check(&parse(f).unwrap(), &[&TASK_FIELDS]), Ok(()), "{f}");
        }
        // With several resources a field needs one, and a condition one that it fits.
        let all: Vec<&ResourceFields> = RESOURCES.to_vec();
        for f in [
            "position gt 3",
            r#"position eq "a0""#,
            "due_date lt today",
            r#"slug eq "won" or object_type.slug eq "lead""#,
        ] {
            assert_eq!(check(&parse(f).unwrap(), &all), Ok(()), "{f}");
        }
    }

    #[test]
    fn check_errors_say_what_and_where() {
        let rec: &[&ResourceFields] = &[&RECORD_FIELDS];
        assert_eq!(
            check_err(r#"titel eq "x""#, rec),
            "filter: unknown field 'titel' at 1:1 (did you mean 'title'?)"
        );
        assert_eq!(
            check_err(r#"object_type.slg eq "x""#, rec),
            "filter: unknown field 'object_type.slg' at 1:1 (did you mean 'object_type.slug'?)"
        );
        assert_eq!(
            check_err(r#"title eq "a" and due_dat lt today"#, &[&TASK_FIELDS]),
            "filter: unknown field 'due_dat' at 1:18 (did you mean 'due_date'?)"
        );
        let far = check_err(r#"banana eq "x""#, rec);
        assert!(
            far.starts_with("filter: unknown field 'banana' at 1:1 (fields: id, title, "),
            "{far}"
        );
        assert!(far.ends_with("object_type.name, data.<key>)"), "{far}");
        let rel = check_err(r#"assignee.email eq "x""#, rec);
        assert!(
            rel.contains("sees only the event's data") && rel.contains("object_type.slug"),
            "{rel}"
        );
        // Data keys: custom fields only on records, and only well-formed keys.
        assert!(check_err("data.x eq 1", &[&TASK_FIELDS]).contains("unknown field 'data.x'"));
        assert!(check_err(&format!("data.{} eq 1", "k".repeat(65)), rec).contains("unknown field"));
        assert!(check_err("data.x.y eq 1", rec).contains("unknown field 'data.x.y'"));
        // Types, as the list endpoints check them.
        assert_eq!(
            check_err("title gt 5", rec),
            "filter: operator 'gt' is not allowed on string field 'title' at 1:7 (allowed: eq, ne, in, nin, contains, like, startswith, endswith, isnull, isnotnull)"
        );
        assert_eq!(
            check_err("title eq 5", rec),
            "filter: field 'title' is a string; 5 is not a string at 1:10"
        );
        assert_eq!(
            check_err(r#"created_at contains "x""#, rec),
            "filter: operator 'contains' is not allowed on datetime field 'created_at' at 1:12 (allowed: eq, ne, lt, lte, gt, gte, in, nin, isnull, isnotnull)"
        );
        assert_eq!(
            check_err(r#"assignee_id eq "nope""#, rec),
            "filter: 'nope' is not a valid id for field 'assignee_id' at 1:16"
        );
        assert!(check_err(r#"created_at gt "yesterday""#, rec).contains("date-time"));
        assert!(check_err("created_at gt me.id", rec).contains("is not a date-time"));
        assert!(check_err("title eq me.id", rec).contains("me.id is not a string"));
        // The parser refuses this one itself; a tree built by hand meets the same check.
        let listed = Expr::Cond(Cond {
            field: "title".into(),
            op: Op::Eq,
            value: Some(V::List(vec![V::String("a".into())])),
            at: Loc::Pos { line: 1, col: 1 },
            op_at: Loc::Pos { line: 1, col: 7 },
            value_at: Loc::Pos { line: 1, col: 10 },
        });
        assert_eq!(
            check(&listed, rec).unwrap_err().to_string(),
            "filter: operator 'eq' takes one value, not a list at 1:10"
        );
        assert_eq!(
            check(&Expr::Or(vec![]), rec).unwrap_err().to_string(),
            "filter: empty group"
        );
        assert_eq!(
            check_err("title contains null", rec),
            "filter: operator 'contains' cannot compare with null at 1:16 (use isnull or isnotnull)"
        );
        assert!(check_err("data.x in (1, \"a\")", rec)
            .contains("field 'data.x' is a number; \"a\" is not a number"));
        assert!(check_err(r#"data.x gt true"#, rec)
            .contains("operator 'gt' is not allowed on boolean field 'data.x'"));
        assert!(check_err(r#"data.x contains 5"#, rec).contains("on number field 'data.x'"));
        assert!(check_err("id in (null)", rec).contains("null is not an id"));
        assert!(check_err(r#"created_at eq "9999-12-31""#, rec).contains("before 9999-12-31"));
        let tasks: &[&ResourceFields] = &[&TASK_FIELDS];
        assert!(check_err("completed eq 1", tasks).contains("is not true or false"));
        assert!(check_err("completed in (true)", tasks).contains("'in' is not allowed"));
        assert!(check_err(r#"due_date eq "2024-02-30""#, tasks).contains("a date like"));
        assert!(check_err("due_date eq me.id", tasks).contains("a date or a special day"));
        // JSON paths as locations.
        assert_eq!(
            check_err(r#"[{"field": "title", "op": "eq", "value": 1}]"#, rec),
            "filter: field 'title' is a string; 1 is not a string at $[0].value"
        );
        // Several resources: unknown only when no resource has it (names of all listed),
        // and a type error from the first resource that has the field.
        let rs: &[&ResourceFields] = &[&RECORD_FIELDS, &STAGE_FIELDS];
        let e = check_err("nam eq \"x\"", rs);
        assert_eq!(
            e,
            "filter: unknown field 'nam' at 1:1 (did you mean 'name'?)"
        );
        assert_eq!(
            check_err("position gt \"a\"", rs),
            "filter: operator 'gt' is not allowed on string field 'position' at 1:10 (allowed: eq, ne, in, nin, contains, like, startswith, endswith, isnull, isnotnull)"
        );
        assert!(check_err("zzzz eq 1", rs).contains("data.<key>, name, slug"));
        assert!(check_err("title eq \"x\"", &[]).contains("unknown field 'title'"));
    }

    #[test]
    fn resources_by_type() {
        for t in ["record", "task", "pipeline", "stage"] {
            assert_eq!(resource_fields(t).map(|r| r.resource), Some(t));
        }
        assert_eq!(resource_fields("member"), None);
        assert_eq!(RECORD_FIELDS.kind_of("title"), Some(FieldKind::Title));
        assert_eq!(RECORD_FIELDS.kind_of("data.amount"), Some(FieldKind::Any));
        assert_eq!(RECORD_FIELDS.kind_of("data.a-b"), None);
        assert_eq!(TASK_FIELDS.kind_of("data.amount"), None);
        assert_eq!(STAGE_FIELDS.kind_of("position"), Some(FieldKind::Number));
        assert_eq!(
            PIPELINE_FIELDS.names().collect::<Vec<_>>(),
            ["id", "name", "slug", "created_at", "updated_at"]
        );
        assert_eq!(RECORD_FIELDS.names().last(), Some("data.<key>"));
        // Every pointer is a JSON pointer and every field kind a concrete one.
        for r in RESOURCES {
            for f in r.fields {
                assert!(f.pointer.starts_with('/'), "{}", f.name);
                assert_ne!(f.kind, FieldKind::Any);
            }
        }
    }

    #[test]
    fn extreme_times_do_not_panic() {
        let r = record();
        let late = EvalCtx {
            now: time::PrimitiveDateTime::MAX.assume_utc(),
            zone: crate::time::Zone::fixed(UtcOffset::from_hms(23, 59, 59).unwrap()),
            me: None,
        };
        let early = EvalCtx {
            now: time::PrimitiveDateTime::MIN.assume_utc(),
            zone: crate::time::Zone::fixed(UtcOffset::from_hms(-23, -59, -59).unwrap()),
            me: None,
        };
        for c in [late, early] {
            for f in [
                "created_at eq today",
                "created_at lt today+99999d",
                "created_at gt today-99999d",
                "created_at lt eom",
                "created_at gt sow",
                "created_at lt eow",
                "created_at lt now",
                "data.due eq today",
                "data.due eq now",
                r#"created_at lt "9999-12-31T23:00:00-05:00""#,
                r#"created_at lt "9999-12-31""#,
            ] {
                let _ = eval_on(&RECORD_FIELDS, &r, &c, f);
            }
        }
        let mut odd = record();
        odd["created_at"] = json!("9999-12-31T23:00:00-05:00");
        assert_eq!(
            eval_on(&RECORD_FIELDS, &odd, &ctx(), "created_at isnull"),
            T
        );
    }

    #[test]
    fn like_matches_as_sql() {
        let cases = [
            ("", "", true),
            ("", "%", true),
            ("", "_", false),
            ("abc", "abc", true),
            ("abc", "a%", true),
            ("abc", "%c", true),
            ("abc", "%b%", true),
            ("abc", "a_c", true),
            ("abc", "a__c", false),
            ("abc", "___", true),
            ("abc", "%%%", true),
            ("abc", "ab", false),
            ("aaab", "%ab", true),
            ("abab", "%ab%ab", true),
            ("abab", "a%b%a%b", true),
            ("abab", "a%b%a%b%b", false),
            ("a\\b", "a\\b", true),
            ("a\\b", "a\\_", true),
            ("ab", "a\\b", false),
            ("é", "_", true),
            ("éa", "_a", true),
        ];
        for (s, p, want) in cases {
            assert_eq!(like_match(s, p), want, "{s:?} like {p:?}");
        }
    }

    /// The oracle's LIKE (dynamic programming over characters).
    fn like_dp(s: &str, p: &str) -> bool {
        let s: Vec<char> = s.chars().collect();
        let p: Vec<char> = p.chars().collect();
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

    mod props {
        use super::*;
        use proptest::prelude::*;

        fn field_names() -> Vec<String> {
            let mut v: Vec<String> = RESOURCES
                .iter()
                .flat_map(|r| r.fields.iter().map(|f| f.name.to_string()))
                .collect();
            v.extend(
                [
                    "data.amount",
                    "data.city",
                    "data.tags",
                    "data.due",
                    "data.x",
                    "titel",
                    "stage.slug",
                ]
                .map(String::from),
            );
            v
        }

        fn arb_string() -> impl Strategy<Value = String> {
            prop_oneof![
                3 => "[a-zA-Z%_\\\\éÉ ]{0,8}",
                1 => any::<String>(),
                1 => Just("0190a1b2-0000-7000-8000-000000000001".to_string()),
                1 => Just("2024-05-31".to_string()),
                1 => Just("2024-05-31T19:00:00Z".to_string()),
                1 => Just("9999-12-31T23:00:00-05:00".to_string()),
                1 => Just("-0001-01-01".to_string()),
            ]
        }

        fn arb_special() -> impl Strategy<Value = Special> {
            prop_oneof![
                Just(Special::MeId),
                Just(Special::Now),
                (-99_999i32..=99_999).prop_map(Special::Today),
                any::<i32>().prop_map(Special::Today),
                Just(Special::Sow),
                Just(Special::Eow),
                Just(Special::Som),
                Just(Special::Eom),
            ]
        }

        fn arb_scalar() -> impl Strategy<Value = V> {
            prop_oneof![
                Just(V::Null),
                any::<bool>().prop_map(V::Bool),
                any::<f64>().prop_map(V::Number),
                (-1000i64..1000).prop_map(|n| V::Number(n as f64)),
                arb_string().prop_map(V::String),
                arb_special().prop_map(V::Special),
            ]
        }

        fn arb_value() -> impl Strategy<Value = V> {
            prop_oneof![
                4 => arb_scalar(),
                1 => proptest::collection::vec(arb_scalar(), 0..4).prop_map(V::List),
            ]
        }

        fn arb_cond() -> impl Strategy<Value = Expr> {
            let fields = field_names();
            (
                prop_oneof![
                    4 => proptest::sample::select(fields),
                    1 => "[a-z_.]{1,12}",
                ],
                proptest::sample::select(Op::ALL.to_vec()),
                proptest::option::weighted(0.9, arb_value()),
            )
                .prop_map(|(field, op, value)| {
                    let at = Loc::Pos { line: 1, col: 1 };
                    Expr::Cond(Cond {
                        field,
                        op,
                        value,
                        at: at.clone(),
                        op_at: at.clone(),
                        value_at: at,
                    })
                })
        }

        fn arb_expr() -> impl Strategy<Value = Expr> {
            arb_cond().prop_recursive(4, 48, 4, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..4).prop_map(Expr::And),
                    proptest::collection::vec(inner.clone(), 0..4).prop_map(Expr::Or),
                    inner.prop_map(|e| Expr::Not(Box::new(e))),
                ]
            })
        }

        fn arb_json() -> impl Strategy<Value = J> {
            let leaf = prop_oneof![
                Just(J::Null),
                any::<bool>().prop_map(J::from),
                any::<i64>().prop_map(J::from),
                any::<f64>().prop_map(J::from),
                arb_string().prop_map(J::from),
            ];
            leaf.prop_recursive(3, 24, 4, |inner| {
                prop_oneof![
                    proptest::collection::vec(inner.clone(), 0..4).prop_map(J::from),
                    proptest::collection::btree_map(
                        prop_oneof![
                            proptest::sample::select(vec![
                                "title",
                                "data",
                                "slug",
                                "amount",
                                "tags",
                                "position",
                                "id",
                                "created_at",
                                "due_date",
                                "completed",
                                "object_types",
                            ])
                            .prop_map(String::from),
                            "[a-z]{1,3}",
                        ],
                        inner,
                        0..5
                    )
                    .prop_map(|m| J::Object(m.into_iter().collect())),
                ]
            })
        }

        /// A resource JSON: the real fields with values of any JSON type, plus noise.
        fn arb_resource() -> impl Strategy<Value = J> {
            let names: Vec<&'static str> = RESOURCES
                .iter()
                .flat_map(|r| r.fields.iter().map(|f| f.pointer))
                .collect();
            (
                proptest::collection::vec((proptest::sample::select(names), arb_json()), 0..10),
                proptest::collection::btree_map("[a-z]{1,6}", arb_json(), 0..4),
                arb_json(),
            )
                .prop_map(|(fields, data, other)| {
                    let mut out = serde_json::Map::new();
                    for (p, v) in fields {
                        let mut parts = p.trim_start_matches('/').split('/');
                        let first = parts.next().unwrap_or_default().to_string();
                        match parts.next() {
                            Some(leaf) => {
                                let mut inner = serde_json::Map::new();
                                inner.insert(leaf.to_string(), v);
                                out.insert(first, J::Object(inner));
                            }
                            None => {
                                out.insert(first, v);
                            }
                        }
                    }
                    out.insert("data".into(), J::Object(data.into_iter().collect()));
                    out.insert("other".into(), other);
                    J::Object(out)
                })
        }

        fn arb_ctx() -> impl Strategy<Value = EvalCtx> {
            (
                prop_oneof![
                    3 => (0i64..4_102_444_800).prop_map(|s| s * 1000),
                    1 => -377_705_116_800_000i64..=253_402_300_799_000,
                ],
                -86_399i32..=86_399,
                any::<Option<u128>>(),
            )
                .prop_map(|(ms, off, me)| EvalCtx {
                    now: OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                        .unwrap_or(OffsetDateTime::UNIX_EPOCH),
                    zone: crate::time::Zone::fixed(
                        UtcOffset::from_whole_seconds(off).unwrap_or(UtcOffset::UTC),
                    ),
                    me: me.map(Uuid::from_u128),
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]

            /// Whatever the tree, the JSON and the clock: no panic, `matches` agrees with
            /// `evaluate`, and `check` answers too.
            #[test]
            fn never_panics(e in arb_expr(), data in prop_oneof![arb_resource(), arb_json()], ctx in arb_ctx()) {
                for r in RESOURCES {
                    let got = evaluate(&e, r, &data, &ctx);
                    prop_assert_eq!(matches(&e, r, &data, &ctx), got == Some(true));
                }
                let _ = check(&e, &RESOURCES);
                let _ = check(&e, &[&RECORD_FIELDS]);
            }

            /// A parsed filter evaluates as its printed form does after parsing again, and a
            /// checked one never panics either.
            #[test]
            fn parsed_filters_evaluate_alike(e in arb_expr(), data in arb_resource(), ctx in arb_ctx()) {
                let text = crate::filter::to_string(&e);
                if let Ok(parsed) = parse(&text) {
                    for r in RESOURCES {
                        let a = evaluate(&parsed, r, &data, &ctx);
                        let again = parse(&crate::filter::to_string(&parsed)).unwrap();
                        prop_assert_eq!(a, evaluate(&again, r, &data, &ctx));
                    }
                    let _ = check(&parsed, &RESOURCES);
                }
            }

            /// `not` flips known answers and keeps unknown ones.
            #[test]
            fn not_is_three_valued(e in arb_expr(), data in arb_resource(), ctx in arb_ctx()) {
                let n = Expr::Not(Box::new(e.clone()));
                for r in RESOURCES {
                    prop_assert_eq!(
                        evaluate(&n, r, &data, &ctx),
                        evaluate(&e, r, &data, &ctx).map(|b| !b)
                    );
                }
            }

            #[test]
            fn like_agrees_with_the_oracle(s in "[ab%_\\\\é]{0,10}", p in "[ab%_\\\\é]{0,8}") {
                prop_assert_eq!(like_match(&s, &p), like_dp(&s, &p));
            }
        }
    }
}
