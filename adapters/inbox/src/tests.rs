use poem::http::StatusCode;
use poem::test::TestClient;

use super::*;

fn client() -> TestClient<impl Endpoint> {
    TestClient::new(Route::new().nest("/inbox", endpoint()))
}

#[tokio::test]
async fn the_page_names_fingerprinted_assets_under_a_strict_policy() {
    let resp = client().get("/inbox").send().await;
    resp.assert_status_is_ok();
    resp.assert_content_type("text/html; charset=utf-8");
    resp.assert_header("Cache-Control", "no-cache");
    let csp = resp.0.headers()["Content-Security-Policy"]
        .to_str()
        .map(str::to_string)
        .unwrap_or_default();
    assert!(csp.contains("script-src 'self';"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let page = resp.0.into_body().into_string().await.unwrap_or_default();
    assert!(page.contains("src=\"/inbox/app.js?v="), "{page}");
    assert!(!page.contains("<script>"), "no inline script");
}

#[tokio::test]
async fn assets_have_their_types_and_are_cached_by_version() {
    let js = client().get("/inbox/app.js").query("v", &"x").send().await;
    js.assert_status_is_ok();
    js.assert_content_type("text/javascript; charset=utf-8");
    js.assert_header("Cache-Control", "public, max-age=31536000, immutable");
    let css = client().get("/inbox/app.css").send().await;
    css.assert_content_type("text/css; charset=utf-8");
    css.assert_header("Cache-Control", "no-cache");
    let etag = css.0.headers()["ETag"].clone();
    let again = client()
        .get("/inbox/app.css")
        .header("If-None-Match", etag)
        .send()
        .await;
    again.assert_status(StatusCode::NOT_MODIFIED);
}

#[tokio::test]
async fn unknown_files_and_writes_are_refused() {
    client()
        .get("/inbox/secrets.txt")
        .send()
        .await
        .assert_status(StatusCode::NOT_FOUND);
    client()
        .post("/inbox")
        .send()
        .await
        .assert_status(StatusCode::METHOD_NOT_ALLOWED);
}
