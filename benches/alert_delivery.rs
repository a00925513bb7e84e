//! Alert delivery: 1,000 notifications (one per chat) queued by a real
//! evaluation, delivered through the bot's throttled sender (teloxide's
//! dipwatch's limiter with Telegram's default limits) to the loopback fake Bot API,
//! which answers 429 to any send beyond 30 in a second. Prints the wall
//! time, the sends, and the 429s (target: none).
//!
//!   cargo bench --bench alert_delivery

#[path = "../tests/support/fake_telegram.rs"]
mod fake_telegram;

use std::time::Instant;

use chrono::{NaiveDate, Utc};
use dipwatch::alerts::{AlertService, AlertSettings, parse_alert};
use dipwatch::bot::alerts::{BotSender, render};
use dipwatch::domain::{DrawdownRow, RunOutcome, RunReport, Symbol};
use dipwatch::state::{ScreenState, Snapshot};
use dipwatch::store::{StorageUrl, Store};
use teloxide::prelude::*;

fn snapshot(date: &str, dd: f64) -> Snapshot {
    let date: NaiveDate = date.parse().unwrap();
    let row = DrawdownRow {
        date,
        symbol: Symbol::parse("AAA").unwrap(),
        current_price: 10.0,
        peak_price: 20.0,
        peak_date: date,
        drawdown_pct: dd,
        days_since_peak: 1,
        volume: 1,
        rank: 1,
    };
    let report = RunReport::bare(date, "sim", true, RunOutcome::Published, Utc::now());
    Snapshot {
        screen: Some(ScreenState::new(date, vec![row], report)),
        simulated: true,
        ..Snapshot::default()
    }
}

fn main() {
    let quick = !std::env::args().any(|a| a == "--bench");
    let chats: i64 = if quick { 20 } else { 1000 };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let fake = fake_telegram::FakeTelegram::start();
        fake.limit_sends_per_sec(30);
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&StorageUrl::Local(dir.path().to_path_buf()), &Default::default()).await.unwrap();
        let settings = AlertSettings {
            chats: (1..=chats).collect(),
            defaults: Vec::new(),
            timezone: chrono_tz::America::New_York,
            lists: None,
        };
        let svc = AlertService::open(store, render(), &settings, &Snapshot::default()).await;
        for chat in 1..=chats {
            svc.add(chat, parse_alert("AAA below -30").unwrap()).await.unwrap();
        }
        let calm = snapshot("2026-11-20", -20.0);
        let crash = snapshot("2026-11-23", -35.0);
        svc.on_new_screen(&Snapshot::default(), &calm).await.unwrap();
        let t_eval = Instant::now();
        let queued = svc.on_new_screen(&calm, &crash).await.unwrap();
        let eval = t_eval.elapsed();
        // The fake answers only its own token (others get 401).
        let bot = dipwatch::bot::send::TgBot::new(
            Bot::new(fake_telegram::TOKEN).set_api_url(fake.url()),
            dipwatch::bot::limiter::Limits::default(),
        );
        let sender = BotSender(bot);
        let t0 = Instant::now();
        while let Some(wait) = svc.deliver_pass(&sender).await {
            tokio::time::sleep(wait).await;
        }
        let wall = t0.elapsed();
        let sent = fake.sent().iter().filter(|s| s.refused.is_none()).count();
        println!("alert delivery: {queued} notifications queued (evaluation + one store write: {:.1} ms)", eval.as_secs_f64() * 1e3);
        println!(
            "delivered {sent} in {:.2} s ({:.1}/s), 429s: {}, left in the outbox: {}",
            wall.as_secs_f64(),
            sent as f64 / wall.as_secs_f64(),
            fake.rate_limited(),
            svc.pending().await
        );
        assert_eq!(sent as i64, chats, "every notification delivered");
    });
}
