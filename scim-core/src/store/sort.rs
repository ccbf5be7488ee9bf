//! Sorting resources by an attribute (RFC 7644 §3.4.2.3), per the attribute's type and
//! `caseExact`.

use std::cmp::Ordering;

use scim_filter::AttrPath;
use serde_json::{Map, Value};

use crate::message::SortOrder;
use crate::registry::ResourceSchema;
use crate::schema::AttrType;

/// How to find and compare one resource's sort key (RFC 7644 §3.4.2.3): the attribute a
/// `sortBy` path names, resolved once against the resource type's schema, read from each
/// resource and compared per its type and `caseExact` ([`compare_for_sort`]). Every store
/// sorts with it, so that they order alike.
///
/// ```
/// use scim_core::Registry;
/// use scim_core::message::SortOrder;
/// use scim_core::store::SortKey;
/// use std::cmp::Ordering;
///
/// let registry = Registry::core();
/// let users = registry.resource_type("User").unwrap();
/// let path = scim_filter::parse_path("name.familyName").unwrap().attr;
/// let key = SortKey::new(&users, &path).unwrap();
/// let a = serde_json::json!({"name": {"familyName": "jensen"}});
/// let b = serde_json::json!({"name": {"familyName": "Smith"}});
/// let (a, b) = (a.as_object().unwrap(), b.as_object().unwrap());
/// assert_eq!(key.compare(a, b, SortOrder::Ascending), Ordering::Less);
/// ```
#[derive(Debug, Clone)]
pub struct SortKey {
    /// The extension object holding the attribute, if any.
    scope: Option<String>,
    attr: String,
    sub: Option<String>,
    attr_type: AttrType,
    case_exact: bool,
}

impl SortKey {
    /// Resolves `path` against `schema`; `None` when it names no attribute (every resource
    /// then has no value and the order is the creation order).
    pub fn new(schema: &ResourceSchema<'_>, path: &AttrPath<'_>) -> Option<Self> {
        let r = schema.resolve(path).ok()?;
        let attr = r.attr?;
        let (sub, leaf) = match r.sub_attr {
            Some(s) => (Some(s.name.clone()), s),
            None if attr.attr_type == AttrType::Complex => {
                let v = attr.sub_attribute("value")?;
                (Some(v.name.clone()), v)
            }
            None => (None, attr),
        };
        Some(SortKey {
            scope: r.is_extension.then(|| r.schema.id.clone()),
            attr: attr.name.clone(),
            sub,
            attr_type: leaf.attr_type,
            case_exact: leaf.case_exact,
        })
    }

    /// The value to sort `resource` (its attributes) by: for a multi-valued attribute, the
    /// primary element (else the first); `None` when it has none.
    pub fn extract<'v>(&self, resource: &'v Map<String, Value>) -> Option<&'v Value> {
        let holder = match &self.scope {
            Some(urn) => resource.get(urn)?.as_object()?,
            None => resource,
        };
        let mut v = holder.get(&self.attr)?;
        if let Value::Array(items) = v {
            v = items
                .iter()
                .find(|e| e.get("primary") == Some(&Value::Bool(true)))
                .or_else(|| items.first())?;
        }
        match &self.sub {
            Some(sub) => v.get(sub),
            None => Some(v),
        }
        .filter(|v| !v.is_null())
    }

    /// Compares two resources' keys in `order`; resources without a value come last in
    /// either order. Equal keys compare equal: sort stably (`sort_by`) over the creation
    /// order to break ties as every store does.
    pub fn compare(
        &self,
        a: &Map<String, Value>,
        b: &Map<String, Value>,
        order: SortOrder,
    ) -> Ordering {
        match (self.extract(a), self.extract(b)) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Greater,
            (Some(_), None) => Ordering::Less,
            (Some(x), Some(y)) => {
                let o = compare_for_sort(x, y, self.attr_type, self.case_exact);
                match order {
                    SortOrder::Ascending => o,
                    SortOrder::Descending => o.reverse(),
                }
            }
        }
    }
}

/// Compares two attribute values for sorting: strings by code point (folded with
/// [`fold`](super::fold) unless `case_exact`), numbers as numbers, `false` before `true`,
/// dateTimes as instants (text that is not a dateTime after those that are). Values of an
/// unexpected JSON type compare after the expected ones.
pub fn compare_for_sort(a: &Value, b: &Value, attr_type: AttrType, case_exact: bool) -> Ordering {
    match attr_type {
        AttrType::Integer | AttrType::Decimal => match (a.as_f64(), b.as_f64()) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            (x, y) => y.is_some().cmp(&x.is_some()),
        },
        AttrType::Boolean => match (a.as_bool(), b.as_bool()) {
            (Some(x), Some(y)) => x.cmp(&y),
            (x, y) => y.is_some().cmp(&x.is_some()),
        },
        AttrType::DateTime => {
            let ta = a.as_str().and_then(|s| s.parse::<jiff::Timestamp>().ok());
            let tb = b.as_str().and_then(|s| s.parse::<jiff::Timestamp>().ok());
            match (ta, tb) {
                (Some(x), Some(y)) => x.cmp(&y),
                (None, None) => compare_text(a, b, true),
                (x, y) => y.is_some().cmp(&x.is_some()),
            }
        }
        _ => compare_text(a, b, case_exact),
    }
}

fn compare_text(a: &Value, b: &Value, case_exact: bool) -> Ordering {
    match (a.as_str(), b.as_str()) {
        (Some(x), Some(y)) if case_exact => x.cmp(y),
        (Some(x), Some(y)) => {
            if x.is_ascii() && y.is_ascii() {
                x.bytes()
                    .map(|c| c.to_ascii_lowercase())
                    .cmp(y.bytes().map(|c| c.to_ascii_lowercase()))
            } else {
                super::fold(x).cmp(&super::fold(y))
            }
        }
        (x, y) => y.is_some().cmp(&x.is_some()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Registry;
    use serde_json::json;

    #[test]
    fn by_type() {
        assert_eq!(
            compare_for_sort(&json!("b"), &json!("A"), AttrType::String, false),
            Ordering::Greater
        );
        assert_eq!(
            compare_for_sort(&json!("b"), &json!("A"), AttrType::String, true),
            Ordering::Greater
        );
        assert_eq!(
            compare_for_sort(&json!("a"), &json!("B"), AttrType::String, true),
            Ordering::Greater
        );
        assert_eq!(
            compare_for_sort(&json!(10), &json!(9), AttrType::Integer, false),
            Ordering::Greater
        );
        assert_eq!(
            compare_for_sort(
                &json!("2020-01-01T01:00:00+02:00"),
                &json!("2020-01-01T00:30:00Z"),
                AttrType::DateTime,
                false
            ),
            Ordering::Less
        );
    }

    #[test]
    fn keys_from_resources() {
        let reg = Registry::core();
        let users = reg.resource_type("User").expect("User");
        let path = scim_filter::parse_path("emails").expect("path").attr;
        let key = SortKey::new(&users, &path).expect("key");
        let a = json!({"emails": [{"value": "z@x"}, {"value": "a@x", "primary": true}]});
        let b = json!({"emails": [{"value": "b@x"}]});
        let c = json!({});
        let (a, b, c) = (
            a.as_object().expect("o"),
            b.as_object().expect("o"),
            c.as_object().expect("o"),
        );
        assert_eq!(key.compare(a, b, SortOrder::Ascending), Ordering::Less);
        assert_eq!(key.compare(a, b, SortOrder::Descending), Ordering::Greater);
        assert_eq!(key.compare(c, a, SortOrder::Descending), Ordering::Greater);
    }
}
