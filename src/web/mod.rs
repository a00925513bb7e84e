//! The web dashboard's parts. [`auth`] is its sign-in through the bot:
//! one-time login links, sessions with CSRF tokens, and Mini App
//! `initData` validation, as pure state machines the server drives.

pub mod auth;
