//! `dipwatch run`, one test binary: the real daemon spawned with a fast cron
//! (`daemon`), SIGKILLed at seeded points and restarted (`crash`), and under
//! a `/trigger` every second (`soak`); two daemons and a manual collect on
//! one store, one writer at a time (`lease`).

#[path = "../support/mod.rs"]
mod support;

mod crash;
mod daemon;
mod lease;
mod soak;
