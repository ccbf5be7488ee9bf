//! The core schemas of RFC 7643: User (§4.1), Group (§4.2), Enterprise User (§4.3), the
//! common attributes (§3.1), and the `User` and `Group` resource types (§6).

use crate::registry::Registry;
use crate::schema::{
    AttrType, AttributeDef, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, Mutability, RESOURCE_TYPE_SCHEMA,
    ResourceType, Returned, SCHEMA_SCHEMA, SERVICE_PROVIDER_CONFIG_SCHEMA, Schema, SchemaExtension,
    USER_SCHEMA, Uniqueness,
};

fn string(name: &str) -> AttributeDef {
    AttributeDef::new(name, AttrType::String)
}

fn boolean(name: &str) -> AttributeDef {
    AttributeDef::new(name, AttrType::Boolean)
}

fn reference(name: &str, types: &[&str]) -> AttributeDef {
    AttributeDef::new(name, AttrType::Reference).reference_types(types.iter().copied())
}

fn complex(name: &str, subs: Vec<AttributeDef>) -> AttributeDef {
    AttributeDef::new(name, AttrType::Complex).sub_attributes(subs)
}

/// `type`, `primary`, `display`, `value` sub-attributes of the multi-valued attributes of
/// RFC 7643 §2.4, with `value` of the given type and `type`'s canonical values.
fn multi_valued(
    name: &str,
    description: &str,
    value: AttributeDef,
    types: &[&str],
) -> AttributeDef {
    complex(
        name,
        vec![
            value,
            string("display").description("A human-readable name, primarily used for display purposes."),
            string("type")
                .description("A label indicating the attribute's function.")
                .canonical_values(types.iter().copied()),
            boolean("primary").description(
                "A Boolean value indicating the 'primary' or preferred attribute value for this attribute.",
            ),
        ],
    )
    .multi_valued()
    .description(description)
}

/// The common attributes `id`, `externalId` and `meta` (RFC 7643 §3.1).
pub(crate) fn common_attribute_defs() -> Vec<AttributeDef> {
    let read_only_string = |name: &str| string(name).mutability(Mutability::ReadOnly);
    vec![
        string("id")
            .description("A unique identifier for a SCIM resource as defined by the service provider.")
            .case_exact()
            .mutability(Mutability::ReadOnly)
            .returned(Returned::Always)
            .uniqueness(Uniqueness::Server),
        string("externalId")
            .description("A String that is an identifier for the resource as defined by the provisioning client.")
            .case_exact(),
        complex(
            "meta",
            vec![
                read_only_string("resourceType")
                    .case_exact()
                    .description("The name of the resource type of the resource."),
                AttributeDef::new("created", AttrType::DateTime)
                    .mutability(Mutability::ReadOnly)
                    .description("The DateTime that the resource was added to the service provider."),
                AttributeDef::new("lastModified", AttrType::DateTime)
                    .mutability(Mutability::ReadOnly)
                    .description("The most recent DateTime that the details of this resource were updated at the service provider."),
                reference("location", &["uri"])
                    .case_exact()
                    .mutability(Mutability::ReadOnly)
                    .description("The URI of the resource being returned."),
                read_only_string("version")
                    .case_exact()
                    .description("The version of the resource being returned."),
            ],
        )
        .mutability(Mutability::ReadOnly)
        .description("A complex attribute containing resource metadata."),
    ]
}

