//! `ApiJson<T>`: a JSON request body that tells malformed JSON (400) from a missing or mistyped
//! field (422, naming the field), and enforces the body size limit (413) while reading.

use poem::http::StatusCode;
use poem::{error::ResponseError, Request, RequestBody, Response};
use poem_openapi::payload::{Json, ParsePayload, Payload};
use poem_openapi::registry::{MetaSchemaRef, Registry};
use poem_openapi::types::{ToJSON, Type};
use serde::de::DeserializeOwned;

use crate::error::ErrorBody;

/// The body limit in effect for a route, placed in request data by the router.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

/// A JSON body parsed with serde, documented with the poem-openapi schema of `T`.
pub struct ApiJson<T>(pub T);

/// Why a JSON body was refused.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("request body is larger than the limit of {0} bytes")]
    TooLarge(usize),
    #[error("could not read the request body: {0}")]
    Unreadable(String),
    #[error("request body is not valid JSON: {0}")]
    Malformed(String),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

impl ResponseError for BodyError {
    fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Unreadable(_) | BodyError::Malformed(_) => StatusCode::BAD_REQUEST,
            BodyError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }

    fn as_response(&self) -> Response {
        let body = match self {
            BodyError::TooLarge(_) => ErrorBody::new("payload_too_large", self.to_string()),
            BodyError::Unreadable(_) | BodyError::Malformed(_) => {
                ErrorBody::new("malformed_json", self.to_string())
            }
            BodyError::Invalid { field, .. } => {
                ErrorBody::new("validation_error", self.to_string()).with_field(field.clone())
            }
        };
        Response::builder()
            .status(self.status())
            .content_type("application/json; charset=utf-8")
            .body(body.to_json_string())
    }
}

impl<T: Type> Payload for ApiJson<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn check_content_type(content_type: &str) -> bool {
        <Json<T> as Payload>::check_content_type(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type + DeserializeOwned> ParsePayload for ApiJson<T> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut RequestBody) -> poem::Result<Self> {
        let limit = request
            .data::<BodyLimit>()
            .map_or(1024 * 1024, |limit| limit.0);
        let declared = request
            .header("content-length")
            .and_then(|v| v.parse::<usize>().ok());
        if declared.is_some_and(|len| len > limit) {
            return Err(BodyError::TooLarge(limit).into());
        }
        let bytes = body
            .take()?
            .into_bytes_limit(limit)
            .await
            .map_err(|err| match err {
                poem::error::ReadBodyError::PayloadTooLarge => BodyError::TooLarge(limit),
                other => BodyError::Unreadable(other.to_string()),
            })?;
        Ok(Self(parse(&bytes)?))
    }
}

/// Parses in two steps so syntax errors (400) and shape errors (422) stay apart.
fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(BodyError::Malformed("the body is empty".into()));
    }
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|err| BodyError::Malformed(err.to_string()))?;
    if !value.is_object() {
        return Err(BodyError::Invalid {
            field: "body".into(),
            message: "expected a JSON object".into(),
        });
    }
    serde_path_to_error::deserialize(value).map_err(|err| {
        let path = err.path().to_string();
        let message = err.inner().to_string();
        // A missing field is reported against its parent; the field's name is in the message.
        let field = if path == "." {
            missing_field_name(&message).unwrap_or_else(|| "body".into())
        } else {
            path
        };
        BodyError::Invalid { field, message }
    })
}

fn missing_field_name(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next().map(str::to_string)
}

poem_openapi::impl_apirequest_for_payload!(ApiJson<T>, T: Type + DeserializeOwned);

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Probe {
        content: String,
        #[serde(default)]
        urls: Vec<String>,
    }

    fn field_of(json: &str) -> (StatusCode, Option<String>) {
        match parse::<Probe>(json.as_bytes()) {
            Ok(_) => (StatusCode::OK, None),
            Err(err) => {
                let field = match &err {
                    BodyError::Invalid { field, .. } => Some(field.clone()),
                    _ => None,
                };
                (err.status(), field)
            }
        }
    }

    #[test]
    fn tells_syntax_errors_from_shape_errors() {
        assert_eq!(field_of("{\"content\": "), (StatusCode::BAD_REQUEST, None));
        assert_eq!(field_of(""), (StatusCode::BAD_REQUEST, None));
        assert_eq!(
            field_of("{}"),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("content".into()))
        );
        assert_eq!(
            field_of("{\"content\": 5}"),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("content".into()))
        );
        assert_eq!(
            field_of("{\"content\": \"x\", \"urls\": [\"a\", 1]}"),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("urls[1]".into()))
        );
        assert_eq!(
            field_of("[1]"),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("body".into()))
        );
        assert_eq!(field_of("{\"content\": \"x\"}"), (StatusCode::OK, None));
    }
}
