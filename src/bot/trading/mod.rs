//! Orders from the bot: `/buy` and `/sell` open a preview with Confirm and
//! Cancel buttons, `/orders` lists orders with a Cancel button each,
//! `/halt` and `/resume` work the kill switch, and `/risk`'s Buy and Sell
//! buttons open the same preview. Everything goes through the one
//! [`crate::trading::Trading`] service (which checks the role again, the
//! guards, the token's chat and time, and journals every step); the bot
//! reads what was typed or pressed, shows the answers and forwards the
//! status changes of the orders a chat placed ([`follow`]).
//!
//! - [`press`]: the buttons' callback data;
//! - [`replies`]: what is said, pure;
//! - [`follow`]: the status changes, sent to the chat that placed the
//!   order through the bot's limiter, one queue per chat.

pub(crate) mod follow;
pub(crate) mod press;
pub(crate) mod replies;

use teloxide::prelude::*;
use teloxide::types::{
    InlineKeyboardButton, InlineKeyboardButtonKind, InlineKeyboardMarkup, MaybeInaccessibleMessage,
};

use self::press::TradePress;
use super::error::BotError;
use super::send::{self, TgBot};
use super::shared::Shared;
use crate::access::Role;
use crate::domain::{OrderSide, Symbol};
use crate::echo::quoted;
use crate::trading::{Actor, Amount, Ask, Refusal, Source, Trading};

/// The chat asking, with its role in the allow-lists now.
pub(crate) fn actor(shared: &Shared, chat: ChatId) -> Actor {
    Actor {
        source: Source::Chat(chat.0),
        role: shared.access.role(chat.0),
    }
}

/// `/buy TICKER AMOUNT` or `/sell TICKER [AMOUNT]` read into an [`Ask`], or
/// what is wrong, in words (the command adds its usage).
pub(crate) fn parse_ask(args: &str, side: OrderSide) -> Result<Ask, String> {
    let mut words = args.split_whitespace();
    let Some(ticker) = words.next() else {
        return Err("name a ticker".into());
    };
    let symbol =
        Symbol::parse(ticker).map_err(|_| format!("{} is not a ticker", quoted(ticker)))?;
    let amount_text = words.next().unwrap_or_default();
    if let Some(extra) = words.next() {
        return Err(format!("{} is one word too many", quoted(extra)));
    }
    let amount = match side {
        OrderSide::Buy if amount_text.is_empty() => {
            return Err("say how much: 500, $500, 2% or size".into());
        }
        OrderSide::Buy => Amount::parse_buy(amount_text),
        OrderSide::Sell => Amount::parse_sell(amount_text),
    }
    .map_err(|e| e.to_string())?;
    Ok(Ask {
        symbol,
        side,
        amount,
        limit: None,
    })
}

/// Preview `ask` for `chat` and send it with its buttons (or the refusal).
pub(crate) async fn open_preview(
    bot: &TgBot,
    chat: ChatId,
    shared: &Shared,
    ask: &Ask,
) -> Result<(), BotError> {
    let Some(trading) = &shared.ctx.trading else {
        send::html(bot, chat, &replies::trading_off()).await?;
        return Ok(());
    };
    let reply = match trading.preview(ask, &actor(shared, chat)).await {
        Ok(p) => {
            tracing::info!(
                chat_id = chat.0,
                symbol = %p.symbol,
                side = %p.side,
                passes = p.all_pass(),
                "order previewed"
            );
            replies::preview_reply(&p)
        }
        Err(r) => {
            tracing::info!(chat_id = chat.0, refusal = %r, "order preview refused");
            replies::refusal(&r).into()
        }
    };
    send::html_with_keyboard(bot, chat, &reply.text, reply.keyboard).await?;
    Ok(())
}

/// What a press came to: the short answer on the button, the message for
/// the chat, and whether the pressed message's buttons are spent.
struct Outcome {
    /// The callback's answer (at most 200 characters), shown as an alert
    /// for a refusal.
    answer: String,
    alert: bool,
    /// Sent to the chat (HTML), if anything.
    message: Option<String>,
    /// The pressed message's keyboard after the press: `Some(None)` takes
    /// every button away, `Some(Some(k))` leaves `k`, `None` leaves it be.
    keyboard: Option<Option<InlineKeyboardMarkup>>,
}