/// The core User schema (RFC 7643 §4.1 and §8.7.1).
pub fn user_schema() -> Schema {
    let name = complex(
        "name",
        vec![
            string("formatted").description("The full name, including all middle names, titles, and suffixes as appropriate, formatted for display."),
            string("familyName").description("The family name of the User, or last name in most Western languages."),
            string("givenName").description("The given name of the User, or first name in most Western languages."),
            string("middleName").description("The middle name(s) of the User."),
            string("honorificPrefix").description("The honorific prefix(es) of the User, or title in most Western languages."),
            string("honorificSuffix").description("The honorific suffix(es) of the User, or suffix in most Western languages."),
        ],
    )
    .description("The components of the user's real name.");
    let address = complex(
        "addresses",
        vec![
            string("formatted").description("The full mailing address, formatted for display or use with a mailing label."),
            string("streetAddress").description("The full street address component, which may include house number, street name, P.O. box, and multi-line extended street address information."),
            string("locality").description("The city or locality component."),
            string("region").description("The state or region component."),
            string("postalCode").description("The zip code or postal code component."),
            string("country").description("The country name component."),
            string("type")
                .description("A label indicating the attribute's function.")
                .canonical_values(["work", "home", "other"]),
            boolean("primary").description("A Boolean value indicating the 'primary' or preferred attribute value for this attribute."),
        ],
    )
    .multi_valued()
    .description("A physical mailing address for this User.");
    let groups = complex(
        "groups",
        vec![
            string("value")
                .mutability(Mutability::ReadOnly)
                .description("The identifier of the User's group."),
            reference("$ref", &["User", "Group"])
                .mutability(Mutability::ReadOnly)
                .description("The URI of the corresponding 'Group' resource to which the user belongs."),
            string("display")
                .mutability(Mutability::ReadOnly)
                .description("A human-readable name, primarily used for display purposes."),
            string("type")
                .mutability(Mutability::ReadOnly)
                .canonical_values(["direct", "indirect"])
                .description("A label indicating the attribute's function, e.g., 'direct' or 'indirect'."),
        ],
    )
    .multi_valued()
    .mutability(Mutability::ReadOnly)
    .description("A list of groups to which the user belongs, either through direct membership, through nested groups, or dynamically calculated.");
    let x509 = complex(
        "x509Certificates",
        vec![
            AttributeDef::new("value", AttrType::Binary).description("The value of an X.509 certificate."),
            string("display").description("A human-readable name, primarily used for display purposes."),
            string("type").description("A label indicating the attribute's function."),
            boolean("primary").description("A Boolean value indicating the 'primary' or preferred attribute value for this attribute."),
        ],
    )
    .multi_valued()
    .description("A list of certificates issued to the User.");
    Schema {
        id: USER_SCHEMA.to_owned(),
        name: "User".to_owned(),
        description: "User Account".to_owned(),
        attributes: vec![
            string("userName")
                .required()
                .uniqueness(Uniqueness::Server)
                .description("Unique identifier for the User, typically used by the user to directly authenticate to the service provider."),
            name,
            string("displayName").description("The name of the User, suitable for display to end-users."),
            string("nickName").description("The casual way to address the user in real life."),
            reference("profileUrl", &["external"]).description("A fully qualified URL pointing to a page representing the User's online profile."),
            string("title").description("The user's title, such as \"Vice President.\""),
            string("userType").description("Used to identify the relationship between the organization and the user."),
            string("preferredLanguage").description("Indicates the User's preferred written or spoken language."),
            string("locale").description("Used to indicate the User's default location for purposes of localizing items such as currency, date time format, or numerical representations."),
            string("timezone").description("The User's time zone in the 'Olson' time zone database format, e.g., 'America/Los_Angeles'."),
            boolean("active").description("A Boolean value indicating the User's administrative status."),
            string("password")
                .mutability(Mutability::WriteOnly)
                .returned(Returned::Never)
                .description("The User's cleartext password."),
            multi_valued(
                "emails",
                "Email addresses for the user.",
                string("value").description("Email addresses for the user."),
                &["work", "home", "other"],
            ),
            multi_valued(
                "phoneNumbers",
                "Phone numbers for the User.",
                string("value").description("Phone number of the User."),
                &["work", "home", "mobile", "fax", "pager", "other"],
            ),
            multi_valued(
                "ims",
                "Instant messaging addresses for the User.",
                string("value").description("Instant messaging address for the User."),
                &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
            ),
            multi_valued(
                "photos",
                "URLs of photos of the User.",
                reference("value", &["external"]).description("URL of a photo of the User."),
                &["photo", "thumbnail"],
            ),
            address,
            groups,
            multi_valued(
                "entitlements",
                "A list of entitlements for the User that represent a thing the User has.",
                string("value").description("The value of an entitlement."),
                &[],
            ),
            multi_valued(
                "roles",
                "A list of roles for the User that collectively represent who the User is, e.g., 'Student', 'Faculty'.",
                string("value").description("The value of a role."),
                &[],
            ),
            x509,
        ],
    }
}

/// The core Group schema (RFC 7643 §4.2 and §8.7.1).
pub fn group_schema() -> Schema {
    Schema {
        id: GROUP_SCHEMA.to_owned(),
        name: "Group".to_owned(),
        description: "Group".to_owned(),
        attributes: vec![
            string("displayName")
                .required()
                .description("A human-readable name for the Group."),
            complex(
                "members",
                vec![
                    string("value")
                        .mutability(Mutability::Immutable)
                        .description("Identifier of the member of this Group."),
                    reference("$ref", &["User", "Group"])
                        .mutability(Mutability::Immutable)
                        .description("The URI corresponding to a SCIM resource that is a member of this Group."),
                    string("display")
                        .mutability(Mutability::ReadOnly)
                        .description("A human-readable name, primarily used for display purposes."),
                    string("type")
                        .mutability(Mutability::Immutable)
                        .canonical_values(["User", "Group"])
                        .description("A label indicating the type of resource, e.g., 'User' or 'Group'."),
                ],
            )
            .multi_valued()
            .description("A list of members of the Group."),
        ],
    }
}

