//! Selecting the elements of a multi-valued attribute that a value path's filter matches,
//! and building the element an unmatched `eq` filter describes.

use scim_filter::{AttrSchema, Characteristics, CompValue, CompareOp, Filter, FilterRef, Node};
use serde_json::{Map, Value};

use crate::error::{Error, quote_input};
use crate::schema::{AttrType, AttributeDef};

/// Attribute characteristics for evaluating a value path's filter against one element of a
/// multi-valued attribute.
///
/// Inside `emails[type eq "work"]` the condition names `type`, a sub-attribute of `emails`:
/// this adapter answers for the bare name `type` with the characteristics of `emails.type`,
/// so the filter is evaluated against each element object with the schema's `caseExact` and
/// types. For a multi-valued attribute of simple values (no sub-attributes), the name `value`
/// stands for the element itself (evaluated against `{"value": element}`).
///
/// ```
/// use scim_core::{Registry, patch::ElementSchema};
/// use scim_filter::AttrSchema;
///
/// let registry = Registry::core();
/// let users = registry.resource_type("User").unwrap();
/// let emails = users.resolve_parts(None, "emails", None).unwrap().attr.unwrap();
/// let element = ElementSchema::new(emails);
/// assert!(element.characteristics(None, "TYPE", None).is_some());
/// assert!(element.characteristics(None, "givenName", None).is_none());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ElementSchema<'d> {
    attr: &'d AttributeDef,
}

impl<'d> ElementSchema<'d> {
    /// The adapter for the elements of `attr`.
    pub fn new(attr: &'d AttributeDef) -> Self {
        ElementSchema { attr }
    }

    /// The definition a name inside the filter refers to.
    fn def(&self, name: &str, sub_attr: Option<&str>) -> Option<&'d AttributeDef> {
        match sub_attr {
            None => self.attr.sub_attribute(name).or_else(|| {
                (self.attr.sub_attributes.is_empty() && name.eq_ignore_ascii_case("value"))
                    .then_some(self.attr)
            }),
            // `emails.type` written out in full inside the brackets.
            Some(sub) if name.eq_ignore_ascii_case(&self.attr.name) => self.attr.sub_attribute(sub),
            Some(_) => None,
        }
    }
}

impl AttrSchema for ElementSchema<'_> {
    fn characteristics(
        &self,
        urn: Option<&str>,
        name: &str,
        sub_attr: Option<&str>,
    ) -> Option<Characteristics> {
        if urn.is_some() {
            return None;
        }
        let def = self.def(name, sub_attr)?;
        Some(Characteristics {
            attr_type: def.attr_type,
            // One element is tested at a time.
            multi_valued: false,
            case_exact: def.case_exact,
        })
    }
}

/// Checks a value path's filter before it is used: every name must be a sub-attribute of
/// `attr` (400 `invalidPath`), and every operator must suit its attribute's type
/// (400 `invalidFilter`).
pub(super) fn check_filter(
    attr: &AttributeDef,
    filter: &Filter<'_>,
    path_text: &str,
) -> Result<(), Error> {
    let schema = ElementSchema::new(attr);
    if let Some(name) = unknown_name(&schema, filter.as_ref()) {
        return Err(Error::invalid_path(format!(
            "the filter in path {} names {}, which is not a sub-attribute of {}",
            quote_input(path_text),
            quote_input(&name),
            quote_input(&attr.name)
        )));
    }
    filter
        .check(&schema)
        .map_err(|e| Error::invalid_filter(format!("in path {}: {e}", quote_input(path_text))))
}

/// The first name in the filter the element schema does not know. Recursion is bounded by
/// the parser's nesting budget.
fn unknown_name(schema: &ElementSchema<'_>, filter: FilterRef<'_, '_>) -> Option<String> {
    let check = |p: &scim_filter::AttrPath<'_>| {
        schema
            .characteristics(p.urn(), p.name(), p.sub_attr())
            .is_none()
            .then(|| attr_path_text(p))
    };
    match filter.node() {
        Node::Compare(c) => check(&c.attr),
        Node::Present(p) => check(p),
        Node::Not(f) => unknown_name(schema, f),
        Node::And(mut fs) | Node::Or(mut fs) => fs.find_map(|f| unknown_name(schema, f)),
        // The grammar allows no value path inside a value path.
        Node::ValuePath(attr, _) => Some(attr_path_text(attr)),
    }
}

/// `urn:name.sub` as written.
fn attr_path_text(p: &scim_filter::AttrPath<'_>) -> String {
    let mut s = String::new();
    if let Some(urn) = p.urn() {
        s.push_str(urn);
        s.push(':');
    }
    s.push_str(p.name());
    if let Some(sub) = p.sub_attr() {
        s.push('.');
        s.push_str(sub);
    }
    s
}

/// The indices of the elements of `attr` that `filter` matches.
pub(super) fn select(
    attr: &AttributeDef,
    filter: &Filter<'_>,
    items: &[Value],
    path_text: &str,
) -> Result<Vec<usize>, Error> {
    let schema = ElementSchema::new(attr);
    let simple = attr.attr_type != AttrType::Complex;
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let matched = if simple && !item.is_object() {
            let mut wrapped = Map::new();
            wrapped.insert("value".to_owned(), item.clone());
            filter.matches_with(&Value::Object(wrapped), &schema)
        } else {
            filter.matches_with(item, &schema)
        }
        .map_err(|e| Error::invalid_filter(format!("in path {}: {e}", quote_input(path_text))))?;
        if matched {
            out.push(i);
        }
    }
    Ok(out)
}

