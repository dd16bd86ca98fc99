//! Reconciliation findings.

pub mod api;
mod pages;

pub use pages::*;
