//! Evaluation over many resources at once ([`Filter::select`]): the same answers as
//! [`Filter::matches`] on each, with the resources read from memory a chunk at a time
//! before they are evaluated.
//!
//! A resource that was not used recently is a chain of pointers into memory: the value, its
//! map's node, the member's name text, the member's value. Evaluating one resource waits for
//! each link in turn, and at a hundred thousand resources almost every link is a cache
//! miss. The evaluation of one resource is long (a few hundred instructions), so the
//! processor cannot run far enough ahead to start the next resource's misses while this
//! one's are pending: the misses come one after another.
//!
//! `select` therefore takes the resources a chunk at a time. It first walks the chunk with
//! a short loop that looks up, in each resource, the attribute the filter reads first (the
//! same lookup the evaluation makes) and reads its value; the loop is short enough that the
//! processor has the lookups of many resources in flight at once, so their misses overlap.
//! Then it evaluates each resource of the chunk, in order, from cache. Nothing is kept
//! between calls and nothing is skipped: every resource is evaluated in full.

use std::hint::black_box;

use serde_json::Value;

use super::{AttrSchema, Eval, EvalError, Fallible, NoSchema, Scope, lookup};
use crate::ast::{AttrPath, Filter, FilterRef, Node};

/// Resources read ahead together: enough for the misses of many resources to overlap, few
/// enough that what was read stays in the core's own caches until it is evaluated.
const CHUNK: usize = 128;

impl Filter<'_> {
    /// The positions in `resources` of those that match, in order: what calling
    /// [`Filter::matches`] on each would select, or the first error it would return.
    ///
    /// Meant for a store's scan of many resources that are not in cache: the resources are
    /// taken a chunk at a time, and the attribute the filter reads first is looked up in
    /// every resource of the chunk before any of them is evaluated, so that the cache
    /// misses of the lookups overlap instead of coming one after another.
    ///
    /// ```
    /// use serde_json::json;
    /// let users = [json!({"userName": "bjensen"}), json!({"userName": "jsmith"})];
    /// let filter = scim_filter::parse(r#"userName eq "BJensen""#)?;
    /// assert_eq!(filter.select(&users)?, vec![0]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn select(&self, resources: &[Value]) -> Result<Vec<usize>, EvalError> {
        select(self, &Eval::<NoSchema> { schema: None }, resources).map_err(|e| *e)
    }

    /// [`Filter::select`] with attribute characteristics from `schema`: what calling
    /// [`Filter::matches_with`] on each resource would select.
    pub fn select_with<S: AttrSchema + ?Sized>(
        &self,
        resources: &[Value],
        schema: &S,
    ) -> Result<Vec<usize>, EvalError> {
        select(
            self,
            &Eval {
                schema: Some(schema),
            },
            resources,
        )
        .map_err(|e| *e)
    }
}

fn select<S: AttrSchema + ?Sized>(
    filter: &Filter<'_>,
    eval: &Eval<'_, S>,
    resources: &[Value],
) -> Fallible<Vec<usize>> {
    let root = filter.as_ref();
    let first = first_read(root);
    let mut selected = Vec::new();
    let mut read = 0usize;
    let mut start = 0;
    for chunk in resources.chunks(CHUNK) {
        if let Some(first) = first {
            read = chunk
                .iter()
                .map(|resource| read_ahead(resource, first))
                .fold(read, usize::wrapping_add);
        }
        for (i, resource) in chunk.iter().enumerate() {
            if eval.filter(root, Scope::Resource(resource))? {
                selected.push(start + i);
            }
        }
        start += chunk.len();
    }
    // The reads above are kept only through this.
    black_box(read);
    Ok(selected)
}

/// Elements of a multi-valued attribute read ahead for a value path.
const ELEMENTS: usize = 4;

/// What the evaluation of a filter reads first in every resource.
#[derive(Clone, Copy)]
struct FirstRead<'f> {
    /// The attribute of the filter's leftmost comparison, presence test or value path (`and`
    /// and `or` evaluate their terms in written order, and the first is always evaluated).
    attr: &'f AttrPath<'f>,
    /// When `attr` is a value path's, the attribute its filter reads first in each element.
    within: Option<&'f AttrPath<'f>>,
}

fn first_read<'f>(mut filter: FilterRef<'f, 'f>) -> Option<FirstRead<'f>> {
    // Each step goes one level down, and a parsed filter is at most its nesting budget deep;
    // a value path's filter holds no further value path, so the one call below goes no
    // deeper than this one.
    loop {
        match filter.node() {
            Node::Compare(cmp) => return Some(FirstRead::of(&cmp.attr)),
            Node::Present(path) => return Some(FirstRead::of(path)),
            Node::ValuePath(attr, inner) => {
                return Some(FirstRead {
                    attr,
                    within: first_read(inner).map(|f| f.attr),
                });
            }
            Node::Not(inner) => filter = inner,
            Node::And(mut terms) | Node::Or(mut terms) => filter = terms.next()?,
        }
    }
}

impl<'f> FirstRead<'f> {
    fn of(attr: &'f AttrPath<'f>) -> Self {
        FirstRead { attr, within: None }
    }
}

