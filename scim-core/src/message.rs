//! The SCIM protocol messages of RFC 7644: [`ListResponse`] (§3.4.2), [`SearchRequest`]
//! (§3.4.3), [`BulkRequest`] and [`BulkResponse`] (§3.7). The Error message is
//! [`crate::Error`]; the PatchOp message lives with the PATCH engine.
//!
//! Messages are strict in what they write (integers as integers, `status` as a string,
//! `Resources: []` on an empty page) and tolerant in what they read: a SearchRequest or
//! BulkRequest without `schemas` is accepted (the method and path say what it is), and
//! numbers sent as strings (`"count": "10"`) are read.

use serde::de::{self, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::Error;

/// The URN of the ListResponse message.
pub const LIST_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
/// The URN of the SearchRequest message.
pub const SEARCH_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";
/// The URN of the BulkRequest message.
pub const BULK_REQUEST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";
/// The URN of the BulkResponse message.
pub const BULK_RESPONSE_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:BulkResponse";
/// The URN of the PatchOp message (the message itself is in the PATCH module).
pub const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Parses a request body as JSON.
///
/// An object that names the same member twice (`{"userName":"a","userName":"b"}`) is
/// refused rather than read as one of them: RFC 8259 leaves its meaning open, and two
/// readers that pick differently (a proxy, a log, this service) would see different
/// resources.
///
/// # Errors
///
/// 400 `invalidValue` for a number out of range (`1e400`); 400 `invalidSyntax` for a
/// repeated member name and for anything else that is not JSON (serde_json also stops at
/// 128 levels of nesting).
pub fn parse_body(body: &[u8]) -> Result<Value, Error> {
    serde_json::from_slice::<UniqueKeys>(body)
        .map(|v| v.0)
        .map_err(|e| {
            let text = e.to_string();
            if text.starts_with("number out of range") {
                Error::invalid_value(format!("the request body holds {text}"))
            } else {
                Error::invalid_syntax(format!("the request body is not valid JSON: {text}"))
            }
        })
}

/// A JSON value read with every object's member names unique. Its nesting is bounded by
/// the deserializer's recursion limit.
struct UniqueKeys(Value);

impl<'de> Deserialize<'de> for UniqueKeys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueKeysVisitor).map(UniqueKeys)
    }
}

struct UniqueKeysVisitor;

impl<'de> de::Visitor<'de> for UniqueKeysVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        UniqueKeys::deserialize(d).map(|v| v.0)
    }
    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(UniqueKeys(v)) = seq.next_element()? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let UniqueKeys(v) = map.next_value()?;
            if out.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "the member name {} appears twice in one object",
                    crate::error::quote_input(&key)
                )));
            }
            out.insert(key, v);
        }
        Ok(Value::Object(out))
    }
}

fn list_response_schemas() -> Vec<String> {
    vec![LIST_RESPONSE_SCHEMA.to_owned()]
}

/// A page of query results (RFC 7644 §3.4.2), generic over the resource type: `Value` for
/// any resource, or a typed view such as [`crate::resource::User`].
///
/// `Resources` is always written, as `[]` on an empty page (identity providers such as
/// JumpCloud want it).
///
/// ```
/// use scim_core::message::ListResponse;
/// use serde_json::json;
///
/// let page = ListResponse::new(vec![json!({"id": "1"})], 3, 1);
/// assert_eq!(serde_json::to_value(&page).unwrap(), json!({
///     "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
///     "totalResults": 3, "startIndex": 1, "itemsPerPage": 1,
///     "Resources": [{"id": "1"}],
/// }));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListResponse<T = Value> {
    /// `["urn:ietf:params:scim:api:messages:2.0:ListResponse"]`.
    #[serde(default = "list_response_schemas")]
    pub schemas: Vec<String>,
    /// How many results the query matched in all.
    #[serde(deserialize_with = "lenient_u64")]
    pub total_results: u64,
    /// The 1-based index of the first result of this page.
    #[serde(default = "one", deserialize_with = "lenient_u64")]
    pub start_index: u64,
    /// How many results this page holds.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub items_per_page: u64,
    /// The results.
    #[serde(rename = "Resources", default = "Vec::new")]
    pub resources: Vec<T>,
}

