//! The two credentials the API knows, declared as OpenAPI security schemes so generated clients
//! and Swagger UI know where they go.
//!
//! Both extractors always succeed and hand the raw value to the handler: the operation decides
//! (and documents) what a missing or wrong credential gets, 403 for a webhook (the provider's
//! convention) and 401 for the admin token, in the operation's own JSON error shape.

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaSecurityScheme, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

/// `X-Twilio-Signature`: the provider's HMAC-SHA1 of the webhook URL and parameters.
pub struct WebhookSignature(pub Option<String>);

/// `Authorization: Bearer <server.admin_token>`.
pub struct AdminToken(pub Option<String>);

pub const WEBHOOK_SIGNATURE: &str = "WebhookSignature";
pub const ADMIN_TOKEN: &str = "AdminToken";

impl<'a> ApiExtractor<'a> for WebhookSignature {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            WEBHOOK_SIGNATURE,
            MetaSecurityScheme {
                ty: "apiKey",
                description: Some(
                    "The provider signs every webhook: base64 HMAC-SHA1, keyed with the account's \
                     auth token, of the public URL followed by the sorted form parameters (names \
                     and values concatenated). Missing or wrong: 403, nothing stored.",
                ),
                name: Some("X-Twilio-Signature"),
                key_in: Some("header"),
                scheme: None,
                bearer_format: None,
                flows: None,
                openid_connect_url: None,
            },
        );
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![WEBHOOK_SIGNATURE]
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        Ok(Self(req.header("X-Twilio-Signature").map(str::to_string)))
    }
}

impl<'a> ApiExtractor<'a> for AdminToken {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            ADMIN_TOKEN,
            MetaSecurityScheme {
                ty: "http",
                description: Some(
                    "The team's token, `server.admin_token` (`ADMIN_TOKEN`). Required whenever \
                     that setting is configured, which it should be in production.",
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

    fn security_schemes() -> Vec<&'static str> {
        vec![ADMIN_TOKEN]
    }

    async fn from_request(
        req: &'a Request,
        _body: &mut RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        Ok(Self(req.header("Authorization").map(str::to_string)))
    }
}
