//! The readable form: a hand-written lexer and a recursive-descent parser for
//!
//! ```text
//! expr  := or
//! or    := and ("or" and)*
//! and   := unary ("and" unary)*
//! unary := "not" unary | "(" expr ")" | cond
//! cond  := field op value | field unary_op
//! ```
//!
//! Choices beyond the grammar of `filters.md`:
//! - `in`/`nin` followed by a single value take it as a list of one (`status in "open"` is
//!   `status in ("open")`); every other binary operator refuses a list.
//! - Strings take JSON's escapes: `\"`, `\\`, `\/`, `\b`, `\f`, `\n`, `\r`, `\t` and `\uXXXX`
//!   (a surrogate pair for characters beyond the BMP). A raw line break inside a string is an
//!   `unterminated string`.
//! - Numbers are `-?digits(.digits)?([eE][+-]?digits)?` and must be finite.
//! - `and`, `or` and `not` are reserved (in any case): they cannot be field names.
//! - `a and (b and c)` flattens to one `And` of three (likewise `or`); a group of one is just
//!   its member.
//! - Depth counts the open parentheses and `not`s around a point (list parentheses aside); the
//!   parser refuses the 33rd before going any deeper, so its recursion is bounded whatever the
//!   input.

use super::print::quote;
use super::suggest::nearest;
use super::{Cond, Expr, FilterError, Loc, Op, Special, Value, MAX_CONDITIONS, MAX_DEPTH};

/// Reads the readable form. See the module documentation for the details.
pub fn parse_str(input: &str) -> Result<Expr, FilterError> {
    if input.trim().is_empty() {
        return Err(FilterError::new("filter is empty", None));
    }
    let mut p = Parser {
        lx: Lexer::new(input),
        depth: 0,
        conds: 0,
    };
    let e = p.parse_or()?;
    let t = p.lx.peek()?;
    match t.tok {
        Tok::Eof => Ok(e),
        Tok::RParen => Err(err("unexpected ')'", t.pos)),
        _ => Err(p.unexpected(&t, "'and', 'or' or the end of the filter")),
    }
}

/// `ident ("." ident)*` with ASCII idents (`[A-Za-z_][A-Za-z0-9_]*`).
pub(super) fn is_field_name(s: &str) -> bool {
    s.split('.').all(|seg| {
        let mut cs = seg.chars();
        cs.next().is_some_and(is_ident_start) && cs.all(is_ident_char)
    })
}

/// The keywords that can never be a field name, whatever their case.
pub(super) fn is_reserved(s: &str) -> bool {
    ["and", "or", "not"]
        .iter()
        .any(|k| s.eq_ignore_ascii_case(k))
}

/// At most 40 characters of `s`, for messages.
pub(super) fn snippet(s: &str) -> String {
    const MAX: usize = 40;
    match s.char_indices().nth(MAX) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn err(message: impl Into<String>, pos: Pos) -> FilterError {
    FilterError::new(message, Some(pos.loc()))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    line: u32,
    col: u32,
}

impl Pos {
    fn loc(self) -> Loc {
        Loc::Pos {
            line: self.line,
            col: self.col,
        }
    }
}

impl std::fmt::Display for Pos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    LParen,
    RParen,
    LBracket,
    RBracket,
    Comma,
    /// `ident(.ident)*`, or `today` directly followed by a sign, digits and letters
    /// (`today+5d`); the text is the token's source.
    Word,
    Str(String),
    Num(f64),
    Sym(Op),
    /// A number run into other characters (`2024-01-01`, `12abc`); the text is the run.
    Bare,
    /// `'…'`: single quotes, which are no string delimiters here. Holds what is between them.
    Quoted(String),
    /// A character that starts no token.
    Bad(char),
    Eof,
}

#[derive(Debug, Clone)]
struct Token {
    tok: Tok,
    pos: Pos,
    /// Byte span in the source.
    start: usize,
    end: usize,
}

struct Lexer<'a> {
    src: &'a str,
    i: usize,
    line: u32,
    col: u32,
    /// Just after the last token lexed: where the end of the filter is reported.
    last_end: Pos,
    /// Span of the last token consumed.
    prev: (usize, usize),
    peeked: Option<Token>,
}

impl<'a> Lexer<'a> {
    fn new(src: &'a str) -> Self {
        let start = Pos { line: 1, col: 1 };
        Lexer {
            src,
            i: 0,
            line: 1,
            col: 1,
            last_end: start,
            prev: (0, 0),
            peeked: None,
        }
    }

