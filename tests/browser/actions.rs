//! What a signed-in user does in the browser besides reading: follow a
//! "Chart" link to a symbol's page, add and delete an alert with the
//! forms, start a run as an admin (then meet the cooldown), and be refused
//! as a reader.

use super::helpers::*;

/// `/screen`'s "Chart" link opens the symbol's page, whose figures are the
/// state's row and whose charts are drawn (inline SVG under the CSP).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chart_link_opens_the_symbols_page_with_its_figures() {
    let Some((d, browser)) = signed_in(READERS.start + 3).await else {
        return;
    };
    let snap = d.snapshot();
    let screen = snap.screen.as_ref().unwrap();
    let r = &screen.rows[2];
    browser.goto(&d.url("/screen")).await;
    let link = browser
        .find("table.ranking tbody tr:nth-child(3) td:last-child a[href^='/symbol/']")
        .await;
    assert_eq!(browser.text(&link).await, "Chart");
    browser.click(&link).await;
    assert_eq!(
        browser.url().await,
        d.url(&format!("/symbol/{}", r.symbol.as_str()))
    );
    assert_eq!(
        browser.title().await,
        format!("{} · dipwatch", r.symbol.as_str())
    );
    let facts = browser.table_rows("table.facts tr").await;
    let fact = |name: &str| {
        facts
            .iter()
            .find(|row| row[0] == name)
            .unwrap_or_else(|| panic!("no {name} in {facts:?}"))
            .last()
            .unwrap()
            .clone()
    };
    assert_eq!(fact("Drawdown"), signed_pct(r.drawdown_pct));
    assert_eq!(fact("Price"), price(r.current_price));
    assert_eq!(fact("Peak"), price(r.peak_price));
    // The price chart and the rank history, in both themes, each drawn
    // wide and phone-sized.
    assert_eq!(browser.find_all("figure.chart").await.len(), 2);
    assert_eq!(browser.find_all("figure.chart svg").await.len(), 8);
    assert_eq!(
        browser.find_all("figure.chart .fig-phone svg").await.len(),
        4
    );
    assert!(
        !browser
            .find_all("figure.chart svg polyline")
            .await
            .is_empty()
    );
    d.h.shutdown.cancel();
}

/// An alert added with the form is the chat's rule; a bad one shows the
/// parser's words; the delete button removes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_is_added_and_deleted_with_the_forms() {
    let chat = READERS.start + 4;
    let Some((d, browser)) = signed_in(chat).await else {
        return;
    };
    let alerts = d.h.alerts.clone().expect("alerts run with the bot");
    let nav = browser.find("nav a[href='/alerts']").await;
    browser.click(&nav).await;
    assert!(browser.body_text().await.contains("No alerts yet."));
    let symbol = d.snapshot().screen.as_ref().unwrap().rows[0].symbol.clone();

    let field = browser.find("input[name=rule]").await;
    browser.type_into(&field, "market below 20 count 5").await;
    let add = browser.find("form.add-alert button[type=submit]").await;
    browser.click(&add).await;
    let error = browser.find("div.error").await;
    let why = dipwatch::alerts::parse_alert("market below 20 count 5")
        .unwrap_err()
        .0;
    assert!(
        browser
            .text(&error)
            .await
            .contains(why.lines().next().unwrap()),
        "{why}"
    );
    assert!(alerts.rules_of(chat).await.is_empty());

    let field = browser.find("input[name=rule]").await;
    browser
        .type_into(&field, &format!("{} below -25", symbol.as_str()))
        .await;
    let add = browser.find("form.add-alert button[type=submit]").await;
    browser.click(&add).await;
    let rules = alerts.rules_of(chat).await;
    assert_eq!(rules.len(), 1);
    let text = browser.body_text().await;
    assert!(
        text.contains(&format!(
            "Alert #{} set: {} below -25%.",
            rules[0].id,
            symbol.as_str()
        )),
        "{text}"
    );
    let cells = browser.table_rows("table.alerts tbody tr").await;
    assert_eq!(cells.len(), 1);
    assert_eq!(cells[0][0], rules[0].id.to_string());

    let delete = browser.find("table.alerts button[type=submit]").await;
    browser.click(&delete).await;
    assert!(
        browser
            .body_text()
            .await
            .contains(&format!("Alert #{} deleted.", rules[0].id))
    );
    assert!(alerts.rules_of(chat).await.is_empty());
    assert!(browser.find_all("table.alerts").await.is_empty());
    d.h.shutdown.cancel();
}

/// An admin's "Run now" starts a run, a second press meets the cooldown; a
/// reader has no button, and a POST with the reader's own session and token
/// is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_now_starts_a_run_for_an_admin_and_is_refused_for_a_reader() {
    let Some((d, browser)) = signed_in(READERS.start + 5).await else {
        return;
    };
    assert!(browser.find_all("form.run-now").await.is_empty());
    browser.goto(&d.url("/runs")).await;
    assert!(browser.find_all("form.run-now").await.is_empty());
    let csrf = browser.find("input[name=csrf]").await;
    let csrf = browser.attribute(&csrf, "value").await.unwrap();
    let cookie = format!("{SESSION_COOKIE}={}", session_cookie(&browser).await);
    let form = [("csrf", csrf.as_str())];
    let r =
        support::dashboard::post_form(&reqwest::Client::new(), d.url("/trigger"), &cookie, &form)
            .await;
    assert_eq!(r.status(), reqwest::StatusCode::FORBIDDEN);
    assert_eq!(d.h.runner.running(), None, "nothing started");

    browser.clear_cookies().await;
    d.sign_in(&browser, ADMIN).await;
    let before = d.snapshot().last_run.as_ref().map(|r| r.started_at);
    let run = browser.find("form.run-now button[type=submit]").await;
    browser.click(&run).await;
    assert_eq!(browser.url().await, d.url("/trigger"));
    assert!(
        browser.body_text().await.contains("Collection started"),
        "{}",
        browser.body_text().await
    );
    // The run finishes and is the state's last run.
    tokio::time::timeout(std::time::Duration::from_secs(60), async {
        while d.h.runner.running().is_some()
            || d.snapshot().last_run.as_ref().map(|r| r.started_at) == before
        {
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the run finishes");

    browser.goto(&d.url("/")).await;
    let run = browser.find("form.run-now button[type=submit]").await;
    browser.click(&run).await;
    let text = browser.body_text().await;
    assert!(text.contains("Run now works again in"), "{text}");
    assert_eq!(d.h.runner.running(), None, "nothing started");
    d.h.shutdown.cancel();
}
