//! `405 Method Not Allowed` with the `Allow` header RFC 9110 requires: the router refuses the
//! method, and this middleware names the methods the path does serve, from the route table.

use std::future::Future;

use futures::FutureExt;
use poem::http::{header, HeaderValue, StatusCode};
use poem::{Endpoint, IntoResponse, Middleware, Request, Response, Result};

/// Path templates (`/conversations/{id}/release`) and the methods each serves.
#[derive(Clone, Debug, Default)]
pub struct AllowedMethods {
    routes: Vec<(Vec<String>, String, String)>,
}

impl AllowedMethods {
    /// `paths` as `(template, methods)`; `GET` implies `HEAD`, which the router answers too.
    pub fn new<'a>(paths: impl IntoIterator<Item = (&'a str, Vec<String>)>) -> Self {
        let routes = paths
            .into_iter()
            .map(|(template, mut methods)| {
                methods.iter_mut().for_each(|m| *m = m.to_ascii_uppercase());
                if methods.iter().any(|m| m == "GET") {
                    methods.push("HEAD".into());
                }
                methods.sort();
                methods.dedup();
                (segments(template), template.to_string(), methods.join(", "))
            })
            .collect();
        Self { routes }
    }

    /// The `Allow` value for `path`, if a route matches it.
    pub fn for_path(&self, path: &str) -> Option<&str> {
        self.find(path).map(|(_, _, allow)| allow.as_str())
    }

    /// The route template `path` matches (`/conversations/{id}/release`), if any: a label
    /// with few values, unlike the path itself.
    pub fn template(&self, path: &str) -> Option<&str> {
        self.find(path).map(|(_, template, _)| template.as_str())
    }

    fn find(&self, path: &str) -> Option<&(Vec<String>, String, String)> {
        let wanted = segments(path);
        self.routes.iter().find(|(template, _, _)| {
            template.len() == wanted.len()
                && template
                    .iter()
                    .zip(&wanted)
                    .all(|(t, w)| t.starts_with('{') || t == w)
        })
    }
}

fn segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

pub struct AllowHeader(pub AllowedMethods);

impl<E: Endpoint> Middleware<E> for AllowHeader {
    type Output = AllowHeaderEndpoint<E>;

    fn transform(&self, ep: E) -> Self::Output {
        AllowHeaderEndpoint {
            inner: ep,
            allowed: self.0.clone(),
        }
    }
}

pub struct AllowHeaderEndpoint<E> {
    inner: E,
    allowed: AllowedMethods,
}

impl<E: Endpoint> Endpoint for AllowHeaderEndpoint<E> {
    type Output = Response;

    // A combinator, not an `async fn`: no second copy of the request while the inner runs.
    fn call(&self, req: Request) -> impl Future<Output = Result<Self::Output>> + Send {
        // A clone of the URI shares its bytes: no copy of the path for the answers that are not 405.
        let uri = req.uri().clone();
        self.inner.call(req).map(move |answered| {
            let mut response = match answered {
                Ok(output) => output.into_response(),
                Err(err) => err.into_response(),
            };
            if response.status() == StatusCode::METHOD_NOT_ALLOWED {
                if let Some(allow) = self
                    .allowed
                    .for_path(uri.path())
                    .and_then(|a| HeaderValue::from_str(a).ok())
                {
                    response.headers_mut().insert(header::ALLOW, allow);
                }
            }
            Ok(response)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_templates_segment_by_segment() {
        let allowed = AllowedMethods::new([
            ("/chat", vec!["post".to_string()]),
            ("/webhook", vec!["post".to_string(), "get".to_string()]),
            ("/conversations/{id}/release", vec!["post".to_string()]),
        ]);
        assert_eq!(allowed.for_path("/chat"), Some("POST"));
        assert_eq!(allowed.for_path("/webhook"), Some("GET, HEAD, POST"));
        assert_eq!(allowed.for_path("/conversations/abc/release"), Some("POST"));
        assert_eq!(allowed.for_path("/conversations/abc"), None);
        assert_eq!(
            allowed.template("/conversations/abc/release"),
            Some("/conversations/{id}/release")
        );
        assert_eq!(allowed.for_path("/nowhere"), None);
    }
}