    fn peek(&mut self) -> Result<Token, FilterError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lex()?);
        }
        Ok(self.peeked.clone().expect("just peeked"))
    }

    fn next(&mut self) -> Result<Token, FilterError> {
        let t = match self.peeked.take() {
            Some(t) => t,
            None => self.lex()?,
        };
        self.prev = (t.start, t.end);
        Ok(t)
    }

    fn text(&self, t: &Token) -> &'a str {
        &self.src[t.start..t.end]
    }

    /// The text of the last token consumed, quoted for a message.
    fn prev_text(&self) -> String {
        format!("'{}'", snippet(&self.src[self.prev.0..self.prev.1]))
    }

    fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            col: self.col,
        }
    }

    fn cur(&self) -> Option<char> {
        self.src[self.i..].chars().next()
    }

    fn ahead(&self, k: usize) -> Option<char> {
        self.src[self.i..].chars().nth(k)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.cur()?;
        self.i += c.len_utf8();
        if c == '\n' {
            self.line = self.line.saturating_add(1);
            self.col = 1;
        } else {
            self.col = self.col.saturating_add(1);
        }
        Some(c)
    }

    fn bump_while(&mut self, f: impl Fn(char) -> bool) {
        while self.cur().is_some_and(&f) {
            self.bump();
        }
    }

    fn lex(&mut self) -> Result<Token, FilterError> {
        self.bump_while(char::is_whitespace);
        let pos = self.pos();
        let start = self.i;
        let Some(c) = self.cur() else {
            return Ok(Token {
                tok: Tok::Eof,
                pos: self.last_end,
                start,
                end: start,
            });
        };
        let tok = match c {
            '(' | ')' | '[' | ']' | ',' => {
                self.bump();
                match c {
                    '(' => Tok::LParen,
                    ')' => Tok::RParen,
                    '[' => Tok::LBracket,
                    ']' => Tok::RBracket,
                    _ => Tok::Comma,
                }
            }
            '"' => Tok::Str(self.string(pos)?),
            '\'' => {
                self.bump();
                let from = self.i;
                self.bump_while(|c| c != '\'' && c != '\n');
                let inner = self.src[from..self.i].to_string();
                if self.cur() == Some('\'') {
                    self.bump();
                }
                Tok::Quoted(inner)
            }
            '=' | '<' | '>' | '!' => {
                self.bump();
                let two = self.cur().map(|n| {
                    let mut s = String::from(c);
                    s.push(n);
                    s
                });
                match two.as_deref().and_then(Op::from_name) {
                    Some(op) => {
                        self.bump();
                        Tok::Sym(op)
                    }
                    None => match Op::from_name(&c.to_string()) {
                        Some(op) => Tok::Sym(op),
                        None => Tok::Bad(c),
                    },
                }
            }
            c if c.is_ascii_digit()
                || (c == '-' && self.ahead(1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                self.number(pos, start)?
            }
            c if is_ident_start(c) => self.word()?,
            c => {
                self.bump();
                Tok::Bad(c)
            }
        };
        self.last_end = self.pos();
        Ok(Token {
            tok,
            pos,
            start,
            end: self.i,
        })
    }

    fn word(&mut self) -> Result<Tok, FilterError> {
        let start = self.i;
        self.bump_while(is_ident_char);
        while self.cur() == Some('.') {
            if !self.ahead(1).is_some_and(is_ident_start) {
                self.bump();
                return Err(err(
                    format!(
                        "expected a name after '{}'",
                        snippet(&self.src[start..self.i])
                    ),
                    self.pos(),
                ));
            }
            self.bump();
            self.bump_while(is_ident_char);
        }
        if self.src[start..self.i].eq_ignore_ascii_case("today")
            && matches!(self.cur(), Some('+' | '-'))
            && self.ahead(1).is_some_and(|d| d.is_ascii_digit())
        {
            self.bump();
            self.bump_while(is_ident_char);
        }
        Ok(Tok::Word)
    }

    fn number(&mut self, pos: Pos, start: usize) -> Result<Tok, FilterError> {
        let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
        if self.cur() == Some('-') {
            self.bump();
        }
        self.bump_while(|c| c.is_ascii_digit());
        if self.cur() == Some('.') && digit(self.ahead(1)) {
            self.bump();
            self.bump_while(|c| c.is_ascii_digit());
        }
        if matches!(self.cur(), Some('e' | 'E'))
            && (digit(self.ahead(1))
                || (matches!(self.ahead(1), Some('+' | '-')) && digit(self.ahead(2))))
        {
            self.bump();
            if matches!(self.cur(), Some('+' | '-')) {
                self.bump();
            }
            self.bump_while(|c| c.is_ascii_digit());
        }
        let ends = |c: char| c.is_whitespace() || "()[],\"=<>!".contains(c);
        if self.cur().is_some_and(|c| !ends(c)) {
            self.bump_while(|c| !(c.is_whitespace() || "()[],\"".contains(c)));
            return Ok(Tok::Bare);
        }
        let text = &self.src[start..self.i];
        match text.parse::<f64>() {
            Ok(n) if n.is_finite() => Ok(Tok::Num(n)),
            _ => Err(err(
                format!("number '{}' is out of range", snippet(text)),
                pos,
            )),
        }
    }

    /// A double-quoted string; the lexer is at the opening quote, which is at `open`.
    fn string(&mut self, open: Pos) -> Result<String, FilterError> {
        self.bump();
        let mut s = String::new();
        loop {
            match self.cur() {
                None | Some('\n' | '\r') => {
                    return Err(err("unterminated string", open)
                        .with_hint("close it with '\"'; write \\\" for a quote inside a string"))
                }
                Some('"') => {
                    self.bump();
                    return Ok(s);
                }
                Some('\\') => {
                    let at = self.pos();
                    self.bump();
                    let c = match self.cur() {
                        None | Some('\n' | '\r') => {
                            return Err(err("unterminated string", open).with_hint(
                                "close it with '\"'; write \\\" for a quote inside a string",
                            ))
                        }
                        Some(c) => c,
                    };
                    self.bump();
                    match c {
                        '"' => s.push('"'),
                        '\\' => s.push('\\'),
                        '/' => s.push('/'),
                        'b' => s.push('\u{8}'),
                        'f' => s.push('\u{c}'),
                        'n' => s.push('\n'),
                        'r' => s.push('\r'),
                        't' => s.push('\t'),
                        'u' => s.push(self.unicode_escape(at)?),
                        c => {
                            return Err(err(format!("invalid escape '\\{c}' in a string"), at).with_hint(
                                "the escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX; write \\\\ for a backslash",
                            ))
                        }
                    }
                }
                Some(c) => {
                    self.bump();
                    s.push(c);
                }
            }
        }
    }

    /// After `\u` (which starts at `at`): four hex digits, and a second `\uXXXX` for the low half
    /// of a surrogate pair.
    fn unicode_escape(&mut self, at: Pos) -> Result<char, FilterError> {
        let bad = || {
            err("invalid \\u escape in a string", at)
                .with_hint("write \\u and four hex digits, e.g. \\u00e9")
        };
        let hi = self.hex4().ok_or_else(bad)?;
        if (0xD800..0xDC00).contains(&hi) {
            if self.cur() != Some('\\') || self.ahead(1) != Some('u') {
                return Err(bad());
            }
            self.bump();
            self.bump();
            let lo = self.hex4().ok_or_else(bad)?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err(bad());
            }
            return char::from_u32(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)).ok_or_else(bad);
        }
        char::from_u32(hi).ok_or_else(bad)
    }

    fn hex4(&mut self) -> Option<u32> {
        let mut n = 0;
        for _ in 0..4 {
            let d = self.cur()?.to_digit(16)?;
            self.bump();
            n = n * 16 + d;
        }
        Some(n)
    }
}

struct Parser<'a> {
    lx: Lexer<'a>,
    /// Open parentheses and `not`s around the current point.
    depth: usize,
    /// Conditions read so far.
    conds: usize,
}

#[derive(Clone, Copy)]
enum Kind {
    And,
    Or,
}

/// Adds `e` to the members of a `kind` group, splicing in its members when it is a group of
/// the same kind (`a and (b and c)` is `a and b and c`).
fn push_flat(items: &mut Vec<Expr>, e: Expr, kind: Kind) {
    match (kind, e) {
        (Kind::And, Expr::And(v)) | (Kind::Or, Expr::Or(v)) => items.extend(v),
        (_, e) => items.push(e),
    }
}

fn group(mut items: Vec<Expr>, kind: Kind) -> Expr {
    if items.len() == 1 {
        return items.pop().expect("one item");
    }
    match kind {
        Kind::And => Expr::And(items),
        Kind::Or => Expr::Or(items),
    }
}

