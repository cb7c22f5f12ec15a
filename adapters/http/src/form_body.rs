//! `FormParams<S>`: an `application/x-www-form-urlencoded` body kept as ordered pairs, so every
//! parameter (including ones the provider adds without notice, and repeated keys) reaches the
//! signature check and storage. `S` is only the documented shape.

use std::marker::PhantomData;

use poem::{Request, RequestBody};
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::Type;
use whatsapp_agent::ports::parse_query;

use crate::json_body::{BodyError, BodyLimit};

/// The raw parameters of a form body, in the order received, documented as `S`.
pub struct FormParams<S> {
    pub pairs: Vec<(String, String)>,
    shape: PhantomData<S>,
}

impl<S: Type> Payload for FormParams<S> {
    const CONTENT_TYPE: &'static str = "application/x-www-form-urlencoded";

    fn check_content_type(content_type: &str) -> bool {
        content_type
            .split(';')
            .next()
            .is_some_and(|t| t.trim().eq_ignore_ascii_case(Self::CONTENT_TYPE))
    }

    fn schema_ref() -> MetaSchemaRef {
        S::schema_ref()
    }

    fn register(registry: &mut Registry) {
        S::register(registry);
    }
}

impl<S: Type> ParsePayload for FormParams<S> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let limit = request.data::<BodyLimit>().map_or(1024 * 1024, |l| l.0);
        let bytes = body
            .take()?
            .into_bytes_limit(limit)
            .await
            .map_err(|err| match err {
                poem::error::ReadBodyError::PayloadTooLarge => BodyError::TooLarge(limit),
                other => BodyError::Unreadable(other.to_string()),
            })?;
        Ok(Self {
            pairs: parse_query(&String::from_utf8_lossy(&bytes)),
            shape: PhantomData,
        })
    }
}

poem_openapi::impl_apirequest_for_payload!(FormParams<S>, S: Type);
