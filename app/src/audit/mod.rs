//! The audit log.

pub mod api;
mod pages;

pub use pages::*;
