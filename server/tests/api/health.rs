//! The health endpoint.

use serde_json::{Value, json};

use crate::helpers::TestApp;

#[tokio::test]
async fn health_reports_the_database() {
    let app = TestApp::spawn_anonymous().await;

    let response = app.http.get(app.url("/health")).send().await.unwrap();

    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (&body["status"], &body["database"]),
        (&json!("ok"), &json!("ok"))
    );
}
