//! The confirm step: the token taken once, every check made again against
//! the broker's account now, `confirm` and `submit` journalled before the
//! request leaves, one send, and an answer that is never a guess: an
//! order already placed under the id, or an outcome unknown, is looked up
//! by its client order id.

use super::actor::{Actor, Source};
use super::compose;
use super::pending::Pending;
use super::record;
use super::refusal::Refusal;
use super::service::{Placed, Trading};
use crate::domain::{ClientOrderId, Order, OrderRequest};
use crate::journal::EventKind;
use crate::market::TradeError;

/// Lookups of an order whose submission's outcome is unknown.
const LOOKUPS: u32 = 3;

impl Trading {
    pub(super) async fn confirm_token(
        &self,
        token: &str,
        actor: &Actor,
    ) -> Result<Placed, Refusal> {
        let p = match self.inner.pending.take(token, actor, self.now()) {
            Ok(p) => p,
            Err((refusal, dropped)) => {
                if let Some(p) = dropped {
                    self.journal_discard(&p, actor, &refusal).await;
                }
                return Err(refusal);
            }
        };
        let request = match self.recheck(&p, actor).await {
            Ok(r) => r,
            Err(refusal) => {
                self.inner.pending.unsent(token);
                self.journal_discard(&p, actor, &refusal).await;
                return Err(refusal);
            }
        };
        let source = actor.source.to_string();
        for kind in [EventKind::Confirm, EventKind::Submit] {
            let event = record::of_preview(kind, &p.preview, &source, self.now());
            if let Err(e) = self.journal().append(event).await {
                self.inner.pending.unsent(token);
                return Err(Refusal::Journal(e.to_string()));
            }
        }
        let placed = self.send(&request, actor.source).await;
        self.journal_answer(&p, actor, &placed).await;
        let placed = placed?;
        self.follow(&placed.order, actor.source);
        Ok(placed)
    }

    /// Every check of the preview again, against the broker now; the
    /// request to send.
    async fn recheck(&self, p: &Pending, actor: &Actor) -> Result<OrderRequest, Refusal> {
        if !p.preview.all_pass() {
            return Err(Refusal::Guards(p.preview.guards.clone()));
        }
        self.may_trade(actor).await?;
        let (symbol, side) = (&p.ask.symbol, p.ask.side);
        let facts = self.facts(symbol).await?;
        self.timing(symbol, &facts)?;
        let s = self.settings();
        let (qty, limit) = (p.preview.qty, p.preview.limit_price);
        compose::recheck(side, symbol, qty, limit, &facts, s)?;
        let a = compose::assess(side, symbol, qty, limit, &facts, s);
        if a.guards.iter().any(|g| !g.ok) {
            return Err(Refusal::Guards(a.guards));
        }
        Ok(OrderRequest {
            client_order_id: p.preview.client_order_id.clone(),
            symbol: symbol.clone(),
            side,
            qty,
            limit_price: limit,
        })
    }

    /// Send once; an order already placed under the id, or an unknown
    /// outcome, is looked up instead of sent again.
    async fn send(&self, request: &OrderRequest, source: Source) -> Result<Placed, Refusal> {
        let id = &request.client_order_id;
        let found = |order: Order| Placed {
            order,
            client_order_id: id.clone(),
            already_placed: true,
        };
        match self.trader().submit(request).await {
            Ok(order) => Ok(Placed {
                order,
                client_order_id: id.clone(),
                already_placed: false,
            }),
            Err(TradeError::AlreadyPlaced(_)) => match self.look_up(id).await {
                Ok(Some(order)) => Ok(found(order)),
                Ok(None) | Err(_) => Err(self.unknown(
                    id,
                    source,
                    "the broker says it was placed, but it could not be read back",
                )),
            },
            Err(e) if e.outcome_unknown() => match self.look_up(id).await {
                Ok(Some(order)) => Ok(found(order)),
                Ok(None) => Err(self.unknown(
                    id,
                    source,
                    &format!("{e}; the broker has no order with this id yet"),
                )),
                Err(again) => Err(self.unknown(
                    id,
                    source,
                    &format!("{e}; looking it up failed too: {again}"),
                )),
            },
            Err(e) => Err(Refusal::Broker(e)),
        }
    }

    /// The order sent with `id`, asked up to [`LOOKUPS`] times.
    async fn look_up(&self, id: &ClientOrderId) -> Result<Option<Order>, TradeError> {
        let mut last = Ok(None);
        for i in 0..LOOKUPS {
            if i > 0 {
                tokio::time::sleep(self.parts().lookup_pause).await;
            }
            last = self.trader().order_by_client_id(id).await;
            if let Ok(Some(_)) = last {
                return last;
            }
        }
        last
    }

    /// The outcome is unknown: say so, and let the follower keep looking.
    fn unknown(&self, id: &ClientOrderId, source: Source, why: &str) -> Refusal {
        self.recover_later(id.clone(), source);
        Refusal::OutcomeUnknown {
            client_order_id: id.clone(),
            reason: why.to_string(),
        }
    }

    async fn journal_discard(&self, p: &Pending, actor: &Actor, why: &Refusal) {
        let mut event = record::of_preview(
            EventKind::Discard,
            &p.preview,
            &actor.source.to_string(),
            self.now(),
        );
        event.reason = Some(why.to_string());
        let _ = record::append(self.journal(), event).await;
    }

    async fn journal_answer(&self, p: &Pending, actor: &Actor, placed: &Result<Placed, Refusal>) {
        let source = actor.source.to_string();
        let event = match placed {
            Ok(placed) => {
                let mut e =
                    record::of_order_by(EventKind::Answer, &placed.order, &source, self.now());
                if placed.already_placed {
                    e.reason =
                        Some("already placed under this client order id: nothing new sent".into());
                }
                e
            }
            Err(refusal) => {
                let mut e = record::of_preview(EventKind::Answer, &p.preview, &source, self.now());
                e.status = Some(match refusal {
                    Refusal::OutcomeUnknown { .. } => "unknown".into(),
                    _ => "refused".into(),
                });
                e.reason = Some(refusal.to_string());
                e
            }
        };
        let _ = record::append(self.journal(), event).await;
    }
}
