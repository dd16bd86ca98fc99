//! The domain's one integration-test binary: the store contract and the
//! sign-in flows, each run on SQLite and on PostgreSQL.

mod activities;
mod api_clients;
mod campaigns;
mod chain_flow;
mod classification;
mod content;
mod content_ops;
mod export;
mod gamers;
mod leaderboards;
mod ledger;
mod partitions;
mod payouts;
mod retention;
mod session;
mod store_contract;
mod validation;
