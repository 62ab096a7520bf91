//! Rules of the `transport` category.

pub mod insecure_http_endpoint;
pub mod secret_in_url;
pub mod tls_verification_disabled;
pub mod url_check_disabled;
