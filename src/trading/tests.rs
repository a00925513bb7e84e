//! The service against a scripted broker and a real store (a local
//! directory): the Safety section's sequences, each with what was sent
//! and what the journal holds.

mod follow;
mod pure;
mod scripted;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rust_decimal::dec;

use self::scripted::{Scripted, Submit};
use super::*;
use crate::access::Role;
use crate::config::AppConfig;
use crate::domain::{Account, DrawdownRow, OrderSide, OrderStatus, Position, RunReport};
use crate::journal::{EventKind, Journal, JournalEvent};
use crate::market::TradeError;
use crate::market::calendar::{exchange_date, latest_closed_session};
use crate::store::{AccountRecord, Dataset, NewObject, PositionRecord, Store, encode};
use crate::test_support::sym;

struct Fixture {
    trading: Trading,
    broker: Arc<Scripted>,
    store: Store,
    dir: tempfile::TempDir,
}

fn object<R: serde::Serialize>(dataset: Dataset, rows: Vec<R>) -> NewObject {
    let (bytes, rows) = encode(dataset, rows).unwrap();
    NewObject {
        dataset,
        bytes,
        rows,
    }
}

/// Publish the latest closed session with the broker's positions and
/// account, as real (`simulated` false) or simulated data.
async fn publish(store: &Store, simulated: bool, positions: &[Position], account: &Account) {
    let date = latest_closed_session(chrono::Utc::now()).unwrap();
    let objects = vec![
        object(Dataset::Bars, Vec::<crate::store::BarRecord>::new()),
        object(Dataset::Drawdowns, Vec::<DrawdownRow>::new()),
        object(
            Dataset::Positions,
            positions
                .iter()
                .map(|p| PositionRecord::new(date, p))
                .collect(),
        ),
        object(Dataset::Account, vec![AccountRecord::new(date, account)]),
    ];
    let report = RunReport {
        provider: if simulated { "sim" } else { "alpaca" }.into(),
        simulated,
        ..crate::test_support::report(date)
    };
    store
        .publish(date, objects, BTreeMap::new(), report)
        .await
        .unwrap();
}

