//! Queries, one module per resource. Every function is scoped to a workspace.

pub mod comments;
pub mod contracts;
pub mod events;
pub mod forms;
pub mod idempotency;
pub mod keys;
pub mod members;
pub mod notes;
pub mod records;
pub mod schema;
pub mod settings;
pub mod tasks;
pub mod webhooks;
pub mod workspaces;

use sea_query::{Alias, Asterisk, Expr, Func, SelectStatement, SimpleExpr};

/// Offset pagination window.
#[derive(Debug, Clone, Copy)]
pub struct Page {
    pub offset: u64,
    pub limit: u64,
}

impl Page {
    pub const ALL: Page = Page {
        offset: 0,
        limit: 10_000,
    };
}

/// `SELECT COUNT(*) AS n` over the `FROM`/`JOIN`/`WHERE` of a list query.
pub fn count_of(q: &SelectStatement) -> SelectStatement {
    let mut c = q.clone();
    c.clear_selects()
        .clear_order_by()
        .reset_limit()
        .reset_offset()
        .expr_as(Func::count(Expr::col(Asterisk)), Alias::new("n"));
    c
}

/// `s` with `\`, `%` and `_` escaped (by `\`), so a LIKE pattern takes them literally.
pub(crate) fn escape_like(s: &str) -> String {
    let mut p = String::with_capacity(s.len());
    for ch in s.chars() {
        if matches!(ch, '\\' | '%' | '_') {
            p.push('\\');
        }
        p.push(ch);
    }
    p
}

/// A LIKE pattern matching `needle` anywhere, with `\`, `%` and `_` taken literally.
pub(crate) fn contains_pattern(needle: &str) -> String {
    format!("%{}%", escape_like(needle))
}

/// Case-insensitive search text: the same Unicode lowercasing on both backends, done here so
/// SQLite (ASCII-only `lower`) and PostgreSQL answer alike.
pub fn search_text(s: &str) -> String {
    s.to_lowercase()
}

pub(crate) fn like_contains(col: SimpleExpr, needle: &str) -> SimpleExpr {
    col.like(sea_query::LikeExpr::new(contains_pattern(&search_text(needle))).escape('\\'))
}

#[cfg(test)]
mod tests {
    #[test]
    fn escapes_like_wildcards() {
        assert_eq!(super::contains_pattern("50%_a\\b"), "%50\\%\\_a\\\\b%");
    }
}
