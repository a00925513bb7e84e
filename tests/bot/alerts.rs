//! Alerts set in the bot: firing once after a run, level bounds, a corrupt book.

#![allow(unused_imports)]

use super::helpers::*;

/// The latest closed session's screen, computed with the library on the
/// same simulated market the harness collects from.
fn latest_screen(config: &AppConfig) -> (NaiveDate, Vec<dipwatch::domain::DrawdownRow>) {
    use dipwatch::market::calendar;
    let now = Utc::now();
    let today = now
        .with_timezone(&chrono_tz::America::New_York)
        .date_naive();
    let from = today - Days::new(400);
    let sessions = calendar::sessions(from, today);
    let date = dipwatch::market::latest_closed(&sessions, now).unwrap();
    let bars = SimMarket::new(config.universe.clone()).bars(&config.universe, from, date);
    let days = dipwatch::domain::TradingDays::new(sessions.iter().map(|s| s.date).collect());
    let rows = dipwatch::screen::screen(
        date,
        bars.iter().map(|b| (&b.symbol, b.bars.as_slice())),
        &days,
        &config.screen.params,
    )
    .rows;
    (date, rows)
}

/// Alerts end to end: a rule set through the bot, a collection run that
/// fires it, a Bot API outage during delivery, recovery with exactly one
/// message, and a restart that sends nothing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_set_in_the_bot_fire_after_a_run_and_arrive_exactly_once() {
    let mut h = start(Setup::with(|s| s.alerts_fill_days_ago = Some(5))).await;
    let chat = READERS.start;
    let before = h.runner.state().snapshot();
    let old = before.screen.as_ref().expect("a first screen").clone();

    // A symbol whose drawdown moves between the stored screen and the next
    // one, and a level between the two values: the rule must cross.
    let config = config_with(h._dir.path(), true);
    let (next_date, next_rows) = latest_screen(&config);
    assert!(next_date > old.date);
    let (sym, level) = next_rows
        .iter()
        .find_map(|r| {
            let was = old.row(&r.symbol)?.drawdown_pct;
            let mid = ((was + r.drawdown_pct) / 2.0 * 100.0).round() / 100.0;
            let crosses =
                (was > mid && r.drawdown_pct <= mid) || (was <= mid && r.drawdown_pct > mid);
            (crosses && mid < 0.0 && mid > -100.0 && (was - r.drawdown_pct).abs() > 0.1)
                .then(|| (r.symbol.clone(), mid))
        })
        .expect("some symbol moves");

    let set = h.ask(chat, &format!("/alert {sym} below {level}"), 1).await;
    assert!(set[0].text.starts_with("Alert #1 set: "), "{}", set[0].text);
    let bad = h.ask(chat, "/alert top many", 1).await;
    assert!(
        bad[0].text.contains("not a count") && bad[0].text.contains("usage: /alert"),
        "{}",
        bad[0].text
    );
    let list = h.ask(chat, "/alerts", 1).await;
    assert!(
        list[0].text.contains(&format!("#1 {sym} below")),
        "{}",
        list[0].text
    );
    let keyboard = list[0].reply_markup.as_ref().expect("delete buttons");
    assert_eq!(
        keyboard["inline_keyboard"][0][0]["callback_data"],
        "unalert:1"
    );

    // The Bot API goes down; the run publishes; delivery waits it out.
    h.fake.set_outage(true);
    match h.runner.trigger(
        RunSource::Manual,
        Dates::Range {
            from: old.date + Days::new(1),
            to: next_date,
        },
    ) {
        Trigger::Started(done) => {
            h.gate.add_permits(1);
            done.await.expect("run");
        }
        Trigger::AlreadyRunning(_) => unreachable!(),
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        h.alerts.as_ref().unwrap().pending().await,
        1,
        "queued while the API is down"
    );
    h.fake.set_outage(false);
    let got = h
        .fake
        .wait_until(Duration::from_secs(30), |s| {
            s.iter()
                .any(|x| x.chat_id == chat && x.text.contains("<b>Alerts, "))
        })
        .await;
    assert!(got.is_ok(), "the alert arrives after the outage");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let alerts_sent: Vec<Sent> = h
        .fake
        .sent_to(chat)
        .into_iter()
        .filter(|x| x.text.contains("<b>Alerts, "))
        .collect();
    assert_eq!(alerts_sent.len(), 1, "exactly once");
    assert!(
        alerts_sent[0].text.contains(sym.as_str()),
        "{}",
        alerts_sent[0].text
    );
    fake_telegram::check_html(&alerts_sent[0].text).unwrap();

    // A restart: the same published screen again, nothing re-sent.
    let now = h.runner.state().snapshot();
    let restarted = AlertService::open(
        h.runner.store().clone(),
        dipwatch::bot::alerts::render(),
        &AlertSettings::new(
            &config.telegram,
            &config.alerts,
            config.schedule.tz,
            &config.access,
        ),
        &now,
    )
    .await;
    assert_eq!(restarted.pending().await, 0);
    assert_eq!(
        restarted.on_new_screen(&before, &now).await.unwrap(),
        0,
        "already evaluated for this date"
    );

    // The delete button removes the rule.
    h.fake.push_callback(chat, "unalert:1");
    let deleted = h
        .fake
        .wait_until(Duration::from_secs(10), |s| {
            s.iter()
                .any(|x| x.chat_id == chat && x.text == "Alert #1 deleted.")
        })
        .await;
    assert!(deleted.is_ok());
    assert!(h.fake.answered_callbacks() >= 1);
    assert!(h.alerts.as_ref().unwrap().rules_of(chat).await.is_empty());
    h.stop().await;
}

