//! A scripted broker for the service's tests: an order book in memory
//! that behaves like Alpaca where it matters (a reused client order id is
//! refused as already placed, cancels end orders), and a script of what
//! each submission does (placed, placed but the answer lost, refused).

use std::collections::VecDeque;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use rust_decimal::{Decimal, dec};

use crate::domain::{
    Account, AssetClass, AssetSymbol, ClientOrderId, Order, OrderRequest, OrderStatus, Position,
    Positions, Symbol,
};
use crate::market::{Asset, LastTrade, MarketClock, OrderQuery, TradeError, Trader};

/// What one submission does.
#[derive(Debug, Clone)]
pub(crate) enum Submit {
    /// Placed, answered.
    Place,
    /// Placed, but the answer is this error (a timeout after sending).
    PlaceButAnswer(TradeError),
    /// Not placed: this error.
    Refuse(TradeError),
}

/// The broker's state; tests edit it.
pub(crate) struct Book {
    pub account: Account,
    pub positions: Vec<Position>,
    pub clock: MarketClock,
    pub last: LastTrade,
    pub asset_class: AssetClass,
    pub tradable: bool,
    pub orders: Vec<Order>,
    /// Every submission received.
    pub submits: Vec<OrderRequest>,
    pub script: VecDeque<Submit>,
    /// Lookups by client order id that answer "none" before the order shows.
    pub hide_lookups: u32,
    /// Looking an order up by id panics this many more times (a bug in a
    /// broker's code must not stop the follower).
    pub panics: u32,
}

pub(crate) struct Scripted {
    pub book: Mutex<Book>,
}

/// 100,000 of equity, 50,000 cash and buying power; 10 MSFT at 400.
pub(crate) fn account() -> Account {
    Account {
        buying_power: Some(dec!(50000)),
        ..Account::with_equity_and_cash(Some(dec!(100000)), Some(dec!(50000)))
    }
}

pub(crate) fn now() -> DateTime<Utc> {
    Utc::now()
}

impl Scripted {
    /// An open market, AAPL last traded at 100.00 a minute ago.
    pub(crate) fn new() -> Self {
        let now = now();
        Self {
            book: Mutex::new(Book {
                account: account(),
                positions: vec![Position::from_prices(
                    Symbol::parse("MSFT").unwrap(),
                    dec!(10),
                    dec!(300),
                    dec!(400),
                )],
                clock: MarketClock {
                    now,
                    is_open: true,
                    next_open: now + Duration::hours(20),
                    next_close: now + Duration::hours(3),
                },
                last: LastTrade {
                    price: dec!(100),
                    at: now - Duration::seconds(60),
                },
                asset_class: AssetClass::UsEquity,
                tradable: true,
                orders: Vec::new(),
                submits: Vec::new(),
                script: VecDeque::new(),
                hide_lookups: 0,
                panics: 0,
            }),
        }
    }

    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut Book) -> T) -> T {
        f(&mut self.book.lock().unwrap())
    }
}

fn placed(r: &OrderRequest, n: usize) -> Order {
    Order {
        id: format!("0000000{n}-aaaa-bbbb-cccc-dddddddddddd"),
        client_order_id: r.client_order_id.to_string(),
        symbol: AssetSymbol::from(&r.symbol),
        asset_class: AssetClass::UsEquity,
        side: r.side,
        qty: Some(r.qty),
        notional: None,
        filled_qty: Decimal::ZERO,
        filled_avg_price: None,
        order_type: "limit".into(),
        limit_price: Some(r.limit_price),
        time_in_force: "day".into(),
        status: OrderStatus::New,
        submitted_at: Some(Utc::now()),
        updated_at: None,
        filled_at: None,
    }
}

#[async_trait]
impl Trader for Scripted {
    async fn account(&self) -> Result<Account, TradeError> {
        Ok(self.with(|b| b.account.clone()))
    }
    async fn positions(&self) -> Result<Positions, TradeError> {
        Ok(Positions {
            held: self.with(|b| b.positions.clone()),
            unreadable: Vec::new(),
        })
    }
    async fn last_trade(&self, _symbol: &Symbol) -> Result<LastTrade, TradeError> {
        Ok(self.with(|b| b.last))
    }
    async fn asset(&self, symbol: &Symbol) -> Result<Asset, TradeError> {
        Ok(self.with(|b| Asset {
            symbol: symbol.clone(),
            class: b.asset_class.clone(),
            tradable: b.tradable,
        }))
    }
    async fn clock(&self) -> Result<MarketClock, TradeError> {
        Ok(self.with(|b| b.clock))
    }
    async fn submit(&self, r: &OrderRequest) -> Result<Order, TradeError> {
        self.with(|b| {
            b.submits.push(r.clone());
            if b.orders
                .iter()
                .any(|o| o.client_order_id == r.client_order_id.as_str())
            {
                return Err(TradeError::AlreadyPlaced(r.client_order_id.clone()));
            }
            let step = b.script.pop_front().unwrap_or(Submit::Place);
            let order = placed(r, b.orders.len() + 1);
            match step {
                Submit::Place => {
                    b.orders.push(order.clone());
                    Ok(order)
                }
                Submit::PlaceButAnswer(e) => {
                    b.orders.push(order);
                    Err(e)
                }
                Submit::Refuse(e) => Err(e),
            }
        })
    }
    async fn order_by_client_id(&self, id: &ClientOrderId) -> Result<Option<Order>, TradeError> {
        Ok(self.with(|b| {
            if b.hide_lookups > 0 {
                b.hide_lookups -= 1;
                return None;
            }
            b.orders
                .iter()
                .find(|o| o.client_order_id == id.as_str())
                .cloned()
        }))
    }
    async fn order(&self, id: &str) -> Result<Order, TradeError> {
        let panic = self.with(|b| {
            let p = b.panics > 0;
            b.panics = b.panics.saturating_sub(1);
            p
        });
        assert!(!panic, "scripted broker: a lookup panics");
        self.with(|b| b.orders.iter().find(|o| o.id == id).cloned())
            .ok_or(TradeError::NotFound)
    }
    async fn orders(&self, q: &OrderQuery) -> Result<Vec<Order>, TradeError> {
        Ok(self.with(|b| {
            b.orders
                .iter()
                .filter(|o| !q.open_only || o.status.is_open())
                .filter(|o| {
                    q.after
                        .is_none_or(|a| o.submitted_at.is_none_or(|s| s >= a))
                })
                .cloned()
                .collect()
        }))
    }
    async fn cancel(&self, id: &str) -> Result<(), TradeError> {
        self.with(|b| match b.orders.iter_mut().find(|o| o.id == id) {
            Some(o) if o.status.is_open() => {
                o.status = OrderStatus::Canceled;
                Ok(())
            }
            Some(_) => Err(TradeError::Refused {
                broker: "Alpaca",
                status: 422,
                reason: "order is not cancelable".into(),
            }),
            None => Err(TradeError::NotFound),
        })
    }
}
