//! /chart, /breadth, chart buttons, /screen paging and stale buttons.

#![allow(unused_imports)]

use super::helpers::*;

/// The callback data of the button labelled `label` (exactly, or as a
/// prefix) under `sent`.
fn button_data(sent: &Sent, label: &str) -> Option<String> {
    sent.reply_markup.as_ref()?["inline_keyboard"]
        .as_array()?
        .iter()
        .flat_map(|row| row.as_array().into_iter().flatten())
        .find(|b| b["text"].as_str().is_some_and(|t| t.starts_with(label)))
        .and_then(|b| b["callback_data"].as_str().map(str::to_string))
}

/// Press a button under the bot's message `under` and wait for the press
/// to be answered; returns the answer's text.
async fn press(h: &Harness, chat: i64, under: &Sent, data: &str) -> String {
    let answered = h.fake.callback_answers().len();
    let id = h.fake.push_callback_on(chat, under.message_id, data);
    assert!(
        h.fake
            .wait_calls("answerCallbackQuery", answered + 1, WAIT)
            .await,
        "the press of {data:?} was not answered"
    );
    let answers = h.fake.callback_answers();
    let (query, text) = answers
        .iter()
        .find(|(q, _)| *q == format!("cb{id}"))
        .cloned()
        .expect("answered with the press's own id");
    assert_eq!(query, format!("cb{id}"));
    text
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chart_sends_a_png_with_the_screens_rank_drawdown_and_peak() {
    let mut h = start(Setup::default()).await;
    let chat = READERS.start;
    let snap = h.runner.state().snapshot();
    let screen = snap.screen.as_ref().expect("a published screen");
    let row = screen
        .row(&Symbol::parse("BF.B").unwrap())
        .expect("BF.B is ranked");
    assert!(!snap.prices.is_empty(), "the state holds the price history");

    let photo = h.ask(chat, "/chart bf.b", 1).await;
    assert_all_accepted(&photo);
    assert_eq!(photo[0].method, "sendPhoto");
    let (name, png) = photo[0].document.clone().expect("a photo was uploaded");
    assert_eq!(name, "BF.B-1y.png");
    assert_eq!(fake_telegram::png_size(&png), Some((1200, 800)));
    let caption = &photo[0].text;
    for part in [
        "<i>[SIMULATED PRICES, not market data]</i>".to_string(),
        format!("Rank <b>{}</b> of {}", row.rank, screen.rows.len()),
        format!(
            "drawdown <b>{}</b>",
            dipwatch::numbers::signed_pct(row.drawdown_pct)
        ),
        format!(
            "Peak {} on {}",
            dipwatch::numbers::price(row.peak_price),
            row.peak_date
        ),
        format!("screen {}", screen.date),
    ] {
        assert!(caption.contains(&part), "{part} missing: {caption}");
    }

    // A period, bad arguments, an unknown symbol.
    let six = h.ask(chat, "/chart BF.B 6m", 1).await;
    assert_eq!(six[0].document.as_ref().unwrap().0, "BF.B-6m.png");
    let usage = h.ask(chat, "/chart BF.B 2y", 1).await;
    assert!(
        one_text(&usage).starts_with("“2y” is not a period"),
        "{}",
        usage[0].text
    );
    let missing = h.ask(chat, "/chart", 1).await;
    assert!(one_text(&missing).starts_with("Usage: /chart TICKER"));
    let unknown = h.ask(chat, "/chart ZZZZ", 1).await;
    assert_eq!(
        one_text(&unknown),
        "No chart: ZZZZ has no bars in the price history held."
    );

    // /breadth: the newest screen's counts in the caption.
    let breadth = h.ask(chat, "/breadth", 1).await;
    assert_all_accepted(&breadth);
    assert_eq!(breadth[0].method, "sendPhoto");
    let png = &breadth[0].document.as_ref().unwrap().1;
    assert_eq!(fake_telegram::png_size(png), Some((1200, 800)));
    let expect = format!(
        "Screen {}: {} of {} down 20% or more, {} down 30% or more",
        screen.date,
        screen.count_below(-20.0),
        screen.rows.len(),
        screen.count_below(-30.0)
    );
    assert!(breadth[0].text.contains(&expect), "{}", breadth[0].text);

    // /symbol's "Chart" button sends the same chart.
    let symbol = h.ask(chat, "/symbol bf.b", 1).await;
    let data = button_data(&symbol[0], "Chart BF.B").expect("a Chart button");
    assert_eq!(data, format!("ch:{}:BF.B", screen.date.format("%Y%m%d")));
    let before = h.fake.sent_to(chat).len();
    assert_eq!(press(&h, chat, &symbol[0], &data).await, "");
    let sent = h.fake.replies(chat, before + 1, WAIT).await;
    let pressed = &sent[before];
    assert_eq!(pressed.method, "sendPhoto");
    assert_eq!(pressed.text, *caption, "the same caption as /chart bf.b");
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screen_pages_through_the_whole_ranking_in_place() {
    let mut h = start(Setup::default()).await;
    let chat = READERS.start + 1;
    let snap = h.runner.state().snapshot();
    let screen = snap.screen.as_ref().expect("a published screen");
    let ranked = screen.rows.len();
    assert!(ranked > 10, "enough rows for three pages: {ranked}");

    let first = h.ask(chat, "/screen 5", 1).await;
    assert_all_accepted(&first);
    let message = first[0].clone();
    // Every row has its chart button.
    for r in &screen.rows[..5] {
        let data = button_data(&message, &format!("📈 {}", r.symbol)).expect("a chart button");
        assert!(data.len() <= 64);
    }
    assert!(button_data(&message, "‹ Previous").is_none());
    let mut seen: Vec<u32> = screen.rows[..5].iter().map(|r| r.rank).collect();
    let mut current = message.clone();
    let mut presses = 0;
    let mut last_from = 0;
    while let Some(next) = button_data(&current, "Next ›") {
        assert!(next.len() <= 64, "{next}");
        let before = h.fake.sent_to(chat).len();
        assert_eq!(press(&h, chat, &current, &next).await, "");
        presses += 1;
        let sent = h.fake.replies(chat, before + 1, WAIT).await;
        let edit = sent[before].clone();
        assert_eq!(edit.method, "editMessageText");
        assert_eq!(edit.message_id, message.message_id, "edited in place");
        assert!(edit.refused.is_none(), "{:?}", edit.refused);
        let from = seen.len();
        last_from = from;
        let page = &screen.rows[from..(from + 5).min(ranked)];
        assert!(
            edit.text.contains(&format!(
                "Ranks {}–{} of {ranked}",
                from + 1,
                from + page.len()
            )),
            "{}",
            edit.text
        );
        for r in page {
            assert!(
                edit.text.contains(&format!(" {} ", r.symbol)),
                "{}",
                edit.text
            );
            seen.push(r.rank);
        }
        assert!(button_data(&edit, "‹ Previous").is_some());
        current = edit;
        assert!(presses < 100, "paging does not end");
    }
    let expected: Vec<u32> = (1..=ranked as u32).collect();
    assert_eq!(seen, expected, "every rank shown once, in order");

    // Back a page from the last one, and back to the first.
    let back = button_data(&current, "‹ Previous").unwrap();
    let before = h.fake.sent_to(chat).len();
    press(&h, chat, &current, &back).await;
    let sent = h.fake.replies(chat, before + 1, WAIT).await;
    let previous = sent[before].clone();
    assert_eq!(previous.method, "editMessageText");
    let want = format!("Ranks {}–{last_from} of {ranked}", last_from - 4);
    assert!(previous.text.contains(&want), "{want}: {}", previous.text);
    let mut current = previous;
    while let Some(back) = button_data(&current, "‹ Previous") {
        let before = h.fake.sent_to(chat).len();
        press(&h, chat, &current, &back).await;
        current = h.fake.replies(chat, before + 1, WAIT).await[before].clone();
    }
    assert!(
        current.text.contains(&format!("Top 5 of {ranked} ranked")),
        "{}",
        current.text
    );
    assert_eq!(
        current.reply_markup, message.reply_markup,
        "the first page's buttons"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stale_button_says_so_and_shows_no_other_days_data() {
    let mut h = start(Setup::default()).await;
    let chat = READERS.start + 2;
    let snap = h.runner.state().snapshot();
    let date = snap.screen.as_ref().expect("a published screen").date;
    let first = h.ask(chat, "/screen 5", 1).await;
    let next = button_data(&first[0], "Next ›").unwrap();
    let old = date - Days::new(1);
    let stale_next = next.replace(
        &date.format("%Y%m%d").to_string(),
        &old.format("%Y%m%d").to_string(),
    );
    let stale_chart = format!("ch:{}:BF.B", old.format("%Y%m%d"));
    let sends_before = h.fake.sent().len();
    for data in [&stale_next, &stale_chart] {
        let text = press(&h, chat, &first[0], data).await;
        assert!(
            text.contains(&format!("from the screen of {old}"))
                && text.contains(&format!("now of {date}")),
            "{data}: {text}"
        );
    }
    // A press from a refused chat: a bare answer, nothing else.
    assert_eq!(press(&h, STRANGER, &first[0], &next).await, "");
    // Nothing was sent or edited for any of them (the current button
    // still works afterwards, and its edit is the only send).
    let before = h.fake.sent_to(chat).len();
    press(&h, chat, &first[0], &next).await;
    h.fake.replies(chat, before + 1, WAIT).await;
    let after: Vec<Sent> = h.fake.sent()[sends_before..].to_vec();
    assert_eq!(after.len(), 1, "{after:#?}");
    assert_eq!(after[0].method, "editMessageText");
    // Pressing the same page again changes nothing (Telegram refuses the
    // identical edit) and is not an error: no apology follows.
    let before = h.fake.sent_to(chat).len();
    press(&h, chat, &first[0], &next).await;
    let again = h.fake.replies(chat, before + 1, WAIT).await;
    assert!(
        again[before]
            .refused
            .as_deref()
            .is_some_and(|r| r.contains("message is not modified")),
        "{:?}",
        again[before]
    );
    assert_eq!(h.fake.answered_callbacks(), 5);
    let help = h.ask(chat, "/help", 1).await;
    assert!(
        one_text(&help).contains("/chart TICKER"),
        "{}",
        help[0].text
    );
    h.stop().await;
}