impl Outcome {
    fn refused(r: &Refusal, spent: bool) -> Self {
        Self {
            answer: crate::echo::clip(&r.to_string(), 190),
            alert: true,
            message: spent.then(|| replies::refusal(r)),
            keyboard: spent.then_some(None),
        }
    }
}

/// A refusal that is about who pressed, not the preview: the buttons stay
/// for the chat they were meant for.
fn spends_the_preview(r: &Refusal) -> bool {
    !matches!(
        r,
        Refusal::NotAdmin | Refusal::WrongSource | Refusal::Disabled
    )
}

/// A trading button pressed in `chat`: decided by the service, the press
/// answered once (the refusal as an alert), the preview's buttons taken
/// away once decided, the outcome said in the chat.
pub(crate) async fn pressed(
    bot: &TgBot,
    q: &CallbackQuery,
    chat: ChatId,
    press: TradePress,
    shared: &Shared,
) -> Result<(), BotError> {
    let outcome = match (&shared.ctx.trading, press) {
        (None, _) => Outcome {
            answer: "Trading is off".into(),
            alert: true,
            message: Some(replies::trading_off()),
            keyboard: None,
        },
        (Some(t), TradePress::Confirm(token)) => confirm(t, &token, shared, chat).await,
        (Some(t), TradePress::Discard(token)) => discard(t, &token, shared, chat).await,
        (Some(t), TradePress::CancelOrder(id)) => {
            cancel(t, &id, shared, chat, q.message.as_ref()).await
        }
        (Some(_), TradePress::Buy(symbol)) => {
            return preview_from_button(bot, q, chat, shared, symbol, OrderSide::Buy).await;
        }
        (Some(_), TradePress::Sell(symbol)) => {
            return preview_from_button(bot, q, chat, shared, symbol, OrderSide::Sell).await;
        }
    };
    let _ = bot
        .api()
        .answer_callback_query(q.id.clone())
        .text(outcome.answer)
        .show_alert(outcome.alert)
        .await;
    if let (Some(keyboard), Some(m)) = (outcome.keyboard, q.message.as_ref()) {
        send::edit_keyboard(bot, chat, m.id(), keyboard).await?;
    }
    if let Some(text) = outcome.message {
        send::html(bot, chat, &text).await?;
    }
    Ok(())
}

/// `/risk`'s Buy (the suggested size) or Sell (everything held): the same
/// preview `/buy SYMBOL size` or `/sell SYMBOL` opens.
async fn preview_from_button(
    bot: &TgBot,
    q: &CallbackQuery,
    chat: ChatId,
    shared: &Shared,
    symbol: Symbol,
    side: OrderSide,
) -> Result<(), BotError> {
    let _ = bot.api().answer_callback_query(q.id.clone()).await;
    let amount = match side {
        OrderSide::Buy => Amount::Suggested,
        OrderSide::Sell => Amount::All,
    };
    let ask = Ask {
        symbol,
        side,
        amount,
        limit: None,
    };
    open_preview(bot, chat, shared, &ask).await
}

async fn confirm(t: &Trading, token: &str, shared: &Shared, chat: ChatId) -> Outcome {
    match t.confirm(token, &actor(shared, chat)).await {
        Ok(placed) => {
            tracing::info!(
                chat_id = chat.0,
                client_order_id = %placed.client_order_id,
                already_placed = placed.already_placed,
                "order confirmed from Telegram"
            );
            Outcome {
                answer: if placed.already_placed {
                    "Already placed: nothing new sent".into()
                } else {
                    "Order sent".into()
                },
                alert: false,
                message: Some(replies::placed(&placed, t.mode())),
                keyboard: Some(None),
            }
        }
        Err(r) => {
            tracing::info!(chat_id = chat.0, refusal = %r, "confirmation refused");
            Outcome::refused(&r, spends_the_preview(&r))
        }
    }
}

