//! Black-box tests of AMP Pool over HTTP and WebSocket, one binary for every surface.
#![allow(clippy::unwrap_used, clippy::panic)]

mod auth;
mod cli;
mod config;
mod health;
mod helpers;
mod keys;
mod schema;
mod subscriptions;
mod tokens;
