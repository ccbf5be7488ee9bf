//! AST to canonical text.
//!
//! The canonical form uses lower-case keywords and operators, single spaces, names as
//! written, numbers as written and strings as JSON with only `"`, `\` and control characters
//! escaped. Every `and`/`or` group nested in another is parenthesised and `not` is always
//! written `not (...)`, so that parsing the printed text gives back the same tree:
//! `parse(&f.to_string()) == Ok(f)` for every filter whose `and`/`or` nodes have at least
//! two children and whose value paths are not nested (which holds for every parsed filter).
//!
//! Printing recurses once per tree level; a parsed filter's depth is bounded by the parser's
//! nesting budget.

use std::fmt::{self, Write};

use crate::ast::{
    AttrPath, CompValue, CompareOp, Comparison, Filter, FilterRef, Node, Path, Terms,
};

/// `filter=userName eq "bjensen"` is printed as `userName eq "bjensen"`.
impl fmt::Display for Filter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.as_ref(), f)
    }
}

/// The subtree, printed as the filter it is part of prints it.
impl fmt::Display for FilterRef<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.node() {
            Node::Compare(c) => c.fmt(f),
            Node::Present(a) => {
                fmt::Display::fmt(a, f)?;
                f.write_str(" pr")
            }
            Node::Not(inner) => {
                f.write_str("not (")?;
                fmt::Display::fmt(&inner, f)?;
                f.write_char(')')
            }
            Node::And(terms) => write_chain(f, terms, " and "),
            Node::Or(terms) => write_chain(f, terms, " or "),
            Node::ValuePath(attr, inner) => {
                write_urn_name(f, attr)?;
                f.write_char('[')?;
                fmt::Display::fmt(&inner, f)?;
                f.write_char(']')?;
                write_sub_attr(f, attr)
            }
        }
    }
}

/// Writes `terms` joined by `sep`, parenthesising the ones that are themselves chains.
fn write_chain(f: &mut fmt::Formatter<'_>, terms: Terms<'_, '_>, sep: &str) -> fmt::Result {
    for (i, term) in terms.enumerate() {
        if i > 0 {
            f.write_str(sep)?;
        }
        if matches!(term.node(), Node::And(_) | Node::Or(_)) {
            f.write_char('(')?;
            fmt::Display::fmt(&term, f)?;
            f.write_char(')')?;
        } else {
            fmt::Display::fmt(&term, f)?;
        }
    }
    Ok(())
}

/// `attrPath op value`, e.g. `meta.lastModified gt "2011-05-13T04:42:34Z"`.
impl fmt::Display for Comparison<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.attr, f)?;
        f.write_char(' ')?;
        f.write_str(self.op.as_str())?;
        f.write_char(' ')?;
        fmt::Display::fmt(&self.value, f)
    }
}

/// `urn:name.sub` as written, e.g. `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
impl fmt::Display for AttrPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_urn_name(f, self)?;
        write_sub_attr(f, self)
    }
}

fn write_sub_attr(f: &mut fmt::Formatter<'_>, attr: &AttrPath<'_>) -> fmt::Result {
    if let Some(sub) = attr.sub_attr() {
        f.write_char('.')?;
        f.write_str(sub)?;
    }
    Ok(())
}

fn write_urn_name(f: &mut fmt::Formatter<'_>, attr: &AttrPath<'_>) -> fmt::Result {
    if let Some(urn) = attr.urn() {
        f.write_str(urn)?;
        f.write_char(':')?;
    }
    f.write_str(attr.name())
}

/// The operator in lower case (`eq`).
impl fmt::Display for CompareOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `null`, `true`, `false`, the number as written, or a JSON string.
impl fmt::Display for CompValue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CompValue::Null => f.write_str("null"),
            CompValue::Bool(true) => f.write_str("true"),
            CompValue::Bool(false) => f.write_str("false"),
            CompValue::Number(n) => f.write_str(n.as_str()),
            CompValue::String(s) => write_json_string(f, s),
        }
    }
}

/// Writes `s` as a JSON string: `"` and `\` escaped, control characters as `\n`-style
/// short escapes or `\u00XX`, everything else as is.
fn write_json_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_char('"')?;
    let mut start = 0;
    for (i, c) in s.char_indices() {
        let short = match c {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            '\u{8}' => "\\b",
            '\u{c}' => "\\f",
            c if c.is_control() => "",
            _ => continue,
        };
        f.write_str(&s[start..i])?;
        if short.is_empty() {
            write!(f, "\\u{:04x}", c as u32)?;
        } else {
            f.write_str(short)?;
        }
        start = i + c.len_utf8();
    }
    f.write_str(&s[start..])?;
    f.write_char('"')
}

/// `attr`, `attr.sub`, `attr[filter]` or `attr[filter].sub`.
impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_urn_name(f, &self.attr)?;
        if let Some(filter) = &self.filter {
            f.write_char('[')?;
            fmt::Display::fmt(filter, f)?;
            f.write_char(']')?;
        }
        write_sub_attr(f, &self.attr)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::ast::Number;

    fn present(name: &str) -> Filter<'_> {
        Filter::present(AttrPath::new(name))
    }

    #[test]
    fn strings_are_json_escaped() {
        let v = CompValue::String(Cow::Borrowed("a\"b\\c\n\u{1}\u{7f}é😀/"));
        assert_eq!(v.to_string(), r#""a\"b\\c\n\u0001\u007fé😀/""#);
        let back: String = serde_json::from_str(&v.to_string()).unwrap();
        assert_eq!(back, "a\"b\\c\n\u{1}\u{7f}é😀/");
    }

    #[test]
    fn nested_groups_are_parenthesised() {
        let f = Filter::and([
            present("a"),
            Filter::or([present("b"), present("c")]),
            Filter::and([present("d"), present("e")]),
            Filter::not(present("f")),
        ]);
        assert_eq!(
            f.to_string(),
            "a pr and (b pr or c pr) and (d pr and e pr) and not (f pr)"
        );
        let f = Filter::or([Filter::and([present("a"), present("b")]), present("c")]);
        assert_eq!(f.to_string(), "(a pr and b pr) or c pr");
    }

    #[test]
    fn paths_and_values() {
        let a = AttrPath::new("manager")
            .with_urn("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
            .with_sub_attr("value");
        assert_eq!(
            a.to_string(),
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
        );
        let p = Path {
            attr: AttrPath::new("emails").with_sub_attr("value"),
            filter: Some(Filter::from(Comparison {
                attr: AttrPath::new("type"),
                op: CompareOp::Eq,
                value: CompValue::Number(Number::new("-1.5e3").unwrap()),
            })),
        };
        assert_eq!(p.to_string(), "emails[type eq -1.5e3].value");
        assert_eq!(CompValue::Null.to_string(), "null");
        assert_eq!(CompValue::Bool(false).to_string(), "false");
        assert_eq!(CompareOp::Ge.to_string(), "ge");
    }
}
