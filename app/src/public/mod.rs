//! The public site: what a visitor sees, with no staff code or session.

pub mod api;
mod pages;

pub use pages::*;
