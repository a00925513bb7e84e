//! What the trading commands and buttons say, as pure functions of the
//! service's answers: a preview (its [`Preview::rows`], never numbers
//! formatted again here), a refusal in the service's own words, a placed
//! order, a followed order's status change, the `/orders` list, the kill
//! switch. Every dynamic value is escaped.

use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup};

use super::press::TradePress;
use crate::bot::html::{escape, label_table};
use crate::bot::reply::Reply;
use crate::config::TradingMode;
use crate::domain::{Order, OrderStatus};
use crate::numbers::{qty, usd};
use crate::trading::actor::placed_by;
use crate::trading::{OrderLine, OrderUpdate, Placed, Preview, Refusal};

/// Orders `/orders` lists in one message (the CLI lists them all).
pub(crate) const ORDERS_SHOWN: usize = 20;

/// The mode as a preview's first words: PAPER, or LIVE spelled out.
fn mode_banner(mode: TradingMode) -> &'static str {
    match mode {
        TradingMode::Paper => "🧪 <b>PAPER</b> (Alpaca's paper account: no real money)",
        TradingMode::Live => "🔴 <b>LIVE: REAL MONEY</b>",
    }
}

/// A preview: the mode, the rows every front end shows, what a guard
/// says when one fails, and Confirm / Cancel buttons (no Confirm while a
/// guard fails).
pub(crate) fn preview_reply(p: &Preview) -> Reply {
    let mut text = format!(
        "{}\n<b>Preview</b> · {} <b>{}</b>\n",
        mode_banner(p.mode),
        p.side,
        escape(p.symbol.as_str())
    );
    text.push_str(&label_table(&p.rows()));
    let confirm = TradePress::Confirm(p.token.clone());
    let discard = TradePress::Discard(p.token.clone());
    let mut buttons: Vec<InlineKeyboardButton> = Vec::new();
    if p.all_pass() {
        text.push_str("\nNothing is sent until you tap <b>Confirm</b>.");
        buttons.extend(confirm.button("✅ Confirm"));
    } else {
        let failing: Vec<&str> = p.guards.iter().filter(|g| !g.ok).map(|g| g.key).collect();
        text.push_str(&format!(
            "\n⚠️ <b>Over a guard</b>: {}. This order cannot be confirmed; ask for less.",
            escape(&failing.join(", "))
        ));
    }
    buttons.extend(discard.button("✖ Cancel"));
    Reply {
        text,
        keyboard: (!buttons.is_empty()).then(|| InlineKeyboardMarkup::new([buttons])),
    }
}

/// Why nothing was done, in the service's words.
pub(crate) fn refusal(r: &Refusal) -> String {
    match r {
        Refusal::Disabled => trading_off(),
        Refusal::Broker(_) => format!("❌ Not placed: {}", escape(&r.to_string())),
        _ => format!("⛔ {}", escape(&capitalised(&r.to_string()))),
    }
}

/// `text` with its first letter upper case (refusals are written to follow
/// a colon).
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().chain(chars).collect::<String>()
    })
}

/// The reply while `ctx.trading` is off: how to turn it on.
pub(crate) fn trading_off() -> String {
    "Trading is off. To place orders from here, set <code>trading.enabled = true</code> with \
     <code>market.provider = \"alpaca\"</code> (orders go to <code>market.trading_url</code>, \
     Alpaca's paper API by default) and restart dipwatch; docs/BOT.md says more."
        .into()
}

/// `/buy`, `/sell`, `/halt` and `/resume` from a chat that is not an admin.
pub(crate) fn admins_only(chat_id: i64) -> String {
    format!(
        "Only admins can trade. This chat's id is <code>{chat_id}</code>; \
         add it to telegram.admin_chat_ids to allow it."
    )
}

/// An order in a few words: `buy 5 AAPL, limit $180.50`.
pub(crate) fn order_words(o: &Order) -> String {
    let mut out = format!("{} ", o.side);
    match (o.qty, o.notional) {
        (Some(q), _) => out.push_str(&format!("{} ", qty(q))),
        (None, Some(n)) => out.push_str(&format!("{} of ", usd(n))),
        (None, None) => {}
    }
    out.push_str(&escape(o.symbol.as_str()));
    if let Some(l) = o.limit_price {
        out.push_str(&format!(", limit {}", usd(l)));
    }
    out
}

/// What has filled: `2 of 5 at $180.20 average`, or `nothing filled`.
fn fills(o: &Order) -> String {
    match o.filled_avg_price {
        Some(avg) if !o.filled_qty.is_zero() => {
            let of = o
                .qty
                .map_or_else(String::new, |q| format!(" of {}", qty(q)));
            format!("{}{of} at {} average", qty(o.filled_qty), usd(avg))
        }
        _ => "nothing filled".into(),
    }
}

