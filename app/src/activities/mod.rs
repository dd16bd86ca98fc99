//! Reported activities.

pub mod api;
mod pages;

pub use pages::*;
