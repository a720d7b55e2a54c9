//! The HTTP layer under the router: accepting connections within limits, and which browser
//! origins may call the server.

pub mod cors;
pub mod serve;
