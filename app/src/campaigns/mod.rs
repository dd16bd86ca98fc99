//! Campaigns, budgets and transfers.

pub mod api;
mod pages;

pub use pages::*;
