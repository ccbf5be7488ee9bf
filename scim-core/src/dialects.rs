//! The identity-provider dialects this crate tolerates, each switchable in one place.
//!
//! Strict in what it sends, tolerant of what real identity providers send: every dialect
//! below is something Microsoft Entra ID, Okta, OneLogin, Google Workspace or JumpCloud was
//! seen sending. All are on by default except [`Dialects::empty_operations_noop`]; output
//! is RFC-correct whichever are on. [`Dialects::strict`] switches every one off.

/// Which identity-provider dialects are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Dialects {
    /// PATCH `op` names in any case (`Replace`, `Add`, `Remove`: Entra).
    pub op_any_case: bool,
    /// Booleans sent as strings (`"False"`, `"True"`, any case) for boolean attributes
    /// (Entra). A string that is not a boolean stays an error.
    pub boolean_strings: bool,
    /// `{"op":"Remove","path":"members","value":[{"value":"id"}]}` (and any remove of a
    /// multi-valued attribute carrying a `value` array) removes only the listed elements,
    /// never all (Entra, JumpCloud, OneLogin).
    pub remove_listed_values: bool,
    /// An add or replace through a value path that matches nothing creates one element
    /// from the filter's `eq` comparisons (`emails[type eq "work"].value`: Entra).
    pub create_on_unmatched_value_path: bool,
    /// In a no-path add or replace, keys of the value object that are paths
    /// (`name.givenName`, full URNs) are resolved as paths (Entra).
    pub value_keys_as_paths: bool,
    /// `manager` given as a bare string id, or a legacy array (Entra).
    pub manager_as_string: bool,
    /// Role values given as a JSON object serialised in a string (Entra app roles).
    pub json_in_string_roles: bool,
    /// An empty `Operations` array is accepted as a no-op instead of 400 `invalidValue`
    /// (Microsoft's validator sends one). Off by default.
    pub empty_operations_noop: bool,
    /// The SCIM 1.0 core URN `urn:scim:schemas:core:1.0` beside or instead of the 2.0 one
    /// (OneLogin, Google).
    pub scim1_core_urn: bool,
    /// A single object where a multi-valued attribute expects an array (`emails` in
    /// OneLogin templates).
    pub single_value_as_array: bool,
    /// Unqualified extension attribute names (`manager`, `department`: Entra) resolve to the
    /// one registered extension that defines them.
    pub unqualified_extension_names: bool,
    /// Filters: bare-word values (`externalId eq jyoung`).
    pub filter_bare_words: bool,
    /// Filters: the Entra form `emails[type eq "work"].value eq "x"`.
    pub filter_entra_value_paths: bool,
}

impl Default for Dialects {
    fn default() -> Self {
        Dialects {
            op_any_case: true,
            boolean_strings: true,
            remove_listed_values: true,
            create_on_unmatched_value_path: true,
            value_keys_as_paths: true,
            manager_as_string: true,
            json_in_string_roles: true,
            empty_operations_noop: false,
            scim1_core_urn: true,
            single_value_as_array: true,
            unqualified_extension_names: true,
            filter_bare_words: true,
            filter_entra_value_paths: true,
        }
    }
}

impl Dialects {
    /// Every dialect switched off: RFC 7643/7644 as written.
    pub const fn strict() -> Self {
        Dialects {
            op_any_case: false,
            boolean_strings: false,
            remove_listed_values: false,
            create_on_unmatched_value_path: false,
            value_keys_as_paths: false,
            manager_as_string: false,
            json_in_string_roles: false,
            empty_operations_noop: false,
            scim1_core_urn: false,
            single_value_as_array: false,
            unqualified_extension_names: false,
            filter_bare_words: false,
            filter_entra_value_paths: false,
        }
    }

    /// The filter parser these dialects call for.
    pub const fn filter_parser(&self) -> scim_filter::Parser {
        scim_filter::Parser::new()
            .bare_words(self.filter_bare_words)
            .entra_value_paths(self.filter_entra_value_paths)
    }
}
