//! Orders from the chat (issue 26), end to end: the daemon's own assembly
//! trading on the fake Alpaca (its order endpoints in Alpaca's wire
//! format, POSTs counted), the real bot polling the fake Bot API, buttons
//! pressed as Telegram sends callback queries, the journal read back from
//! the store. Waits poll what the fakes saw; none is a verdict on speed.

use super::helpers::*;
use dipwatch::journal::{EventKind, JournalEvent};
use support::fake_alpaca::{FakeAlpaca, OrderScript};

/// A trading daemon over `days` of collected data, with `env` on top.
/// Guards the tests do not exercise are wide (the fake portfolio's
/// weights and sizes are the simulation's); the core's tests hold each
/// guard at its edge.
async fn trading(days: u64, env: &[(&str, &str)]) -> Harness {
    let wide = [
        ("DIPWATCH__TRADING__MAX_ORDER_USD", "10000000"),
        ("DIPWATCH__TRADING__MAX_DAILY_USD", "100000000"),
        ("DIPWATCH__TRADING__MAX_POSITION_PCT", "100"),
    ];
    start(Setup::with(|s| {
        s.trading_days = Some(days);
        s.env = wide
            .iter()
            .chain(env)
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    }))
    .await
}

fn fake(h: &Harness) -> &FakeAlpaca {
    h.alpaca.as_ref().expect("a trading harness")
}

