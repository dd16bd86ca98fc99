//! The domain's one integration-test binary: the store contract and the
//! sign-in flows, each run on SQLite and on PostgreSQL.

mod activities;
mod auth_flow;
mod campaigns;
mod ledger;
mod machine_auth;
mod store_contract;
mod validation;
