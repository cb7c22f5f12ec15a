//! What every inbox response carries: its content type, a Content-Security-Policy that allows
//! no inline script and no other host for code, and caching by fingerprint.

use poem::http::StatusCode;
use poem::{Request, Response};

use crate::assets::Served;

/// Scripts, styles and connections only from this service; images and voice notes may come
/// from the media hosts messages point at; no frames, no plugins, no form posts elsewhere.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' https: data: blob:; media-src 'self' https: blob:; \
     connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// The page itself is checked on every load (it names the current assets); a fingerprinted
/// asset never changes, so browsers keep it for a year.
const REVALIDATE: &str = "no-cache";
const FOREVER: &str = "public, max-age=31536000, immutable";

pub fn respond(asset: Served, req: &Request) -> Response {
    let etag = format!("\"{}\"", asset.etag);
    let cache = if asset.versioned && req.uri().query().is_some_and(|q| q.starts_with("v=")) {
        FOREVER
    } else {
        REVALIDATE
    };
    let unchanged = req
        .header("If-None-Match")
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == etag));
    let builder = Response::builder()
        .header("Cache-Control", cache)
        .header("ETag", etag)
        .header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        .header("X-Content-Type-Options", "nosniff")
        .header("Referrer-Policy", "no-referrer")
        .header("X-Frame-Options", "DENY");
    if unchanged {
        return builder.status(StatusCode::NOT_MODIFIED).finish();
    }
    let builder = builder.content_type(asset.content_type);
    if req.method() == poem::http::Method::HEAD {
        return builder
            .header("Content-Length", asset.body.len().to_string())
            .finish();
    }
    builder.body(asset.body)
}
