//! Rules of the `secrets` category.

pub mod hardcoded_appsecret;
pub mod cloud_access_key;
pub mod private_key;
pub mod hardcoded_credential;
