//! The public site: what a visitor sees, with no staff code or session.

mod pages;

pub use pages::*;
