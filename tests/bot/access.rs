//! Who may use the bot: refusals, admins, the trigger cooldown, chat ids out of range, the token never shown.

#![allow(unused_imports)]

use super::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_chat_gets_one_short_refusal_and_no_data() {
    let mut h = start(Setup::default()).await;
    let secret_text = "/screen my-private-words-31337";
    h.fake.push_text(STRANGER, secret_text);
    h.fake.push_text(STRANGER, "/dashboard");
    h.fake.push_text(STRANGER, "hello");
    // An allowed chat's answer after them shows the stranger's were handled.
    h.ask(READERS.start, "/help", 1).await;
    let replies = h.fake.replies(STRANGER, 1, WAIT).await;
    let text = one_text(&replies);
    assert!(
        text.contains("<code>6666</code>"),
        "shows the chat id: {text}"
    );
    assert!(text.contains("telegram.allowed_chat_ids"), "{text}");
    assert!(
        !text.contains('%') && !text.contains('$'),
        "no data: {text}"
    );
    // Let the other two be processed, then check nothing more was sent.
    h.ask(READERS.start + 1, "/help", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        h.fake.sent_to(STRANGER).len(),
        1,
        "one refusal, not one per message"
    );
    h.stop().await;
    let logs = captured();
    assert!(
        logs.lines()
            .any(|l| l.contains("refused a chat") && l.contains("chat_id=6666")),
        "the refusal is logged with the chat id"
    );
    assert!(
        !logs.contains("my-private-words-31337"),
        "message text never logged"
    );
    assert_all_accepted(&h.fake.sent());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_allow_list_refuses_everyone_and_the_log_says_how_to_get_in() {
    let mut h = start(Setup::with(|s| s.nobody_allowed = true)).await;
    for chat in [READERS.start, ADMIN] {
        h.fake.push_text(chat, "/dashboard");
        let replies = h.fake.replies(chat, 1, WAIT).await;
        let text = one_text(&replies);
        assert!(text.contains(&format!("<code>{chat}</code>")), "{text}");
        assert!(!text.contains('$'), "no data: {text}");
    }
    h.stop().await;
    let logs = captured();
    let hint = logs
        .lines()
        .find(|l| l.contains("telegram.allowed_chat_ids is empty"))
        .expect("the start-up hint is logged");
    assert!(hint.contains("WARN"), "{hint}");
    assert!(
        hint.contains("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS"),
        "{hint}"
    );
    assert!(hint.contains("its refusal shows your chat id"), "{hint}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_is_for_admins_and_single_flight() {
    let mut h = start(Setup::with(|s| s.gated = true)).await;
    let reader = h.ask(READERS.start, "/trigger", 1).await;
    let text = one_text(&reader);
    assert!(
        text.starts_with("Only admins can start a collection"),
        "{text}"
    );
    assert!(
        text.contains(&format!("<code>{}</code>", READERS.start)),
        "{text}"
    );
    assert_eq!(h.runner.running(), None, "a reader starts nothing");

    let first = h.ask(ADMIN, "/trigger", 1).await;
    assert!(one_text(&first).contains("Collection started"));
    let second = h.ask(ADMIN2, "/trigger", 1).await;
    assert_eq!(
        one_text(&second),
        "A collection is already running (started by a /trigger); not starting another."
    );
    h.finish_gated_run(ADMIN).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        h.fake.sent_to(ADMIN2).len(),
        1,
        "the refused trigger gets no summary"
    );
    assert_all_accepted(&h.fake.sent());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_never_appears_in_logs_or_errors() {
    let mut h = start(Setup::prepared(|f: &FakeTelegram| {
        f.fail_next("getMe", Fault::Reset);
    }))
    .await;
    h.ask(READERS.start, "/help", 1).await;
    // Errors of every kind while the token is in use: an outage...
    h.fake.set_outage(true);
    tokio::time::sleep(Duration::from_millis(600)).await;
    h.fake.set_outage(false);
    h.ask(READERS.start + 1, "/help", 1).await;
    h.stop().await;
    // ...and a second bot whose token the API refuses (401).
    let wrong = "7000000002:AAWrongTokenForDipwatchTests_9876543";
    let dir = tempfile::tempdir().unwrap();
    let config = Arc::new(config(dir.path()));
    let store = Store::open(&config.storage.url, &BTreeMap::new())
        .await
        .unwrap();
    let sim = Arc::new(SimMarket::new(config.universe.clone()));
    let metrics = Arc::new(Metrics::new());
    let runner = Runner::new(RunnerParts {
        settings: Arc::new(dipwatch::app::run_settings(&config)),
        market: sim.clone(),
        broker: Some(sim.clone()),
        store: store.clone(),
        state: AppState::new(Snapshot::default()),
        metrics: metrics.clone(),
    });
    let shutdown = CancellationToken::new();
    let bot = tokio::spawn(dipwatch::bot::run_with(
        BotContext {
            config: Arc::new(dipwatch::app::bot_config(&config)),
            runner,
            broker: Some(sim),
            metrics,
            alerts: None,
            web: None,
            trigger_cooldown: Arc::new(dipwatch::trigger::Cooldown::new(Duration::ZERO)),
            trading: None,
            journal: dipwatch::journal::Journal::new(store),
        },
        SecretString::from(wrong),
        Some(h.fake.url()),
        options(None, None),
        shutdown.clone(),
    ));
    let refused = async {
        while h.fake.bad_token_requests() < 3 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(WAIT, refused)
        .await
        .expect("it keeps retrying");
    shutdown.cancel();
    tokio::time::timeout(WAIT, bot).await.unwrap().unwrap();

    let logs = captured();
    assert!(
        logs.contains("refused the token (Unauthorized)"),
        "the 401 is logged"
    );
    assert!(logs.contains("getMe failed"), "the reset getMe is logged");
    assert!(logs.contains("getUpdates failed"), "the outage is logged");
    for token in [TOKEN, wrong] {
        let (id, secret) = token.split_once(':').unwrap();
        assert!(
            !logs.contains(secret),
            "a token secret leaked into the logs"
        );
        assert!(
            !logs.contains(&format!("bot{id}")),
            "a token-bearing URL leaked"
        );
    }
}

/// An update from a chat id outside Telegram's range (teloxide's throttle
/// panicked sending the refusal, and every send after it hung) is ignored:
/// nothing is sent to it, and every other chat is still answered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_update_from_a_chat_id_outside_telegrams_range_is_ignored() {
    let mut h = start(Setup::default()).await;
    let bad = 2_000_000_000_000;
    h.fake.push_text(bad, "/help");
    h.fake.push_text(bad, "hello");
    h.fake.push_callback(bad, "unalert:1");
    let first = h.ask(READERS.start, "/help", 1).await;
    assert_all_accepted(&first);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = h.ask(READERS.start + 1, "/screen", 1).await;
    assert_all_accepted(&second);
    assert!(h.fake.sent_to(bad).is_empty(), "{:?}", h.fake.sent_to(bad));
    assert!(
        captured().contains("ignored an update from a chat id outside Telegram's range"),
        "the update is logged as ignored"
    );
    h.stop().await;
}

/// `/trigger` within `telegram.trigger_cooldown_secs` of the last one that
/// started a collection is refused, whoever asks, and the reply says how
/// long is left; with the cooldown at 0 the next one starts at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trigger_has_a_cooldown_that_the_reply_names() {
    for (cooldown, refused) in [("300", true), ("0", false)] {
        let mut h = start(Setup {
            gated: true,
            env: vec![(
                "DIPWATCH__TELEGRAM__TRIGGER_COOLDOWN_SECS".into(),
                cooldown.into(),
            )],
            ..Setup::default()
        })
        .await;
        let first = h.ask(ADMIN, "/trigger", 1).await;
        assert!(one_text(&first).contains("Collection started"));
        h.finish_gated_run(ADMIN).await;
        while h.runner.running().is_some() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let again = h.ask(ADMIN2, "/trigger", 1).await;
        let text = one_text(&again);
        if refused {
            assert!(
                text.contains("/trigger works again in 4 min")
                    && text.contains("telegram.trigger_cooldown_secs"),
                "{text}"
            );
            assert_eq!(h.runner.running(), None, "nothing started");
        } else {
            assert!(text.contains("Collection started"), "{text}");
            h.gate.add_permits(1);
            h.fake.replies(ADMIN2, 2, WAIT).await;
        }
        h.stop().await;
    }
}
