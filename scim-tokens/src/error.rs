//! Errors of the lifecycle API and of the building blocks. The errors of verification are in
//! [`crate::bearer`] ([`AuthError`](crate::AuthError)): they know their HTTP response.
//!
//! No error here holds a token or a secret: the ones that could see one (a malformed token)
//! only say what was wrong with it.

use crate::store::StoreError;

/// The operating system gave no randomness, so no secret or id could be generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the operating system's random number generator failed")]
pub struct RandomnessError;

/// An identifier (tenant, integration or token id) that is not valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what}")]
pub struct IdError {
    pub(crate) what: &'static str,
}

/// An integration name that is not valid: empty (after trimming), longer than
/// [`NAME_MAX_CHARS`](crate::NAME_MAX_CHARS) characters, or with a control character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Empty, or only white space.
    #[error("the integration name is empty")]
    Empty,
    /// Longer than [`NAME_MAX_CHARS`](crate::NAME_MAX_CHARS) characters.
    #[error(
        "the integration name is longer than {} characters",
        crate::NAME_MAX_CHARS
    )]
    TooLong,
    /// Has a control character (a line break, a tab, ...).
    #[error("the integration name has a control character")]
    ControlCharacter,
}

/// A setting that is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    /// The token prefix is not 1 to [`PREFIX_MAX_LEN`](crate::PREFIX_MAX_LEN) ASCII letters,
    /// digits or underscores starting with a letter.
    #[error(
        "the token prefix must be 1 to {} ASCII letters, digits or underscores, starting with a letter",
        crate::PREFIX_MAX_LEN
    )]
    Prefix,
    /// The realm has a character that cannot appear in a quoted string of a
    /// `WWW-Authenticate` header (a quote, a backslash, a control or non-ASCII character), or
    /// is longer than 256 bytes.
    #[error("the realm must be at most 256 printable ASCII characters without quote or backslash")]
    Realm,
    /// A pepper key shorter than [`PEPPER_MIN_LEN`](crate::PEPPER_MIN_LEN) bytes.
    #[error("a pepper key must have at least {} bytes", crate::PEPPER_MIN_LEN)]
    PepperTooShort,
    /// Two peppers with the same version.
    #[error("two pepper keys have version {0}")]
    DuplicatePepperVersion(u32),
}

/// An error of the lifecycle API of [`TokenService`](crate::TokenService).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No integration with that id in that tenant.
    #[error("no such integration")]
    NotFound,
    /// Another integration of the tenant has that name (compared case-insensitively).
    #[error("an integration with that name already exists")]
    NameTaken,
    /// The name is not valid.
    #[error(transparent)]
    InvalidName(#[from] NameError),
    /// No randomness for a new secret or id.
    #[error(transparent)]
    Randomness(#[from] RandomnessError),
    /// The store failed.
    #[error("token store: {0}")]
    Store(#[source] StoreError),
}

impl From<StoreError> for Error {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::NameTaken => Error::NameTaken,
            other => Error::Store(other),
        }
    }
}