/// The Enterprise User extension schema (RFC 7643 §4.3 and §8.7.1).
pub fn enterprise_user_schema() -> Schema {
    Schema {
        id: ENTERPRISE_USER_SCHEMA.to_owned(),
        name: "EnterpriseUser".to_owned(),
        description: "Enterprise User".to_owned(),
        attributes: vec![
            string("employeeNumber").description("Numeric or alphanumeric identifier assigned to a person, typically based on order of hire or association with an organization."),
            string("costCenter").description("Identifies the name of a cost center."),
            string("organization").description("Identifies the name of an organization."),
            string("division").description("Identifies the name of a division."),
            string("department").description("Identifies the name of a department."),
            complex(
                "manager",
                vec![
                    string("value").description("The id of the SCIM resource representing the User's manager."),
                    reference("$ref", &["User"]).description("The URI of the SCIM resource representing the User's manager."),
                    string("displayName")
                        .mutability(Mutability::ReadOnly)
                        .description("The displayName of the User's manager."),
                ],
            )
            .description("The User's manager."),
        ],
    }
}

/// The `User` resource type (with the Enterprise User extension, not required).
pub fn user_resource_type() -> ResourceType {
    ResourceType {
        id: "User".to_owned(),
        name: "User".to_owned(),
        endpoint: "/Users".to_owned(),
        description: "User Account".to_owned(),
        schema: USER_SCHEMA.to_owned(),
        schema_extensions: vec![SchemaExtension {
            schema: ENTERPRISE_USER_SCHEMA.to_owned(),
            required: false,
        }],
    }
}

/// The `Group` resource type.
pub fn group_resource_type() -> ResourceType {
    ResourceType {
        id: "Group".to_owned(),
        name: "Group".to_owned(),
        endpoint: "/Groups".to_owned(),
        description: "Group".to_owned(),
        schema: GROUP_SCHEMA.to_owned(),
        schema_extensions: Vec::new(),
    }
}

/// A readOnly attribute, as every attribute of the discovery schemas is.
fn ro(def: AttributeDef) -> AttributeDef {
    def.mutability(Mutability::ReadOnly)
}

fn supported_feature(name: &str, description: &str) -> AttributeDef {
    ro(complex(
        name,
        vec![ro(boolean("supported").required().description(
            "A Boolean value specifying whether or not the operation is supported.",
        ))],
    )
    .required()
    .description(description))
}

/// The ServiceProviderConfig schema (RFC 7643 §5 and §8.7.2).
pub fn service_provider_config_schema() -> Schema {
    let integer = |name: &str, description: &str| {
        ro(AttributeDef::new(name, AttrType::Integer)
            .required()
            .description(description))
    };
    Schema {
        id: SERVICE_PROVIDER_CONFIG_SCHEMA.to_owned(),
        name: "Service Provider Configuration".to_owned(),
        description: "Schema for representing the service provider's configuration".to_owned(),
        attributes: vec![
            ro(reference("documentationUri", &["external"])
                .description("An HTTP-addressable URL pointing to the service provider's human-consumable help documentation.")),
            supported_feature("patch", "A complex type that specifies PATCH configuration options."),
            ro(complex(
                "bulk",
                vec![
                    ro(boolean("supported").required().description("A Boolean value specifying whether or not the operation is supported.")),
                    integer("maxOperations", "An integer value specifying the maximum number of operations."),
                    integer("maxPayloadSize", "An integer value specifying the maximum payload size in bytes."),
                ],
            )
            .required()
            .description("A complex type that specifies bulk configuration options.")),
            ro(complex(
                "filter",
                vec![
                    ro(boolean("supported").required().description("A Boolean value specifying whether or not the operation is supported.")),
                    integer("maxResults", "An integer value specifying the maximum number of resources returned in a response."),
                ],
            )
            .required()
            .description("A complex type that specifies FILTER options.")),
            supported_feature("changePassword", "A complex type that specifies configuration options related to changing a password."),
            supported_feature("sort", "A complex type that specifies sort result options."),
            supported_feature("etag", "A complex type that specifies ETag configuration options."),
            ro(complex(
                "authenticationSchemes",
                vec![
                    ro(string("type")
                        .required()
                        .canonical_values(["oauth", "oauth2", "oauthbearertoken", "httpbasic", "httpdigest"])
                        .description("The authentication scheme.")),
                    ro(string("name").required().description("The common authentication scheme name, e.g., HTTP Basic.")),
                    ro(string("description").required().description("A description of the authentication scheme.")),
                    ro(reference("specUri", &["external"]).description("An HTTP-addressable URL pointing to the authentication scheme's specification.")),
                    ro(reference("documentationUri", &["external"]).description("An HTTP-addressable URL pointing to the authentication scheme's usage documentation.")),
                    ro(boolean("primary").description("Whether this is the preferred authentication scheme.")),
                ],
            )
            .multi_valued()
            .required()
            .description("A complex type that specifies supported authentication scheme properties.")),
        ],
    }
}