/// `/alert` levels and counts are bounded at parse time (a usage line names
/// the problem, echoing the argument clipped), a ticker outside the
/// universe is accepted with a warning, and a list too long for one message
/// (a book from before the bounds, holding absurd levels) is split into
/// messages Telegram accepts, the delete buttons under the last.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alert_levels_are_bounded_and_a_long_list_is_split() {
    // 30 rules at `below -1e-320`, as an older version accepted them.
    let rules: Vec<serde_json::Value> = (1..=30)
        .map(|id| {
            serde_json::json!({"id": id, "chat": READERS.start, "kind":
                {"kind": "symbol_below", "symbol": "AAPL", "level": -1e-320}})
        })
        .collect();
    let book = serde_json::json!({
        "book": {"next_id": 30, "rules": rules, "states": {}},
        "outbox": [], "next_item": 0,
    });
    let mut h = start(Setup {
        book: Some(serde_json::to_vec(&book).unwrap()),
        ..Setup::with(|s| s.alerts_fill_days_ago = Some(1))
    })
    .await;
    let chat = READERS.start + 1;
    for (args, needle) in [
        ("AAPL below -1e-320", "at most 2 decimals"),
        ("AAPL below -100", "above -100 and below 0"),
        ("market below -100 count 5", "above -100 and below 0"),
        (
            "market below -20 count 18446744073709551615",
            "from 1 to 10000",
        ),
    ] {
        let reply = h.ask(chat, &format!("/alert {args}"), 1).await;
        let text = one_text(&reply);
        assert!(
            text.contains(needle) && text.contains("usage: /alert"),
            "{args}: {text}"
        );
    }
    assert!(h.alerts.as_ref().unwrap().rules_of(chat).await.is_empty());

    let outside = h.ask(chat, "/alert ZZZZ below -30.5", 1).await;
    let text = one_text(&outside);
    assert!(
        text.starts_with("Alert #31 set: ZZZZ below -30.5%"),
        "{text}"
    );
    assert!(text.contains("ZZZZ is not in the universe"), "{text}");
    let inside = h.ask(chat, "/alert AAPL below -30", 1).await;
    assert!(!one_text(&inside).contains("Note:"), "{}", inside[0].text);

    let owner = READERS.start;
    h.fake.push_text(owner, "/alerts");
    let got = h
        .fake
        .wait_until(WAIT, |s| {
            s.iter()
                .any(|x| x.chat_id == owner && x.reply_markup.is_some())
        })
        .await
        .expect("the list arrives with its buttons");
    let list: Vec<&Sent> = got.iter().filter(|x| x.chat_id == owner).collect();
    assert!(list.len() >= 2, "one list of {} messages", list.len());
    assert_all_accepted(&got);
    let all: String = list.iter().map(|x| x.text.as_str()).collect();
    for id in 1..=30 {
        assert!(all.contains(&format!("#{id} AAPL below")), "#{id}");
    }
    let last = list.last().unwrap();
    let buttons = last.reply_markup.as_ref().unwrap()["inline_keyboard"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(buttons, 30);
    assert!(
        list[..list.len() - 1]
            .iter()
            .all(|x| x.reply_markup.is_none())
    );
    h.stop().await;
}

/// A corrupt `alerts/book.json` is not "no alerts": `/alerts`, `/unalert`
/// and `/alert` say alerts are unavailable, and the file is left as it is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_alert_book_is_reported_as_unavailable_not_empty() {
    let mut h = start(Setup {
        book: Some(b"{\"book\": {\"rules\": [tru".to_vec()),
        ..Setup::with(|s| s.alerts_fill_days_ago = Some(1))
    })
    .await;
    let chat = READERS.start;
    for ask in ["/alerts", "/unalert 1", "/alert profit"] {
        let reply = h.ask(chat, ask, 1).await;
        let text = one_text(&reply);
        assert!(text.contains("Alerts are not available"), "{ask}: {text}");
    }
    assert!(h.alerts.as_ref().unwrap().problem().is_some());
    let on_disk = std::fs::read(h._dir.path().join("data/alerts/book.json")).unwrap();
    assert_eq!(on_disk, b"{\"book\": {\"rules\": [tru", "left as it is");
    h.stop().await;
}
