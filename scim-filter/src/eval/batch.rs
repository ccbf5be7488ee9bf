//! Evaluation over many resources at once ([`Filter::select`]): the same answers as
//! [`Filter::matches`] on each, with the next resources' member nodes read from memory
//! while the current ones are evaluated.
//!
//! A resource that was not used recently is a chain of pointers into memory: the value, its
//! map's node, the member names' text. Evaluating one resource waits for each link in turn,
//! and at a hundred thousand resources almost every link is a cache miss. Reading the node
//! of each resource two groups ahead of its evaluation, a group at a time, lets the
//! processor wait for the nodes of a whole group at once instead of one after another.
//! (Reading the names' text ahead too was tried: walking the members a second time cost
//! more than it saved.) Nothing is kept between calls and nothing is skipped: every
//! resource is evaluated in full, in order.

use std::hint::black_box;

use serde_json::Value;

use super::{AttrSchema, Eval, EvalError, Fallible, NoSchema, Scope};
use crate::ast::Filter;

/// Resources read ahead together.
const GROUP: usize = 8;

impl Filter<'_> {
    /// The positions in `resources` of those that match, in order: what calling
    /// [`Filter::matches`] on each would select, or the first error it would return.
    ///
    /// Meant for a store's scan of many resources that are not in cache: the node holding
    /// each resource's top-level members is read from memory ahead of its evaluation,
    /// together with those of its neighbours, so that their cache misses overlap.
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
    let mut selected = Vec::new();
    let mut warmed = 0usize;
    let mut warm = |group: Option<&[Value]>| {
        if let Some(group) = group {
            warmed ^= group.iter().map(warm_node).fold(0, usize::wrapping_add);
        }
    };
    let mut groups = resources.chunks(GROUP);
    let mut ahead = groups.clone().skip(2);
    warm(groups.clone().next());
    warm(groups.clone().nth(1));
    let mut start = 0;
    for group in groups.by_ref() {
        warm(ahead.next());
        for (i, resource) in group.iter().enumerate() {
            if eval.filter(filter.as_ref(), Scope::Resource(resource))? {
                selected.push(start + i);
            }
        }
        start += group.len();
    }
    // The reads above are kept only through this.
    black_box(warmed);
    Ok(selected)
}

/// Reads the node of `resource`'s members that holds its last member (for the few members
/// of a SCIM resource, the only node): its length and its last name and value slots.
#[inline]
fn warm_node(resource: &Value) -> usize {
    match resource {
        Value::Object(members) => members
            .iter()
            .next_back()
            .map_or(0, |(k, v)| k.len() ^ usize::from(v.is_string())),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::parse;

    /// `select` against `matches` on each, over resources shaped in many ways.
    #[test]
    fn select_is_matches_on_each() {
        let resources: Vec<_> = (0..50)
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
            .collect();
        for text in [
            r#"userName eq "bjensen""#,
            r#"userName eq "kelvin" or userName sw "user1""#,
            r#"userName eq "bjensen" and (emails[type eq "work" and value co "@example.com"] or not (title pr))"#,
            r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber gt "3""#,
            "active eq true",
            "title pr",
            "not (userName pr)",
        ] {
            let filter = parse(text).expect("parses");
            let want: Vec<usize> = resources
                .iter()
                .enumerate()
                .filter(|(_, r)| filter.matches(r).expect("evaluates"))
                .map(|(i, _)| i)
                .collect();
            for len in [0, 1, 7, 8, 9, 16, 17, 23, 24, 25, resources.len()] {
                let part = &resources[..len];
                let want: Vec<usize> = want.iter().copied().filter(|&i| i < len).collect();
                assert_eq!(filter.select(part), Ok(want), "{text} over {len}");
            }
        }
    }

    #[test]
    fn select_returns_the_first_error() {
        let resources = [
            json!({"title": "a"}),
            json!({"title": true}),
            json!({"title": {"display": "x"}}),
        ];
        let filter = parse(r#"title gt "b""#).expect("parses");
        let first = resources
            .iter()
            .find_map(|r| filter.matches(r).err())
            .expect("one errs");
        assert_eq!(filter.select(&resources), Err(first));
    }
}
