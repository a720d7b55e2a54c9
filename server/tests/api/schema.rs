//! The checked-in schema, query limits and error codes for malformed operations.

use serde_json::json;

use crate::helpers::{TestApp, data, error_code, error_message};

/// The introspection query GraphiQL sends (graphql-js `getIntrospectionQuery`).
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}
"#;

#[test]
fn the_checked_in_schema_matches_the_server() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schema.graphql");
    let checked_in = std::fs::read_to_string(path).unwrap_or_default();

    let live = amp_pool::graphql::sdl();

    assert!(
        checked_in == live,
        "schema.graphql is stale: regenerate it with `cargo run -q -p amp-pool -- schema > schema.graphql`"
    );
}

#[tokio::test]
async fn graphiql_introspection_fits_within_the_limits() {
    let app = TestApp::spawn().await;

    let response = app.graphql(INTROSPECTION, json!({})).await;

    let schema = &data(&response)["__schema"];
    assert_eq!(schema["mutationType"]["name"], "MutationRoot");
    assert_eq!(schema["subscriptionType"]["name"], "SubscriptionRoot");
}

#[tokio::test]
async fn a_query_nested_too_deep_is_refused() {
    let app = TestApp::spawn().await;
    let mut nested = String::from("name");
    for _ in 0..16 {
        nested = format!("ofType {{ {nested} }}");
    }
    let query = format!("{{ __schema {{ types {{ fields {{ type {{ {nested} }} }} }} }} }}");

    let response = app.graphql(&query, json!({})).await;

    assert_eq!(error_code(&response), "QUERY_TOO_COMPLEX");
    assert!(
        error_message(&response).contains("nested too deep"),
        "{response}"
    );
}

#[tokio::test]
async fn a_query_too_complex_is_refused() {
    let app = TestApp::spawn().await;
    let fields: String = (0..1100).map(|i| format!("k{i}: keys {{ id }} ")).collect();

    let response = app.graphql(&format!("{{ {fields} }}"), json!({})).await;

    assert_eq!(error_code(&response), "QUERY_TOO_COMPLEX");
    assert!(
        error_message(&response).starts_with("the query is too complex"),
        "{response}"
    );
}

#[tokio::test]
async fn a_syntax_error_has_its_own_code() {
    let app = TestApp::spawn().await;

    let response = app.graphql("{ keys { id ", json!({})).await;

    assert_eq!(error_code(&response), "GRAPHQL_PARSE_FAILED");
}

#[tokio::test]
async fn an_unknown_field_is_a_validation_error() {
    let app = TestApp::spawn().await;

    let response = app.graphql("{ keys { id apiKey } }", json!({})).await;

    assert_eq!(error_code(&response), "GRAPHQL_VALIDATION_FAILED");
    assert!(error_message(&response).contains("apiKey"), "{response}");
}

#[tokio::test]
async fn a_body_that_is_not_a_graphql_request_gets_a_graphql_error() {
    let app = TestApp::spawn().await;

    let response = app
        .http
        .post(app.url("/graphql"))
        .header("content-type", "application/json")
        .body("not json")
        .send()
        .await
        .unwrap();

    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error_code(&body), "BAD_REQUEST");
    assert!(
        error_message(&body).starts_with("the request body is not a GraphQL request"),
        "{body}"
    );
}
