//! Who is calling: the `Authorization` header turned into a [`Caller`] by the core's
//! [`Access`](whatsapp_agent::access::Access), and the security schemes the spec declares.
//!
//! The extractors always succeed and carry the outcome, so each operation answers a missing or
//! wrong credential in its own documented response type (401 with `WWW-Authenticate: Bearer`,
//! 403 for a missing scope), like every other failure.

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaSecurityScheme, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};
use whatsapp_agent::access::{AccessError, Caller};

use crate::state::AppState;

/// Scheme name of server-side API keys (and the bootstrap `ADMIN_TOKEN`).
pub const API_KEY: &str = "ApiKey";
/// Scheme name of end-user tokens.
pub const USER_TOKEN: &str = "UserToken";

/// The caller of a chat operation: an API key with the `chat` scope, or an end-user token.
pub struct ChatAuth(pub Result<Caller, AccessError>);

/// The caller of a staff operation: an API key with the `admin` scope or `ADMIN_TOKEN`.
pub struct StaffAuth(pub Result<Caller, AccessError>);

fn register_api_key(registry: &mut Registry) {
    registry.create_security_scheme(
        API_KEY,
        MetaSecurityScheme {
            ty: "http",
            description: Some(
                "A server-side API key, `Authorization: Bearer wak_…`, created with \
                 `whatsapp-agent keys create --name NAME --scope chat|admin` or `POST /keys`. \
                 Its scopes decide what it may do: `chat` talks to the assistant as any user, \
                 `admin` uses the staff API. `ADMIN_TOKEN` works here as an `admin` credential. \
                 Missing, unknown or revoked: 401; without the needed scope: 403.",
            ),
            name: None,
            key_in: None,
            scheme: Some("bearer"),
            bearer_format: None,
            flows: None,
            openid_connect_url: None,
        },
    );
}

fn register_user_token(registry: &mut Registry) {
    registry.create_security_scheme(
        USER_TOKEN,
        MetaSecurityScheme {
            ty: "http",
            description: Some(
                "An end-user token for browsers and mobile apps, `Authorization: Bearer <JWT>`: \
                 HS256, header `kid` = the prefix of a `chat` key, claims `sub` = the user_id \
                 and `exp` (required, at most 24 h ahead). The signing secret is SHA-256 of \
                 `user-token:` followed by the key. With a user token the request's `user_id` \
                 must be the token's `sub` (another one gets 403) or be left out.",
            ),
            name: None,
            key_in: None,
            scheme: Some("bearer"),
            bearer_format: Some("JWT"),
            flows: None,
            openid_connect_url: None,
        },
    );
}

/// The outcome of checking a request's credential, kept on the request by the first layer
/// that checks it (the per-credential rate limit), so it is checked once.
#[derive(Clone)]
pub(crate) struct Checked(pub Result<Caller, AccessError>);

async fn authenticate(req: &Request) -> Result<Caller, AccessError> {
    if let Some(Checked(outcome)) = req.extensions().get::<Checked>() {
        return outcome.clone();
    }
    let Some(state) = req.data::<AppState>() else {
        return Err(AccessError::Unavailable(
            "no access control is wired".into(),
        ));
    };
    let header = req.header("Authorization");
    state.access.authenticate(header).await
}

impl<'a> ApiExtractor<'a> for ChatAuth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_api_key(registry);
        register_user_token(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![API_KEY, USER_TOKEN]
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        Ok(Self(authenticate(req).await))
    }
}

impl<'a> ApiExtractor<'a> for StaffAuth {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        register_api_key(registry);
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![API_KEY]
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        Ok(Self(authenticate(req).await))
    }
}

impl StaffAuth {
    /// The caller, checked for the `admin` scope.
    ///
    /// # Errors
    /// The access failure, mapped by [`crate::error::Failure`].
    pub fn admin(self) -> Result<Caller, AccessError> {
        let caller = self.0?;
        caller.require(whatsapp_agent::access::Scope::Admin)?;
        Ok(caller)
    }
}
