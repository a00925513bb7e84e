//! The dashboard in a real browser: headless Chromium driven over
//! WebDriver (`chromedriver`), against the daemon's own `App` with its bot
//! on the fake Bot API. Signing in is what users do: `/web` to the bot,
//! then the link from its reply opened in the browser.
//!
//! Needs `chromium` and `chromedriver` on PATH (Debian `chromium`,
//! `chromium-driver`; `scripts/test` installs them). Without them every
//! test fails saying so, unless `DIPWATCH_BROWSER_TESTS=skip`.
//!
//! Nothing here is timed; the dashboard's speed is in `scripts/bench-daemon`.
//! One file per feature; `helpers.rs` is the harness, `webdriver.rs` the
//! browser.

#[path = "../bot/helpers.rs"]
mod bot_harness;
mod helpers;
#[path = "../support/mod.rs"]
mod support;
mod webdriver;

mod actions;
mod anonymous;
mod miniapp;
mod orders;
mod pages;
mod sign_in;
