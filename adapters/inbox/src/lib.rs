//! The clinic's inbox: a single-page app for the team, served under `/inbox`.
//!
//! The page is plain JavaScript, HTML and CSS under `web/`, compiled into the binary with
//! `include_str!`: nothing is fetched from another host, nothing is built at run time, and
//! `cargo build` needs no front-end tooling. The page talks to the staff API with the key the
//! person signs in with; this crate only serves files, so it needs no access to the core.

mod assets;
mod headers;

use poem::http::{Method, StatusCode};
use poem::{handler, Endpoint, EndpointExt, Request, Response, Route};

pub use assets::{Asset, ASSETS};

/// Every route of the inbox, to be nested at `/inbox`: the page at `/`, its assets by name.
pub fn endpoint() -> impl Endpoint {
    Route::new()
        .at("/", serve)
        .at("/:name", serve)
        .map_to_response()
}

#[handler]
fn serve(req: &Request) -> Response {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return Response::builder()
            .status(StatusCode::METHOD_NOT_ALLOWED)
            .header("Allow", "GET, HEAD")
            .finish();
    }
    let path = req.uri().path();
    let name = path.rsplit('/').next().unwrap_or_default();
    let name = if name.is_empty() || name == "inbox" {
        "index.html"
    } else {
        name
    };
    match assets::find(name) {
        Some(asset) => headers::respond(asset, req),
        None => Response::builder()
            .status(StatusCode::NOT_FOUND)
            .content_type("text/plain; charset=utf-8")
            .body("not found"),
    }
}

#[cfg(test)]
mod tests;
