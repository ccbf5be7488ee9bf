//! Discovery (RFC 7644 §4, RFC 7643 §5–§7): the [`ServiceProviderConfig`] type, and the
//! `/Schemas` and `/ResourceTypes` bodies generated from a [`Registry`] — never hand-written
//! JSON, so a schema or extension a service registers is discovered as soon as it is
//! registered.
//!
//! ```
//! use scim_core::{Registry, discovery::{self, ServiceProviderConfig}};
//!
//! let registry = Registry::core();
//! let base = "https://example.com/scim/v2";
//! let schemas = discovery::schemas_list(&registry, base);
//! assert_eq!(schemas.total_results, 3);
//! let config = ServiceProviderConfig::default().with_bulk(100, 1 << 20);
//! let json = config.to_resource(base);
//! assert_eq!(json["bulk"]["maxOperations"], 100);
//! assert_eq!(json["meta"]["location"], "https://example.com/scim/v2/ServiceProviderConfig");
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::message::ListResponse;
use crate::registry::Registry;
use crate::resource::Meta;
use crate::schema::{
    RESOURCE_TYPE_SCHEMA, ResourceType, SCHEMA_SCHEMA, SERVICE_PROVIDER_CONFIG_SCHEMA, Schema,
};

/// A discovery resource: `schemas`, the resource's own fields, and `meta` (RFC 7643 §6, §7:
/// a [`ResourceType`] or a [`Schema`] as served by `/ResourceTypes` and `/Schemas`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discovered<T> {
    /// The message schema (`urn:...:core:2.0:Schema` or `urn:...:core:2.0:ResourceType`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    /// The resource itself.
    #[serde(flatten)]
    pub resource: T,
    /// `resourceType` and `location`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

fn trim_base(base_url: &str) -> &str {
    base_url.trim_end_matches('/')
}

fn meta(resource_type: &str, location: String) -> Option<Meta> {
    Some(Meta {
        resource_type: Some(resource_type.to_owned()),
        location: Some(location),
        ..Meta::default()
    })
}

/// One schema as a `/Schemas` resource.
pub fn schema_resource(schema: &Schema, base_url: &str) -> Discovered<Schema> {
    Discovered {
        schemas: vec![SCHEMA_SCHEMA.to_owned()],
        meta: meta(
            "Schema",
            format!("{}/Schemas/{}", trim_base(base_url), schema.id),
        ),
        resource: schema.clone(),
    }
}

/// One resource type as a `/ResourceTypes` resource.
pub fn resource_type_resource(rt: &ResourceType, base_url: &str) -> Discovered<ResourceType> {
    Discovered {
        schemas: vec![RESOURCE_TYPE_SCHEMA.to_owned()],
        meta: meta(
            "ResourceType",
            format!("{}/ResourceTypes/{}", trim_base(base_url), rt.id),
        ),
        resource: rt.clone(),
    }
}

fn to_json<T: Serialize>(v: &T) -> Value {
    // Schemas, resource types and the configuration hold only strings, booleans and
    // integers: serialisation cannot fail.
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// The `/Schemas` body: every registered schema, in registration order.
pub fn schemas_list(registry: &Registry, base_url: &str) -> ListResponse<Value> {
    let all: Vec<Value> = registry
        .schemas()
        .iter()
        .map(|s| to_json(&schema_resource(s, base_url)))
        .collect();
    let n = all.len() as u64;
    ListResponse::new(all, n, 1)
}

/// The `/Schemas/{urn}` body, if the schema is registered.
pub fn schema_by_id(registry: &Registry, urn: &str, base_url: &str) -> Option<Value> {
    registry
        .schema(urn)
        .map(|s| to_json(&schema_resource(s, base_url)))
}

/// The `/ResourceTypes` body: every registered resource type, in registration order.
pub fn resource_types_list(registry: &Registry, base_url: &str) -> ListResponse<Value> {
    let all: Vec<Value> = registry
        .resource_types()
        .iter()
        .map(|rt| to_json(&resource_type_resource(rt, base_url)))
        .collect();
    let n = all.len() as u64;
    ListResponse::new(all, n, 1)
}

/// The `/ResourceTypes/{id}` body, if the resource type is registered (case-insensitive).
pub fn resource_type_by_id(registry: &Registry, id: &str, base_url: &str) -> Option<Value> {
    registry
        .resource_types()
        .iter()
        .find(|rt| rt.id.eq_ignore_ascii_case(id) || rt.name.eq_ignore_ascii_case(id))
        .map(|rt| to_json(&resource_type_resource(rt, base_url)))
}

/// A `{"supported": bool}` feature of the [`ServiceProviderConfig`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Supported {
    /// Whether the feature is supported.
    pub supported: bool,
}

