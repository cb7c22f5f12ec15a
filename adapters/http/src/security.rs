//! The provider's webhook signature, declared as an OpenAPI security scheme so generated
//! clients and Swagger UI know where it goes. Callers' own credentials are in [`crate::auth`].
//!
//! The extractor always succeeds and hands the raw value to the handler: a missing or wrong
//! signature gets 403 (the provider's convention) in the operation's own JSON error shape.

use poem::{Request, RequestBody};
use poem_openapi::registry::{MetaSecurityScheme, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

/// `X-Twilio-Signature`: the provider's HMAC-SHA1 of the webhook URL and parameters.
pub struct WebhookSignature(pub Option<String>);

pub const WEBHOOK_SIGNATURE: &str = "WebhookSignature";

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
