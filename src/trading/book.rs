//! The order book as the front ends list it (the broker's orders joined
//! with the journal's sources) and cancelling one order.

use std::collections::HashMap;

use super::actor::{Actor, Source};
use super::gather::day_start;
use super::record;
use super::refusal::Refusal;
use super::service::{OrderLine, Trading};
use crate::access::Role;
use crate::domain::{ClientOrderId, Order};
use crate::journal::EventKind;
use crate::market::OrderQuery;
use crate::market::calendar::exchange_date;

/// The broker's cap on one listing.
const LIST_LIMIT: u32 = 500;

impl Trading {
    pub(super) async fn order_lines(&self, open_only: bool) -> Result<Vec<OrderLine>, Refusal> {
        let t = self.trader();
        let mut orders = t
            .orders(&OrderQuery {
                open_only: true,
                after: None,
                limit: LIST_LIMIT,
            })
            .await
            .map_err(Refusal::Broker)?;
        if !open_only {
            let today = t
                .orders(&OrderQuery {
                    open_only: false,
                    after: Some(day_start(self.now())),
                    limit: LIST_LIMIT,
                })
                .await
                .map_err(Refusal::Broker)?;
            for o in today {
                if !orders.iter().any(|x| x.id == o.id) {
                    orders.push(o);
                }
            }
        }
        orders.sort_by_key(|o| std::cmp::Reverse(o.submitted_at));
        let sources = self.sources().await;
        Ok(orders
            .into_iter()
            .map(|order| {
                let source = sources.get(&order.client_order_id).cloned().or_else(|| {
                    // Placed through dipwatch before the journal's window.
                    ClientOrderId::parse(&order.client_order_id)
                        .is_ok()
                        .then(|| "dipwatch".to_string())
                });
                OrderLine { order, source }
            })
            .collect())
    }

    /// Client order id -> who placed it, from the journal's submissions of
    /// today and yesterday (New York); an unreadable journal joins nothing.
    async fn sources(&self) -> HashMap<String, String> {
        let today = exchange_date(self.now());
        let mut out = HashMap::new();
        for day in [today.pred_opt().unwrap_or(today), today] {
            let events = match self.journal().day(day).await {
                Ok(e) => e,
                Err(e) => {
                    tracing::warn!(%day, error = %e, "orders: the journal could not be read");
                    continue;
                }
            };
            for e in events {
                if let (EventKind::Submit, Some(id)) = (e.event, e.client_order_id) {
                    out.insert(id, e.source);
                }
            }
        }
        out
    }

    pub(super) async fn cancel_order(
        &self,
        order_id: &str,
        actor: &Actor,
    ) -> Result<Order, Refusal> {
        if actor.role != Role::Admin {
            return Err(Refusal::NotAdmin);
        }
        let order = self
            .trader()
            .order(order_id)
            .await
            .map_err(Refusal::Broker)?;
        let event = record::of_order(EventKind::Cancel, &order, actor, self.now());
        self.journal()
            .append(event)
            .await
            .map_err(|e| Refusal::Journal(e.to_string()))?;
        self.trader()
            .cancel(order_id)
            .await
            .map_err(Refusal::Broker)?;
        let now = self.trader().order(order_id).await.unwrap_or(order);
        let source = self
            .sources()
            .await
            .get(&now.client_order_id)
            .and_then(|s| Source::parse(s))
            .unwrap_or(actor.source);
        self.follow(&now, source);
        Ok(now)
    }
}
