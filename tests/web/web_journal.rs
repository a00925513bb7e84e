//! The dashboard's audit events in the journal: sign-ins (and a refused
//! chat's genuine link), Run now (started, then refused in the cooldown)
//! and alert edits, each with `web:<id>` as its source.

use crate::support::dashboard::{SimApp, client, csrf_of, post_form, sign_in};

use std::time::Duration;

use chrono::Utc;
use dipwatch::app::App;
use dipwatch::collect::Dates;
use dipwatch::journal::{EventKind, Journal, JournalEvent};
use reqwest::StatusCode;

const READER: i64 = 1101;
const ADMIN: i64 = 1102;
const STRANGER: i64 = 1103;
const TEST_TOKEN: &str = "7000000001:AAWebTestTokenNeverSentAnywhere_123";

/// Today's journal once it holds `n` events (sign-ins are written by a
/// task of their own): waits only as an upper bound for a hang.
async fn journal_with(app: &App, n: usize) -> Vec<JournalEvent> {
    let journal = Journal::new(app.store().clone());
    let today = dipwatch::market::calendar::exchange_date(Utc::now());
    let wait = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            let events = journal.day(today).await.unwrap();
            if events.len() >= n {
                return events;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    wait.await.expect("the journal gets its events")
}

/// The events of `kind`, as (source, status, reason).
fn of(events: &[JournalEvent], kind: EventKind) -> Vec<(String, String, String)> {
    events
        .iter()
        .filter(|e| e.event == kind)
        .map(|e| {
            let text = |v: &Option<String>| v.clone().unwrap_or_default();
            (e.source.clone(), text(&e.status), text(&e.reason))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_ins_run_now_and_alert_edits_are_journalled_as_web_sources() {
    let (app, addr, _dir) = SimApp::new(40)
        .listening()
        .set("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS", READER)
        .set("DIPWATCH__TELEGRAM__ADMIN_CHAT_IDS", ADMIN)
        .set("TELOXIDE_TOKEN", TEST_TOKEN)
        .start(Dates::Latest)
        .await;
    let base = format!("http://{addr}");
    let reader = sign_in(&app, &base, READER).await;
    let admin = sign_in(&app, &base, ADMIN).await;
    // A genuine link of a chat on no list: refused, and journalled.
    let token = app.web_auth().issue_login(STRANGER).unwrap();
    let r = client()
        .get(format!("{base}/login?token={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A made-up token names nobody: counted, not journalled.
    let r = client()
        .get(format!("{base}/login?token=guess"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let events = journal_with(&app, 3).await;
    let mut sign_ins = of(&events, EventKind::SignIn);
    sign_ins.sort();
    assert_eq!(
        sign_ins,
        [
            (
                format!("web:{READER}"),
                "ok".into(),
                "link from 127.0.0.1".into()
            ),
            (
                format!("web:{ADMIN}"),
                "ok".into(),
                "link from 127.0.0.1".into()
            ),
            (
                format!("web:{STRANGER}"),
                "refused".into(),
                "link from 127.0.0.1".into()
            ),
        ]
    );

    let http = client();
    let page = crate::support::dashboard::get_text(&http, format!("{base}/"), &admin).await;
    let csrf = csrf_of(&page);
    let started = post_form(&http, format!("{base}/trigger"), &admin, &[("csrf", &csrf)]).await;
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let cooling = post_form(&http, format!("{base}/trigger"), &admin, &[("csrf", &csrf)]).await;
    assert!(
        [StatusCode::CONFLICT, StatusCode::TOO_MANY_REQUESTS].contains(&cooling.status()),
        "{}",
        cooling.status()
    );

    let page = crate::support::dashboard::get_text(&http, format!("{base}/alerts"), &reader).await;
    let csrf = csrf_of(&page);
    let form = [("rule", "profit"), ("csrf", csrf.as_str())];
    let added = post_form(&http, format!("{base}/alerts"), &reader, &form).await;
    assert_eq!(added.status(), StatusCode::OK);
    let form = [("id", "1"), ("csrf", csrf.as_str())];
    let deleted = post_form(&http, format!("{base}/alerts/delete"), &reader, &form).await;
    assert_eq!(deleted.status(), StatusCode::OK);

    let events = journal_with(&app, 7).await;
    let triggers = of(&events, EventKind::Trigger);
    assert_eq!(triggers.len(), 2, "{triggers:?}");
    assert_eq!(
        triggers[0],
        (format!("web:{ADMIN}"), "started".into(), String::new())
    );
    assert_eq!(triggers[1].0, format!("web:{ADMIN}"));
    assert_eq!(triggers[1].1, "refused");
    let source = format!("web:{READER}");
    assert_eq!(
        of(&events, EventKind::AlertAdd),
        [(
            source.clone(),
            "ok".into(),
            "#1 profit-taking signal".into()
        )]
    );
    assert_eq!(
        of(&events, EventKind::AlertDelete),
        [(source, "ok".into(), "#1 profit-taking signal".into())]
    );
}
