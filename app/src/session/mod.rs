//! Signing in and out: the sign-in steps and the session.

pub mod api;
mod pages;

pub use pages::*;
