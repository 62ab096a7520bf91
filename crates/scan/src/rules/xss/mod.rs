//! Rules of the `xss` category.

pub mod dom_html_injection;
pub mod open_redirect;
pub mod reflected_html;
pub mod rich_text_injection;
pub mod web_view_src;