fn config(edit: &[(&str, &str)]) -> AppConfig {
    let mut env: std::collections::HashMap<String, String> = [
        ("DIPWATCH__TRADING__ENABLED", "true"),
        ("DIPWATCH__TRADING__MAX_SNAPSHOT_AGE_DAYS", "10"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in edit {
        env.insert((*k).to_string(), (*v).to_string());
    }
    AppConfig::load_with_env(None, env).unwrap()
}

async fn fixture_with(edit: &[(&str, &str)], simulated: bool) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let fs = object_store::local::LocalFileSystem::new_with_prefix(dir.path()).unwrap();
    let store = Store::from_object_store(Arc::new(fs), "file:///test");
    let broker = Arc::new(Scripted::new());
    let (positions, account) = broker.with(|b| (b.positions.clone(), b.account.clone()));
    publish(&store, simulated, &positions, &account).await;
    let config = config(edit);
    let trading = Trading::new(TradingParts {
        settings: config.trading.clone(),
        mode: crate::config::TradingMode::Paper,
        trader: broker.clone(),
        store: store.clone(),
        journal: Journal::new(store.clone()),
        risk: crate::risk::RiskParams::new(
            &config.risk,
            &config.backtest,
            &config.portfolio,
            &config.universe,
        ),
        follow_every: Duration::ZERO,
        lookup_pause: Duration::ZERO,
    });
    Fixture {
        trading,
        broker,
        store,
        dir,
    }
}

async fn fixture() -> Fixture {
    fixture_with(&[], false).await
}

fn admin(chat: i64) -> Actor {
    Actor {
        source: Source::Chat(chat),
        role: Role::Admin,
    }
}

fn buy(usd: rust_decimal::Decimal) -> Ask {
    Ask {
        symbol: sym("AAPL"),
        side: OrderSide::Buy,
        amount: Amount::Usd(usd),
        limit: None,
    }
}

impl Fixture {
    async fn journal(&self) -> Vec<JournalEvent> {
        let j = Journal::new(self.store.clone());
        let today = exchange_date(chrono::Utc::now());
        let mut all = j.day(today.pred_opt().unwrap()).await.unwrap();
        all.extend(j.day(today).await.unwrap());
        all
    }

    async fn kinds(&self, id: &str) -> Vec<EventKind> {
        self.journal()
            .await
            .into_iter()
            .filter(|e| e.client_order_id.as_deref() == Some(id))
            .map(|e| e.event)
            .collect()
    }

    fn sent(&self) -> usize {
        self.broker.with(|b| b.submits.len())
    }
}

#[tokio::test]
async fn a_preview_is_sized_priced_and_journalled() {
    let f = fixture().await;
    let p = f
        .trading
        .preview(&buy(dec!(1000)), &admin(7))
        .await
        .unwrap();
    // Collar 0.5 %: 100.50; $1,000 buys 9 whole shares at it.
    assert_eq!(p.limit_price, dec!(100.50));
    assert_eq!(p.qty, dec!(9));
    assert_eq!(p.estimated_cost, dec!(904.50));
    assert!(p.all_pass(), "{:?}", p.guards);
    assert_eq!(p.cash_after, dec!(49095.50));
    assert_eq!(p.largest_weight.as_ref().unwrap().0, "MSFT");
    assert!(p.for_next_open.is_none());
    let rows = p.rows();
    let labels: Vec<&str> = rows.iter().map(|(l, _)| *l).collect();
    for want in [
        "Symbol",
        "Quantity",
        "Limit price",
        "Estimated cost",
        "Mode",
        "trading.max_order_usd",
    ] {
        assert!(labels.contains(&want), "{want}: {labels:?}");
    }
    assert!(rows.iter().any(|(l, v)| *l == "Mode" && v == "PAPER"));
    assert_eq!(
        f.kinds(p.client_order_id.as_str()).await,
        [EventKind::Preview]
    );
    assert_eq!(f.sent(), 0, "a preview sends nothing");
}

#[tokio::test]
async fn a_double_confirm_places_one_order() {
    let f = fixture().await;
    let actor = admin(7);
    let p = f.trading.preview(&buy(dec!(500)), &actor).await.unwrap();
    let placed = f.trading.confirm(&p.token, &actor).await.unwrap();
    assert!(!placed.already_placed);
    assert_eq!(placed.client_order_id, p.client_order_id);
    assert_eq!(
        f.trading.confirm(&p.token, &actor).await,
        Err(Refusal::AlreadyConfirmed)
    );
    assert_eq!(f.sent(), 1);
    assert_eq!(
        f.kinds(p.client_order_id.as_str()).await,
        [
            EventKind::Preview,
            EventKind::Confirm,
            EventKind::Submit,
            EventKind::Answer
        ]
    );
}

#[tokio::test]
async fn an_expired_confirm_sends_nothing() {
    let f = fixture().await;
    let actor = admin(7);
    let p = f.trading.preview(&buy(dec!(500)), &actor).await.unwrap();
    f.trading.advance(61);
    assert_eq!(
        f.trading.confirm(&p.token, &actor).await,
        Err(Refusal::Expired)
    );
    assert_eq!(f.sent(), 0);
    assert_eq!(
        f.kinds(p.client_order_id.as_str()).await,
        [EventKind::Preview, EventKind::Discard]
    );
}

#[tokio::test]
async fn a_reader_or_another_chat_cannot_confirm_and_the_admin_still_can() {
    let f = fixture().await;
    let p = f.trading.preview(&buy(dec!(500)), &admin(7)).await.unwrap();
    let reader = Actor {
        source: Source::Chat(7),
        role: Role::Reader,
    };
    assert_eq!(
        f.trading.confirm(&p.token, &reader).await,
        Err(Refusal::NotAdmin)
    );
    assert_eq!(
        f.trading.confirm(&p.token, &admin(8)).await,
        Err(Refusal::WrongSource)
    );
    assert_eq!(
        f.trading.confirm(&p.token, &Actor::cli()).await,
        Err(Refusal::WrongSource)
    );
    assert_eq!(f.sent(), 0);
    f.trading.confirm(&p.token, &admin(7)).await.unwrap();
    assert_eq!(f.sent(), 1);
    // A reader cannot even preview.
    assert_eq!(
        f.trading.preview(&buy(dec!(500)), &reader).await,
        Err(Refusal::NotAdmin)
    );
}

#[tokio::test]
async fn an_unknown_token_is_refused() {
    let f = fixture().await;
    assert_eq!(
        f.trading.confirm("0123", &admin(7)).await,
        Err(Refusal::UnknownConfirmation)
    );
}

#[tokio::test]
async fn a_halted_store_refuses_and_halting_cancels_dipwatch_orders_only() {
    let f = fixture().await;
    let actor = admin(7);
    let p = f.trading.preview(&buy(dec!(500)), &actor).await.unwrap();
    let placed = f.trading.confirm(&p.token, &actor).await.unwrap();
    // An order placed elsewhere stays.
    f.broker.with(|b| {
        let mut foreign = b.orders[0].clone();
        foreign.id = "foreign-1".into();
        foreign.client_order_id = "mine-by-hand".into();
        b.orders.push(foreign);
    });
    let pending = f.trading.preview(&buy(dec!(300)), &actor).await.unwrap();
    let canceled = f.trading.halt(&actor).await.unwrap();
    assert_eq!(canceled.len(), 1);
    assert_eq!(canceled[0].id, placed.order.id);
    f.broker.with(|b| {
        assert_eq!(b.orders[0].status, OrderStatus::Canceled);
        assert_eq!(b.orders[1].status, OrderStatus::New);
    });
    // The kill switch is in the store: a second service over it (the
    // CLI beside the daemon) sees it.
    let halt = f.trading.halted().await.unwrap().unwrap();
    assert_eq!(halt.by, "7");
    assert!(matches!(
        f.trading.preview(&buy(dec!(500)), &actor).await,
        Err(Refusal::Halted { .. })
    ));
    assert!(matches!(
        f.trading.confirm(&pending.token, &actor).await,
        Err(Refusal::Halted { .. })
    ));
    assert_eq!(f.sent(), 1, "nothing sent while halted");
    let reader = Actor {
        source: Source::Chat(7),
        role: Role::Reader,
    };
    assert_eq!(f.trading.resume(&reader).await, Err(Refusal::NotAdmin));
    f.trading.resume(&actor).await.unwrap();
    assert_eq!(f.trading.halted().await.unwrap(), None);
    f.trading.preview(&buy(dec!(500)), &actor).await.unwrap();
    let kinds: Vec<EventKind> = f.journal().await.into_iter().map(|e| e.event).collect();
    assert!(kinds.contains(&EventKind::Halt) && kinds.contains(&EventKind::Resume));
    assert!(kinds.contains(&EventKind::Cancel));
}

#[tokio::test]
async fn already_placed_is_looked_up_not_placed_again() {
    let f = fixture().await;
    let actor = admin(7);
    let p = f.trading.preview(&buy(dec!(500)), &actor).await.unwrap();
    f.broker.with(|b| {
        b.script
            .push_back(Submit::PlaceButAnswer(TradeError::AlreadyPlaced(
                p.client_order_id.clone(),
            )))
    });
    let placed = f.trading.confirm(&p.token, &actor).await.unwrap();
    assert!(placed.already_placed);
    assert_eq!(placed.order.client_order_id, p.client_order_id.as_str());
    assert_eq!(f.sent(), 1);
    assert_eq!(f.broker.with(|b| b.orders.len()), 1);
}

#[tokio::test]
async fn an_unknown_outcome_is_found_by_lookup() {
    let f = fixture().await;
    let actor = admin(7);
    let p = f.trading.preview(&buy(dec!(500)), &actor).await.unwrap();
    f.broker.with(|b| {
        b.script
            .push_back(Submit::PlaceButAnswer(TradeError::Unavailable {
                broker: "Alpaca",
                message: "timed out after 10s".into(),
            }));
        // The first lookup does not see it yet.
        b.hide_lookups = 1;
    });
    let placed = f.trading.confirm(&p.token, &actor).await.unwrap();
    assert!(placed.already_placed);
    assert_eq!(f.sent(), 1, "never sent twice");
}

#[tokio::test]
async fn a_journal_that_cannot_be_written_sends_nothing() {
    let f = fixture().await;
    let actor = admin(7);
    let p = f.trading.preview(&buy(dec!(500)), &actor).await.unwrap();
    // The journal's directory becomes a file: no event can be created.
    let orders = f.dir.path().join("orders");
    std::fs::remove_dir_all(&orders).unwrap();
    std::fs::write(&orders, b"not a directory").unwrap();
    let err = f.trading.confirm(&p.token, &actor).await.unwrap_err();
    assert!(matches!(err, Refusal::Journal(_)), "{err}");
    assert!(err.to_string().contains("nothing was sent"), "{err}");
    assert_eq!(f.sent(), 0);
}

#[tokio::test]
async fn a_failing_guard_is_shown_but_cannot_be_confirmed() {
    let f = fixture().await;
    let actor = admin(7);
    let p = f.trading.preview(&buy(dec!(2000)), &actor).await.unwrap();
    assert!(!p.all_pass());
    let over: Vec<&str> = p.guards.iter().filter(|g| !g.ok).map(|g| g.key).collect();
    assert_eq!(over, ["trading.max_order_usd"]);
    let err = f.trading.confirm(&p.token, &actor).await.unwrap_err();
    assert!(matches!(err, Refusal::Guards(_)), "{err}");
    assert!(err.to_string().contains("trading.max_order_usd"), "{err}");
    // A second tap is not told an order was placed.
    assert_eq!(
        f.trading.confirm(&p.token, &actor).await,
        Err(Refusal::UnknownConfirmation)
    );
    assert_eq!(f.sent(), 0);
}

#[tokio::test]
async fn guards_are_checked_again_against_the_account_at_confirm() {
    let f = fixture().await;
    let actor = admin(7);
    let p = f.trading.preview(&buy(dec!(500)), &actor).await.unwrap();
    assert!(p.all_pass());
    f.broker.with(|b| b.account.buying_power = Some(dec!(100)));
    let err = f.trading.confirm(&p.token, &actor).await.unwrap_err();
    assert!(err.to_string().contains("buying_power"), "{err}");
    assert_eq!(f.sent(), 0);
    // The price moved past the collar: the previewed limit is refused.
    f.broker
        .with(|b| b.account.buying_power = Some(dec!(50000)));
    let p = f.trading.preview(&buy(dec!(500)), &actor).await.unwrap();
    // The price fell: a buy at the previewed limit would pay past the collar.
    f.broker.with(|b| b.last.price = dec!(90));
    let err = f.trading.confirm(&p.token, &actor).await.unwrap_err();
    assert!(err.to_string().contains("collar"), "{err}");
    assert_eq!(f.sent(), 0);
}

#[tokio::test]
async fn the_daily_guards_count_todays_orders() {
    let f = fixture_with(&[("DIPWATCH__TRADING__MAX_ORDERS_PER_DAY", "2")], false).await;
    let actor = admin(7);
    for _ in 0..2 {
        let p = f.trading.preview(&buy(dec!(500)), &actor).await.unwrap();
        f.trading.confirm(&p.token, &actor).await.unwrap();
    }
    let p = f.trading.preview(&buy(dec!(500)), &actor).await.unwrap();
    let g = p
        .guards
        .iter()
        .find(|g| g.key == "trading.max_orders_per_day")
        .unwrap();
    assert!(!g.ok, "{g:?}");
    assert_eq!(g.value, "3 orders");
}

#[tokio::test]
async fn inputs_that_are_not_fresh_or_real_are_refused() {
    let f = fixture_with(&[], true).await;
    assert_eq!(
        f.trading.preview(&buy(dec!(500)), &admin(7)).await,
        Err(Refusal::Simulated)
    );
    let f = fixture().await;
    f.broker
        .with(|b| b.last.at = b.clock.now - chrono::Duration::seconds(901));
    let err = f
        .trading
        .preview(&buy(dec!(500)), &admin(7))
        .await
        .unwrap_err();
    assert!(matches!(err, Refusal::Stale { .. }), "{err}");
    f.broker.with(|b| b.clock.is_open = false);
    assert!(matches!(
        f.trading.preview(&buy(dec!(500)), &admin(7)).await,
        Err(Refusal::MarketClosed { .. })
    ));
    f.broker
        .with(|b| b.asset_class = crate::domain::AssetClass::Crypto);
    assert!(matches!(
        f.trading.preview(&buy(dec!(500)), &admin(7)).await,
        Err(Refusal::NotStock(_))
    ));
}

#[tokio::test]
async fn a_closed_market_queues_for_the_open_when_asked() {
    let f = fixture_with(&[("DIPWATCH__TRADING__QUEUE_FOR_OPEN", "true")], false).await;
    let next_open = f.broker.with(|b| {
        b.clock.is_open = false;
        // A price from yesterday's close is what a queued order is priced from.
        b.last.at = b.clock.now - chrono::Duration::hours(15);
        b.clock.next_open
    });
    let p = f.trading.preview(&buy(dec!(500)), &admin(7)).await.unwrap();
    assert_eq!(p.for_next_open, Some(next_open));
    assert!(
        p.rows()
            .iter()
            .any(|(l, v)| *l == "When" && v.contains("next open"))
    );
}

#[tokio::test]
async fn long_only_sells() {
    let f = fixture().await;
    let sell = |symbol: &str, amount| Ask {
        symbol: sym(symbol),
        side: OrderSide::Sell,
        amount,
        limit: None,
    };
    let err = f
        .trading
        .preview(&sell("AAPL", Amount::All), &admin(7))
        .await
        .unwrap_err();
    assert!(matches!(err, Refusal::NotHeld(_)), "{err}");
    let err = f
        .trading
        .preview(&sell("MSFT", Amount::Shares(dec!(11))), &admin(7))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("more than the 10 held"), "{err}");
    f.broker.with(|b| b.last.price = dec!(40));
    let p = f
        .trading
        .preview(&sell("MSFT", Amount::PctOfPosition(dec!(50))), &admin(7))
        .await
        .unwrap();
    assert_eq!(p.qty, dec!(5));
    assert_eq!(p.limit_price, dec!(39.80));
}