/// The callback data of every button under `sent`.
fn buttons(sent: &Sent) -> Vec<(String, String)> {
    let Some(markup) = &sent.reply_markup else {
        return Vec::new();
    };
    markup["inline_keyboard"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row.as_array().into_iter().flatten())
        .map(|b| {
            (
                b["text"].as_str().unwrap_or_default().to_string(),
                b["callback_data"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The data of the button under `sent` whose data starts with `prefix`.
fn data(sent: &Sent, prefix: &str) -> String {
    buttons(sent)
        .into_iter()
        .map(|(_, d)| d)
        .find(|d| d.starts_with(prefix))
        .unwrap_or_else(|| panic!("no {prefix} button under: {}", sent.text))
}

/// Press the button carrying `data` under message `message` of `chat`;
/// the text the press was answered with.
async fn press(h: &Harness, chat: i64, message: i64, data: &str) -> String {
    let id = h.fake.push_callback_on(chat, message, data);
    answer_to(h, id).await
}

/// The answer to the callback query of update `id` (waited for).
async fn answer_to(h: &Harness, id: i64) -> String {
    let query = format!("cb{id}");
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some((_, text)) = h
            .fake
            .callback_answers()
            .into_iter()
            .find(|(q, _)| *q == query)
        {
            return text;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the press {query} was never answered"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The first message to `chat` after the first `skip` whose text contains
/// `needle` (waited for).
async fn message_with(h: &Harness, chat: i64, skip: usize, needle: &str) -> Sent {
    let found = h
        .fake
        .wait_until(WAIT, |s| {
            s.iter()
                .filter(|x| x.chat_id == chat)
                .skip(skip)
                .any(|x| x.text.contains(needle))
        })
        .await
        .unwrap_or_else(|sent| {
            let texts: Vec<&str> = sent
                .iter()
                .filter(|x| x.chat_id == chat)
                .map(|x| x.text.as_str())
                .collect();
            panic!("no message with {needle:?} to {chat}: {texts:#?}")
        });
    found
        .into_iter()
        .filter(|x| x.chat_id == chat)
        .skip(skip)
        .find(|x| x.text.contains(needle))
        .unwrap()
}

/// Send `text` from `chat`; its reply, the first message after it with
/// `needle` (status messages of earlier orders may arrive in between).
async fn ask_for(h: &Harness, chat: i64, text: &str, needle: &str) -> Sent {
    let before = h.fake.sent_to(chat).len();
    h.fake.push_text(chat, text);
    message_with(h, chat, before, needle).await
}

/// `/buy ARGS` from `chat`: its preview.
async fn buy(h: &Harness, chat: i64, args: &str) -> Sent {
    ask_for(h, chat, &format!("/buy {args}"), "<b>Preview</b>").await
}

/// Tap Confirm under `preview`: the chat's "Order sent" message.
async fn confirm(h: &Harness, chat: i64, preview: &Sent) -> Sent {
    let before = h.fake.sent_to(chat).len();
    let answer = press(h, chat, preview.message_id, &data(preview, "tc:")).await;
    assert_eq!(answer, "Order sent");
    message_with(h, chat, before, "<b>Order sent</b>").await
}

/// The events of today's journal (New York date) about `client_order_id`.
async fn journal_of(h: &Harness, client_order_id: &str) -> Vec<JournalEvent> {
    let today = Utc::now()
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    h.journal
        .day(today)
        .await
        .expect("the journal reads back")
        .into_iter()
        .filter(|e| e.client_order_id.as_deref() == Some(client_order_id))
        .collect()
}

/// The client order id a placed order's message names.
fn client_order_id(sent: &Sent) -> String {
    let start = sent.text.find("dw-").expect("a client order id");
    sent.text[start..start + 35].to_string()
}

/// THE acceptance test of issue 26: from `/risk`, an admin taps Buy on a
/// suggested size and then Confirm, sees the order filled in the chat,
/// and every step is in `orders/` with the chat as its source. One POST.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn from_risk_an_admin_buys_the_suggested_size_in_two_taps_and_sees_it_filled() {
    let mut h = trading(200, &[]).await;
    fake(&h).set_order_script(OrderScript::fills());
    let risk = h.ask(ADMIN, "/risk", 1).await;
    let view = &risk[0];
    assert!(
        view.text.contains("nothing is sent until you tap Confirm"),
        "{}",
        view.text
    );
    let buy_data = data(view, "rb:");
    let symbol = buy_data.trim_start_matches("rb:").to_string();
    let suggested = h
        .runner
        .state()
        .snapshot()
        .risk
        .as_ref()
        .and_then(|r| {
            r.suggestions
                .iter()
                .find(|s| s.symbol.as_str() == symbol)
                .and_then(|s| s.shares)
        })
        .expect("the risk view sized the candidate");

    // Tap 1: Buy opens the preview of the suggested size.
    let before = h.fake.sent_to(ADMIN).len();
    press(&h, ADMIN, view.message_id, &buy_data).await;
    let preview = message_with(&h, ADMIN, before, "<b>Preview</b>").await;
    assert!(
        preview.text.starts_with("🧪 <b>PAPER</b>"),
        "{}",
        preview.text
    );
    let shares = dipwatch::numbers::qty(Decimal::from(suggested));
    let quantity = preview
        .text
        .lines()
        .find(|l| l.starts_with("Quantity"))
        .expect("a Quantity row");
    assert!(
        quantity.trim_end().ends_with(&format!(" {shares}")),
        "the suggested {shares} shares: {}",
        preview.text
    );
    let confirm = data(&preview, "tc:");

    // Tap 2: Confirm sends it; the buttons go away; the fill is reported.
    let before = h.fake.sent_to(ADMIN).len();
    let answer = press(&h, ADMIN, preview.message_id, &confirm).await;
    assert_eq!(answer, "Order sent");
    let sent = message_with(&h, ADMIN, before, "<b>Order sent</b>").await;
    let edits: Vec<Sent> = h
        .fake
        .sent_to(ADMIN)
        .into_iter()
        .filter(|x| x.method == "editMessageReplyMarkup" && x.message_id == preview.message_id)
        .collect();
    assert_eq!(edits.len(), 1, "the preview's buttons are taken away");
    assert!(edits[0].reply_markup.is_none() || buttons(&edits[0]).is_empty());
    let filled = message_with(&h, ADMIN, before, "<b>filled</b>").await;
    assert!(
        filled.text.contains(&format!("buy {shares} {symbol}")),
        "{}",
        filled.text
    );
    assert_eq!(fake(&h).order_posts(), 1, "one order sent");
    let cid = client_order_id(&sent);
    let placed = fake(&h).order_by_client_id(&cid).expect("Alpaca has it");
    assert_eq!(placed["status"], "filled");
    assert_eq!(placed["qty"], suggested.to_string());

    // Every step is in the journal, from this chat.
    let kinds_needed = [
        EventKind::Preview,
        EventKind::Confirm,
        EventKind::Submit,
        EventKind::Answer,
        EventKind::Status,
    ];
    let deadline = tokio::time::Instant::now() + WAIT;
    let events = loop {
        let events = journal_of(&h, &cid).await;
        let filled_seen = events
            .iter()
            .any(|e| e.event == EventKind::Status && e.status.as_deref() == Some("filled"));
        if filled_seen || tokio::time::Instant::now() > deadline {
            break events;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    for kind in kinds_needed {
        assert!(
            events.iter().any(|e| e.event == kind),
            "{kind:?} missing from the journal: {events:#?}"
        );
    }
    let chat = ADMIN.to_string();
    for e in events.iter().filter(|e| {
        matches!(
            e.event,
            EventKind::Preview | EventKind::Confirm | EventKind::Submit
        )
    }) {
        assert_eq!(e.source, chat, "{e:?}");
        assert_eq!(e.symbol.as_deref(), Some(symbol.as_str()), "{e:?}");
    }
    assert!(
        events
            .iter()
            .any(|e| e.event == EventKind::Status && e.status.as_deref() == Some("filled")),
        "{events:#?}"
    );
    assert_all_accepted(&h.fake.sent());
    h.stop().await;
}

/// Two taps on Confirm (a double tap, the second arriving while the first
/// is being answered) place one order; the second is told it was
/// already confirmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_confirm_places_one_order() {
    let mut h = trading(10, &[]).await;
    let preview = buy(&h, ADMIN, "AAPL $500").await;
    let confirm = data(&preview, "tc:");
    let first = h.fake.push_callback_on(ADMIN, preview.message_id, &confirm);
    let second = h.fake.push_callback_on(ADMIN, preview.message_id, &confirm);
    let answers = [answer_to(&h, first).await, answer_to(&h, second).await];
    assert_eq!(answers[0], "Order sent", "{answers:?}");
    assert!(answers[1].contains("already confirmed"), "{answers:?}");
    assert_eq!(fake(&h).order_posts(), 1, "one order, however many taps");
    assert_eq!(fake(&h).orders().len(), 1);
    h.stop().await;
}

/// A preview confirmed after `trading.confirm_ttl_secs` is refused, said
/// as an alert and in the chat, its buttons taken away; nothing is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_confirm_is_refused() {
    let mut h = trading(10, &[("DIPWATCH__TRADING__CONFIRM_TTL_SECS", "5")]).await;
    let preview = buy(&h, ADMIN, "AAPL 500").await;
    let confirm = data(&preview, "tc:");
    // Wait (by polling the clock) until the preview's time is over.
    let until = preview
        .text
        .split("Confirm before")
        .nth(1)
        .and_then(|rest| rest.trim_start().get(..19))
        .and_then(|t| chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S").ok())
        .expect("the preview says until when")
        .and_utc();
    while Utc::now() <= until + chrono::Duration::seconds(1) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let before = h.fake.sent_to(ADMIN).len();
    let answer = press(&h, ADMIN, preview.message_id, &confirm).await;
    assert!(answer.contains("expired"), "{answer}");
    let said = message_with(&h, ADMIN, before, "expired").await;
    assert!(
        said.text.starts_with("⛔ This preview expired"),
        "{}",
        said.text
    );
    assert_eq!(fake(&h).order_posts(), 0, "nothing sent");
    h.stop().await;
}

/// Confirm works only from the chat shown the preview and for a chat that
/// is an admin when it taps: another admin chat, and the same chat once
/// taken off the admins (as SIGHUP does), are refused and the buttons
/// stay; put back, the chat's tap places the order. A reader's `/buy` is
/// refused before anything is previewed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_chat_shown_it_and_an_admin_may_confirm() {
    let mut h = trading(10, &[]).await;
    let reader = h.ask(READERS.start, "/buy AAPL 500", 1).await;
    assert!(
        one_text(&reader).starts_with("Only admins can trade."),
        "{}",
        one_text(&reader)
    );
    let preview = buy(&h, ADMIN, "AAPL 500").await;
    let confirm = data(&preview, "tc:");

    let other = press(&h, ADMIN2, preview.message_id, &confirm).await;
    assert!(other.contains("shown to another chat"), "{other}");

    let readers: Vec<i64> = READERS.chain([GROUP, ADMIN]).collect();
    let lists = h.access.clone();
    lists.replace_with(&dipwatch::access::Access::new(&readers, &[ADMIN2]));
    let demoted = press(&h, ADMIN, preview.message_id, &confirm).await;
    assert!(demoted.contains("only admins may trade"), "{demoted}");
    assert_eq!(fake(&h).order_posts(), 0, "nothing sent");
    assert!(
        !h.fake
            .sent()
            .iter()
            .any(|x| x.method == "editMessageReplyMarkup"),
        "the buttons stay for the chat and role they belong to"
    );

    lists.replace_with(&dipwatch::access::Access::new(&readers, &[ADMIN, ADMIN2]));
    let placed = press(&h, ADMIN, preview.message_id, &confirm).await;
    assert_eq!(placed, "Order sent");
    assert_eq!(fake(&h).order_posts(), 1);
    h.stop().await;
}

/// `/halt` cancels the open order and refuses new ones (a preview, and a
/// confirm of a preview made before) until `/resume`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn halt_cancels_and_refuses_until_resume() {
    let mut h = trading(10, &[]).await;
    let first = buy(&h, ADMIN, "AAPL 500").await;
    confirm(&h, ADMIN, &first).await;
    let waiting = buy(&h, ADMIN, "MSFT 300").await;

    let halted = ask_for(&h, ADMIN, "/halt", "Trading halted").await;
    let text = &halted.text;
    assert!(
        text.starts_with("⛔ <b>Trading halted.</b>") && text.contains("cancel 1 open order:"),
        "{text}"
    );
    assert!(text.contains("AAPL"), "{text}");
    let refused = ask_for(&h, ADMIN, "/buy AAPL 500", "Trading is halted").await;
    assert!(refused.reply_markup.is_none(), "no buttons on a refusal");
    let late = press(&h, ADMIN, waiting.message_id, &data(&waiting, "tc:")).await;
    assert!(late.contains("halted"), "{late}");
    let reader = h.ask(READERS.start, "/halt", 1).await;
    assert!(one_text(&reader).starts_with("Only admins can trade."));

    ask_for(&h, ADMIN, "/resume", "Trading resumed").await;
    let again = buy(&h, ADMIN, "AAPL 500").await;
    assert!(data(&again, "tc:").len() > 3);
    assert_eq!(fake(&h).order_posts(), 1, "only the order before the halt");
    h.stop().await;
}

/// `/orders` lists the open order with a Cancel button (admins; a reader
/// reads the same list without one); Cancel asks Alpaca, the button goes,
/// and the chat that placed it is told it was canceled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_lists_open_orders_with_a_cancel_button() {
    let mut h = trading(10, &[]).await;
    let preview = buy(&h, ADMIN, "AAPL 500").await;
    confirm(&h, ADMIN, &preview).await;
    let list = &ask_for(&h, ADMIN, "/orders", "<b>Orders</b>").await;
    assert!(
        list.text
            .starts_with("<b>Orders</b> · open and today's (1)"),
        "{}",
        list.text
    );
    assert!(
        list.text.contains(&format!("by chat {ADMIN}")),
        "{}",
        list.text
    );
    let cancel = data(list, "oc:");
    let order_id = cancel.trim_start_matches("oc:").to_string();
    let reader = h.ask(READERS.start, "/orders", 1).await;
    assert!(reader[0].text.contains("AAPL") && buttons(&reader[0]).is_empty());

    let before = h.fake.sent_to(ADMIN).len();
    assert_eq!(
        press(&h, ADMIN, list.message_id, &cancel).await,
        "Cancel asked"
    );
    message_with(&h, ADMIN, before, "Asked Alpaca to cancel").await;
    message_with(&h, ADMIN, before, "✖ Order buy").await;
    let orders = fake(&h).orders();
    let order = orders
        .iter()
        .find(|o| o["id"] == order_id.as_str())
        .unwrap();
    assert_eq!(order["status"], "canceled");
    h.stop().await;
}

/// Alpaca's refusal of an order reaches the chat in its words (a second
/// sell of shares already held for an open sell: 403 "insufficient qty"),
/// and an order Alpaca rejects after accepting it is reported rejected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alpacas_refusals_and_rejections_reach_the_chat() {
    let mut h = trading(10, &[]).await;
    let held = h
        .runner
        .state()
        .snapshot()
        .portfolio
        .as_ref()
        .and_then(|p| p.positions.first().map(|p| p.symbol.to_string()))
        .expect("the fake portfolio holds something");
    let first = ask_for(&h, ADMIN, &format!("/sell {held}"), "<b>Preview</b>").await;
    confirm(&h, ADMIN, &first).await;
    let second = ask_for(&h, ADMIN, &format!("/sell {held} all"), "<b>Preview</b>").await;
    let before = h.fake.sent_to(ADMIN).len();
    let answer = press(&h, ADMIN, second.message_id, &data(&second, "tc:")).await;
    assert!(answer.contains("insufficient qty"), "{answer}");
    let said = message_with(&h, ADMIN, before, "insufficient qty").await;
    assert!(
        said.text
            .starts_with("❌ Not placed: Alpaca refused it (HTTP 403)"),
        "{}",
        said.text
    );
    assert_eq!(fake(&h).order_posts(), 2, "each confirmation sent once");

    fake(&h).set_order_script(OrderScript::rejected("not shortable"));
    let third = buy(&h, ADMIN, "AAPL 500").await;
    let before = h.fake.sent_to(ADMIN).len();
    press(&h, ADMIN, third.message_id, &data(&third, "tc:")).await;
    let rejected = message_with(&h, ADMIN, before, "<b>rejected</b> by Alpaca").await;
    assert!(rejected.text.contains("AAPL"), "{}", rejected.text);
    assert_all_accepted(&h.fake.sent());
    h.stop().await;
}

/// Hostile or wrong `/buy` and `/sell` arguments get one short reply
/// saying what is wrong and the usage, escaped; nothing is previewed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_order_arguments_get_a_clear_error() {
    let mut h = trading(10, &[]).await;
    let huge = "9".repeat(4000);
    let cases = [
        ("/buy", "name a ticker"),
        ("/buy AAPL", "say how much"),
        ("/buy AAPL -500", "is negative"),
        ("/buy AAPL 0", "is zero"),
        ("/buy AAPL 12.345", "more than cents"),
        ("/buy AAPL 150%", "over 100%"),
        ("/buy AAPL 1e9", "not a number"),
        (
            "/buy <b>A&B</b> 500",
            "“&lt;b&gt;A&amp;B&lt;/b&gt;” is not a ticker",
        ),
        ("/buy AAPL lots", "“lots” is not an amount"),
        ("/buy AAPL 500 now", "one word too many"),
        ("/sell AAPL 1.5", "whole number of shares"),
        ("/sell AAPL $500", "a sell is all"),
    ];
    for (text, needle) in cases {
        let reply = h.ask(ADMIN, text, 1).await;
        let got = one_text(&reply);
        assert!(got.contains(needle), "{text}: {got}");
        assert!(got.contains("Usage: <code>/"), "{text}: {got}");
        check_html(got).unwrap();
    }
    let reply = h.ask(ADMIN, &format!("/buy AAPL {huge}"), 1).await;
    let got = one_text(&reply);
    assert!(got.chars().count() < 400 && got.contains('…'), "{got}");
    assert_eq!(fake(&h).order_posts(), 0);
    assert_all_accepted(&h.fake.sent());
    h.stop().await;
}

/// With trading off (the default) the trading commands say how to turn it
/// on; readers get the admins-only refusal with their chat id; `/risk`
/// has no trading buttons.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_trading_off_the_commands_say_how_to_turn_it_on() {
    let mut h = start(Setup::default()).await;
    for command in ["/buy AAPL 500", "/sell AAPL", "/halt", "/resume", "/orders"] {
        let reply = h.ask(ADMIN, command, 1).await;
        assert!(
            one_text(&reply).starts_with("Trading is off.")
                && one_text(&reply).contains("trading.enabled = true"),
            "{command}: {}",
            one_text(&reply)
        );
    }
    let reader = h.ask(READERS.start, "/buy AAPL 500", 1).await;
    assert!(
        one_text(&reader).contains(&format!("<code>{}</code>", READERS.start)),
        "{}",
        one_text(&reader)
    );
    let risk = h.ask(ADMIN, "/risk", 1).await;
    assert!(buttons(&risk[0]).is_empty(), "no trading buttons");
    // A trading button pressed anyway (an old message) is answered and
    // says trading is off.
    let answer = press(&h, ADMIN, risk[0].message_id, "rb:AAPL").await;
    assert_eq!(answer, "Trading is off");
    message_with(&h, ADMIN, 0, "Trading is off.").await;
    h.stop().await;
}

/// Cancel under a preview drops it unsent: said in the chat, its buttons
/// taken away, a `discard` in the journal from this chat, and its Confirm
/// no longer works. Nothing reaches Alpaca's order endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_drops_the_preview_unsent() {
    let mut h = trading(10, &[]).await;
    let preview = buy(&h, ADMIN, "AAPL 2%").await;
    let before = h.fake.sent_to(ADMIN).len();
    let answer = press(&h, ADMIN, preview.message_id, &data(&preview, "tx:")).await;
    assert_eq!(answer, "Canceled: nothing sent");
    message_with(&h, ADMIN, before, "✖ Canceled: nothing was sent.").await;
    assert!(
        h.fake
            .sent_to(ADMIN)
            .iter()
            .any(|x| x.method == "editMessageReplyMarkup" && x.message_id == preview.message_id),
        "the buttons are taken away"
    );
    let late = press(&h, ADMIN, preview.message_id, &data(&preview, "tc:")).await;
    assert!(late.contains("unknown or was already answered"), "{late}");
    let today = Utc::now()
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    let events = h.journal.day(today).await.expect("the journal reads back");
    let kinds: Vec<EventKind> = events.iter().map(|e| e.event).collect();
    assert!(
        kinds.contains(&EventKind::Preview) && kinds.contains(&EventKind::Discard),
        "{events:#?}"
    );
    assert!(!kinds.contains(&EventKind::Submit), "{events:#?}");
    let ids: std::collections::BTreeSet<_> =
        events.iter().map(|e| e.client_order_id.clone()).collect();
    assert_eq!(ids.len(), 1, "one preview, one id: {events:#?}");
    assert!(events.iter().all(|e| e.source == ADMIN.to_string()));
    assert_eq!(fake(&h).order_posts(), 0);
    h.stop().await;
}
