//! The health endpoint and the welcome page.

use serde_json::{Value, json};

use crate::helpers::TestApp;

#[tokio::test]
async fn health_reports_the_database() {
    let app = TestApp::spawn_anonymous().await;

    let response = app.http.get(app.url("/health")).send().await.unwrap();

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body, json!({"status": "ok", "database": "ok"}));
}

#[tokio::test]
async fn the_welcome_page_links_to_graphiql() {
    let app = TestApp::spawn_anonymous().await;

    let page = app
        .http
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let graphiql = app.http.get(app.url("/graphql")).send().await.unwrap();

    assert!(page.contains("href=\"/graphql\""), "{page}");
    assert_eq!(graphiql.status(), 200);
    assert!(graphiql.text().await.unwrap().contains("graphiql"));
}
