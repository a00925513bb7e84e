//! The preview step: every check of the Safety section before a token is
//! issued, the preview composed and journalled; and the Cancel button.

use super::actor::Actor;
use super::compose;
use super::gather::suggested;
use super::pending::{Pending, client_order_id, new_token};
use super::preview::{Ask, Preview};
use super::record;
use super::refusal::Refusal;
use super::service::Trading;
use crate::access::Role;
use crate::journal::EventKind;

impl Trading {
    /// Enabled, an admin, not halted.
    pub(super) async fn may_trade(&self, actor: &Actor) -> Result<(), Refusal> {
        if !self.settings().enabled {
            return Err(Refusal::Disabled);
        }
        if actor.role != Role::Admin {
            return Err(Refusal::NotAdmin);
        }
        self.check_not_halted().await
    }

    pub(super) async fn preview_for(&self, ask: &Ask, actor: &Actor) -> Result<Preview, Refusal> {
        self.may_trade(actor).await?;
        self.check_stock(&ask.symbol).await?;
        let report = self.risk_view(self.now()).await?;
        let facts = self.facts(&ask.symbol).await?;
        let for_next_open = self.timing(&ask.symbol, &facts)?;
        let s = self.settings();
        let suggested = suggested(&report, &ask.symbol, ask.side);
        let (qty, limit) = compose::size(ask, &facts, suggested, s)?;
        let a = compose::assess(ask.side, &ask.symbol, qty, limit, &facts, s);
        let token = new_token()?;
        let now = self.now();
        let ttl = i64::try_from(s.confirm_ttl_secs).unwrap_or(60);
        let preview = Preview {
            client_order_id: client_order_id(&token),
            token,
            mode: self.mode(),
            symbol: ask.symbol.clone(),
            side: ask.side,
            qty,
            limit_price: limit,
            last_price: facts.last.price,
            last_price_at: facts.last.at,
            estimated_cost: a.cost,
            weight_after_pct: a.weight_after_pct,
            cash_after: a.cash_after,
            largest_weight: a.largest_weight,
            joins_cluster: compose::joins_cluster(&report, &ask.symbol),
            guards: a.guards,
            for_next_open,
            expires_at: now + chrono::Duration::seconds(ttl),
        };
        let mut event =
            record::of_preview(EventKind::Preview, &preview, &actor.source.to_string(), now);
        if !preview.all_pass() {
            event.reason = Some(Refusal::Guards(preview.guards.clone()).to_string());
        }
        // A preview that cannot be recorded is not shown (nor confirmable).
        self.journal()
            .append(event)
            .await
            .map_err(|e| Refusal::Journal(e.to_string()))?;
        // Held even with a failing guard, so a tap on Confirm is answered
        // with that guard rather than "unknown".
        self.inner.pending.insert(
            Pending {
                ask: ask.clone(),
                preview: preview.clone(),
                source: actor.source,
            },
            now,
        );
        Ok(preview)
    }

    pub(super) async fn discard_token(&self, token: &str, actor: &Actor) -> Result<(), Refusal> {
        let p = self.inner.pending.discard(token, actor)?;
        let mut event = record::of_preview(
            EventKind::Discard,
            &p.preview,
            &actor.source.to_string(),
            self.now(),
        );
        event.reason = Some("canceled before confirmation".into());
        // Dropped either way: nothing was or will be sent.
        let _ = record::append(self.journal(), event).await;
        Ok(())
    }
}