async fn discard(t: &Trading, token: &str, shared: &Shared, chat: ChatId) -> Outcome {
    match t.discard(token, &actor(shared, chat)).await {
        Ok(()) => Outcome {
            answer: "Canceled: nothing sent".into(),
            alert: false,
            message: Some(replies::discarded()),
            keyboard: Some(None),
        },
        Err(r) => Outcome::refused(&r, spends_the_preview(&r)),
    }
}

async fn cancel(
    t: &Trading,
    order_id: &str,
    shared: &Shared,
    chat: ChatId,
    message: Option<&MaybeInaccessibleMessage>,
) -> Outcome {
    match t.cancel(order_id, &actor(shared, chat)).await {
        Ok(order) => Outcome {
            answer: "Cancel asked".into(),
            alert: false,
            message: Some(replies::cancel_asked(&order)),
            keyboard: Some(without_button(
                message,
                &TradePress::CancelOrder(order_id.into()),
            )),
        },
        Err(r) => Outcome::refused(&r, false),
    }
}

/// The pressed message's keyboard less the button that made `press`
/// (`None` when nothing is left, or the message cannot be read).
fn without_button(
    message: Option<&MaybeInaccessibleMessage>,
    press: &TradePress,
) -> Option<InlineKeyboardMarkup> {
    let markup = match message? {
        MaybeInaccessibleMessage::Regular(m) => m.reply_markup()?,
        MaybeInaccessibleMessage::Inaccessible(_) => return None,
    };
    without(markup, &press.encode()?)
}

/// `markup` less every button carrying `data`, empty rows dropped.
fn without(markup: &InlineKeyboardMarkup, data: &str) -> Option<InlineKeyboardMarkup> {
    let rows: Vec<Vec<InlineKeyboardButton>> = markup
        .inline_keyboard
        .iter()
        .map(|row| {
            row.iter()
                .filter(
                    |b| !matches!(&b.kind, InlineKeyboardButtonKind::CallbackData(d) if d == data),
                )
                .cloned()
                .collect::<Vec<_>>()
        })
        .filter(|row| !row.is_empty())
        .collect();
    (!rows.is_empty()).then(|| InlineKeyboardMarkup::new(rows))
}

/// An admin chat, for the buttons only admins get.
pub(crate) fn is_admin(shared: &Shared, chat: ChatId) -> bool {
    shared.access.role(chat.0) == Role::Admin
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    #[test]
    fn a_cancelled_orders_button_leaves_the_others() {
        let button = |id: &str| {
            TradePress::CancelOrder(id.into())
                .button(format!("Cancel {id}"))
                .unwrap()
        };
        let markup = InlineKeyboardMarkup::new([vec![button("a")], vec![button("b")]]);
        let left = without(&markup, "oc:a").expect("b is left");
        assert_eq!(left.inline_keyboard, [vec![button("b")]]);
        assert_eq!(without(&left, "oc:b"), None, "nothing left: no keyboard");
        assert_eq!(without(&markup, "oc:zz"), Some(markup.clone()));
    }

    #[test]
    fn order_arguments_are_read_or_explained() {
        let ask = parse_ask("bf.b $500", OrderSide::Buy).unwrap();
        assert_eq!(ask.symbol.as_str(), "BF.B");
        assert_eq!(ask.amount, Amount::Usd(dec!(500)));
        assert_eq!(
            parse_ask("AAPL size", OrderSide::Buy).unwrap().amount,
            Amount::Suggested
        );
        assert_eq!(
            parse_ask("AAPL", OrderSide::Sell).unwrap().amount,
            Amount::All
        );
        assert_eq!(
            parse_ask("AAPL 50%", OrderSide::Sell).unwrap().amount,
            Amount::PctOfPosition(dec!(50))
        );
        for (args, side, needle) in [
            ("", OrderSide::Buy, "name a ticker"),
            ("AAPL", OrderSide::Buy, "say how much"),
            ("<b>x</b> 500", OrderSide::Buy, "“<b>x</b>” is not a ticker"),
            ("AAPL 500 now", OrderSide::Buy, "“now” is one word too many"),
            ("AAPL -5", OrderSide::Buy, "negative"),
            ("AAPL 1.5", OrderSide::Sell, "whole number of shares"),
        ] {
            let e = parse_ask(args, side).unwrap_err();
            assert!(e.contains(needle), "{args}: {e}");
        }
    }
}
