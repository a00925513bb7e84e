//! Everything Alpaca, behind the provider-neutral traits of
//! [`crate::market`]:
//!
//! - [`client`]: the one HTTP client every call goes through
//!   (authentication, rate budget in [`gate`], retries, a circuit
//!   [`breaker`] per [`Dependency`], counters), with [`api`] naming the two APIs, [`error`]
//!   the failures and their one mapping to [`crate::market::MarketError`],
//!   [`error_body`] reading error answers and wait hints, and `scrub`
//!   masking the keys in anything a server echoes back;
//! - the endpoints, each a path and a pure parser: [`bars`] (market data),
//!   [`calendar`], [`clock`], [`account`] and [`positions`] (trading API);
//! - the order side: [`orders`] (place once, list, look up, cancel),
//!   [`trades`] (the last trade), [`assets`] (is it a tradable stock);
//! - the trait implementations: [`market::AlpacaMarket`] is the
//!   [`crate::market::MarketData`] source, [`broker::AlpacaBroker`] the
//!   [`crate::market::Broker`], [`trader::AlpacaTrader`] the
//!   [`crate::market::Trader`].

pub mod account;
pub mod api;
pub mod assets;
pub mod bars;
pub mod breaker;
mod breakers;
pub mod broker;
pub mod calendar;
pub mod client;
pub mod clock;
pub mod error;
pub mod error_body;
pub mod gate;
pub mod market;
pub mod orders;
pub mod positions;
mod refusal;
mod scrub;
pub mod symbols;
pub mod trader;
pub mod trades;

pub use api::{Api, Dependency};
pub use breaker::{Admission, BreakerState, CircuitBreaker};
pub use broker::AlpacaBroker;
pub use client::{AlpacaClient, ClientSettings};
pub use error::AlpacaError;
pub use error_body::{error_message, server_wait_hint};
pub use gate::RateGate;
pub use market::AlpacaMarket;
pub use trader::AlpacaTrader;
