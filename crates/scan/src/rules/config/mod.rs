//! Rules of the `config` category.

pub mod debug_enabled;
pub mod missing_private_infos;
