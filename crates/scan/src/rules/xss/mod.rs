//! Rules of the `xss` category.

pub mod rich_text_injection;
pub mod web_view_src;
pub mod dom_html_injection;
pub mod reflected_html;
pub mod open_redirect;
