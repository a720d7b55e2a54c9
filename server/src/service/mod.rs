//! Domain operations over the database. No axum or GraphQL types here: GraphQL resolvers, the CLI
//! and (later) the proxy all call these.

pub mod access_tokens;
pub mod admins;
pub mod config_entries;
pub mod key_import;
pub mod keys;
pub mod request_logs;
pub mod secrets;
pub mod stats;
pub mod validate;
