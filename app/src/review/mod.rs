//! The review queue.

pub mod api;
mod pages;

pub use pages::*;