/// The `bulk` feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BulkConfig {
    /// Whether `/Bulk` is supported.
    pub supported: bool,
    /// The most operations one request may hold.
    pub max_operations: u64,
    /// The largest request body, in bytes.
    pub max_payload_size: u64,
}

/// The `filter` feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FilterConfig {
    /// Whether filtering is supported.
    pub supported: bool,
    /// The most resources a query returns.
    pub max_results: u64,
}

/// An authentication scheme (RFC 7643 §5 `authenticationSchemes`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationScheme {
    /// `oauth`, `oauth2`, `oauthbearertoken`, `httpbasic` or `httpdigest`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The scheme's name.
    pub name: String,
    /// A description.
    pub description: String,
    /// The URI of the specification.
    #[serde(default, rename = "specUri", skip_serializing_if = "Option::is_none")]
    pub spec_uri: Option<String>,
    /// The URI of the service's documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_uri: Option<String>,
    /// Whether this is the preferred scheme.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}

impl AuthenticationScheme {
    /// The OAuth 2.0 bearer token scheme (RFC 6750), which identity providers use.
    pub fn oauth_bearer_token() -> Self {
        AuthenticationScheme {
            kind: "oauthbearertoken".to_owned(),
            name: "OAuth Bearer Token".to_owned(),
            description: "Authentication scheme using the OAuth Bearer Token Standard".to_owned(),
            spec_uri: Some("https://www.rfc-editor.org/info/rfc6750".to_owned()),
            documentation_uri: None,
            primary: Some(true),
        }
    }
}

/// The service provider's configuration (RFC 7643 §5), served at `/ServiceProviderConfig`.
///
/// The default describes what this crate's protocol service implements: PATCH, bulk (1000
/// operations, 1 MiB), filter (200 results), sort and ETags supported, password change not,
/// authentication by OAuth bearer token. Adjust it with the `with_*` builders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceProviderConfig {
    /// `["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub schemas: Vec<String>,
    /// The URI of the service's help documentation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub documentation_uri: Option<String>,
    /// PATCH.
    pub patch: Supported,
    /// Bulk.
    pub bulk: BulkConfig,
    /// Filtering.
    pub filter: FilterConfig,
    /// Password change.
    pub change_password: Supported,
    /// Sorting.
    pub sort: Supported,
    /// ETags.
    pub etag: Supported,
    /// Authentication schemes.
    #[serde(default)]
    pub authentication_schemes: Vec<AuthenticationScheme>,
    /// `meta`, when read from a service or written by [`ServiceProviderConfig::to_resource`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

impl Default for ServiceProviderConfig {
    fn default() -> Self {
        ServiceProviderConfig {
            schemas: vec![SERVICE_PROVIDER_CONFIG_SCHEMA.to_owned()],
            documentation_uri: None,
            patch: Supported { supported: true },
            bulk: BulkConfig {
                supported: true,
                max_operations: 1000,
                max_payload_size: 1 << 20,
            },
            filter: FilterConfig {
                supported: true,
                max_results: 200,
            },
            change_password: Supported { supported: false },
            sort: Supported { supported: true },
            etag: Supported { supported: true },
            authentication_schemes: vec![AuthenticationScheme::oauth_bearer_token()],
            meta: None,
        }
    }
}

