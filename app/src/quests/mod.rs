//! Quests (shown and edited on the campaign page).

pub mod api;