/// Looks the first attribute up in `resource` as the evaluation will (which reads the
/// member node and the text of the names it compares) and reads the slot of the value found
/// (not a string's text: a comparison often decides from the length alone); for a value
/// path, the same in each of the first elements. The result means nothing; it only keeps
/// the reads from being optimised away.
#[inline]
fn read_ahead(resource: &Value, first: FirstRead<'_>) -> usize {
    match (lookup::resolve(resource, first.attr), first.within) {
        (Some(Value::Array(items)), Some(within)) => items
            .iter()
            .take(ELEMENTS)
            .map(|element| lookup::sub_value(element, within.name()).map_or(0, slot))
            .fold(items.len(), usize::wrapping_add),
        (Some(value), _) => slot(value),
        (None, _) => 0,
    }
}

/// A value's slot, read: its kind and length.
#[inline]
fn slot(value: &Value) -> usize {
    match value {
        Value::String(text) => text.len(),
        Value::Array(items) => {
            items.len() ^ usize::from(items.first().is_some_and(Value::is_object))
        }
        Value::Object(members) => members.len(),
        Value::Null => 0,
        Value::Bool(_) | Value::Number(_) => 1,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{CHUNK, first_read};
    use crate::parse;

    /// Resources shaped in many ways, `n` of them.
    fn mixed(n: usize) -> Vec<serde_json::Value> {
        (0..n)
            .map(|i| match i % 7 {
                0 => json!({"userName": format!("User{i}"), "title": "Boss"}),
                1 => json!({"USERNAME": "bjensen", "emails": [{"type": "work", "value": "b@example.com"}]}),
                2 => json!({"userName": "\u{212A}elvin", "active": i % 2 == 0}),
                3 => json!(null),
                4 => json!({
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":
                        {"userName": "bjensen", "employeeNumber": format!("{i}")}
                }),
                5 => json!(["not", "an", "object"]),
                _ => json!({"userName": "bjensen", "title": null, "emails": []}),
            })
            .collect()
    }

    /// `select` against `matches` on each, over resources shaped in many ways and slices
    /// that end inside, at and after the chunk boundaries.
    #[test]
    fn select_is_matches_on_each() {
        let resources = mixed(3 * CHUNK + 5);
        for text in [
            r#"userName eq "bjensen""#,
            r#"userName eq "kelvin" or userName sw "user1""#,
            r#"userName eq "bjensen" and (emails[type eq "work" and value co "@example.com"] or not (title pr))"#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber gt "3""#,
            "active eq true",
            "title pr",
            "not (userName pr)",
            r#"emails[type eq "work"] or title pr"#,
            r#"(not (title pr) or userName eq "x") and active eq false"#,
        ] {
            let filter = parse(text).expect("parses");
            let want: Vec<usize> = resources
                .iter()
                .enumerate()
                .filter(|(_, r)| filter.matches(r).expect("evaluates"))
                .map(|(i, _)| i)
                .collect();
            assert!(
                !want.is_empty() || text.starts_with("not"),
                "{text} selects some"
            );
            for len in [
                0,
                1,
                7,
                CHUNK - 1,
                CHUNK,
                CHUNK + 1,
                2 * CHUNK,
                2 * CHUNK + 3,
                resources.len(),
            ] {
                let part = &resources[..len];
                let want: Vec<usize> = want.iter().copied().filter(|&i| i < len).collect();
                assert_eq!(filter.select(part), Ok(want), "{text} over {len}");
            }
        }
    }

    /// The attribute read ahead is the one the evaluation reads first.
    #[test]
    fn the_first_read_is_the_leftmost_attribute() {
        for (text, first) in [
            (r#"userName eq "x""#, "userName"),
            ("title pr", "title"),
            (r#"emails[type eq "work"] and userName eq "x""#, "emails"),
            (r#"not (nickName pr) or userName eq "x""#, "nickName"),
            (
                r#"((name.givenName sw "a" and x pr) or y pr) and z pr"#,
                "name.givenName",
            ),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "1""#,
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            ),
        ] {
            let filter = parse(text).expect("parses");
            let read = first_read(filter.as_ref()).expect("a first attribute");
            assert_eq!(read.attr.to_string(), first, "{text}");
            let within = read.within.map(ToString::to_string);
            let want = (first == "emails").then(|| "type".to_owned());
            assert_eq!(within, want, "{text}");
        }
    }

    /// `select` returns the error `matches` on each in order meets first: in the first
    /// chunk, and in a later chunk after matches in earlier ones.
    #[test]
    fn select_returns_the_first_error() {
        let small = vec![
            json!({"title": "a"}),
            json!({"title": true}),
            json!({"title": {"display": "x"}}),
        ];
        let mut large: Vec<_> = (0..2 * CHUNK)
            .map(|i| json!({"title": format!("t{i}")}))
            .collect();
        large[CHUNK + 3] = json!({"title": {"display": "x"}});
        large.push(json!({"title": true}));
        for (text, resources) in [(r#"title gt "b""#, &small), (r#"title gt "t5""#, &large)] {
            let filter = parse(text).expect("parses");
            let first = resources
                .iter()
                .find_map(|r| filter.matches(r).err())
                .expect("one errs");
            assert_eq!(filter.select(resources), Err(first), "{text}");
        }
        let filter = parse(r#"title gt "t5""#).expect("parses");
        assert!(
            filter
                .select(&large[..CHUNK + 3])
                .is_ok_and(|s| !s.is_empty())
        );
    }
}