#[tokio::test]
async fn orders_join_the_journal_and_cancel_is_for_admins() {
    let f = fixture().await;
    let actor = admin(7);
    let p = f.trading.preview(&buy(dec!(500)), &actor).await.unwrap();
    let placed = f.trading.confirm(&p.token, &actor).await.unwrap();
    let lines = f.trading.orders(true).await.unwrap();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].source.as_deref(), Some("7"));
    let reader = Actor {
        source: Source::Chat(7),
        role: Role::Reader,
    };
    assert_eq!(
        f.trading.cancel(&placed.order.id, &reader).await,
        Err(Refusal::NotAdmin)
    );
    let o = f.trading.cancel(&placed.order.id, &actor).await.unwrap();
    assert_eq!(o.status, OrderStatus::Canceled);
    assert!(f.trading.orders(true).await.unwrap().is_empty());
    assert_eq!(f.trading.orders(false).await.unwrap().len(), 1);
    assert!(
        f.kinds(placed.order.client_order_id.as_str())
            .await
            .contains(&EventKind::Cancel)
    );
}

#[tokio::test]
async fn a_discarded_preview_cannot_be_confirmed() {
    let f = fixture().await;
    let actor = admin(7);
    let p = f.trading.preview(&buy(dec!(500)), &actor).await.unwrap();
    assert_eq!(
        f.trading.discard(&p.token, &admin(9)).await,
        Err(Refusal::WrongSource)
    );
    f.trading.discard(&p.token, &actor).await.unwrap();
    assert_eq!(
        f.trading.confirm(&p.token, &actor).await,
        Err(Refusal::UnknownConfirmation)
    );
    assert_eq!(f.sent(), 0);
    assert_eq!(
        f.kinds(p.client_order_id.as_str()).await,
        [EventKind::Preview, EventKind::Discard]
    );
}

