//! Rules of the `injection` category.

pub mod code_injection;
pub mod command_injection;
pub mod navigation_injection;
pub mod nosql_injection;
pub mod path_traversal;
pub mod sql_injection;
pub mod ssrf;
