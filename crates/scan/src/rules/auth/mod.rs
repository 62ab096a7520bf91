//! Rules of the `auth` category.

pub mod jwt_decode_without_verify;
pub mod jwt_weak_verification;
pub mod server_api_from_client;
pub mod session_key_in_response;
pub mod session_key_on_client;
pub mod trusted_client_identity;
