//! Serves `/chat/` and `/chat` alike, without a redirect.
//!
//! The previous service's clients call `/chat/`, while the OpenAPI layer registers paths without
//! a trailing slash. A redirect would turn a POST into a second round trip (and some clients
//! drop the body on 307/308), so the path is rewritten in place before routing.

use std::future::Future;

use poem::http::uri::{PathAndQuery, Uri};
use poem::{Endpoint, Middleware, Request, Result};

pub struct TrimTrailingSlash;

/// The request URI before rewriting: webhook signatures cover the URL as the provider sent it.
#[derive(Clone, Debug)]
pub struct OriginalUri(pub Uri);

impl<E: Endpoint> Middleware<E> for TrimTrailingSlash {
    type Output = TrimTrailingSlashEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        TrimTrailingSlashEndpoint { inner: ep }
    }
}

pub struct TrimTrailingSlashEndpoint<E> {
    inner: E,
}

fn trimmed(uri: &Uri) -> Option<Uri> {
    let path = uri.path();
    if path.len() <= 1 || !path.ends_with('/') {
        return None;
    }
    let new_path = path.trim_end_matches('/');
    let new_path = if new_path.is_empty() { "/" } else { new_path };
    let path_and_query = match uri.query() {
        Some(query) => format!("{new_path}?{query}"),
        None => new_path.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = Some(PathAndQuery::try_from(path_and_query).ok()?);
    Uri::from_parts(parts).ok()
}

impl<E: Endpoint> Endpoint for TrimTrailingSlashEndpoint<E> {
    type Output = E::Output;

    // The inner endpoint's own future, not an `async fn` around it, which would hold a second
    // copy of the request for as long as the inner endpoint runs.
    fn call(&self, mut req: Request) -> impl Future<Output = Result<Self::Output>> + Send {
        if let Some(uri) = trimmed(req.uri()) {
            let original = std::mem::replace(req.uri_mut(), uri);
            req.set_data(OriginalUri(original));
        }
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_only_trailing_slashes() {
        let t = |s: &str| trimmed(&s.parse::<Uri>().expect("uri")).map(|u| u.to_string());
        assert_eq!(t("/chat/").as_deref(), Some("/chat"));
        assert_eq!(t("/chat/stream/?a=1").as_deref(), Some("/chat/stream?a=1"));
        assert_eq!(t("/chat"), None);
        assert_eq!(t("/"), None);
    }
}
