//! The GraphQL management API: one schema merged from a module per domain.
//!
//! Every operation but `login` needs an admin JWT (introspection too); [`guard::RequireAdmin`]
//! enforces that once for the whole schema, before any resolver runs.

mod auth;
mod config;
pub mod endpoint;
mod events;
mod extensions;
mod guard;
mod keys;
mod limits;
mod loaders;
mod logs;
mod rollups;
pub mod socket;
mod stats;
mod tokens;
pub mod trace;

pub use loaders::key_loader;

use async_graphql::{Context, MergedObject, MergedSubscription, Schema};

use crate::{auth::AdminSession, auth::Authentication, error::ServiceError, state::AppState};

/// Highest complexity a query may have (a timeline counts its buckets).
pub const MAX_COMPLEXITY: usize = 2_000;
/// Deepest recursion the parser and validator may go into.
const MAX_RECURSION: usize = 32;
/// Most directives on one field.
const MAX_DIRECTIVES: usize = 8;

/// The full schema type.
pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Every query, merged from the domain modules.
#[derive(MergedObject, Default)]
pub struct QueryRoot(
    auth::AuthQuery,
    keys::KeyQuery,
    tokens::TokenQuery,
    config::ConfigQuery,
    stats::StatsQuery,
    logs::LogQuery,
);

/// Every mutation, merged from the domain modules.
#[derive(MergedObject, Default)]
pub struct MutationRoot(
    auth::AuthMutation,
    keys::KeyMutation,
    tokens::TokenMutation,
    config::ConfigMutation,
    rollups::RollupMutation,
);

/// Every subscription.
#[derive(MergedSubscription, Default)]
pub struct SubscriptionRoot(events::EventSubscription);

/// Builds the schema; `state` is absent only when the SDL is printed.
pub fn build_schema(state: Option<AppState>) -> AppSchema {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot::default(),
    )
    .limit_depth(limits::MAX_DEPTH)
    .limit_complexity(MAX_COMPLEXITY)
    .limit_recursive_depth(MAX_RECURSION)
    .limit_directives(MAX_DIRECTIVES)
    // The size check prepares the request (parsing it) before async-graphql's own checks
    // and the guard walk the document, and long before validation expands it.
    .extension(trace::OperationSpan)
    .extension(extensions::ErrorCodes)
    .extension(guard::RequireAdmin)
    .extension(limits::DocumentLimits);
    if let Some(state) = state {
        builder = builder.data(state);
    }
    builder.finish()
}

/// The schema in SDL, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    build_schema(None).sdl()
}

/// The application state of a resolver.
fn state<'a>(ctx: &Context<'a>) -> Result<&'a AppState, ServiceError> {
    ctx.data::<AppState>()
        .map_err(|_| ServiceError::internal(anyhow::anyhow!("schema built without state")))
}

/// The admin making this request; the guard has already refused anyone else.
fn admin<'a>(ctx: &Context<'a>) -> Result<&'a AdminSession, ServiceError> {
    match ctx.data_opt::<Authentication>() {
        Some(Authentication::Admin(session)) => Ok(session),
        Some(Authentication::Anonymous(why)) => Err(ServiceError::Unauthenticated((*why).into())),
        None => Err(ServiceError::Unauthenticated("missing bearer token".into())),
    }
}
