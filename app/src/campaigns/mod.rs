//! Campaigns, budgets and transfers.

pub mod api;
#[cfg(feature = "ssr")]
mod chart;
mod pages;

pub use pages::*;
