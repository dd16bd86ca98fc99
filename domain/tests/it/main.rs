//! The domain's one integration-test binary: the store contract and the
//! sign-in flows, each run on SQLite and on PostgreSQL.

mod activities;
mod auth_flow;
mod campaigns;
mod chain_flow;
mod ledger;
mod machine_auth;
mod payouts;
mod store_contract;
mod validation;