#[tokio::test]
async fn broker_refusals_are_journalled_in_plain_words() {
    let f = fixture().await;
    let actor = admin(7);
    let p = f.trading.preview(&buy(dec!(500)), &actor).await.unwrap();
    f.broker.with(|b| {
        b.script.push_back(Submit::Refuse(TradeError::Refused {
            broker: "Alpaca",
            status: 403,
            reason: "insufficient buying power".into(),
        }))
    });
    let err = f.trading.confirm(&p.token, &actor).await.unwrap_err();
    assert!(
        err.to_string().contains("insufficient buying power"),
        "{err}"
    );
    let answer = f
        .journal()
        .await
        .into_iter()
        .find(|e| e.event == EventKind::Answer)
        .unwrap();
    assert_eq!(answer.status.as_deref(), Some("refused"));
    assert!(answer.reason.unwrap().contains("insufficient buying power"));
}

#[tokio::test]
async fn two_taps_at_once_place_one_order() {
    let f = fixture().await;
    let actor = admin(7);
    let p = f.trading.preview(&buy(dec!(500)), &actor).await.unwrap();
    let (a, b) = tokio::join!(
        f.trading.confirm(&p.token, &actor),
        f.trading.confirm(&p.token, &actor)
    );
    assert_eq!(a.is_ok() as u8 + b.is_ok() as u8, 1, "{a:?} {b:?}");
    let refused = if a.is_ok() { b } else { a };
    assert_eq!(refused, Err(Refusal::AlreadyConfirmed));
    assert_eq!(f.sent(), 1);
}

#[tokio::test]
async fn build_is_off_by_default_refuses_the_simulated_market_and_needs_keys() {
    let f = fixture().await;
    let off = config(&[("DIPWATCH__TRADING__ENABLED", "false")]);
    assert!(build(&off, f.store.clone()).await.unwrap().is_none());
    let sim = config(&[("DIPWATCH__MARKET__PROVIDER", "sim")]);
    let e = build(&sim, f.store.clone()).await.unwrap_err().to_string();
    assert!(e.contains("the simulated market cannot trade"), "{e}");
    // Alpaca without keys: the error names them, not a panic or a default.
    let e = build(&config(&[]), f.store.clone())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("APCA_API_KEY_ID"), "{e}");
    let keyed = config(&[
        ("APCA_API_KEY_ID", "PKTEST00000000000000"),
        (
            "APCA_API_SECRET_KEY",
            "secretsecretsecretsecretsecretsecret0000",
        ),
    ]);
    let t = build(&keyed, f.store.clone()).await.unwrap().unwrap();
    assert_eq!(t.mode(), crate::config::TradingMode::Paper);
    assert!(!format!("{t:?}").contains("secretsecret"));
}
