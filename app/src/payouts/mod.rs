//! Payout batches.

pub mod api;
mod pages;

pub use pages::*;