fn one() -> u64 {
    1
}

impl<T> ListResponse<T> {
    /// A page of `resources` out of `total_results`, starting at `start_index` (1-based);
    /// `itemsPerPage` is the page's length.
    pub fn new(resources: Vec<T>, total_results: u64, start_index: u64) -> Self {
        ListResponse {
            schemas: list_response_schemas(),
            total_results,
            start_index: start_index.max(1),
            items_per_page: resources.len() as u64,
            resources,
        }
    }

    /// The empty result: `totalResults: 0`, `Resources: []` (never a 404).
    pub fn empty() -> Self {
        ListResponse::new(Vec::new(), 0, 1)
    }

    /// Converts each resource.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> ListResponse<U> {
        ListResponse {
            schemas: self.schemas,
            total_results: self.total_results,
            start_index: self.start_index,
            items_per_page: self.items_per_page,
            resources: self.resources.into_iter().map(f).collect(),
        }
    }
}

/// The sort order of a query (RFC 7644 §3.4.2.3), read case-insensitively.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum SortOrder {
    /// Ascending (the default).
    #[default]
    Ascending,
    /// Descending.
    Descending,
}

impl<'de> Deserialize<'de> for SortOrder {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.eq_ignore_ascii_case("ascending") {
            Ok(SortOrder::Ascending)
        } else if s.eq_ignore_ascii_case("descending") {
            Ok(SortOrder::Descending)
        } else {
            Err(de::Error::custom(format!(
                "sortOrder must be \"ascending\" or \"descending\", not {}",
                crate::error::quote_input(&s)
            )))
        }
    }
}

/// A query sent with POST to `/.search` (RFC 7644 §3.4.3). `schemas` may be missing.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SearchRequest {
    /// `["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]` (not required when read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    /// Attributes to return (an array, or a comma-separated string).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "name_list"
    )]
    pub attributes: Option<Vec<String>>,
    /// Attributes not to return (an array, or a comma-separated string).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "name_list"
    )]
    pub excluded_attributes: Option<Vec<String>>,
    /// The filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// The attribute to sort by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_by: Option<String>,
    /// The sort order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sort_order: Option<SortOrder>,
    /// The 1-based index of the first result.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_opt_i64"
    )]
    pub start_index: Option<i64>,
    /// The page size.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_opt_i64"
    )]
    pub count: Option<i64>,
}

impl SearchRequest {
    /// Reads a SearchRequest body.
    ///
    /// # Errors
    ///
    /// 400 `invalidSyntax` when the body is not a SearchRequest (wrong types, unknown sort
    /// order).
    pub fn from_json(value: Value) -> Result<Self, Error> {
        serde_json::from_value(value)
            .map_err(|e| Error::invalid_syntax(format!("invalid SearchRequest: {e}")))
    }

    /// `attributes` joined with commas, as the query parameter would carry it.
    pub fn attributes_param(&self) -> Option<String> {
        self.attributes.as_ref().map(|a| a.join(","))
    }

    /// `excludedAttributes` joined with commas.
    pub fn excluded_attributes_param(&self) -> Option<String> {
        self.excluded_attributes.as_ref().map(|a| a.join(","))
    }
}

/// The HTTP method of a bulk operation (read case-insensitively).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum BulkMethod {
    /// Create.
    Post,
    /// Replace.
    Put,
    /// Modify.
    Patch,
    /// Delete.
    Delete,
}

impl<'de> Deserialize<'de> for BulkMethod {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.to_ascii_uppercase().as_str() {
            "POST" => BulkMethod::Post,
            "PUT" => BulkMethod::Put,
            "PATCH" => BulkMethod::Patch,
            "DELETE" => BulkMethod::Delete,
            _ => {
                return Err(de::Error::custom(format!(
                    "bulk method must be POST, PUT, PATCH or DELETE, not {}",
                    crate::error::quote_input(&s)
                )));
            }
        })
    }
}

