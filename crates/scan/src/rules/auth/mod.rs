//! Rules of the `auth` category.

pub mod client_controlled_amount;
pub mod client_identity_login;
pub mod credential_in_response;
pub mod jwt_decode_without_verify;
pub mod jwt_weak_verification;
pub mod missing_owner_check;
pub mod missing_role_check;
pub mod server_api_from_client;
pub mod session_key_in_response;
pub mod session_key_on_client;
pub mod trusted_client_identity;
pub mod unbounded_quantity;
