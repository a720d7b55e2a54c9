//! AMP Pool: a self-hosted pool and proxy for OpenAI, Anthropic and AMP API keys.
//!
//! The binary only boots; everything lives here so tests can start the real server on port 0
//! with [`app::build_state`] and [`app::serve`].

pub mod access;
pub mod alerts;
pub mod app;
pub mod auth;
pub mod balance;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod console;
pub mod db;
pub mod entity;
pub mod error;
pub mod events;
pub mod graphql;
pub mod http;
pub mod live_config;
pub mod metrics;
pub mod pool;
pub mod provider;
pub mod proxy;
pub mod recorder;
pub mod retention;
pub mod secret;
pub mod service;
pub mod state;
pub mod usage;
pub mod vault;