/// The element a filter of `eq` comparisons joined by `and` describes
/// (`type eq "work" and primary eq true` -> `{"type": "work", "primary": true}`), or `None`
/// when the filter has any other form or contradicts itself.
pub(super) fn element_from_filter(
    attr: &AttributeDef,
    filter: &Filter<'_>,
) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    collect_eq(attr, filter.as_ref(), &mut out)?;
    Some(out)
}

fn collect_eq(
    attr: &AttributeDef,
    filter: FilterRef<'_, '_>,
    out: &mut Map<String, Value>,
) -> Option<()> {
    match filter.node() {
        Node::Compare(c) if c.op == CompareOp::Eq && c.attr.urn().is_none() => {
            let def = ElementSchema::new(attr).def(c.attr.name(), c.attr.sub_attr())?;
            if std::ptr::eq(def, attr) {
                // `value` of a simple multi-valued attribute: not an object member.
                return None;
            }
            let value = match &c.value {
                CompValue::Null => return None,
                CompValue::Bool(b) => Value::Bool(*b),
                CompValue::Number(n) => serde_json::from_str::<Value>(n.as_str()).ok()?,
                CompValue::String(s) => Value::String(s.to_string()),
            };
            match out.get(&def.name) {
                Some(existing) if *existing != value => None,
                _ => {
                    out.insert(def.name.clone(), value);
                    Some(())
                }
            }
        }
        Node::And(mut fs) => fs.try_for_each(|f| collect_eq(attr, f, out)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Registry;
    use scim_filter::{AttrPath, Comparison};
    use serde_json::json;

    fn eq<'a>(name: &'a str, value: CompValue<'a>) -> Filter<'a> {
        Filter::from(Comparison {
            attr: AttrPath::new(name),
            op: CompareOp::Eq,
            value,
        })
    }

    #[test]
    fn adapter_maps_bare_names_to_sub_attributes() {
        let reg = Registry::core();
        let users = reg.resource_type("User").expect("User");
        let emails = users
            .resolve_parts(None, "emails", None)
            .expect("emails")
            .attr
            .expect("attr");
        let s = ElementSchema::new(emails);
        let c = s.characteristics(None, "primary", None).expect("primary");
        assert_eq!(c.attr_type, AttrType::Boolean);
        assert!(!c.multi_valued);
        assert!(s.characteristics(None, "emails", Some("value")).is_some());
        assert!(s.characteristics(None, "name", Some("value")).is_none());
        assert!(s.characteristics(Some("urn:x"), "value", None).is_none());
        let tags = AttributeDef::new("tags", AttrType::String).multi_valued();
        let t = ElementSchema::new(&tags);
        assert_eq!(
            t.characteristics(None, "value", None).map(|c| c.attr_type),
            Some(AttrType::String)
        );
    }

    #[test]
    fn elements_from_eq_filters() {
        let reg = Registry::core();
        let users = reg.resource_type("User").expect("User");
        let emails = users
            .resolve_parts(None, "emails", None)
            .expect("emails")
            .attr
            .expect("attr");
        let f = eq("TYPE", CompValue::String("work".into()));
        assert_eq!(
            element_from_filter(emails, &f).map(Value::Object),
            Some(json!({"type": "work"}))
        );
        let f = Filter::and([
            eq("type", CompValue::String("work".into())),
            Filter::and([eq("primary", CompValue::Bool(true))]),
        ]);
        assert_eq!(
            element_from_filter(emails, &f).map(Value::Object),
            Some(json!({"type": "work", "primary": true}))
        );
        // Contradiction, other operators, or, unknown names: nothing to build.
        let f = Filter::and([
            eq("type", CompValue::String("work".into())),
            eq("type", CompValue::String("home".into())),
        ]);
        assert!(element_from_filter(emails, &f).is_none());
        let f = Filter::or([eq("type", CompValue::String("work".into()))]);
        assert!(element_from_filter(emails, &f).is_none());
        assert!(element_from_filter(emails, &eq("bogus", CompValue::Bool(true))).is_none());
        assert!(element_from_filter(emails, &eq("type", CompValue::Null)).is_none());
        let f = Filter::present(AttrPath::new("type"));
        assert!(element_from_filter(emails, &f).is_none());
        let f = Filter::from(Comparison {
            attr: AttrPath::new("value"),
            op: CompareOp::Co,
            value: CompValue::String("x".into()),
        });
        assert!(element_from_filter(emails, &f).is_none());
    }

    #[test]
    fn unknown_filter_names_are_invalid_paths() {
        let reg = Registry::core();
        let users = reg.resource_type("User").expect("User");
        let emails = users
            .resolve_parts(None, "emails", None)
            .expect("emails")
            .attr
            .expect("attr");
        let f = Filter::not(eq("nope", CompValue::Bool(true)));
        let e = check_filter(emails, &f, "emails[not (nope eq true)]").expect_err("unknown");
        assert_eq!(e.scim_type, Some(crate::ScimType::InvalidPath));
        assert!(e.detail.contains("nope"), "{}", e.detail);
        assert!(check_filter(emails, &eq("type", CompValue::Null), "emails[type eq null]").is_ok());
    }
}