/// The ResourceType schema (RFC 7643 §6 and §8.7.2).
pub fn resource_type_schema() -> Schema {
    Schema {
        id: RESOURCE_TYPE_SCHEMA.to_owned(),
        name: "ResourceType".to_owned(),
        description: "Specifies the schema that describes a SCIM resource type".to_owned(),
        attributes: vec![
            ro(string("id").description("The resource type's server unique id. May be the same as the 'name' attribute.")),
            ro(string("name").required().description("The resource type name.")),
            ro(string("description").description("The resource type's human-readable description.")),
            ro(reference("endpoint", &["uri"])
                .required()
                .description("The resource type's HTTP-addressable endpoint relative to the Base URL, e.g., '/Users'.")),
            ro(reference("schema", &["uri"])
                .required()
                .case_exact()
                .description("The resource type's primary/base schema URI.")),
            ro(complex(
                "schemaExtensions",
                vec![
                    ro(reference("schema", &["uri"])
                        .required()
                        .case_exact()
                        .description("The URI of a schema extension.")),
                    ro(boolean("required")
                        .required()
                        .description("A Boolean value that specifies whether or not the schema extension is required for the resource type.")),
                ],
            )
            .multi_valued()
            .description("A list of URIs of the resource type's schema extensions.")),
        ],
    }
}

/// The characteristics of an attribute definition, for the Schema schema (one level of
/// `subAttributes` nested, as in RFC 7643 §8.7.2).
fn attribute_characteristics(nested: Option<AttributeDef>) -> Vec<AttributeDef> {
    let mut subs = vec![
        ro(string("name")
            .required()
            .case_exact()
            .description("The attribute's name.")),
        ro(string("type")
            .required()
            .canonical_values([
                "string",
                "complex",
                "boolean",
                "decimal",
                "integer",
                "dateTime",
                "reference",
                "binary",
            ])
            .description("The attribute's data type.")),
        ro(boolean("multiValued")
            .required()
            .description("A Boolean value indicating an attribute's plurality.")),
        ro(string("description").description("A human-readable description of the attribute.")),
        ro(boolean("required")
            .description("A boolean value indicating whether or not the attribute is required.")),
        ro(string("canonicalValues")
            .multi_valued()
            .description("A collection of canonical values.")),
        ro(boolean("caseExact").description(
            "A Boolean value indicating whether or not a string attribute is case sensitive.",
        )),
        ro(string("mutability")
            .canonical_values(["readOnly", "readWrite", "immutable", "writeOnly"])
            .description("Indicates whether or not an attribute is modifiable.")),
        ro(string("returned")
            .canonical_values(["always", "never", "default", "request"])
            .description(
                "Indicates when an attribute is returned in a response (e.g., to a query).",
            )),
        ro(string("uniqueness")
            .canonical_values(["none", "server", "global"])
            .description("Indicates how unique a value must be.")),
        ro(string("referenceTypes")
            .multi_valued()
            .description("Used only with an attribute of type 'reference'.")),
    ];
    subs.extend(nested);
    subs
}

/// The Schema schema (RFC 7643 §7 and §8.7.2).
pub fn schema_schema() -> Schema {
    let sub_attributes = ro(complex("subAttributes", attribute_characteristics(None))
        .multi_valued()
        .description("Used to define the sub-attributes of a complex attribute."));
    Schema {
        id: SCHEMA_SCHEMA.to_owned(),
        name: "Schema".to_owned(),
        description: "Specifies the schema attribute".to_owned(),
        attributes: vec![
            ro(string("id")
                .required()
                .description("The unique URI of the schema.")),
            ro(string("name").description("The schema's human-readable name.")),
            ro(string("description").description("The schema's human-readable description.")),
            ro(complex(
                "attributes",
                attribute_characteristics(Some(sub_attributes)),
            )
            .multi_valued()
            .required()
            .description("A complex attribute that includes the attributes of a schema.")),
        ],
    }
}

