//! The miniguard analyzer.

#![forbid(unsafe_code)]

pub mod template;