/// One operation of a [`BulkRequest`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperation {
    /// The method.
    pub method: BulkMethod,
    /// The client's id for the operation (required with POST), referenced as `bulkId:<id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk_id: Option<String>,
    /// The resource version, for If-Match.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The resource path relative to the base URL (`/Users`, `/Groups/{id}`).
    pub path: String,
    /// The resource body (POST, PUT) or PatchOp (PATCH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// A bulk request (RFC 7644 §3.7). `schemas` may be missing.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkRequest {
    /// `["urn:ietf:params:scim:api:messages:2.0:BulkRequest"]` (not required when read).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    /// Stop after this many errors.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_opt_i64"
    )]
    pub fail_on_errors: Option<i64>,
    /// The operations, in order.
    #[serde(rename = "Operations", alias = "operations", default)]
    pub operations: Vec<BulkOperation>,
}

impl BulkRequest {
    /// Reads a BulkRequest body.
    ///
    /// # Errors
    ///
    /// 400 `invalidSyntax` when the body is not a BulkRequest.
    pub fn from_json(value: Value) -> Result<Self, Error> {
        serde_json::from_value(value)
            .map_err(|e| Error::invalid_syntax(format!("invalid BulkRequest: {e}")))
    }
}

fn status_string<S: serde::Serializer>(status: &u16, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&status.to_string())
}

fn lenient_status<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_u64()
            .and_then(|n| u16::try_from(n).ok())
            .ok_or_else(|| de::Error::custom("status out of range")),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| de::Error::custom("status is not a number")),
        _ => Err(de::Error::custom("status must be a string")),
    }
}

/// The result of one bulk operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkOperationResponse {
    /// The method of the operation.
    pub method: BulkMethod,
    /// The operation's `bulkId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk_id: Option<String>,
    /// The resulting resource version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The resource URI (absent when a POST failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// The response body (an Error on failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
    /// The HTTP status, written as a string.
    #[serde(serialize_with = "status_string", deserialize_with = "lenient_status")]
    pub status: u16,
}

/// A bulk response (RFC 7644 §3.7.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BulkResponse {
    /// `["urn:ietf:params:scim:api:messages:2.0:BulkResponse"]`.
    pub schemas: Vec<String>,
    /// The results, in the order of the request's operations.
    #[serde(rename = "Operations")]
    pub operations: Vec<BulkOperationResponse>,
}

impl BulkResponse {
    /// A response with these results.
    pub fn new(operations: Vec<BulkOperationResponse>) -> Self {
        BulkResponse {
            schemas: vec![BULK_RESPONSE_SCHEMA.to_owned()],
            operations,
        }
    }
}

fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Value::deserialize(d)? {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| de::Error::custom("expected a non-negative integer")),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| de::Error::custom("expected a non-negative integer")),
        _ => Err(de::Error::custom("expected a non-negative integer")),
    }
}

fn lenient_opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| de::Error::custom("expected an integer")),
        Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| de::Error::custom("expected an integer")),
        _ => Err(de::Error::custom("expected an integer")),
    }
}