impl ServiceProviderConfig {
    /// Sets the documentation URI.
    pub fn with_documentation_uri(mut self, uri: impl Into<String>) -> Self {
        self.documentation_uri = Some(uri.into());
        self
    }

    /// Turns PATCH support on or off.
    pub fn with_patch(mut self, supported: bool) -> Self {
        self.patch.supported = supported;
        self
    }

    /// Supports bulk with these limits.
    pub fn with_bulk(mut self, max_operations: u64, max_payload_size: u64) -> Self {
        self.bulk = BulkConfig {
            supported: true,
            max_operations,
            max_payload_size,
        };
        self
    }

    /// Does not support bulk.
    pub fn without_bulk(mut self) -> Self {
        self.bulk = BulkConfig::default();
        self
    }

    /// Supports filtering, returning at most `max_results` resources.
    pub fn with_filter(mut self, max_results: u64) -> Self {
        self.filter = FilterConfig {
            supported: true,
            max_results,
        };
        self
    }

    /// Turns password change support on or off.
    pub fn with_change_password(mut self, supported: bool) -> Self {
        self.change_password.supported = supported;
        self
    }

    /// Turns sorting support on or off.
    pub fn with_sort(mut self, supported: bool) -> Self {
        self.sort.supported = supported;
        self
    }

    /// Turns ETag support on or off.
    pub fn with_etag(mut self, supported: bool) -> Self {
        self.etag.supported = supported;
        self
    }

    /// Replaces the authentication schemes.
    pub fn with_authentication_schemes(mut self, schemes: Vec<AuthenticationScheme>) -> Self {
        self.authentication_schemes = schemes;
        self
    }

    /// The `/ServiceProviderConfig` body, with `schemas` and `meta` (`resourceType` and
    /// `location` under `base_url`).
    pub fn to_resource(&self, base_url: &str) -> Value {
        let mut c = self.clone();
        c.schemas = vec![SERVICE_PROVIDER_CONFIG_SCHEMA.to_owned()];
        let mut m = c.meta.take().unwrap_or_default();
        m.resource_type = Some("ServiceProviderConfig".to_owned());
        m.location = Some(format!("{}/ServiceProviderConfig", trim_base(base_url)));
        c.meta = Some(m);
        to_json(&c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_are_generated() {
        let reg = Registry::core();
        let list = serde_json::to_value(schemas_list(&reg, "https://h/v2/")).expect("json");
        assert_eq!(list["totalResults"], 3);
        let user = &list["Resources"][0];
        assert_eq!(user["schemas"], json!([SCHEMA_SCHEMA]));
        assert_eq!(user["meta"]["resourceType"], "Schema");
        assert_eq!(
            user["meta"]["location"],
            "https://h/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User"
        );
        assert_eq!(user["attributes"][0]["name"], "userName");
        let rts = serde_json::to_value(resource_types_list(&reg, "https://h/v2")).expect("json");
        assert_eq!(rts["Resources"][0]["endpoint"], "/Users");
        assert_eq!(
            rts["Resources"][0]["meta"]["location"],
            "https://h/v2/ResourceTypes/User"
        );
        assert!(resource_type_by_id(&reg, "group", "https://h").is_some());
        assert!(schema_by_id(&reg, "urn:nope", "https://h").is_none());
    }

    #[test]
    fn config_json() {
        let v = ServiceProviderConfig::default()
            .without_bulk()
            .with_filter(50)
            .to_resource("https://h/v2");
        assert_eq!(
            v["bulk"],
            json!({"supported": false, "maxOperations": 0, "maxPayloadSize": 0})
        );
        assert_eq!(v["filter"]["maxResults"], 50);
        assert_eq!(v["authenticationSchemes"][0]["type"], "oauthbearertoken");
        assert_eq!(v["schemas"], json!([SERVICE_PROVIDER_CONFIG_SCHEMA]));
        let back: ServiceProviderConfig = serde_json::from_value(v).expect("read back");
        assert_eq!(back.filter.max_results, 50);
    }
}
