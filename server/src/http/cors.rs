//! Cross-origin access: closed unless `CORS_ORIGINS` names the origins a browser may call from.
//!
//! Without a CORS layer a browser refuses to let another site read any answer, and a JSON
//! request (the only kind `POST /graphql` accepts) cannot even be sent cross-site, because its
//! preflight gets no approval.

use axum::http::{HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

/// The CORS layer for `origins`, or none when the list is empty.
pub fn layer(origins: &[String]) -> Option<CorsLayer> {
    let allowed: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|origin| HeaderValue::from_str(origin).ok())
        .collect();
    if allowed.is_empty() {
        return None;
    }
    Some(
        CorsLayer::new()
            .allow_origin(AllowOrigin::list(allowed))
            .allow_methods([Method::GET, Method::POST])
            .allow_headers([
                header::AUTHORIZATION,
                header::CONTENT_TYPE,
                header::HeaderName::from_static("anthropic-version"),
                header::HeaderName::from_static("x-api-key"),
            ])
            .max_age(std::time::Duration::from_secs(600)),
    )
}