fn name_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<String>>, D::Error> {
    match Value::deserialize(d)? {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
        )),
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                _ => Err(de::Error::custom("attribute names must be strings")),
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        _ => Err(de::Error::custom(
            "expected an array of attribute names or a comma-separated string",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_with_a_repeated_member_name_are_refused() {
        let e = parse_body(br#"{"userName":"a","userName":"b"}"#).expect_err("repeated");
        assert_eq!(e.scim_type, Some(crate::error::ScimType::InvalidSyntax));
        assert!(e.detail.contains("userName"), "{}", e.detail);
        let e = parse_body(br#"{"a":[{"x":1,"y":{"z":1,"z":2}}]}"#).expect_err("nested");
        assert!(e.detail.contains("\"z\""), "{}", e.detail);
        // The same name in different objects, escapes that differ in spelling only.
        let v = parse_body(br#"{"a":{"k":1},"b":{"k":2},"c":[{"k":3},{"k":4}]}"#).expect("ok");
        assert_eq!(v["c"][1]["k"], 4);
        assert!(parse_body(br#"{"k":1,"\u006b":2}"#).is_err());
        // Every JSON value reads as serde_json reads it.
        let text =
            br#"{"s":"x\n","i":-5,"u":18446744073709551615,"f":1.5,"b":true,"n":null,"a":[]}"#;
        assert_eq!(
            parse_body(text).expect("ok"),
            serde_json::from_slice::<Value>(text).expect("ok")
        );
        let e = parse_body(b"1e400").expect_err("range");
        assert_eq!(e.scim_type, Some(crate::error::ScimType::InvalidValue));
        let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        assert!(parse_body(deep.as_bytes()).is_err(), "recursion is bounded");
    }

    #[test]
    fn empty_list_has_resources() {
        let v = serde_json::to_value(ListResponse::<Value>::empty()).expect("json");
        assert_eq!(v["Resources"], json!([]));
        assert_eq!(v["totalResults"], json!(0));
        let back: ListResponse =
            serde_json::from_value(json!({"totalResults": "2", "Resources": [{}, {}]}))
                .expect("lenient");
        assert_eq!(back.total_results, 2);
        assert_eq!(back.start_index, 1);
    }

    #[test]
    fn typed_list_response() {
        use crate::resource::User;
        let page = ListResponse::new(vec![User::new("a"), User::new("b")], 10, 3);
        let v = serde_json::to_value(&page).expect("json");
        assert_eq!(v["Resources"][1]["userName"], "b");
        assert_eq!(
            (v["itemsPerPage"].clone(), v["startIndex"].clone()),
            (json!(2), json!(3))
        );
        let back: ListResponse<User> = serde_json::from_value(v).expect("typed");
        assert_eq!(back, page);
        let values = back.map(Value::from);
        assert_eq!(values.resources[0]["userName"], "a");
    }

    #[test]
    fn search_request_tolerance() {
        let r = SearchRequest::from_json(json!({
            "attributes": "userName, emails", "filter": "userName eq \"a\"",
            "sortOrder": "DESCENDING", "startIndex": "1", "count": 10
        }))
        .expect("read");
        assert_eq!(r.attributes, Some(vec!["userName".into(), "emails".into()]));
        assert_eq!(r.sort_order, Some(SortOrder::Descending));
        assert_eq!((r.start_index, r.count), (Some(1), Some(10)));
        assert_eq!(r.attributes_param().as_deref(), Some("userName,emails"));
        let e = SearchRequest::from_json(json!({"sortOrder": "sideways"})).expect_err("bad");
        assert_eq!(e.scim_type, Some(crate::ScimType::InvalidSyntax));
    }

    #[test]
    fn bulk_messages() {
        let r = BulkRequest::from_json(json!({
            "failOnErrors": 1,
            "Operations": [{"method": "post", "path": "/Users", "bulkId": "q1", "data": {"userName": "a"}},
                           {"method": "DELETE", "path": "/Users/1", "version": "W/\"1\""}]
        }))
        .expect("read");
        assert_eq!(r.operations[0].method, BulkMethod::Post);
        assert_eq!(r.fail_on_errors, Some(1));
        let resp = BulkResponse::new(vec![BulkOperationResponse {
            method: BulkMethod::Post,
            bulk_id: Some("q1".into()),
            version: None,
            location: Some("https://example.com/v2/Users/1".into()),
            response: None,
            status: 201,
        }]);
        let v = serde_json::to_value(&resp).expect("json");
        assert_eq!(v["Operations"][0]["status"], json!("201"));
        assert_eq!(v["Operations"][0]["method"], json!("POST"));
        let back: BulkResponse = serde_json::from_value(v).expect("back");
        assert_eq!(back, resp);
    }

    #[test]
    fn body_parsing() {
        let e = parse_body(b"{\"n\": 1e400}").expect_err("range");
        assert_eq!(e.scim_type, Some(crate::ScimType::InvalidValue));
        let e = parse_body(b"test\r\n\r\n").expect_err("syntax");
        assert_eq!(e.scim_type, Some(crate::ScimType::InvalidSyntax));
        let deep = "[".repeat(200) + &"]".repeat(200);
        assert!(parse_body(deep.as_bytes()).is_err());
        assert!(parse_body(b"{}").is_ok());
    }
}
