//! The CMS in the dashboard: entries of every content type, and the editor.

pub mod api;
mod pages;

pub use pages::*;
