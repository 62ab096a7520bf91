//! The checks, grouped by what they need: `abuse` (a slow connection of its own), `transport` (the connection), `passive` (every answer
//! already seen), `auth` (the routes and the identities), `inject` (the parameters).

pub mod abuse;
pub mod auth;
pub mod inject;
pub mod passive;
pub mod transport;
