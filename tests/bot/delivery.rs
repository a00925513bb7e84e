//! Getting replies out: 429s, outages, a failing getMe, per-chat fairness, Telegram's send limits.

#![allow(unused_imports)]

use super::helpers::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_is_retried_after_the_wait_telegram_asks_for() {
    let mut h = start(Setup::default()).await;
    h.fake.fail_next("sendMessage", Fault::too_many_requests(1));
    h.fake.push_text(READERS.start, "/help");
    let sent = h
        .fake
        .wait_until(WAIT, |s| {
            s.iter()
                .any(|x| x.chat_id == READERS.start && x.refused.is_none())
        })
        .await
        .expect("the reply is delivered after the wait");
    let accepted: Vec<_> = sent.iter().filter(|x| x.refused.is_none()).collect();
    assert_eq!(accepted.len(), 1);
    assert!(accepted[0].text.contains("<b>Strategy</b>"));
    assert_eq!(h.fake.rate_limited(), 1, "only the injected 429");
    assert_eq!(
        h.fake.early_retries(),
        0,
        "no send before retry_after was over"
    );
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_survives_an_outage_without_busy_looping_and_recovers() {
    let mut h = start(Setup::default()).await;
    h.ask(READERS.start, "/help", 1).await;
    h.fake.set_outage(true);
    let polls_before = h.fake.count("getUpdates");
    h.fake.push_text(READERS.start + 1, "/stats");
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let during = h.fake.count("getUpdates") - polls_before;
    assert!(during >= 2, "it keeps trying during the outage ({during})");
    // Backoff 50 ms doubling to 400 ms: about 8 attempts in 2.5 s; a busy
    // loop would make thousands.
    assert!(
        during <= 30,
        "{during} polls in 2.5 s of outage: no backoff?"
    );
    assert!(h.still_running(), "the bot does not exit on errors");
    h.fake.set_outage(false);
    let replies = h.fake.replies(READERS.start + 1, 1, WAIT).await;
    assert!(one_text(&replies).contains("Data health"));
    assert_all_accepted(&h.fake.sent());
    h.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bot_starts_even_if_get_me_fails_at_first() {
    let mut h = start(Setup::prepared(|f: &FakeTelegram| {
        f.fail_next("getMe", Fault::Reset);
        f.fail_next("getMe", Fault::Reset);
        f.fail_next("getMe", Fault::too_many_requests(1));
        f.fail_next("setMyCommands", Fault::Reset);
    }))
    .await;
    let replies = h.ask(READERS.start, "/help", 1).await;
    assert!(one_text(&replies).contains("/dashboard"));
    assert!(h.fake.count("getMe") >= 4, "retried getMe");
    assert!(
        h.fake.wait_calls("setMyCommands", 2, WAIT).await,
        "retried setMyCommands"
    );
    assert!(h.fake.commands().is_some());
    h.stop().await;
}

/// The number in a "Skipped N messages" note (0 without one).
fn skipped_in(sent: &[Sent]) -> usize {
    sent.iter()
        .filter_map(|s| s.text.strip_prefix("Skipped "))
        .filter_map(|t| t.split(' ').next()?.replace(',', "").parse::<usize>().ok())
        .sum()
}

/// One chat sending 200 x `/screen 50` (and another 200 unknown commands)
/// never makes another chat wait: `/help` from a third is answered (under
/// teloxide's dispatcher it waited behind the flood's full queue for
/// minutes). Each flooding chat gets the few answers it is allowed, then
/// one note saying how many were skipped, and every update is confirmed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_chat_never_makes_another_chat_wait() {
    let mut h = start(Setup::default()).await;
    let (flood, unknown, other) = (READERS.start, READERS.start + 1, READERS.start + 2);
    let mut batch: Vec<(i64, String)> = (0..200).map(|_| (flood, "/screen 50".into())).collect();
    batch.extend((0..200).map(|_| (unknown, "/nonsense".to_string())));
    h.fake.push_many(&batch);
    let help = h.ask(other, "/help", 1).await;
    assert!(help[0].text.contains("/screen"), "{}", help[0].text);

    // Each flood: its kept commands answered, then one note.
    let kept = dipwatch::bot::lanes::PER_CHAT;
    let notes = h
        .fake
        .wait_until(Duration::from_secs(60), |s| {
            [flood, unknown].iter().all(|c| {
                s.iter()
                    .any(|x| x.chat_id == *c && x.text.starts_with("Skipped "))
            })
        })
        .await;
    assert!(notes.is_ok(), "each flooding chat is told once");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    for chat in [flood, unknown] {
        let sent = h.fake.sent_to(chat);
        assert_all_accepted(&sent);
        let notes = sent
            .iter()
            .filter(|s| s.text.starts_with("Skipped "))
            .count();
        assert_eq!(notes, 1, "told once: {sent:#?}");
        // Each kept command has one reply (24 rows fit one message).
        let answers = sent
            .iter()
            .filter(|s| !s.text.starts_with("Skipped "))
            .count();
        assert!(answers >= kept, "the kept ones are answered: {answers}");
        assert_eq!(
            answers + skipped_in(&sent),
            200,
            "every command answered or said skipped"
        );
        assert!(
            sent.last().unwrap().text.starts_with("Skipped "),
            "the note comes after the answers"
        );
    }
    assert_eq!(
        h.fake.unconfirmed(),
        0,
        "every update was taken and confirmed"
    );
    // Dropped updates are counted in the metrics, under a fixed name.
    let skipped: usize = [flood, unknown]
        .iter()
        .map(|c| skipped_in(&h.fake.sent_to(*c)))
        .sum();
    let metrics = h.metrics.encode();
    let counted = metrics
        .lines()
        .find(|l| l.starts_with("dipwatch_bot_updates_total{command=\"dropped\"}"))
        .and_then(|l| l.split_whitespace().last()?.parse::<f64>().ok());
    assert_eq!(counted, Some(skipped as f64), "{metrics}");
    h.stop().await;
}

/// Sends stay inside Telegram's limits however many chats ask at once:
/// no one-second window holds more than 30 sends, no chat gets two within
/// a second, and the fake's flood control never answers 429 (the fake
/// counts arrivals, like Telegram). 40 readers ask three things each and
/// 100 strangers write once (each gets a refusal): 220 sends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_stay_inside_telegrams_limits_under_a_burst() {
    let mut h = start(Setup::prepared(|f: &FakeTelegram| {
        f.limit_sends_per_sec(30)
    }))
    .await;
    let mut batch: Vec<(i64, String)> = Vec::new();
    for text in ["/help", "/screen", "/stats"] {
        batch.extend(READERS.map(|c| (c, text.to_string())));
    }
    batch.extend((0..100).map(|i| (STRANGER + i, "hello".to_string())));
    h.fake.push_many(&batch);
    let want = READERS.count() * 3 + 100;
    let all = h
        .fake
        .wait_until(Duration::from_secs(60), |s| s.len() >= want)
        .await;
    assert!(all.is_ok(), "every message answered");
    let sent = h.fake.sent();
    assert_all_accepted(&sent);
    assert_eq!(h.fake.rate_limited(), 0, "no 429");
    let mut at: Vec<std::time::Instant> = sent.iter().map(|s| s.at).collect();
    at.sort();
    let busiest = (0..at.len())
        .map(|i| {
            at[i..]
                .iter()
                .take_while(|t| t.duration_since(at[i]) < Duration::from_secs(1))
                .count()
        })
        .max()
        .unwrap();
    assert!(busiest <= 30, "{busiest} sends in one second");
    for chat in READERS {
        let times: Vec<std::time::Instant> = h.fake.sent_to(chat).iter().map(|s| s.at).collect();
        for pair in times.windows(2) {
            assert!(
                pair[1].duration_since(pair[0]) >= Duration::from_secs(1),
                "chat {chat}: two sends within a second"
            );
        }
    }
    h.stop().await;
}