impl Registry {
    /// A registry with the core User, Group and Enterprise User schemas and the `User`
    /// (extended by Enterprise User) and `Group` resource types.
    pub fn core() -> Registry {
        let mut r = Registry::new();
        // The names are distinct, so registration cannot fail.
        let _ = r.add_schema(user_schema());
        let _ = r.add_schema(group_schema());
        let _ = r.add_schema(enterprise_user_schema());
        let _ = r.add_resource_type(user_resource_type());
        let _ = r.add_resource_type(group_resource_type());
        r
    }

    /// Also registers the schemas of the discovery resources (RFC 7643 §8.7.2:
    /// ServiceProviderConfig, ResourceType, Schema), for a service that lists them under
    /// `/Schemas`. They define no resource type. Schemas already registered are skipped.
    pub fn add_discovery_schemas(&mut self) {
        for s in [
            service_provider_config_schema(),
            resource_type_schema(),
            schema_schema(),
        ] {
            if self.schema(&s.id).is_none() {
                let _ = self.add_schema(s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scim_filter::AttrSchema;

    #[test]
    fn core_registry_resolves() {
        let reg = Registry::core();
        assert_eq!(reg.schemas().len(), 3);
        let user = reg.resource_type("user").expect("User");
        let r = user
            .resolve_parts(None, "USERNAME", None)
            .expect("userName");
        assert_eq!(r.attr.map(|a| a.name.as_str()), Some("userName"));
        let r = user
            .resolve_parts(None, "department", None)
            .expect("bare extension name");
        assert!(r.is_extension);
        let r = user
            .resolve_parts(Some(ENTERPRISE_USER_SCHEMA), "manager", Some("value"))
            .expect("manager.value");
        assert_eq!(r.sub_attr.map(|a| a.name.as_str()), Some("value"));
        let r = user
            .resolve_parts(
                Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0"),
                "User",
                None,
            )
            .expect("whole extension");
        assert!(r.attr.is_none());
        let r = user
            .resolve_parts(Some(USER_SCHEMA), "id", None)
            .expect("id");
        assert_eq!(r.attr.map(|a| a.returned), Some(Returned::Always));
        assert!(user.resolve_parts(None, "nope", None).is_err());
        let c = user
            .characteristics(None, "emails", Some("type"))
            .expect("emails.type");
        assert_eq!(c.attr_type, AttrType::String);
        let groups = reg.resource_type_by_endpoint("/Groups").expect("Groups");
        let members = groups
            .resolve_parts(None, "members", Some("value"))
            .expect("members.value");
        assert_eq!(
            members.sub_attr.map(|a| a.mutability),
            Some(Mutability::Immutable)
        );
    }

    #[test]
    fn discovery_schemas_describe_discovery_resources() {
        use crate::discovery::{ServiceProviderConfig, schemas_list};
        let mut reg = Registry::core();
        reg.add_discovery_schemas();
        reg.add_discovery_schemas();
        assert_eq!(reg.schemas().len(), 6);
        // The generated discovery JSON follows its own schemas.
        let spc = reg
            .schema(crate::schema::SERVICE_PROVIDER_CONFIG_SCHEMA)
            .expect("spc");
        let config = ServiceProviderConfig::default().to_resource("https://h");
        for attr in &spc.attributes {
            if attr.required {
                assert!(config.get(&attr.name).is_some(), "{}", attr.name);
            }
        }
        let list = serde_json::to_value(schemas_list(&reg, "https://h")).expect("json");
        let schema = reg.schema(crate::schema::SCHEMA_SCHEMA).expect("schema");
        for resource in list["Resources"].as_array().expect("array") {
            for attr in &schema.attributes {
                if attr.required {
                    assert!(resource.get(&attr.name).is_some(), "{}", attr.name);
                }
            }
            for a in resource["attributes"].as_array().expect("attributes") {
                for key in a.as_object().expect("object").keys() {
                    let known = schema.attributes[3].sub_attribute(key).is_some();
                    assert!(known, "{key}");
                }
            }
        }
        let rt = reg.schema(crate::schema::RESOURCE_TYPE_SCHEMA).expect("rt");
        assert!(rt.attribute("schemaExtensions").is_some());
    }

    #[test]
    fn schema_json_form() {
        let json = serde_json::to_value(user_schema()).expect("serialise");
        let user_name = &json["attributes"][0];
        assert_eq!(user_name["name"], "userName");
        assert_eq!(user_name["type"], "string");
        assert_eq!(user_name["multiValued"], false);
        assert_eq!(user_name["uniqueness"], "server");
        let back: Schema = serde_json::from_value(json).expect("deserialise");
        assert_eq!(back, user_schema());
    }
}
