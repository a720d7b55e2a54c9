//! The admin console: the React app built into `frontend/dist`, served at `/` (any deep link
//! answers `index.html`, so the browser's router takes over), and the bundled GraphiQL page at
//! GET `/graphql`.
//!
//! Release builds embed the folder in the binary, so there is one file to deploy; debug builds
//! read it from disk at run time, so a new `npm run build` shows without recompiling. A build
//! without `frontend/dist` still compiles and answers a page that says how to build the UI.

use axum::{
    Router,
    body::Body,
    http::{
        HeaderMap, HeaderValue, Method, StatusCode, Uri,
        header::{
            ALLOW, CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
            REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
        },
    },
    middleware,
    response::{IntoResponse, Response},
    routing::get,
};
use rust_embed::{Embed, EmbeddedFile};
use tower_http::compression::CompressionLayer;

/// The output of `npm run build` in `frontend/`.
#[derive(Embed)]
#[folder = "../frontend/dist"]
#[allow_missing = true]
struct Dist;

/// Answered instead of the console (and of GraphiQL) when the binary was built without it.
const NOT_BUILT: &str = include_str!("console_not_built.html");

/// Scripts only from our own origin (the bundle has no inline script), so an injected
/// `<script>` cannot run; antd writes inline styles, hence `'unsafe-inline'` for styles only;
/// GraphiQL's stylesheet carries its fonts as `data:` URLs.
const CONTENT_SECURITY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self' ws: wss:; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

/// Vite puts a content hash in every file name under `assets/`, so a name never changes
/// content and browsers may keep it forever.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Pages and other unhashed files are revalidated (by their `ETag`) on every load, so a new
/// deployment shows at once.
const REVALIDATE: &str = "no-cache";

/// The console's routes: hashed assets under `/assets/`, and every other GET path not taken
/// by the API (merged before this router) answers the single page.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/assets/{*path}", get(asset))
        .fallback(page)
        .layer(middleware::map_response(secure))
        .layer(CompressionLayer::new())
}

/// GET `/graphql`: the GraphiQL page bundled with the console (no CDN), with the console's
/// security headers.
pub async fn graphiql(headers: HeaderMap) -> Response {
    let response = match Dist::get("graphiql.html") {
        Some(file) => serve(&file, "graphiql.html", &headers),
        None => not_built(),
    };
    secure(response).await
}

/// A file under `/assets/`; a name that is not in the build is a plain 404 (never the page,
/// which a browser would try to run as a script).
async fn asset(uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().trim_start_matches('/');
    match Dist::get(path) {
        Some(file) => serve(&file, path, &headers),
        None => not_found(),
    }
}

/// Any other path: a top-level file of the build (`favicon.svg`) as is, else `index.html`.
async fn page(method: Method, uri: Uri, headers: HeaderMap) -> Response {
    if method != Method::GET && method != Method::HEAD {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            [(ALLOW, "GET, HEAD")],
            "the console answers only GET\n",
        )
            .into_response();
    }
    let path = uri.path();
    if is_api(path) {
        return not_found();
    }
    let name = path.trim_start_matches('/');
    if let Some(file) = Some(name)
        .filter(|name| !name.is_empty() && !name.ends_with('/'))
        .and_then(Dist::get)
    {
        return serve(&file, name, &headers);
    }
    match Dist::get("index.html") {
        Some(file) => serve(&file, "index.html", &headers),
        None => not_built(),
    }
}

/// Paths of the API that never fall back to the page: a typo there should be an error, not
/// an HTML page the client cannot read.
fn is_api(path: &str) -> bool {
    path.starts_with("/graphql") || path == "/v1" || path.starts_with("/v1/")
}

/// One file with its type, cache policy and `ETag`; `304` when the browser already has it.
fn serve(file: &EmbeddedFile, path: &str, request: &HeaderMap) -> Response {
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let cache = if path.starts_with("assets/") {
        IMMUTABLE
    } else {
        REVALIDATE
    };
    let mut response = if request
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|given| given.split(',').any(|tag| tag.trim() == etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        Response::new(Body::from(file.data.clone()))
    };
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, content_type(file.metadata.mimetype()));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(etag) = HeaderValue::from_str(&etag) {
        headers.insert(ETAG, etag);
    }
    response
}

/// The guessed type, with `charset=utf-8` on text (Vite writes UTF-8).
fn content_type(mime: &str) -> HeaderValue {
    let textual =
        mime.starts_with("text/") || mime.ends_with("javascript") || mime.ends_with("json");
    let value = if textual && !mime.contains("charset") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    };
    HeaderValue::from_str(&value)
        .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

fn not_built() -> Response {
    (
        [
            (CONTENT_TYPE, "text/html; charset=utf-8"),
            (CACHE_CONTROL, REVALIDATE),
        ],
        NOT_BUILT,
    )
        .into_response()
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(CACHE_CONTROL, REVALIDATE)],
        "not found\n",
    )
        .into_response()
}

/// The security headers every console response carries.
async fn secure(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY),
    );
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_paths_never_fall_back_to_the_page() {
        assert!(is_api("/graphql"));
        assert!(is_api("/graphql/ws"));
        assert!(is_api("/graphqlx"));
        assert!(is_api("/v1"));
        assert!(is_api("/v1/chat"));
        assert!(!is_api("/v1x"));
        assert!(!is_api("/keys"));
        assert!(!is_api("/"));
    }

    #[test]
    fn text_types_say_they_are_utf_8() {
        assert_eq!(
            content_type("application/javascript"),
            "application/javascript; charset=utf-8"
        );
        assert_eq!(content_type("text/css"), "text/css; charset=utf-8");
        assert_eq!(content_type("image/png"), "image/png");
    }
}
