//! Client access tokens: the secret is returned once, stored only as a hash, and revocable.

use amp_pool::service::access_tokens;
use serde_json::{Value, json};

use crate::helpers::{TestApp, data, error_code};

const TOKEN_FIELDS: &str =
    "id name tokenPrefix enabled expiresAt expired models budget spend rpmLimit lastUsedAt memo";

async fn create_token(app: &TestApp, input: Value) -> (String, Value) {
    let response = app
        .graphql(
            &format!("mutation($input: CreateAccessTokenInput!) {{ createAccessToken(input: $input) {{ token accessToken {{ {TOKEN_FIELDS} }} }} }}"),
            json!({"input": input}),
        )
        .await;
    let created = &data(&response)["createAccessToken"];
    (
        created["token"].as_str().unwrap().to_string(),
        created["accessToken"].clone(),
    )
}

#[tokio::test]
async fn a_created_token_is_shown_once_and_stored_only_as_a_hash() {
    let app = TestApp::spawn().await;

    let (secret, token) = create_token(
        &app,
        json!({"name": "ci bot", "models": ["gpt-4o", "claude-sonnet-4-5", "gpt-4o"],
               "budget": 12.5, "rpmLimit": 60, "expiresAt": "2099-01-01T00:00:00Z", "memo": "for CI"}),
    )
    .await;

    assert!(secret.starts_with("ap-") && secret.len() >= 40, "{secret}");
    assert_eq!(token["name"], "ci bot");
    assert_eq!(token["tokenPrefix"], format!("{}…", &secret[..10]));
    assert_eq!(token["enabled"], true);
    assert_eq!(token["expired"], false);
    assert_eq!(token["expiresAt"], "2099-01-01T00:00:00+00:00");
    assert_eq!(token["models"], json!(["gpt-4o", "claude-sonnet-4-5"]));
    assert_eq!(token["budget"], 12.5);
    assert_eq!(token["spend"], 0.0);
    assert_eq!(token["rpmLimit"], 60);
    let listed = app
        .graphql(
            &format!("{{ accessTokens {{ {TOKEN_FIELDS} }} }}"),
            json!({}),
        )
        .await;
    assert_eq!(data(&listed)["accessTokens"], json!([token]));
    assert!(
        !listed.to_string().contains(&secret[10..]),
        "the secret is never listed"
    );
    // The database holds the hash, which finds the token, and not the secret.
    let stored = access_tokens::find_by_secret(&app.state.db, &secret)
        .await
        .unwrap()
        .expect("found by its secret");
    assert_eq!(stored.token_hash, access_tokens::hash_secret(&secret));
    assert_ne!(stored.token_hash, secret);
}

#[tokio::test]
async fn a_revoked_token_is_disabled() {
    let app = TestApp::spawn().await;
    let (_, token) = create_token(&app, json!({"name": "temp"})).await;

    let response = app
        .graphql(
            "mutation($id: Int!) { revokeAccessToken(id: $id) { id enabled } }",
            json!({"id": token["id"]}),
        )
        .await;

    assert_eq!(
        data(&response)["revokeAccessToken"],
        json!({"id": token["id"], "enabled": false})
    );
}

#[tokio::test]
async fn an_update_changes_given_fields_and_null_clears_limits() {
    let app = TestApp::spawn().await;
    let (_, token) = create_token(
        &app,
        json!({"name": "t", "budget": 5.0, "rpmLimit": 10, "models": ["a"]}),
    )
    .await;

    let response = app
        .graphql(
            "mutation($id: Int!) { updateAccessToken(id: $id, input: {budget: null, models: [\"gpt-4o-mini\"], name: \"renamed\"}) { name budget rpmLimit models } }",
            json!({"id": token["id"]}),
        )
        .await;

    assert_eq!(
        data(&response)["updateAccessToken"],
        json!({"name": "renamed", "budget": null, "rpmLimit": 10, "models": ["gpt-4o-mini"]})
    );
}

#[tokio::test]
async fn invalid_token_input_names_the_field() {
    let app = TestApp::spawn().await;
    for (field, input) in [
        (
            "expiresAt",
            json!({"name": "t", "expiresAt": "2001-01-01T00:00:00Z"}),
        ),
        ("rpmLimit", json!({"name": "t", "rpmLimit": 0})),
        ("budget", json!({"name": "t", "budget": -3})),
        ("name", json!({"name": ""})),
    ] {
        let response = app
            .graphql(
                "mutation($input: CreateAccessTokenInput!) { createAccessToken(input: $input) { token } }",
                json!({"input": input}),
            )
            .await;
        assert_eq!(error_code(&response), "BAD_USER_INPUT", "{field}");
        assert_eq!(response["errors"][0]["extensions"]["field"], field);
    }
}

#[tokio::test]
async fn revoking_a_missing_token_is_not_found() {
    let app = TestApp::spawn().await;

    let response = app
        .graphql("mutation { revokeAccessToken(id: 42) { id } }", json!({}))
        .await;

    assert_eq!(error_code(&response), "NOT_FOUND");
}