impl Parser<'_> {
    fn is_keyword(&self, t: &Token, kw: &str) -> bool {
        t.tok == Tok::Word && self.lx.text(t).eq_ignore_ascii_case(kw)
    }

    fn describe(&self, t: &Token) -> String {
        match t.tok {
            Tok::Eof => "the end of the filter".into(),
            _ => format!("'{}'", snippet(self.lx.text(t))),
        }
    }

    /// `expected {what}, found '…'`, with a hint for the operators of other languages.
    fn unexpected(&self, t: &Token, what: &str) -> FilterError {
        let e = err(
            format!("expected {what}, found {}", self.describe(t)),
            t.pos,
        );
        match t.tok {
            Tok::Bad('&') => e.with_hint("write 'and' to join conditions"),
            Tok::Bad('|') => e.with_hint("write 'or' to join conditions"),
            Tok::Bad('!') => e.with_hint("write 'not' to negate a condition"),
            _ => e,
        }
    }

    /// Enters a parenthesis or a `not` written at `pos`.
    fn enter(&mut self, pos: Pos) -> Result<(), FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(err(format!("nesting deeper than {MAX_DEPTH}"), pos));
        }
        Ok(())
    }

    fn parse_or(&mut self) -> Result<Expr, FilterError> {
        let mut items = Vec::new();
        push_flat(&mut items, self.parse_and()?, Kind::Or);
        loop {
            let t = self.lx.peek()?;
            if !self.is_keyword(&t, "or") {
                break;
            }
            self.lx.next()?;
            push_flat(&mut items, self.parse_and()?, Kind::Or);
        }
        Ok(group(items, Kind::Or))
    }

    fn parse_and(&mut self) -> Result<Expr, FilterError> {
        let mut items = Vec::new();
        push_flat(&mut items, self.parse_unary()?, Kind::And);
        loop {
            let t = self.lx.peek()?;
            if !self.is_keyword(&t, "and") {
                break;
            }
            self.lx.next()?;
            push_flat(&mut items, self.parse_unary()?, Kind::And);
        }
        Ok(group(items, Kind::And))
    }

    fn parse_unary(&mut self) -> Result<Expr, FilterError> {
        let t = self.lx.peek()?;
        match t.tok {
            Tok::Word if self.is_keyword(&t, "not") => {
                self.lx.next()?;
                self.enter(t.pos)?;
                let e = self.parse_unary()?;
                self.depth -= 1;
                Ok(Expr::Not(Box::new(e)))
            }
            Tok::LParen => {
                self.lx.next()?;
                self.enter(t.pos)?;
                let e = self.parse_or()?;
                let c = self.lx.peek()?;
                match c.tok {
                    Tok::RParen => {
                        self.lx.next()?;
                    }
                    Tok::Eof => {
                        return Err(err("expected ')'", c.pos)
                            .with_hint(format!("to close the '(' at {}", t.pos)))
                    }
                    _ => return Err(self.unexpected(&c, "'and', 'or' or ')'")),
                }
                self.depth -= 1;
                Ok(e)
            }
            Tok::Word if self.is_keyword(&t, "and") || self.is_keyword(&t, "or") => {
                Err(self.unexpected(&t, "a condition"))
            }
            Tok::Word => self.parse_cond(),
            Tok::Eof => Err(err(
                format!("expected a condition after {}", self.lx.prev_text()),
                t.pos,
            )),
            Tok::RParen => Err(err("unexpected ')'", t.pos)),
            _ => Err(self.unexpected(&t, "a condition")),
        }
    }

    fn parse_cond(&mut self) -> Result<Expr, FilterError> {
        let ft = self.lx.next()?;
        let field = self.lx.text(&ft);
        if !is_field_name(field) {
            return Err(err(
                format!("'{}' is not a field name", snippet(field)),
                ft.pos,
            ));
        }
        self.conds += 1;
        if self.conds > MAX_CONDITIONS {
            return Err(err(
                format!("more than {MAX_CONDITIONS} conditions"),
                ft.pos,
            ));
        }

        let ot = self.lx.peek()?;
        let op_text = self.lx.text(&ot);
        let op = match ot.tok {
            Tok::Sym(op) => op,
            Tok::Word => match Op::from_name(op_text) {
                Some(op) => op,
                None => return Err(self.unknown_operator(field, &ot)),
            },
            _ => return Err(self.unknown_operator(field, &ot)),
        };
        self.lx.next()?;
        let op_text = format!("'{op_text}'");

        if op.is_unary() {
            let t = self.lx.peek()?;
            let value_like = match t.tok {
                Tok::Str(_)
                | Tok::Num(_)
                | Tok::LParen
                | Tok::LBracket
                | Tok::Quoted(_)
                | Tok::Bare => true,
                Tok::Word => ["true", "false", "null"]
                    .iter()
                    .any(|k| self.is_keyword(&t, k)),
                _ => false,
            };
            if value_like {
                return Err(err(format!("{op_text} takes no value"), t.pos));
            }
            return Ok(Expr::Cond(Cond {
                field: field.to_string(),
                op,
                value: None,
                at: ft.pos.loc(),
                op_at: ot.pos.loc(),
                value_at: ot.pos.loc(),
            }));
        }

        let vt = self.lx.peek()?;
        let value = match vt.tok {
            Tok::LParen | Tok::LBracket if !op.takes_list() => {
                return Err(err(
                    format!("{op_text} takes a single value, not a list"),
                    vt.pos,
                ))
            }
            Tok::LParen | Tok::LBracket => self.parse_list()?,
            _ => {
                let v = self.parse_scalar(&op_text)?;
                if op.takes_list() {
                    Value::List(vec![v])
                } else {
                    v
                }
            }
        };
        Ok(Expr::Cond(Cond {
            field: field.to_string(),
            op,
            value: Some(value),
            at: ft.pos.loc(),
            op_at: ot.pos.loc(),
            value_at: vt.pos.loc(),
        }))
    }

    /// The token after the field `field` is no operator.
    fn unknown_operator(&self, field: &str, t: &Token) -> FilterError {
        if t.tok == Tok::Word {
            let text = self.lx.text(t);
            if text.eq_ignore_ascii_case("not") {
                return err(format!("expected an operator after '{}'", snippet(field)), t.pos)
                    .with_hint("'not' goes before a condition (not x eq 1); 'ne' and 'nin' are the negated operators");
            }
            if text.eq_ignore_ascii_case("is") {
                return err("unknown operator 'is'", t.pos)
                    .with_hint("write 'isnull' or 'isnotnull'");
            }
            if let Some(s) = nearest(text, Op::ALL.map(Op::name)) {
                return err(format!("unknown operator '{}'", snippet(text)), t.pos)
                    .with_hint(format!("did you mean '{s}'?"));
            }
        }
        err(
            format!("expected an operator after '{}'", snippet(field)),
            t.pos,
        )
    }

    /// `( value, … )` or `[ value, … ]`, possibly empty.
    fn parse_list(&mut self) -> Result<Value, FilterError> {
        let open = self.lx.next()?;
        let (close, close_ch) = if open.tok == Tok::LParen {
            (Tok::RParen, ')')
        } else {
            (Tok::RBracket, ']')
        };
        let mut items = Vec::new();
        if self.lx.peek()?.tok == close {
            self.lx.next()?;
            return Ok(Value::List(items));
        }
        loop {
            let after = self.lx.prev_text();
            items.push(self.parse_scalar(&after)?);
            let t = self.lx.peek()?;
            match t.tok {
                Tok::Comma => {
                    self.lx.next()?;
                }
                _ if t.tok == close => {
                    self.lx.next()?;
                    return Ok(Value::List(items));
                }
                Tok::Eof | Tok::RParen | Tok::RBracket => {
                    return Err(err(format!("expected '{close_ch}'"), t.pos)
                        .with_hint(format!("to close the list at {}", open.pos)))
                }
                _ => return Err(self.unexpected(&t, &format!("',' or '{close_ch}'"))),
            }
        }
    }

    /// One value that is not a list; `after` is the quoted text before it, for messages.
    fn parse_scalar(&mut self, after: &str) -> Result<Value, FilterError> {
        let t = self.lx.peek()?;
        let missing = || err(format!("expected a value after {after}"), t.pos);
        let v = match &t.tok {
            Tok::Str(s) => Value::String(s.clone()),
            Tok::Num(n) => Value::Number(*n),
            Tok::Word => {
                let text = self.lx.text(&t);
                if is_reserved(text) {
                    return Err(missing());
                } else if text.eq_ignore_ascii_case("true") {
                    Value::Bool(true)
                } else if text.eq_ignore_ascii_case("false") {
                    Value::Bool(false)
                } else if text.eq_ignore_ascii_case("null") {
                    Value::Null
                } else if let Some(s) = Special::from_name(text) {
                    Value::Special(s)
                } else {
                    return Err(self.not_a_value(&t));
                }
            }
            Tok::Bare | Tok::Quoted(_) | Tok::Bad(_) => return Err(self.not_a_value(&t)),
            Tok::LParen | Tok::LBracket => return Err(err("lists cannot be nested", t.pos)),
            Tok::Eof | Tok::RParen | Tok::RBracket | Tok::Comma | Tok::Sym(_) => {
                return Err(missing())
            }
        };
        self.lx.next()?;
        Ok(v)
    }

    /// `'Acme' is not a value (quote strings with double quotes: "Acme")`.
    fn not_a_value(&self, t: &Token) -> FilterError {
        let run: String = match &t.tok {
            Tok::Quoted(s) => s.clone(),
            _ => self.lx.src[t.start..]
                .chars()
                .take_while(|c| !(c.is_whitespace() || "()[],\"".contains(*c)))
                .take(1000)
                .collect(),
        };
        let e = err(format!("'{}' is not a value", snippet(&run)), t.pos);
        let lower = run.to_ascii_lowercase();
        if lower.starts_with("today+") || lower.starts_with("today-") {
            e.with_hint("write today+Nd or today-Nd for the day N days after or before today")
        } else {
            e.with_hint(format!(
                "quote strings with double quotes: {}",
                snippet(&quote(&run))
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{parse, to_json, to_string};
    use super::*;

    fn p(line: u32, col: u32) -> Loc {
        Loc::Pos { line, col }
    }

    fn c(field: &str, op: Op, value: Option<Value>) -> Expr {
        Expr::Cond(Cond {
            field: field.into(),
            op,
            value,
            at: p(0, 0),
            op_at: p(0, 0),
            value_at: p(0, 0),
        })
    }

    fn s(v: &str) -> Option<Value> {
        Some(Value::String(v.into()))
    }

    fn n(v: f64) -> Option<Value> {
        Some(Value::Number(v))
    }

    /// The tree of `input`, locations cleared.
    fn tree(input: &str) -> Expr {
        match parse_str(input) {
            Ok(e) => e.without_locs(),
            Err(e) => panic!("{input:?}: {e}"),
        }
    }

    fn cond(input: &str) -> Cond {
        match parse_str(input) {
            Ok(Expr::Cond(c)) => c,
            other => panic!("{input:?}: {other:?}"),
        }
    }

    fn value(input: &str) -> Value {
        cond(input)
            .value
            .unwrap_or_else(|| panic!("{input:?} has no value"))
    }

    /// The error of `input`, displayed.
    fn error(input: &str) -> String {
        match parse_str(input) {
            Ok(e) => panic!("{input:?} parsed: {e:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn spec_example() {
        let e = parse_str(r#"title contains "Acme" and (created_at >= "2024-01-01" or client.name contains "Corp")"#)
            .unwrap();
        assert_eq!(
            e.without_locs(),
            Expr::And(vec![
                c("title", Op::Contains, s("Acme")),
                Expr::Or(vec![
                    c("created_at", Op::Gte, s("2024-01-01")),
                    c("client.name", Op::Contains, s("Corp")),
                ]),
            ])
        );
        let conds = e.conditions();
        assert_eq!(conds[0].at, p(1, 1));
        assert_eq!(conds[0].op_at, p(1, 7));
        assert_eq!(conds[0].value_at, p(1, 16));
        assert_eq!(conds[1].at, p(1, 28));
        assert_eq!(conds[1].op_at, p(1, 39));
        assert_eq!(conds[1].value_at, p(1, 42));
        assert_eq!(conds[2].at, p(1, 58));
    }

    #[test]
    fn single_condition_is_not_wrapped() {
        assert_eq!(tree("title eq \"x\""), c("title", Op::Eq, s("x")));
        assert_eq!(tree("((title eq \"x\"))"), c("title", Op::Eq, s("x")));
    }

    #[test]
    fn every_operator_and_alias() {
        let cases: &[(&str, Op)] = &[
            ("eq", Op::Eq),
            ("=", Op::Eq),
            ("==", Op::Eq),
            ("ne", Op::Ne),
            ("neq", Op::Ne),
            ("!=", Op::Ne),
            ("<>", Op::Ne),
            ("lt", Op::Lt),
            ("<", Op::Lt),
            ("lte", Op::Lte),
            ("le", Op::Lte),
            ("<=", Op::Lte),
            ("gt", Op::Gt),
            (">", Op::Gt),
            ("gte", Op::Gte),
            ("ge", Op::Gte),
            (">=", Op::Gte),
            ("contains", Op::Contains),
            ("like", Op::Like),
            ("startswith", Op::StartsWith),
            ("endswith", Op::EndsWith),
        ];
        for (text, op) in cases {
            assert_eq!(tree(&format!("x {text} 1")), c("x", *op, n(1.0)), "{text}");
            // Symbols need no blanks around them.
            if !text.starts_with(|c: char| c.is_ascii_alphabetic()) {
                assert_eq!(tree(&format!("x{text}1")), c("x", *op, n(1.0)), "{text}");
            }
        }
        for (text, op) in [("in", Op::In), ("nin", Op::NotIn), ("notin", Op::NotIn)] {
            let list = Some(Value::List(vec![Value::Number(1.0), Value::Number(2.0)]));
            assert_eq!(
                tree(&format!("x {text} (1, 2)")),
                c("x", op, list),
                "{text}"
            );
        }
        for (text, op) in [
            ("isnull", Op::IsNull),
            ("isnotnull", Op::IsNotNull),
            ("notnull", Op::IsNotNull),
        ] {
            assert_eq!(tree(&format!("x {text}")), c("x", op, None), "{text}");
        }
        // Every operator's canonical name reads back as itself.
        for op in Op::ALL {
            let text = if op.is_unary() {
                format!("x {}", op.name())
            } else if op.takes_list() {
                format!("x {} (1)", op.name())
            } else {
                format!("x {} 1", op.name())
            };
            assert_eq!(cond(&text).op, op);
        }
    }

    #[test]
    fn keywords_are_case_insensitive() {
        assert_eq!(
            tree(
                r#"NOT a EQ 1 AND b Contains "x" Or c IsNull oR d IN [TRUE, False, NULL] and e eq TODAY+5D and f eq ME.ID"#
            ),
            Expr::Or(vec![
                Expr::And(vec![
                    Expr::Not(Box::new(c("a", Op::Eq, n(1.0)))),
                    c("b", Op::Contains, s("x")),
                ]),
                c("c", Op::IsNull, None),
                Expr::And(vec![
                    c(
                        "d",
                        Op::In,
                        Some(Value::List(vec![
                            Value::Bool(true),
                            Value::Bool(false),
                            Value::Null
                        ]))
                    ),
                    c("e", Op::Eq, Some(Value::Special(Special::Today(5)))),
                    c("f", Op::Eq, Some(Value::Special(Special::MeId))),
                ]),
            ])
        );
        // Fields keep their case.
        assert_eq!(cond("Data.Phone EQ 1").field, "Data.Phone");
    }

    #[test]
    fn every_special_value() {
        let cases = [
            ("me.id", Special::MeId),
            ("now", Special::Now),
            ("today", Special::Today(0)),
            ("today+5d", Special::Today(5)),
            ("today-30d", Special::Today(-30)),
            ("today+0d", Special::Today(0)),
            ("today-99999d", Special::Today(-99999)),
            ("sow", Special::Sow),
            ("eow", Special::Eow),
            ("som", Special::Som),
            ("eom", Special::Eom),
            ("NOW", Special::Now),
            ("Today+1D", Special::Today(1)),
        ];
        for (text, sp) in cases {
            assert_eq!(value(&format!("x eq {text}")), Value::Special(sp), "{text}");
            assert_eq!(value(&format!("x>={text}")), Value::Special(sp), "{text}");
        }
        assert_eq!(
            value("x in (today-1d, today, today+1d)"),
            Value::List(vec![
                Value::Special(Special::Today(-1)),
                Value::Special(Special::Today(0)),
                Value::Special(Special::Today(1)),
            ])
        );
        // A special value is a value, never a field... but those names remain usable as fields.
        assert_eq!(
            tree("today eq now"),
            c("today", Op::Eq, Some(Value::Special(Special::Now)))
        );
        assert_eq!(tree("me.id eq 1"), c("me.id", Op::Eq, n(1.0)));
    }

    #[test]
    fn plain_values() {
        assert_eq!(value("x eq true"), Value::Bool(true));
        assert_eq!(value("x eq false"), Value::Bool(false));
        assert_eq!(value("x eq null"), Value::Null);
        assert_eq!(value("x eq 0"), Value::Number(0.0));
        assert_eq!(value("x eq -12"), Value::Number(-12.0));
        assert_eq!(value("x eq 3.25"), Value::Number(3.25));
        assert_eq!(value("x eq 1e3"), Value::Number(1000.0));
        assert_eq!(value("x eq 1.5E-3"), Value::Number(0.0015));
        assert_eq!(value("x eq -2e+2"), Value::Number(-200.0));
        assert_eq!(value("x eq 1e300"), Value::Number(1e300));
        assert_eq!(value("x eq \"\""), Value::String(String::new()));
        assert_eq!(
            value("x eq \"héllo wörld ✓\""),
            Value::String("héllo wörld ✓".into())
        );
    }

    #[test]
    fn lists_in_both_bracket_styles() {
        let abc = Value::List(vec![
            Value::String("a".into()),
            Value::Number(1.0),
            Value::Special(Special::Now),
        ]);
        assert_eq!(value(r#"x in ("a", 1, now)"#), abc);
        assert_eq!(value(r#"x in ["a", 1, now]"#), abc);
        assert_eq!(value(r#"x in("a",1,now)"#), abc);
        assert_eq!(value(r#"x in [ "a" ,1 , now ]"#), abc);
        assert_eq!(value("x in ()"), Value::List(vec![]));
        assert_eq!(value("x nin [ ]"), Value::List(vec![]));
        // A single value after in / nin is a list of one.
        assert_eq!(
            value(r#"x in "a""#),
            Value::List(vec![Value::String("a".into())])
        );
        assert_eq!(
            value("x notin today"),
            Value::List(vec![Value::Special(Special::Today(0))])
        );
        assert_eq!(cond(r#"x in "a""#).value_at, p(1, 6));
        // Lists followed by more.
        assert_eq!(
            tree("x in (1) and y in [2]"),
            Expr::And(vec![
                c("x", Op::In, Some(Value::List(vec![Value::Number(1.0)]))),
                c("y", Op::In, Some(Value::List(vec![Value::Number(2.0)]))),
            ])
        );
    }

    #[test]
    fn string_escapes() {
        assert_eq!(
            value(r#"x eq "say \"hi\"""#),
            Value::String("say \"hi\"".into())
        );
        assert_eq!(
            value(r#"x eq "back\\slash""#),
            Value::String("back\\slash".into())
        );
        assert_eq!(value(r#"x eq "\\""#), Value::String("\\".into()));
        assert_eq!(
            value(r#"x eq "a\/b\n\t\r\b\f""#),
            Value::String("a/b\n\t\r\u{8}\u{c}".into())
        );
        assert_eq!(value(r#"x eq "\u00e9\u00C9""#), Value::String("éÉ".into()));
        assert_eq!(value(r#"x eq "\ud83d\ude00""#), Value::String("😀".into()));
        assert_eq!(
            value("x eq \"tab\there\""),
            Value::String("tab\there".into())
        );
        assert_eq!(value("x eq \"it's\""), Value::String("it's".into()));
        assert_eq!(
            value("x eq \"a and b or (c)\""),
            Value::String("a and b or (c)".into())
        );
    }

    #[test]
    fn flattening() {
        let (a, b, cc, d) = (
            c("a", Op::Eq, n(1.0)),
            c("b", Op::Eq, n(2.0)),
            c("c", Op::Eq, n(3.0)),
            c("d", Op::Eq, n(4.0)),
        );
        let and3 = Expr::And(vec![a.clone(), b.clone(), cc.clone()]);
        assert_eq!(tree("a eq 1 and b eq 2 and c eq 3"), and3);
        assert_eq!(tree("a eq 1 and (b eq 2 and c eq 3)"), and3);
        assert_eq!(tree("(a eq 1 and b eq 2) and c eq 3"), and3);
        assert_eq!(tree("((a eq 1) and ((b eq 2 and (c eq 3))))"), and3);
        let or3 = Expr::Or(vec![a.clone(), b.clone(), cc.clone()]);
        assert_eq!(tree("a eq 1 or (b eq 2 or c eq 3)"), or3);
        // Precedence: and binds tighter than or; not binds to one unary.
        assert_eq!(
            tree("a eq 1 or b eq 2 and c eq 3 or d eq 4"),
            Expr::Or(vec![
                a.clone(),
                Expr::And(vec![b.clone(), cc.clone()]),
                d.clone()
            ])
        );
        assert_eq!(
            tree("not a eq 1 and b eq 2"),
            Expr::And(vec![Expr::Not(Box::new(a.clone())), b.clone()])
        );
        assert_eq!(
            tree("not (a eq 1 and b eq 2)"),
            Expr::Not(Box::new(Expr::And(vec![a.clone(), b.clone()])))
        );
        assert_eq!(
            tree("not not a eq 1"),
            Expr::Not(Box::new(Expr::Not(Box::new(a.clone()))))
        );
        assert_eq!(
            tree("(a eq 1 or b eq 2) and (c eq 3 or d eq 4)"),
            Expr::And(vec![
                Expr::Or(vec![a.clone(), b.clone()]),
                Expr::Or(vec![cc, d])
            ])
        );
    }

    #[test]
    fn locations() {
        let x = cond(r#"title   eq    "x""#);
        assert_eq!((x.at, x.op_at, x.value_at), (p(1, 1), p(1, 9), p(1, 15)));
        let x = cond("  a.b.c isnull");
        assert_eq!((x.at, x.op_at, x.value_at), (p(1, 3), p(1, 9), p(1, 9)));
        let x = cond("x>=5");
        assert_eq!((x.at, x.op_at, x.value_at), (p(1, 1), p(1, 2), p(1, 4)));
        // Columns count characters, not bytes.
        let e = parse_str("a eq \"é✓😀\" and b eq 1").unwrap();
        assert_eq!(e.conditions()[1].at, p(1, 16));
        // After a newline (and a tab, which is one character).
        let e = parse_str("title eq \"x\"\nand\tstage.slug eq\n  \"won\"").unwrap();
        let cs = e.conditions();
        assert_eq!(
            (
                cs[1].at.clone(),
                cs[1].op_at.clone(),
                cs[1].value_at.clone()
            ),
            (p(2, 5), p(2, 16), p(3, 3))
        );
        // An escaped \n is no line break; CR LF is one.
        let e = parse_str("a eq \"é\\nb\" or\r\n  b eq 1").unwrap();
        assert_eq!(e.conditions()[1].at, p(2, 3));
    }

    #[test]
    fn errors_with_their_positions() {
        let cases: &[(&str, &str)] = &[
            ("title eq", "expected a value after 'eq' at 1:9"),
            ("title eq\n", "expected a value after 'eq' at 1:9"),
            ("title =", "expected a value after '=' at 1:8"),
            ("x = = 1", "expected a value after '=' at 1:5"),
            ("x eq and y eq 1", "expected a value after 'eq' at 1:6"),
            ("x eq )", "expected a value after 'eq' at 1:6"),
            ("title", "expected an operator after 'title' at 1:6"),
            ("title \"Acme\"", "expected an operator after 'title' at 1:7"),
            ("title eq 1 and\n  titel", "expected an operator after 'titel' at 2:8"),
            ("title contain \"x\"", "unknown operator 'contain' at 1:7 (did you mean 'contains'?)"),
            ("x is null", "unknown operator 'is' at 1:3 (write 'isnull' or 'isnotnull')"),
            (
                "x not in (1)",
                "expected an operator after 'x' at 1:3 ('not' goes before a condition (not x eq 1); 'ne' and 'nin' are the negated operators)",
            ),
            ("title eq 1)", "unexpected ')' at 1:11"),
            (")", "unexpected ')' at 1:1"),
            ("()", "unexpected ')' at 1:2"),
            ("x eq 1 or )", "unexpected ')' at 1:11"),
            (
                "title eq \"Acme",
                "unterminated string at 1:10 (close it with '\"'; write \\\" for a quote inside a string)",
            ),
            (
                "x eq \"é\nand y eq 1\"",
                "unterminated string at 1:6 (close it with '\"'; write \\\" for a quote inside a string)",
            ),
            ("x eq \"ab\\", "unterminated string at 1:6 (close it with '\"'; write \\\" for a quote inside a string)"),
            ("(title eq 1", "expected ')' at 1:12 (to close the '(' at 1:1)"),
            ("((a eq 1)\n", "expected ')' at 1:10 (to close the '(' at 1:1)"),
            ("(x eq 1 y)", "expected 'and', 'or' or ')', found 'y' at 1:9"),
            (
                "title eq Acme",
                "'Acme' is not a value at 1:10 (quote strings with double quotes: \"Acme\")",
            ),
            (
                "title eq Acme Corp",
                "'Acme' is not a value at 1:10 (quote strings with double quotes: \"Acme\")",
            ),
            (
                "created_at eq 2024-01-01",
                "'2024-01-01' is not a value at 1:15 (quote strings with double quotes: \"2024-01-01\")",
            ),
            (
                "title eq 'Acme Corp'",
                "'Acme Corp' is not a value at 1:10 (quote strings with double quotes: \"Acme Corp\")",
            ),
            ("x in (a, \"b\")", "'a' is not a value at 1:7 (quote strings with double quotes: \"a\")"),
            ("x eq @me", "'@me' is not a value at 1:6 (quote strings with double quotes: \"@me\")"),
            (
                "x eq today+5x",
                "'today+5x' is not a value at 1:6 (write today+Nd or today-Nd for the day N days after or before today)",
            ),
            ("title eq 1 x", "expected 'and', 'or' or the end of the filter, found 'x' at 1:12"),
            ("title eq \"a\" \"b\"", "expected 'and', 'or' or the end of the filter, found '\"b\"' at 1:14"),
            (
                "title eq 1 && x eq 2",
                "expected 'and', 'or' or the end of the filter, found '&' at 1:12 (write 'and' to join conditions)",
            ),
            (
                "title eq 1 || x eq 2",
                "expected 'and', 'or' or the end of the filter, found '|' at 1:12 (write 'or' to join conditions)",
            ),
            ("!x eq 1", "expected a condition, found '!' at 1:1 (write 'not' to negate a condition)"),
            ("", "filter is empty"),
            (" \n\t ", "filter is empty"),
            ("title eq 1 and", "expected a condition after 'and' at 1:15"),
            ("title eq 1 or ", "expected a condition after 'or' at 1:14"),
            ("not", "expected a condition after 'not' at 1:4"),
            ("(", "expected a condition after '(' at 1:2"),
            ("and x eq 1", "expected a condition, found 'and' at 1:1"),
            ("x eq 1 and or y eq 1", "expected a condition, found 'or' at 1:12"),
            ("\"x\" eq 1", "expected a condition, found '\"x\"' at 1:1"),
            ("é eq 1", "expected a condition, found 'é' at 1:1"),
            ("today+5d eq 1", "'today+5d' is not a field name at 1:1"),
            ("title. eq 1", "expected a name after 'title.' at 1:7"),
            ("a..b eq 1", "expected a name after 'a.' at 1:3"),
            ("x isnull 5", "'isnull' takes no value at 1:10"),
            ("x notnull \"a\"", "'notnull' takes no value at 1:11"),
            ("x isnotnull null", "'isnotnull' takes no value at 1:13"),
            ("x eq (1, 2)", "'eq' takes a single value, not a list at 1:6"),
            ("x contains [\"a\"]", "'contains' takes a single value, not a list at 1:12"),
            ("x in ((1))", "lists cannot be nested at 1:7"),
            ("x in [1, [2]]", "lists cannot be nested at 1:10"),
            ("x in (1, 2", "expected ')' at 1:11 (to close the list at 1:6)"),
            ("x in [1)", "expected ']' at 1:8 (to close the list at 1:6)"),
            ("x in (1 2)", "expected ',' or ')', found '2' at 1:9"),
            ("x in (1,)", "expected a value after ',' at 1:9"),
            ("x in (,1)", "expected a value after '(' at 1:7"),
            (
                "x eq \"a\\qb\"",
                "invalid escape '\\q' in a string at 1:8 (the escapes are \\\" \\\\ \\/ \\b \\f \\n \\r \\t and \\uXXXX; write \\\\ for a backslash)",
            ),
            ("x eq \"\\u12\"", "invalid \\u escape in a string at 1:7 (write \\u and four hex digits, e.g. \\u00e9)"),
            ("x eq \"\\ud800\"", "invalid \\u escape in a string at 1:7 (write \\u and four hex digits, e.g. \\u00e9)"),
            ("x eq \"\\udc00\"", "invalid \\u escape in a string at 1:7 (write \\u and four hex digits, e.g. \\u00e9)"),
            ("x eq 1e999", "number '1e999' is out of range at 1:6"),
            ("x eq -1e400", "number '-1e400' is out of range at 1:6"),
            ("x eq 1.5.5", "'1.5.5' is not a value at 1:6 (quote strings with double quotes: \"1.5.5\")"),
        ];
        for (input, want) in cases {
            assert_eq!(error(input), format!("filter: {want}"), "{input:?}");
        }
    }

    #[test]
    fn the_spec_error_example() {
        let e = parse_str("title eq").unwrap_err();
        assert_eq!(e.message, "expected a value after 'eq'");
        assert_eq!(e.at, Some(p(1, 9)));
        assert_eq!(e.hint, None);
        assert_eq!(e.to_string(), "filter: expected a value after 'eq' at 1:9");
        let e = parse_str("title eq Acme").unwrap_err();
        assert_eq!(e.message, "'Acme' is not a value");
        assert_eq!(
            e.hint.as_deref(),
            Some("quote strings with double quotes: \"Acme\"")
        );
    }

    #[test]
    fn messages_quote_at_most_40_characters() {
        let long = "a".repeat(5000);
        let e = error(&long);
        assert_eq!(
            e,
            format!(
                "filter: expected an operator after '{}…' at 1:5001",
                "a".repeat(40)
            )
        );
    }

    fn nested_parens(n: usize) -> String {
        format!("{}a eq 1{}", "(".repeat(n), ")".repeat(n))
    }

    fn nested_nots(n: usize) -> String {
        format!("{}a eq 1", "not ".repeat(n))
    }

    #[test]
    fn depth_limit() {
        assert_eq!(tree(&nested_parens(32)), c("a", Op::Eq, n(1.0)));
        assert_eq!(
            error(&nested_parens(33)),
            "filter: nesting deeper than 32 at 1:33"
        );
        assert!(parse_str(&nested_nots(32)).is_ok());
        assert_eq!(
            error(&nested_nots(33)),
            "filter: nesting deeper than 32 at 1:129"
        );
        // Parentheses and nots count together, list parentheses not at all.
        let mixed = format!("{}x in (1){}", "not (".repeat(16), ")".repeat(16));
        assert!(parse_str(&mixed).is_ok());
        let mixed = format!("not {}x in (1){}", "not (".repeat(16), ")".repeat(16));
        assert_eq!(error(&mixed), "filter: nesting deeper than 32 at 1:84");
        // Siblings do not add up.
        let wide = vec![nested_parens(32); 5].join(" or ");
        assert!(parse_str(&wide).is_ok());
    }

    #[test]
    fn hostile_nesting_never_overflows_the_stack() {
        // Run on a small stack: the parsers must refuse before they get deep.
        let run = || {
            for unit in ["(", "not ", "not (", "[", "((", "x in ("] {
                for len in [8 * 1024, 1024 * 1024] {
                    let input = unit.repeat(len / unit.len());
                    assert!(parse(&input).is_err());
                    assert!(parse_str(&input).is_err());
                }
            }
            // The deepest accepted filter, printed and reread, on the same small stack.
            let deep = format!("{}a eq 1 or b eq 2{}", "not (".repeat(16), ")".repeat(16));
            let e = parse(&deep).unwrap();
            assert_eq!(
                parse_str(&to_string(&e)).unwrap().without_locs(),
                e.without_locs()
            );
            let json = to_json(&e).to_string();
            assert_eq!(parse(&json).unwrap().without_locs(), e.without_locs());
        };
        // A quarter of a default thread's stack: unoptimised test builds use about 350 KiB for
        // the deepest nesting, optimised ones far less.
        std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(run)
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn condition_limit() {
        let conds = |k: usize| vec!["x eq 1"; k].join(" and ");
        assert_eq!(parse_str(&conds(200)).unwrap().conditions().len(), 200);
        assert_eq!(
            error(&conds(201)),
            "filter: more than 200 conditions at 1:2201"
        );
        let ors = |k: usize| vec!["(x in [1, 2] or y isnull)"; k].join(" and ");
        assert!(parse_str(&ors(100)).is_ok());
        assert!(error(&ors(101)).starts_with("filter: more than 200 conditions at 1:"));
        // Long input straight to parse_str (past MAX_LEN) stops at the limit too.
        assert!(error(&conds(100_000)).contains("more than 200 conditions"));
    }

    #[test]
    fn parse_dispatches_and_limits_length() {
        assert_eq!(
            parse(" title eq 1").unwrap().without_locs(),
            c("title", Op::Eq, n(1.0))
        );
        assert_eq!(
            parse(r#" {"field": "title", "op": "eq", "value": 1}"#)
                .unwrap()
                .without_locs(),
            c("title", Op::Eq, n(1.0))
        );
        let long = format!("x eq \"{}\"", "a".repeat(super::super::MAX_LEN));
        assert!(parse(&long)
            .unwrap_err()
            .to_string()
            .contains("the limit is 8192"));
        assert!(parse_str(&long).is_ok());
    }
}

/// Property tests: the printed forms read back to the same tree, and no input makes the parsers
/// panic.
#[cfg(test)]
mod props {
    use super::super::{parse, parse_json, to_json, to_string};
    use super::*;
    use proptest::prelude::*;

    /// The tree the parsers make of `e`: groups of one replaced by their member, a group inside a
    /// group of the same kind spliced into it, locations cleared.
    pub(crate) fn normalise(e: &Expr) -> Expr {
        fn flat(v: &[Expr], kind: Kind) -> Expr {
            let mut items = Vec::new();
            for e in v {
                push_flat(&mut items, normalise(e), kind);
            }
            group(items, kind)
        }
        match e {
            Expr::And(v) => flat(v, Kind::And),
            Expr::Or(v) => flat(v, Kind::Or),
            Expr::Not(inner) => Expr::Not(Box::new(normalise(inner))),
            Expr::Cond(_) => e.without_locs(),
        }
    }

    fn arb_string() -> impl Strategy<Value = String> {
        let ch = prop_oneof![
            4 => any::<char>(),
            1 => Just('"'),
            1 => Just('\\'),
            1 => Just('\n'),
            1 => Just('\r'),
            1 => Just('\''),
            1 => Just(' '),
            2 => proptest::char::range('a', 'z'),
        ];
        proptest::collection::vec(ch, 0..12).prop_map(String::from_iter)
    }

    fn arb_number() -> impl Strategy<Value = f64> {
        prop_oneof![
            4 => any::<f64>().prop_filter("finite", |n| n.is_finite()),
            2 => (-1_000_000i64..1_000_000).prop_map(|n| n as f64),
            1 => proptest::sample::select(vec![
                0.0, -0.0, 0.1, 1e300, -1e300, 1e16, 1e-7, 5e-324, f64::MAX, f64::MIN, f64::MIN_POSITIVE,
            ]),
        ]
    }

    fn arb_special() -> impl Strategy<Value = Special> {
        prop_oneof![
            Just(Special::MeId),
            Just(Special::Now),
            (-99_999i32..=99_999).prop_map(Special::Today),
            Just(Special::Today(0)),
            Just(Special::Sow),
            Just(Special::Eow),
            Just(Special::Som),
            Just(Special::Eom),
        ]
    }

    fn arb_scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            arb_number().prop_map(Value::Number),
            arb_string().prop_map(Value::String),
            arb_special().prop_map(Value::Special),
        ]
    }

    pub(crate) fn arb_field() -> impl Strategy<Value = String> {
        "[a-zA-Z_][a-zA-Z0-9_]{0,6}(\\.[a-zA-Z_][a-zA-Z0-9_]{0,6}){0,2}"
            .prop_filter("reserved", |f| !is_reserved(f))
    }

    fn arb_cond() -> impl Strategy<Value = Expr> {
        (arb_field(), proptest::sample::select(Op::ALL.to_vec()))
            .prop_flat_map(|(field, op)| {
                let value = if op.is_unary() {
                    Just(None).boxed()
                } else if op.takes_list() {
                    proptest::collection::vec(arb_scalar(), 0..4)
                        .prop_map(|v| Some(Value::List(v)))
                        .boxed()
                } else {
                    arb_scalar().prop_map(Some).boxed()
                };
                (Just(field), Just(op), value)
            })
            .prop_map(|(field, op, value)| {
                let at = Loc::Pos { line: 0, col: 0 };
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

    /// Trees of up to four levels of groups (groups of one and same-kind nesting included) and
    /// at most 81 conditions.
    pub(crate) fn arb_expr() -> impl Strategy<Value = Expr> {
        arb_cond().prop_recursive(4, 64, 3, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 1..4).prop_map(Expr::And),
                proptest::collection::vec(inner.clone(), 1..4).prop_map(Expr::Or),
                inner.prop_map(|e| Expr::Not(Box::new(e))),
            ]
        })
    }

    /// Text made of the language's tokens (and a few mistakes), glued with or without blanks.
    fn token_soup() -> impl Strategy<Value = String> {
        let tokens = vec![
            "(",
            ")",
            "[",
            "]",
            ",",
            "and",
            "OR",
            "not",
            "title",
            "a.b",
            "data.x_1",
            "eq",
            "=",
            "==",
            "!=",
            "<>",
            "<",
            "<=",
            ">",
            ">=",
            "in",
            "nin",
            "notin",
            "contains",
            "like",
            "isnull",
            "notnull",
            "\"x\"",
            "\"a\\\"b\"",
            "\"\\\\\"",
            "\"\\u00e9\"",
            "\"\\ud83d\\ude00\"",
            "\"",
            "1",
            "-2.5e3",
            "1e999",
            "0.1",
            "true",
            "null",
            "FALSE",
            "today+5d",
            "today-30d",
            "today",
            "me.id",
            "now",
            "sow",
            "eom",
            "'q'",
            "@",
            "&&",
            "é",
            ".",
            "-",
            "\\",
            "{",
            "}",
            ":",
            "\n",
            " ",
        ];
        let sep = proptest::sample::select(vec!["", " ", " ", "\n"]);
        proptest::collection::vec((proptest::sample::select(tokens), sep), 0..24)
            .prop_map(|v| v.into_iter().flat_map(|(t, s)| [t, s]).collect::<String>())
    }

    /// Text made of the JSON form's tokens.
    fn json_soup() -> impl Strategy<Value = String> {
        let tokens = vec![
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "\"field\"",
            "\"op\"",
            "\"value\"",
            "\"and\"",
            "\"or\"",
            "\"not\"",
            "\"special\"",
            "\"title\"",
            "\"a.b\"",
            "\"eq\"",
            "\"in\"",
            "\"isnull\"",
            "\"today+5d\"",
            "\"x\"",
            "1",
            "-0.5",
            "1e400",
            "true",
            "null",
            "\"bad key\"",
        ];
        proptest::collection::vec(proptest::sample::select(tokens), 0..30).prop_map(|v| v.concat())
    }

    /// When `input` parses, its printed forms read back to the same tree.
    fn check_roundtrip(input: &str) -> Result<(), TestCaseError> {
        if let Ok(e) = parse(input) {
            let plain = e.without_locs();
            let printed = to_string(&e);
            let again = parse_str(&printed)
                .map_err(|err| TestCaseError::fail(format!("{printed:?}: {err}")))?;
            prop_assert_eq!(
                again.without_locs(),
                plain.clone(),
                "printed as {:?}",
                printed
            );
            let json = to_json(&e).to_string();
            let again =
                parse_json(&json).map_err(|err| TestCaseError::fail(format!("{json}: {err}")))?;
            prop_assert_eq!(again.without_locs(), plain, "printed as {}", json);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn string_form_roundtrips(e in arb_expr()) {
            let printed = to_string(&e);
            let back = parse_str(&printed).map_err(|err| TestCaseError::fail(format!("{printed:?}: {err}")))?;
            prop_assert_eq!(back.without_locs(), normalise(&e), "printed as {:?}", printed);
        }

        #[test]
        fn json_form_roundtrips(e in arb_expr()) {
            let printed = to_json(&e).to_string();
            let back = parse_json(&printed).map_err(|err| TestCaseError::fail(format!("{printed}: {err}")))?;
            prop_assert_eq!(back.without_locs(), normalise(&e), "printed as {}", printed);
        }

        #[test]
        fn both_forms_agree(e in arb_expr()) {
            let a = parse_str(&to_string(&e)).unwrap().without_locs();
            let b = parse_json(&to_json(&e).to_string()).unwrap().without_locs();
            prop_assert_eq!(a, b);
        }

        #[test]
        fn arbitrary_strings_never_panic(s in any::<String>()) {
            let _ = parse(&s);
            let _ = parse_str(&s);
            let _ = parse_json(&s);
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..256)) {
            let s = String::from_utf8_lossy(&b);
            check_roundtrip(&s)?;
            let _ = parse_str(&s);
        }

        #[test]
        fn token_soup_never_panics_and_roundtrips(s in token_soup()) {
            check_roundtrip(&s)?;
        }

        #[test]
        fn json_soup_never_panics_and_roundtrips(s in json_soup()) {
            check_roundtrip(&s)?;
        }

        #[test]
        fn deep_nesting_roundtrips(wrappers in proptest::collection::vec(0usize..7, 0..40)) {
            // Filters up to and just past the depth limit, in every mix of not, and, or and
            // parentheses; those accepted must read back through both printed forms.
            let mut s = String::from("x eq 1");
            for w in wrappers {
                s = match w {
                    0 => format!("not {s}"),
                    1 => format!("not ({s})"),
                    2 => format!("({s} or b eq 2)"),
                    3 => format!("a isnull and ({s} or b in [1, now])"),
                    4 => format!("a eq \"(\" or {s} and b eq 2"),
                    5 => format!("({s})"),
                    _ => format!("(a eq 1 and {s})"),
                };
            }
            check_roundtrip(&s)?;
        }

        #[test]
        fn printed_trees_with_noise_never_panic(e in arb_expr(), cut in any::<prop::sample::Index>(), junk in token_soup()) {
            // A valid filter cut anywhere and continued with junk.
            let printed = to_string(&e);
            let at = printed.char_indices().map(|(i, _)| i).chain([printed.len()]).collect::<Vec<_>>();
            let i = at[cut.index(at.len())];
            let s = format!("{}{}", &printed[..i], junk);
            check_roundtrip(&s)?;
            let json = to_json(&e).to_string();
            let j = json.char_indices().map(|(i, _)| i).chain([json.len()]).collect::<Vec<_>>();
            let k = j[cut.index(j.len())];
            check_roundtrip(&format!("{}{}", &json[..k], junk))?;
        }
    }
}
