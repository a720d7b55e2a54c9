//! Black-box tests of AMP Pool over HTTP and WebSocket, one binary for every surface.
#![allow(clippy::unwrap_used, clippy::panic)]

mod anonymous;
mod auth;
mod cli;
mod config;
mod graphql_limits;
mod graphql_trace;
mod health;
mod helpers;
mod insight_balances;
mod insight_live;
mod insight_logs;
mod insight_stats;
mod keys;
mod mock;
mod proxy_access;
mod proxy_accounting;
mod proxy_failover;
mod proxy_formats;
mod proxy_identity;
mod recorder;
mod schema;
mod sdk;
mod shutdown;
mod subscriptions;
mod tokens;
