//! SeaORM entities, one per table. They are database rows only: GraphQL and the proxy wrap them in
//! their own types so that a secret column can never leak by accident.

pub mod access_token;
pub mod admin_user;
pub mod api_key;
pub mod api_request_log;
pub mod api_request_stats;
pub mod config_entry;
pub mod instance_secret;
