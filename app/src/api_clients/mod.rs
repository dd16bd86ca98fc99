//! Machine clients.

pub mod api;
mod pages;

pub use pages::*;