/// The confirmation's outcome: the order sent (or found already placed).
pub(crate) fn placed(p: &Placed, mode: TradingMode) -> String {
    let head = if p.already_placed {
        "✅ <b>Already placed</b>: this confirmation's order was found at Alpaca; nothing new was sent."
    } else {
        "✅ <b>Order sent</b>"
    };
    format!(
        "{head} · {}\n{} · status <b>{}</b>\nclient order id <code>{}</code>\n\
         I will send its status here as it changes.",
        mode.as_str(),
        order_words(&p.order),
        escape(p.order.status.as_str()),
        escape(p.client_order_id.as_str()),
    )
}

/// The preview dropped unsent (its Cancel button).
pub(crate) fn discarded() -> String {
    "✖ Canceled: nothing was sent.".into()
}

/// A followed order's status change, as the chat that placed it reads it.
pub(crate) fn status_update(u: &OrderUpdate) -> String {
    let o = &u.order;
    let (mark, words) = match &o.status {
        OrderStatus::New | OrderStatus::PendingNew | OrderStatus::Accepted => {
            ("📨", format!("{} by Alpaca", escape(o.status.as_str())))
        }
        OrderStatus::PartiallyFilled => ("◐", format!("partially filled: {}", fills(o))),
        OrderStatus::Filled => ("✅", format!("<b>filled</b>: {}", fills(o))),
        OrderStatus::Canceled => ("✖", format!("canceled ({})", fills(o))),
        OrderStatus::Expired => ("⌛", format!("expired ({})", fills(o))),
        OrderStatus::Rejected => ("❌", "<b>rejected</b> by Alpaca".to_string()),
        other => ("•", escape(other.as_str())),
    };
    format!(
        "{mark} Order {}: {words}\n<i>client order id {}</i>",
        order_words(o),
        escape(&o.client_order_id)
    )
}

/// `/orders`: open and today's orders, newest first, with a Cancel button
/// under each open one for an admin.
pub(crate) fn orders_reply(lines: &[OrderLine], admin: bool) -> Reply {
    if lines.is_empty() {
        return "No open orders, and none placed today.".to_string().into();
    }
    let mut text = format!("<b>Orders</b> · open and today's ({})\n", lines.len());
    let mut rows: Vec<Vec<InlineKeyboardButton>> = Vec::new();
    for line in lines.iter().take(ORDERS_SHOWN) {
        let o = &line.order;
        let by = match line.source.as_deref() {
            Some(source) => format!("by {}", escape(&placed_by(Some(source)))),
            None => "placed elsewhere".to_string(),
        };
        let at = o
            .submitted_at
            .map_or_else(String::new, |t| format!(" · {}", t.format("%H:%M UTC")));
        text.push_str(&format!(
            "• {} · <b>{}</b> · {}{at} · {by}\n",
            order_words(o),
            escape(o.status.as_str()),
            fills(o)
        ));
        if admin && o.status.is_open() {
            let label = format!("✖ Cancel {} {}", o.side, o.symbol.as_str());
            rows.extend(
                TradePress::CancelOrder(o.id.clone())
                    .button(label)
                    .map(|b| vec![b]),
            );
        }
    }
    if lines.len() > ORDERS_SHOWN {
        text.push_str(&format!(
            "<i>and {} more: <code>dipwatch orders</code> lists them all.</i>",
            lines.len() - ORDERS_SHOWN
        ));
    }
    Reply {
        text: text.trim_end().to_string(),
        keyboard: (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows)),
    }
}

/// A cancellation asked of the broker.
pub(crate) fn cancel_asked(o: &Order) -> String {
    format!(
        "✖ Asked Alpaca to cancel {} (status now <b>{}</b>). I will send its status here if it \
         was placed from this chat.",
        order_words(o),
        escape(o.status.as_str())
    )
}

/// `/halt` done: what was asked to cancel.
pub(crate) fn halted(canceled: &[Order]) -> String {
    let mut out = format!(
        "⛔ <b>Trading halted.</b> New orders are refused (here, on the dashboard and on the \
         command line) until /resume. Asked Alpaca to cancel {} open order{}",
        canceled.len(),
        if canceled.len() == 1 { "" } else { "s" }
    );
    if canceled.is_empty() {
        out.push('.');
    } else {
        out.push(':');
        for o in canceled {
            out.push_str(&format!("\n• {}", order_words(o)));
        }
    }
    out
}

/// `/resume` done.
pub(crate) fn resumed() -> String {
    "▶️ <b>Trading resumed.</b> /buy and /sell place orders again (each still confirmed).".into()
}

#[cfg(test)]
mod tests;
