//! The follower: status changes until final, an unknown outcome found
//! later, recovery after a restart, and its task's stop.

use rust_decimal::dec;

use super::scripted::Submit;
use super::{admin, buy, fixture};
use crate::domain::OrderStatus;
use crate::journal::EventKind;
use crate::market::TradeError;
use crate::trading::{Refusal, Source, Trading};

#[tokio::test]
async fn the_follower_reports_each_status_change_until_final() {
    let f = fixture().await;
    let actor = admin(7);
    let mut updates = f.trading.updates();
    let p = f.trading.preview(&buy(dec!(500)), &actor).await.unwrap();
    let placed = f.trading.confirm(&p.token, &actor).await.unwrap();
    f.trading.round(1).await;
    assert!(updates.try_recv().is_err(), "no change, no update");
    for (status, filled) in [
        (OrderStatus::PartiallyFilled, dec!(2)),
        (OrderStatus::Filled, p.qty),
    ] {
        f.broker.with(|b| {
            b.orders[0].status = status.clone();
            b.orders[0].filled_qty = filled;
        });
        f.trading.round(1).await;
        let u = updates.try_recv().unwrap();
        assert_eq!(u.order.status, status);
        assert_eq!(u.source, Source::Chat(7));
    }
    // Final: no longer followed.
    f.broker
        .with(|b| b.orders[0].status = OrderStatus::Canceled);
    f.trading.round(1).await;
    assert!(updates.try_recv().is_err());
    let statuses: Vec<String> = f
        .journal()
        .await
        .into_iter()
        .filter(|e| e.event == EventKind::Status)
        .filter_map(|e| e.status)
        .collect();
    assert_eq!(statuses, ["partially_filled", "filled"]);
    assert_eq!(placed.order.status, OrderStatus::New);
}

#[tokio::test]
async fn a_restart_between_submission_and_answer_recovers_the_order() {
    let f = fixture().await;
    let actor = admin(7);
    let p = f.trading.preview(&buy(dec!(500)), &actor).await.unwrap();
    // The process dies after `submit` was journalled and the order
    // reached the broker, before the answer: the journal holds a submit
    // and nothing after it.
    f.broker.with(|b| {
        b.script
            .push_back(Submit::PlaceButAnswer(TradeError::Unavailable {
                broker: "Alpaca",
                message: "connection reset".into(),
            }));
        b.hide_lookups = 3;
    });
    let _ = f.trading.confirm(&p.token, &actor).await;
    let restarted = Trading::new(f.trading.parts().clone());
    let mut updates = restarted.updates();
    restarted.round(0).await;
    let u = updates.try_recv().unwrap();
    assert_eq!(u.order.client_order_id, p.client_order_id.as_str());
    assert_eq!(u.source, Source::Chat(7));
    assert_eq!(f.sent(), 1);
    // Followed from then on.
    f.broker.with(|b| b.orders[0].status = OrderStatus::Filled);
    restarted.round(1).await;
    assert_eq!(
        updates.try_recv().unwrap().order.status,
        OrderStatus::Filled
    );
}

#[tokio::test]
async fn an_outcome_still_unknown_says_so_and_the_follower_finds_it_later() {
    let f = fixture().await;
    let actor = admin(7);
    let mut updates = f.trading.updates();
    let p = f.trading.preview(&buy(dec!(500)), &actor).await.unwrap();
    f.broker.with(|b| {
        b.script
            .push_back(Submit::PlaceButAnswer(TradeError::Unavailable {
                broker: "Alpaca",
                message: "HTTP 503: down".into(),
            }));
        b.hide_lookups = 3;
    });
    let err = f.trading.confirm(&p.token, &actor).await.unwrap_err();
    assert!(matches!(err, Refusal::OutcomeUnknown { .. }), "{err}");
    assert!(err.to_string().contains("may have been placed"), "{err}");
    assert!(
        err.to_string().contains(p.client_order_id.as_str()),
        "{err}"
    );
    f.trading.round(1).await;
    let u = updates.try_recv().unwrap();
    assert_eq!(u.source, Source::Chat(7));
    assert_eq!(u.order.client_order_id, p.client_order_id.as_str());
    assert_eq!(u.previous, None);
    assert_eq!(f.sent(), 1);
}

#[tokio::test]
async fn the_follower_task_stops_with_its_token() {
    let f = fixture().await;
    let stop = tokio_util::sync::CancellationToken::new();
    let task = f.trading.spawn_follower(stop.clone());
    stop.cancel();
    task.await.unwrap();
}

#[tokio::test]
async fn a_panic_in_a_round_does_not_stop_the_follower() {
    let f = fixture().await;
    let actor = admin(7);
    let mut updates = f.trading.updates();
    let p = f.trading.preview(&buy(dec!(500)), &actor).await.unwrap();
    f.trading.confirm(&p.token, &actor).await.unwrap();
    f.broker.with(|b| {
        b.panics = 2;
        b.orders[0].status = OrderStatus::Filled;
    });
    let stop = tokio_util::sync::CancellationToken::new();
    let task = f.trading.spawn_follower(stop.clone());
    // Two rounds panic; a later one reports the fill.
    let u = updates.recv().await.unwrap();
    assert_eq!(u.order.status, OrderStatus::Filled);
    assert_eq!(f.broker.with(|b| b.panics), 0);
    stop.cancel();
    task.await.unwrap();
}
