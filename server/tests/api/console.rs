//! The admin console at `/` and the bundled GraphiQL at GET `/graphql`.
//!
//! The test binary is a debug build, which reads `frontend/dist` from disk: when the console
//! is built (`scripts/test` builds it first and sets `AMP_POOL_REQUIRE_CONSOLE=1`), the tests
//! compare the answers with the real files; without it they check the page that says how to
//! build the UI.

use std::path::PathBuf;

use reqwest::{Response, header};
use serde_json::Value;

use crate::helpers::TestApp;

/// `frontend/dist`, when `npm run build` has made it.
fn dist() -> Option<PathBuf> {
    let dist = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../frontend/dist");
    let built = dist.join("index.html").is_file();
    if !built && std::env::var_os("AMP_POOL_REQUIRE_CONSOLE").is_some() {
        panic!(
            "AMP_POOL_REQUIRE_CONSOLE is set but {dist:?} has no index.html: run `npm run build` in frontend/"
        );
    }
    built.then_some(dist)
}

/// A file from `frontend/dist/assets` with the given extension.
fn built_asset(dist: &std::path::Path, extension: &str) -> (String, Vec<u8>) {
    let path = std::fs::read_dir(dist.join("assets"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .find(|path| path.extension().is_some_and(|e| e == extension))
        .unwrap_or_else(|| panic!("no .{extension} file in {dist:?}/assets"));
    let name = path.file_name().unwrap().to_str().unwrap().to_string();
    (format!("/assets/{name}"), std::fs::read(path).unwrap())
}

fn assert_secured(response: &Response) {
    let headers = response.headers();
    assert_eq!(
        headers["content-security-policy"],
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
         img-src 'self' data:; font-src 'self' data:; connect-src 'self' ws: wss:; \
         frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
}

/// Asserts an HTML page that must be revalidated, and returns its text.
async fn assert_page(response: Response) -> String {
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/html; charset=utf-8"
    );
    assert_eq!(response.headers()["cache-control"], "no-cache");
    assert_secured(&response);
    response.text().await.unwrap()
}

#[tokio::test]
async fn the_root_and_deep_links_answer_the_console_page() {
    let app = TestApp::spawn_anonymous().await;

    for path in ["/", "/keys", "/logs/12", "/settings?tab=proxy"] {
        let page = assert_page(app.http.get(app.url(path)).send().await.unwrap()).await;

        match dist() {
            Some(dist) => assert_eq!(
                page,
                std::fs::read_to_string(dist.join("index.html")).unwrap(),
                "{path}"
            ),
            None => assert!(page.contains("npm run build"), "{path}: {page}"),
        }
    }
}

#[tokio::test]
async fn hashed_assets_are_cached_forever_with_their_type() {
    let app = TestApp::spawn_anonymous().await;
    let Some(dist) = dist() else {
        eprintln!("frontend/dist is not built: nothing to serve under /assets");
        return;
    };
    let (script, script_bytes) = built_asset(&dist, "js");
    let (style, _) = built_asset(&dist, "css");

    let script = app.http.get(app.url(&script)).send().await.unwrap();
    let style = app.http.get(app.url(&style)).send().await.unwrap();

    assert_eq!(script.status(), 200);
    assert_eq!(
        script.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(
        script.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    assert_secured(&script);
    assert_eq!(script.bytes().await.unwrap(), script_bytes);
    assert_eq!(style.status(), 200);
    assert_eq!(style.headers()["content-type"], "text/css; charset=utf-8");
}

#[tokio::test]
async fn a_page_the_browser_already_has_is_not_sent_again() {
    let app = TestApp::spawn_anonymous().await;
    if dist().is_none() {
        eprintln!("frontend/dist is not built: the fallback page has no ETag");
        return;
    }
    let first = app.http.get(app.url("/")).send().await.unwrap();
    let etag = first.headers()["etag"].clone();

    let again = app
        .http
        .get(app.url("/keys"))
        .header(header::IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();

    assert_eq!(again.status(), 304);
    assert_eq!(again.headers()["cache-control"], "no-cache");
    assert!(again.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_page_is_compressed_for_browsers_that_accept_it() {
    let app = TestApp::spawn_anonymous().await;

    let gzip = app
        .http
        .get(app.url("/"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    let brotli = app
        .http
        .get(app.url("/"))
        .header(header::ACCEPT_ENCODING, "br")
        .send()
        .await
        .unwrap();

    assert_eq!(gzip.status(), 200);
    assert_eq!(gzip.headers()["content-encoding"], "gzip");
    assert_eq!(brotli.headers()["content-encoding"], "br");
    assert_secured(&brotli);
}

#[tokio::test]
async fn an_unknown_asset_is_not_found_rather_than_the_page() {
    let app = TestApp::spawn_anonymous().await;

    let response = app.http.get(app.url("/assets/x.js")).send().await.unwrap();

    assert_eq!(response.status(), 404);
    assert_secured(&response);
    assert_eq!(response.text().await.unwrap(), "not found\n");
}

#[tokio::test]
async fn api_paths_never_answer_the_page() {
    let app = TestApp::spawn_anonymous().await;

    let unknown_v1 = app.http.get(app.url("/v1/unknown")).send().await.unwrap();
    let unknown_graphql = app.http.get(app.url("/graphql/nope")).send().await.unwrap();

    assert_eq!(unknown_v1.status(), 404);
    assert_eq!(unknown_v1.headers()["content-type"], "application/json");
    let body: Value = unknown_v1.json().await.unwrap();
    assert_eq!(body["error"]["type"], "not_found_error", "{body}");
    assert_eq!(body["error"]["code"], "unknown_url", "{body}");
    assert_eq!(unknown_graphql.status(), 404);
}

#[tokio::test]
async fn the_console_answers_only_get() {
    let app = TestApp::spawn_anonymous().await;

    let response = app.http.post(app.url("/keys")).send().await.unwrap();

    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD");
}

#[tokio::test]
async fn graphiql_is_bundled_and_loads_nothing_from_elsewhere() {
    let app = TestApp::spawn_anonymous().await;

    let page = assert_page(app.http.get(app.url("/graphql")).send().await.unwrap()).await;

    match dist() {
        Some(dist) => assert_eq!(
            page,
            std::fs::read_to_string(dist.join("graphiql.html")).unwrap()
        ),
        None => assert!(page.contains("npm run build"), "{page}"),
    }
    for external in ["src=\"http", "src=\"//", "href=\"http", "href=\"//"] {
        assert!(
            !page.contains(external),
            "GraphiQL loads {external}…: {page}"
        );
    }
}

#[tokio::test]
async fn posting_graphql_still_reaches_the_api() {
    let app = TestApp::spawn().await;

    let response = app.graphql("{ keys { id } }", Value::Null).await;

    assert_eq!(
        response["data"]["keys"],
        serde_json::json!([]),
        "{response}"
    );
}
