//! The filter language of `filters.md`: one tree for both of its forms.
//!
//! `parse` reads either the readable string form (`title contains "Acme" and stage.slug eq
//! "won"`) or the JSON form (`{"and": [{"field": "title", "op": "contains", "value": "Acme"}]}`)
//! into an [`Expr`]. The tree knows nothing of resources: which fields exist, their types and
//! the SQL they become is the business of the field registry that compiles it. Every node keeps
//! where it was written ([`Loc`]) so errors found later can still point at the text.

mod eval;
mod json;
mod parse;
mod print;
mod suggest;

pub use eval::{
    check, evaluate, matches, resource_fields, EvalCtx, FieldDef, FieldKind, ResourceFields,
    COMMENT_FIELDS, CONTRACT_FIELDS, NOTE_FIELDS, PIPELINE_FIELDS, RECORD_FIELDS, RESOURCES,
    STAGE_FIELDS, TASK_FIELDS,
};
pub use json::parse_json;
pub use parse::parse_str;
pub use print::{to_json, to_string};
pub use suggest::nearest;

use std::fmt;

/// Longest filter accepted, in bytes.
pub const MAX_LEN: usize = 8 * 1024;
/// Deepest nesting of groups (`and`/`or`/`not`/parentheses) accepted.
pub const MAX_DEPTH: usize = 32;
/// Most conditions accepted in one filter.
pub const MAX_CONDITIONS: usize = 200;

/// Where a node was written: a 1-based line and column in the string form (counted in
/// characters), or a JSON path such as `$[1].value` in the JSON form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loc {
    Pos { line: u32, col: u32 },
    Path(String),
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loc::Pos { line, col } => write!(f, "{line}:{col}"),
            Loc::Path(p) => f.write_str(p),
        }
    }
}

/// A filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// All must hold. Never empty once parsed.
    And(Vec<Expr>),
    /// Any must hold. Never empty once parsed.
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Cond(Cond),
}

/// `field op value`, or `field op` for the unary operators.
#[derive(Debug, Clone, PartialEq)]
pub struct Cond {
    /// The dotted path as written, e.g. `title`, `data.phone`, `stage.slug`.
    pub field: String,
    pub op: Op,
    /// `None` exactly when `op.is_unary()`.
    pub value: Option<Value>,
    /// Where the field was written.
    pub at: Loc,
    /// Where the operator was written.
    pub op_at: Loc,
    /// Where the value was written (the operator's place for unary operators).
    pub value_at: Loc,
}

/// The operators, with their aliases folded: `neq` is `Ne`, `le` is `Lte`, `notin` is `NotIn`,
/// `notnull` is `IsNotNull`, and the symbols `= != < <= > >=` map to their names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Lte,
    Gt,
    Gte,
    In,
    NotIn,
    Contains,
    Like,
    StartsWith,
    EndsWith,
    IsNull,
    IsNotNull,
}

impl Op {
    /// The canonical (printed) name.
    pub fn name(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Lt => "lt",
            Op::Lte => "lte",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::In => "in",
            Op::NotIn => "nin",
            Op::Contains => "contains",
            Op::Like => "like",
            Op::StartsWith => "startswith",
            Op::EndsWith => "endswith",
            Op::IsNull => "isnull",
            Op::IsNotNull => "isnotnull",
        }
    }

    /// Reads an operator name or symbol, case-insensitively, aliases included.
    pub fn from_name(s: &str) -> Option<Op> {
        Some(match s.to_ascii_lowercase().as_str() {
            "eq" | "=" | "==" => Op::Eq,
            "ne" | "neq" | "!=" | "<>" => Op::Ne,
            "lt" | "<" => Op::Lt,
            "lte" | "le" | "<=" => Op::Lte,
            "gt" | ">" => Op::Gt,
            "gte" | "ge" | ">=" => Op::Gte,
            "in" => Op::In,
            "nin" | "notin" => Op::NotIn,
            "contains" => Op::Contains,
            "like" => Op::Like,
            "startswith" => Op::StartsWith,
            "endswith" => Op::EndsWith,
            "isnull" => Op::IsNull,
            "isnotnull" | "notnull" => Op::IsNotNull,
            _ => return None,
        })
    }

    pub fn is_unary(self) -> bool {
        matches!(self, Op::IsNull | Op::IsNotNull)
    }

    /// `in` and `nin` take a list; every other binary operator takes a single value.
    pub fn takes_list(self) -> bool {
        matches!(self, Op::In | Op::NotIn)
    }

    pub const ALL: [Op; 14] = [
        Op::Eq,
        Op::Ne,
        Op::Lt,
        Op::Lte,
        Op::Gt,
        Op::Gte,
        Op::In,
        Op::NotIn,
        Op::Contains,
        Op::Like,
        Op::StartsWith,
        Op::EndsWith,
        Op::IsNull,
        Op::IsNotNull,
    ];
}

