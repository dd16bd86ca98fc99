//! Staff accounts and role changes.

pub mod api;
mod pages;

pub use pages::*;
