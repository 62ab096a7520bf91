//! Rules of the `secrets` category.

pub mod cloud_access_key;
pub mod hardcoded_appsecret;
pub mod hardcoded_credential;
pub mod private_key;