/// A literal.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// Finite numbers only.
    Number(f64),
    String(String),
    /// Elements are never lists themselves.
    List(Vec<Value>),
    Special(Special),
}

/// The special values, resolved against the caller and the clock when compiled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Special {
    /// `me.id`: the calling key's member id.
    MeId,
    /// `now`: the current instant.
    Now,
    /// `today`, `today+Nd`, `today-Nd`: a day in the workspace time zone, shifted by N days.
    Today(i32),
    /// `sow` / `eow`: start / end of the current ISO week (Monday 00:00 / next Monday 00:00).
    Sow,
    Eow,
    /// `som` / `eom`: start / end of the current month (1st 00:00 / next month's 1st 00:00).
    Som,
    Eom,
}

impl Special {
    pub fn name(self) -> String {
        match self {
            Special::MeId => "me.id".into(),
            Special::Now => "now".into(),
            Special::Today(0) => "today".into(),
            Special::Today(n) if n > 0 => format!("today+{n}d"),
            Special::Today(n) => format!("today{n}d"),
            Special::Sow => "sow".into(),
            Special::Eow => "eow".into(),
            Special::Som => "som".into(),
            Special::Eom => "eom".into(),
        }
    }

    /// Reads `me.id`, `now`, `today`, `today+3d`, `today-30d`, `sow`, … case-insensitively.
    pub fn from_name(s: &str) -> Option<Special> {
        let l = s.to_ascii_lowercase();
        Some(match l.as_str() {
            "me.id" => Special::MeId,
            "now" => Special::Now,
            "today" => Special::Today(0),
            "sow" => Special::Sow,
            "eow" => Special::Eow,
            "som" => Special::Som,
            "eom" => Special::Eom,
            _ => {
                let rest = l.strip_prefix("today")?.strip_suffix('d')?;
                let (sign, digits) = match rest.as_bytes().first()? {
                    b'+' => (1, &rest[1..]),
                    b'-' => (-1, &rest[1..]),
                    _ => return None,
                };
                if digits.is_empty()
                    || digits.len() > 5
                    || !digits.bytes().all(|b| b.is_ascii_digit())
                {
                    return None;
                }
                Special::Today(sign * digits.parse::<i32>().ok()?)
            }
        })
    }
}

/// A filter the parser (or the compiler, for unknown fields and type errors) refused. Displays
/// as the contract wants it: `filter: unknown field 'titel' at 1:1 (did you mean 'title'?)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub message: String,
    pub at: Option<Loc>,
    pub hint: Option<String>,
}

impl FilterError {
    pub fn new(message: impl Into<String>, at: Option<Loc>) -> Self {
        Self {
            message: message.into(),
            at,
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "filter: {}", self.message)?;
        if let Some(at) = &self.at {
            write!(f, " at {at}")?;
        }
        if let Some(h) = &self.hint {
            write!(f, " ({h})")?;
        }
        Ok(())
    }
}

impl std::error::Error for FilterError {}

/// Reads a filter in either form: JSON when the first non-blank character is `{` or `[`, the
/// string form otherwise. Enforces the limits (`MAX_LEN`, `MAX_DEPTH`, `MAX_CONDITIONS`).
pub fn parse(input: &str) -> Result<Expr, FilterError> {
    if input.len() > MAX_LEN {
        return Err(FilterError::new(
            format!("is {} bytes long; the limit is {MAX_LEN}", input.len()),
            None,
        ));
    }
    match input.trim_start().as_bytes().first() {
        Some(b'{') | Some(b'[') => parse_json(input),
        _ => parse_str(input),
    }
}

impl Expr {
    /// The same tree with every location cleared, for comparing trees read from different text.
    pub fn without_locs(&self) -> Expr {
        match self {
            Expr::And(v) => Expr::And(v.iter().map(Expr::without_locs).collect()),
            Expr::Or(v) => Expr::Or(v.iter().map(Expr::without_locs).collect()),
            Expr::Not(e) => Expr::Not(Box::new(e.without_locs())),
            Expr::Cond(c) => Expr::Cond(Cond {
                at: Loc::Pos { line: 0, col: 0 },
                op_at: Loc::Pos { line: 0, col: 0 },
                value_at: Loc::Pos { line: 0, col: 0 },
                ..c.clone()
            }),
        }
    }

    /// Every condition, left to right.
    pub fn conditions(&self) -> Vec<&Cond> {
        let mut out = Vec::new();
        fn walk<'a>(e: &'a Expr, out: &mut Vec<&'a Cond>) {
            match e {
                Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| walk(e, out)),
                Expr::Not(e) => walk(e, out),
                Expr::Cond(c) => out.push(c),
            }
        }
        walk(self, &mut out);
        out
    }
}
