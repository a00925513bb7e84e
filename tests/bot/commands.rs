//! Every command answers, unknown and malformed input gets a pointer, long replies split, random input gets only well-formed replies.

#![allow(unused_imports)]

use super::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_command_answers_an_allowed_chat() {
    let mut h = start(Setup {
        before: Some(Box::new(|f: &FakeTelegram| {
            f.set_webhook("https://example.invalid/hook")
        })),
        ..Setup::with(|s| s.gated = true)
    })
    .await;
    let [
        start,
        help,
        dash,
        daily,
        screen,
        symbol,
        port,
        monitor,
        account,
        stats,
        dl,
        dl_bars,
    ] = h
        .ask_each([
            "/start",
            "/help",
            "/dashboard",
            "/daily",
            "/screen 5",
            "/symbol bf.b",
            "/portfolio",
            "/monitor",
            "/account",
            "/stats",
            "/download",
            "/download bars 3",
        ])
        .await;
    let snap = h.runner.state().snapshot();
    let screen_state = snap.screen.as_ref().expect("a published screen");

    let start = one_text(&start);
    assert!(start.contains("<b>Strategy</b>"), "{start}");
    assert!(
        start.contains(&format!("screen of {}", screen_state.date)),
        "{start}"
    );
    let help = one_text(&help);
    support::assert_has_all(
        help,
        &[
            "/dashboard",
            "/daily",
            "/screen [N]",
            "/symbol TICKER",
            "/portfolio",
            "/monitor",
            "/account",
            "/stats",
            "/download",
            "/trigger",
        ],
    );

    let dash = one_text(&dash);
    assert!(
        dash.starts_with("<i>[SIMULATED PRICES, not market data]</i>"),
        "{dash}"
    );
    support::assert_has_all(
        dash,
        &[
            "<b>Account</b>",
            "<b>Portfolio</b>",
            "<b>Profit target</b>",
            "<b>Top 10 candidates</b>",
        ],
    );
    assert_eq!(one_text(&daily), dash, "/daily is /dashboard");

    let screen = one_text(&screen);
    assert!(
        screen.contains(&format!("screen {}", screen_state.date)),
        "{screen}"
    );
    assert!(
        screen.contains(&format!("Top 5 of {}", screen_state.rows.len())),
        "{screen}"
    );
    let first = &screen_state.rows[0];
    assert!(
        screen
            .lines()
            .any(|l| l.trim_start().starts_with(&format!("1  {} ", first.symbol))),
        "rank 1 is {}: {screen}",
        first.symbol
    );
    let table_rows = screen
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .count();
    assert_eq!(table_rows, 5, "{screen}");

    let symbol = one_text(&symbol);
    let row = screen_state
        .row(&Symbol::parse("BF.B").unwrap())
        .expect("BF.B ranked");
    assert!(
        symbol.contains(&format!("<b>BF.B</b> · screen {}", screen_state.date)),
        "{symbol}"
    );
    assert!(
        symbol.contains(&format!("Rank <b>{}</b>", row.rank)),
        "{symbol}"
    );
    assert!(symbol.contains("<b>History</b>"), "{symbol}");

    let port = one_text(&port);
    let portfolio = snap.portfolio.as_ref().expect("a portfolio snapshot");
    assert!(
        port.contains(&format!("{} position", portfolio.positions.len())),
        "{port}"
    );
    assert!(one_text(&monitor).contains("Take profit when the best 5 positions average"));
    assert!(
        one_text(&account).contains("<b>Account</b> · live"),
        "{account:?}"
    );
    let stats = one_text(&stats);
    assert!(
        stats.contains("<b>Data health</b> · provider sim"),
        "{stats}"
    );
    assert!(
        stats.contains("<b>Last run</b> (since start): the start-up catch-up"),
        "{stats}"
    );

    // Downloads: one CSV document with one header, from the store.
    assert_eq!(dl[0].method, "sendDocument");
    let (name, bytes) = dl[0].document.clone().expect("a document");
    assert_eq!(name, format!("drawdowns_{}.csv", screen_state.date));
    let csv = String::from_utf8(bytes).unwrap();
    assert_eq!(
        csv.lines().next().unwrap(),
        Dataset::Drawdowns.columns().join(",")
    );
    assert_eq!(csv.lines().count(), screen_state.rows.len() + 1);
    let (name, bytes) = dl_bars[0].document.clone().expect("a document");
    assert!(
        name.starts_with("bars_") && name.ends_with(".csv"),
        "{name}"
    );
    let csv = String::from_utf8(bytes).unwrap();
    let header = Dataset::Bars.columns().join(",");
    assert_eq!(
        csv.lines().filter(|l| *l == header).count(),
        1,
        "one header"
    );
    let dates: std::collections::BTreeSet<&str> = csv.lines().skip(1).map(|l| &l[..10]).collect();
    assert_eq!(dates.len(), 3, "three dates: {dates:?}");
    assert!(dl_bars[0].text.contains("3 dates"), "{}", dl_bars[0].text);

    // /trigger from an admin: an answer at once, then the summary.
    let started = h.ask(ADMIN, "/trigger", 1).await;
    assert!(one_text(&started).contains("Collection started"));
    assert_eq!(h.runner.running(), Some(RunSource::Manual));
    h.gate.add_permits(1);
    let all = h.fake.replies(ADMIN, 2, WAIT).await;
    assert!(
        all[1].text.starts_with("✅ Collection finished in ")
            && all[1].text.contains(": published "),
        "{}",
        all[1].text
    );

    // The menu, the webhook, polling.
    assert!(h.fake.wait_calls("setMyCommands", 1, WAIT).await);
    let menu = h.fake.commands().expect("setMyCommands");
    let names: Vec<&str> = menu
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["command"].as_str().unwrap().trim_start_matches('/'))
        .collect();
    assert_eq!(
        names,
        [
            "help",
            "dashboard",
            "screen",
            "symbol",
            "chart",
            "breadth",
            "portfolio",
            "monitor",
            "risk",
            "backtest",
            "account",
            "stats",
            "download",
            "trigger",
            "buy",
            "sell",
            "orders",
            "halt",
            "resume",
            "alert",
            "alerts",
            "unalert",
            "web",
            "logout"
        ]
    );
    assert!(h.fake.count("deleteWebhook") >= 1);
    assert_eq!(
        h.fake.webhook(),
        None,
        "the webhook was deleted for long polling"
    );
    let polls: Vec<_> = h
        .fake
        .calls()
        .into_iter()
        .filter(|c| c.method == "getUpdates")
        .collect();
    assert!(
        polls.iter().any(|c| c.body["timeout"] == 5),
        "long polling with the timeout"
    );
    assert!(
        polls.iter().any(|c| c.body["offset"].as_i64() > Some(1)),
        "offsets advance"
    );

    assert_all_accepted(&h.fake.sent());
    let metrics = h.metrics.encode();
    for c in [
        "start",
        "help",
        "dashboard",
        "screen",
        "symbol",
        "portfolio",
        "monitor",
        "account",
        "stats",
        "download",
        "trigger",
    ] {
        assert!(
            metrics.contains(&format!("dipwatch_bot_updates_total{{command=\"{c}\"}}")),
            "{c} not counted:\n{metrics}"
        );
    }
    h.stop().await;
    assert_eq!(
        h.fake.unconfirmed(),
        0,
        "the last poll confirms handled updates"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_input_gets_a_pointer_to_help() {
    let mut h = start(Setup::default()).await;
    let c = READERS.start;
    let unknown = h.ask(c, "/frobnicate now", 1).await;
    assert_eq!(
        one_text(&unknown),
        "I don't know that command. Send /help for the list."
    );
    let text = h.ask(c + 1, "what is the market doing?", 1).await;
    assert_eq!(
        one_text(&text),
        "I only answer commands. Send /help for the list."
    );
    h.fake.push_photo(c + 2);
    let photo = h.fake.replies(c + 2, 1, WAIT).await;
    assert_eq!(
        one_text(&photo),
        "I only answer commands. Send /help for the list."
    );
    // Case and the bot's own @name are accepted.
    let shouted = h
        .ask(
            c + 3,
            &format!("/SCREEN@{} 3", fake_telegram::BOT_USERNAME),
            1,
        )
        .await;
    assert!(one_text(&shouted).contains("Top 3 of"));
    let usage = h.ask(c + 4, "/screen <b>lots</b>", 1).await;
    assert!(one_text(&usage).starts_with("Usage: /screen [N]"));
    let bad = h.ask(c + 5, "/symbol <script>&", 1).await;
    assert!(one_text(&bad).contains("“&lt;script&gt;&amp;” is not a ticker"));
    // In a group: commands are answered, chatter and other bots' commands are not.
    h.fake.push_text(GROUP, "just chatting");
    h.fake.push_text(GROUP, "/help@some_other_bot");
    let group = h.ask(GROUP, "/stats", 1).await;
    assert!(one_text(&group).contains("Data health"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(h.fake.sent_to(GROUP).len(), 1);
    assert_all_accepted(&h.fake.sent());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_over_4096_characters_is_split_on_line_boundaries() {
    let mut h = start(Setup::default()).await;
    // 150 positions: a /portfolio table far over one message.
    let positions: Vec<Position> = (0..150)
        .map(|i| {
            Position::from_prices(
                Symbol::parse(&format!("S{i:03}")).unwrap(),
                Decimal::from(10),
                Decimal::from(100),
                Decimal::from(40 + i),
            )
        })
        .collect();
    h.runner.state().update(|s| {
        let account = s.portfolio.as_ref().expect("portfolio").account.clone();
        Snapshot {
            portfolio: Some(PortfolioState {
                date: s.portfolio.as_ref().unwrap().date,
                account,
                profit: profit_check(&positions, 5, Decimal::from(100)),
                positions: positions.clone(),
            }),
            ..s.clone()
        }
    });
    h.fake.push_text(READERS.start, "/portfolio");
    // Sent as one burst per chat at Telegram's pace (1 message/s/chat).
    let sent = h
        .fake
        .wait_until(WAIT, |s| {
            s.iter()
                .filter(|x| x.chat_id == READERS.start)
                .any(|x| x.text.contains("Equity "))
        })
        .await
        .expect("the last part arrives");
    let parts: Vec<&Sent> = sent.iter().filter(|x| x.chat_id == READERS.start).collect();
    assert!(parts.len() >= 2, "{} parts", parts.len());
    for p in &parts {
        let n = check_html(&p.text).expect("each part is valid HTML on its own");
        assert!(n <= 4096, "{n}");
        assert!(p.refused.is_none());
    }
    assert!(parts[0].text.contains("<pre>symbol"));
    assert!(
        parts[1].text.starts_with("<pre>"),
        "the table continues: {}",
        parts[1].text
    );
    let all: String = parts.iter().map(|p| p.text.as_str()).collect();
    for i in 0..150 {
        assert!(
            all.contains(&format!("S{i:03} ")),
            "S{i:03} lost in the split"
        );
    }
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_store_is_answered_not_crashed_on() {
    let mut h = start(Setup::with(|s| s.empty_store = true)).await;
    let screen = h.ask(READERS.start, "/screen", 1).await;
    assert!(one_text(&screen).starts_with("No screen has been published yet."));
    let dl = h.ask(READERS.start + 1, "/download bars", 1).await;
    assert_eq!(one_text(&dl), "No bars published yet.");
    let port = h.ask(READERS.start + 2, "/portfolio", 1).await;
    assert!(one_text(&port).starts_with("No portfolio snapshot yet"));
    assert_all_accepted(&h.fake.sent());
    h.stop().await;
}

/// A random message for the fuzz test: a command (ours, aliases, case,
/// @names, made-up ones) or text, with arguments from unicode, markup
/// characters, numbers and huge strings.
fn random_message(rng: &mut rand_pcg::Pcg64) -> String {
    const HEADS: [&str; 22] = [
        "/start",
        "/help",
        "/dashboard",
        "/daily",
        "/screen",
        "/symbol",
        "/portfolio",
        "/monitor",
        "/account",
        "/stats",
        "/download",
        "/trigger",
        "/SCREEN",
        "/Symbol@dipwatch_test_bot",
        "/help@other_bot",
        "/nope",
        "/",
        "hi",
        "",
        "/download bars",
        "/screen 50",
        "&<b>",
    ];
    const PIECES: [&str; 26] = [
        "<",
        ">",
        "&",
        "&amp;",
        "<b>",
        "</pre>",
        "\"",
        "'",
        " ",
        "\n",
        "\t",
        "😀",
        "中文",
        "שלום",
        "\u{200b}",
        "e\u{301}",
        "BF.B",
        "brk-b",
        "$AAPL",
        "50",
        "-3",
        "7",
        "99999999999999999999",
        "0",
        "bars",
        "positions",
    ];
    let mut out = String::from(HEADS[rng.random_range(0..HEADS.len())]);
    let pieces = match rng.random_range(0..12) {
        0 => 0,
        1 => rng.random_range(300..1500),
        _ => rng.random_range(1..6),
    };
    if pieces > 0 && !out.is_empty() {
        out.push(' ');
    }
    for _ in 0..pieces {
        if rng.random_range(0..4) == 0 {
            out.push(char::from_u32(rng.random_range(0x20..0x2_FFFF)).unwrap_or('?'));
        } else {
            out.push_str(PIECES[rng.random_range(0..PIECES.len())]);
        }
    }
    if out.trim().is_empty() {
        out.push('x');
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_random_messages_get_only_well_formed_replies() {
    // Telegram's limits raised so the fuzz runs in seconds, not minutes.
    let mut h = start(Setup {
        limits: Some(Limits {
            overall_per_sec: 10_000,
            chat_interval: Duration::ZERO,
            group_per_min: 1_000_000,
            margin: Duration::ZERO,
        }),
        // And a chat's queue unbounded: every random message is answered.
        per_chat: Some(100_000),
        ..Setup::default()
    })
    .await;
    let mut rng = rand_pcg::Pcg64::seed_from_u64(0x05ee_db07);
    let chats: Vec<i64> = READERS.take(20).collect();
    let strangers = [STRANGER, STRANGER + 1];
    let mut total = 0;
    for _batch in 0..25 {
        let batch: Vec<(i64, String)> = (0..100)
            .map(|i| {
                let chat = if i % 25 == 0 {
                    strangers[i / 25 % 2]
                } else {
                    chats[rng.random_range(0..chats.len())]
                };
                (chat, random_message(&mut rng))
            })
            .collect();
        total += batch.len();
        h.fake.push_many(&batch);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // A last message per chat no random one can produce: its answer means
    // the chat's queue is done (a chat's updates are handled in order).
    h.push_to_all(&chats, "/symbol ZZMARK");
    let sent = h
        .fake
        .wait_until(Duration::from_secs(120), |s| {
            chats.iter().all(|c| {
                s.iter()
                    .rev()
                    .find(|x| x.chat_id == *c)
                    .is_some_and(|x| x.text.contains("<b>ZZMARK</b>"))
            })
        })
        .await
        .expect("every chat's queue was answered");
    assert!(total >= 2_500);
    assert!(h.still_running(), "no panic took the bot down");
    assert!(
        sent.len() >= total * 8 / 10,
        "{} replies to {total} messages",
        sent.len()
    );
    for s in &sent {
        assert!(s.refused.is_none(), "refused: {:?}\n{}", s.refused, s.text);
        let n = check_html(&s.text).unwrap_or_else(|e| panic!("{e}: {}", s.text));
        assert!(n <= if s.document.is_some() { 1024 } else { 4096 });
        assert!(
            !s.text.contains("panicked") && !s.text.contains("Error") && !s.text.contains("error:"),
            "no Rust error text reaches a user: {}",
            s.text
        );
    }
    for s in strangers {
        assert_eq!(h.fake.sent_to(s).len(), 1, "one refusal per window");
    }
    h.stop().await;
}

/// Arguments are echoed clipped to a few characters, as typed (never
/// debug-escaped): 4,080 zero-width characters get one short reply, not
/// nine full messages of `\u{200b}`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_arguments_are_echoed_clipped_and_unescaped() {
    let mut h = start(Setup::with(|s| s.alerts_fill_days_ago = Some(1))).await;
    let chat = READERS.start;
    let zw = "\u{200b}".repeat(4080);
    for ask in [
        format!("/unalert {zw}"),
        format!("/alert top {zw}"),
        format!("/alert {zw} below -30"),
        format!("/alert AAPL below {zw}"),
        format!("/alert digest {zw}"),
        format!("/symbol x{zw}"),
    ] {
        let reply = h.ask(chat, &ask, 1).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let sent = h.fake.sent_to(chat);
        let text = &sent.last().unwrap().text;
        assert_eq!(reply.len(), 1, "{}", &ask[..12]);
        assert!(
            text.encode_utf16().count() < 400 && !text.contains("\\u{"),
            "{}: {} units: {}",
            &ask[..12],
            text.encode_utf16().count(),
            text.chars().take(200).collect::<String>()
        );
        assert!(text.contains("\u{200b}…"), "the echo is clipped: {text}");
    }
    assert_eq!(h.fake.sent_to(chat).len(), 6, "one reply each");
    h.stop().await;
}

/// `/screen@ 3` (an empty bot name) is ours and answered; an update
/// teloxide cannot parse is skipped and logged without its text, from a
/// refused chat or an allowed one, and the chats' next messages are
/// answered; no message text is logged anywhere, at any level.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_empty_bot_name_is_ours_and_unparseable_updates_log_no_text() {
    let mut h = start(Setup::default()).await;
    let chat = READERS.start + 3;
    let screen = h.ask(chat, "/screen@ 3", 1).await;
    assert!(one_text(&screen).contains("<pre>"), "{}", screen[0].text);

    let unparseable = |m: &mut serde_json::Value| {
        m.as_object_mut().unwrap().remove("date");
    };
    h.fake
        .push_edited(STRANGER, "/help TEXT-7f3a-REFUSED-UNPARSED", unparseable);
    h.fake
        .push_edited(chat, "/help TEXT-7f3a-ALLOWED-UNPARSED", unparseable);
    h.fake.push_text(STRANGER, "TEXT-7f3a-REFUSED-PLAIN");
    let refusal = h.fake.replies(STRANGER, 1, WAIT).await;
    assert!(refusal[0].text.contains("private dipwatch bot"));
    let help = h.ask(chat, "/help TEXT-7f3a-ALLOWED-PLAIN", 1).await;
    assert_eq!(
        h.fake.sent_to(chat).len(),
        2,
        "the unparseable one got nothing"
    );
    assert!(one_text(&help).contains("/screen"));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let logs = captured();
    assert!(logs.contains("skipped an update teloxide cannot parse"));
    for line in logs.lines() {
        assert!(!line.contains("TEXT-7f3a"), "message text logged: {line}");
    }
    h.stop().await;
}
