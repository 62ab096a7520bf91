//! The checks, grouped by what they need: `transport` (the connection), `passive` (every answer
//! already seen), `auth` (the routes and the identities), `inject` (the parameters).

pub mod auth;
pub mod inject;
pub mod passive;
pub mod transport;
