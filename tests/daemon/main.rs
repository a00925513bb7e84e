//! `dipwatch run`, one test binary: the real daemon spawned with a fast cron
//! (`daemon`), SIGKILLed at seeded points and restarted (`crash`), and under
//! a `/trigger` every second (`soak`).

#[path = "../support/mod.rs"]
mod support;

mod crash;
mod daemon;
mod soak;
