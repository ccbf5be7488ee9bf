//! Authentication: the [`Authenticator`] the service calls before anything else.

use std::future::Future;

use http::HeaderValue;
use http::request::Parts;

use crate::error::Error;
use crate::store::RequestContext;

/// A refused authentication: the SCIM error to answer with, and the `WWW-Authenticate`
/// value (RFC 6750) for a 401 or 400.
#[derive(Debug, Clone)]
pub struct AuthFailure {
    /// The status and detail (no secrets).
    pub error: Error,
    /// The challenge sent back, if any.
    pub www_authenticate: Option<HeaderValue>,
}

impl AuthFailure {
    /// A 401 with the challenge `Bearer` and no error code.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        AuthFailure {
            error: Error::status(401, detail),
            www_authenticate: Some(HeaderValue::from_static("Bearer")),
        }
    }
}

/// Maps a request's credentials (usually its `Authorization` header) to the tenant and
/// integration it acts for. The service calls it first, before routing or reading the body.
pub trait Authenticator: Send + Sync {
    /// The context of the request, or why it is refused.
    fn authenticate(
        &self,
        request: &Parts,
    ) -> impl Future<Output = Result<RequestContext, AuthFailure>> + Send;
}

/// An [`Authenticator`] that accepts every request as one fixed context: for tests, and
/// for services that authenticate in a layer in front of the SCIM service.
#[derive(Debug, Clone)]
pub struct FixedContext(pub RequestContext);

impl Authenticator for FixedContext {
    async fn authenticate(&self, _request: &Parts) -> Result<RequestContext, AuthFailure> {
        Ok(self.0.clone())
    }
}

#[cfg(feature = "tokens")]
pub use tokens::TokenAuthenticator;

#[cfg(feature = "tokens")]
mod tokens {
    use super::{AuthFailure, Authenticator};
    use crate::error::Error;
    use crate::store::RequestContext;
    use http::request::Parts;
    use scim_tokens::{AuthErrorKind, Clock, TokenService, TokenStore};

    /// An [`Authenticator`] over scim-tokens: verifies the bearer token and maps the
    /// integration it belongs to (tenant, id, name) to the request context. Refusals keep
    /// the status (401, 400 for several `Authorization` fields, 500 for a token store
    /// failure) and the `WWW-Authenticate` challenge of scim-tokens, with a SCIM error body.
    #[derive(Debug)]
    pub struct TokenAuthenticator<S, C = scim_tokens::SystemClock> {
        tokens: TokenService<S, C>,
    }

    impl<S, C> TokenAuthenticator<S, C> {
        /// Authenticates with `tokens`.
        pub fn new(tokens: TokenService<S, C>) -> Self {
            TokenAuthenticator { tokens }
        }

        /// The token service (to issue, rotate and revoke tokens).
        pub fn tokens(&self) -> &TokenService<S, C> {
            &self.tokens
        }
    }

    impl<S, C> Authenticator for TokenAuthenticator<S, C>
    where
        S: TokenStore + Send + Sync,
        C: Clock + Send + Sync,
    {
        async fn authenticate(&self, request: &Parts) -> Result<RequestContext, AuthFailure> {
            match self.tokens.authenticate(&request.headers) {
                Ok(v) => {
                    let name = self
                        .tokens
                        .get(v.tenant(), v.integration())
                        .map(|i| i.name().to_owned())
                        .unwrap_or_default();
                    Ok(RequestContext::new(
                        v.tenant().as_str(),
                        v.integration().to_string(),
                        name,
                    ))
                }
                Err(e) => {
                    let detail = match e.kind() {
                        AuthErrorKind::MissingCredentials | AuthErrorKind::UnsupportedScheme => {
                            "a bearer token is required".to_owned()
                        }
                        AuthErrorKind::Store(_) => "the token store failed".to_owned(),
                        kind => kind.to_string(),
                    };
                    Err(AuthFailure {
                        error: Error::status(e.status().as_u16(), detail),
                        www_authenticate: e.www_authenticate().cloned(),
                    })
                }
            }
        }
    }
}
