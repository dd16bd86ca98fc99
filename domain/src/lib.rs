//! PayQuest's business rules and storage. Everything a page, an API handler or
//! a worker does to money, content or accounts goes through this crate, and the
//! permission checks live here too, so a request the UI would hide is refused
//! whatever door it comes through. Nothing here knows about HTTP or Leptos.

pub mod activities;
pub mod api_clients;
pub mod audit;
pub mod budgets;
pub mod cache;
pub mod campaigns;
pub mod chain;
pub mod classification;
pub mod clock;
pub mod content;
pub mod disburse;
pub mod error;
pub mod export;
pub mod findings;
pub mod gamers;
pub mod gauges;
pub mod insights;
pub mod leaderboards;
pub mod limits;
pub mod media;
pub mod partitions;
pub mod payouts;
pub mod quests;
pub mod reconcile;
pub mod retention;
pub mod review;
pub mod sealed;
pub mod secret;
pub mod session;
pub mod siwe;
pub mod store;
pub mod users;
pub mod validation;
pub mod webhooks;
pub mod work;

#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Conflict, DomainError, DomainResult, ForField};
pub use payquest_types as types;
