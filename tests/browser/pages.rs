//! Every page of the dashboard in the browser, its figures against the
//! state's, `/screen` sorted and paged through its own controls, and a
//! screenshot of each page at desktop and phone widths.

use super::helpers::*;

/// A ranking row as the pages format it: rank, symbol, drawdown, price,
/// peak, peak date, days since peak.
fn formatted(r: &dipwatch::domain::DrawdownRow) -> Vec<String> {
    vec![
        r.rank.to_string(),
        r.symbol.as_str().to_string(),
        signed_pct(r.drawdown_pct),
        price(r.current_price),
        price(r.peak_price),
        r.peak_date.to_string(),
        r.days_since_peak.to_string(),
    ]
}

/// The figure cells of each row of the ranking table shown (the last
/// column, a sparkline or a "Chart" link, left out).
async fn ranking(browser: &Browser) -> Vec<Vec<String>> {
    let mut rows = browser.table_rows("table.ranking tbody tr").await;
    for r in &mut rows {
        r.truncate(7);
    }
    rows
}

/// The overview's top 10 and `/screen`'s first page are the state's
/// ranking as formatted; the portfolio's totals and positions, the runs'
/// counts and the CSV are the state's too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_in_through_the_bot_every_page_shows_the_states_figures() {
    let Some((d, browser)) = signed_in(READERS.start).await else {
        return;
    };
    let snap = d.snapshot();
    let screen = snap.screen.as_ref().expect("a published screen");
    let ranked = screen.rows.len();
    assert!(ranked > 100, "more than two pages: {ranked}");

    // `/`: the date, the simulated label, the top 10 in rank order.
    let text = browser.body_text().await;
    assert!(text.contains("SIMULATED prices"), "{text}");
    assert!(text.contains(&format!("Data of {}", screen.date)), "{text}");
    let top: Vec<Vec<String>> = screen.rows[..10].iter().map(formatted).collect();
    assert_eq!(ranking(&browser).await, top);

    // `/screen`, reached through the navigation: the first 50 rows, so
    // every symbol on it with its own drawdown.
    let nav = browser.find("nav a[href='/screen']").await;
    browser.click(&nav).await;
    assert_eq!(browser.url().await, d.url("/screen"));
    let page: Vec<Vec<String>> = screen.rows[..50].iter().map(formatted).collect();
    assert_eq!(ranking(&browser).await, page);
    let meta = browser.texts("p.meta").await.join(" ");
    assert!(
        meta.contains(&format!("{ranked} of {ranked} rows · page 1 of 3")),
        "{meta}"
    );

    // `/screen.csv` (a download, so over HTTP with the browser's session):
    // every row the page selects.
    let cookie = format!("{SESSION_COOKIE}={}", session_cookie(&browser).await);
    let csv =
        support::dashboard::get_text(&reqwest::Client::new(), d.url("/screen.csv"), &cookie).await;
    assert_eq!(csv.lines().count(), ranked + 1, "{csv}");
    let second = csv.lines().nth(1).unwrap();
    // The drawdowns dataset's columns: date, symbol, ..., rank last.
    let cells: Vec<&str> = second.split(',').collect();
    assert_eq!(
        (cells[1], cells.last().copied()),
        (screen.rows[0].symbol.as_str(), Some("1")),
        "{second}"
    );

    // `/portfolio`: equity and cash, every position best return first.
    browser.goto(&d.url("/portfolio")).await;
    let p = snap
        .portfolio
        .as_ref()
        .expect("the simulated broker has positions");
    let meta = browser.find("main p.meta").await;
    let meta = browser.text(&meta).await;
    assert_eq!(
        meta,
        format!(
            "Snapshot of {} · equity {} · cash {}",
            p.date,
            dipwatch::numbers::usd(p.account.equity.unwrap()),
            dipwatch::numbers::usd(p.account.cash.unwrap())
        )
    );
    let mut ranked: Vec<_> = p.positions.iter().collect();
    ranked.sort_by(|a, b| {
        b.unrealized_return_pct
            .cmp(&a.unrealized_return_pct)
            .then_with(|| a.symbol.cmp(&b.symbol))
    });
    // The positions table (the risk section below has tables of its own).
    let rows = browser.table_rows("#positions tbody tr").await;
    assert_eq!(rows.len(), p.positions.len());
    for (row, pos) in rows.iter().zip(&ranked) {
        assert_eq!(row[0], pos.symbol.as_str());
        assert_eq!(row[2], pos.quantity.to_string());
        let ret = pos.unrealized_return_pct.expect("a return");
        assert_eq!(row[5], format!("{}%", ret.round_dp(2)));
    }
    let avg = p.profit.average_return_pct.expect("positions with returns");
    let text = browser.body_text().await;
    assert!(
        text.contains(&format!("average {}%", avg.round_dp(2))),
        "{text}"
    );

    // `/runs`: the published date's report with its counts.
    browser.goto(&d.url("/runs")).await;
    let r = &screen.report;
    let heading = browser.find("section.run h2").await;
    assert_eq!(
        browser.text(&heading).await,
        format!("{} · SIMULATED", r.date)
    );
    let text = browser.body_text().await;
    assert!(
        text.contains(&format!(
            "{} of {} symbols · {} skipped · {} failed",
            r.symbols.ok, r.symbols.requested, r.symbols.skipped, r.symbols.failed
        )),
        "{text}"
    );

    // `/miniapp` outside Telegram: its script (served, allowed by the CSP)
    // runs and says where to open it.
    browser.goto(&d.url("/miniapp")).await;
    let note = browser.find("#miniapp-note").await;
    assert_eq!(
        browser.text(&note).await,
        "Open this page from the bot's \"Open dashboard\" button, or send /web for a link."
    );
    d.h.shutdown.cancel();
}

/// `/screen`'s own controls: sort by symbol with the form, then the next
/// and previous page links, each page the state's rows in that order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_screen_sorts_with_its_form_and_pages_with_its_links() {
    let Some((d, browser)) = signed_in(READERS.start + 1).await else {
        return;
    };
    let snap = d.snapshot();
    let screen = snap.screen.as_ref().unwrap();
    let mut by_symbol: Vec<_> = screen.rows.iter().collect();
    by_symbol.sort_by(|a, b| a.symbol.cmp(&b.symbol));
    let symbols = |rows: &[&dipwatch::domain::DrawdownRow]| -> Vec<String> {
        rows.iter().map(|r| r.symbol.as_str().to_string()).collect()
    };

    browser.goto(&d.url("/screen")).await;
    browser.select("select[name=sort]", "symbol").await;
    let apply = browser.find("form.filters button[type=submit]").await;
    browser.click(&apply).await;
    assert!(
        browser.url().await.contains("sort=symbol"),
        "{}",
        browser.url().await
    );
    let shown = browser.texts("table.ranking tbody td:nth-child(2)").await;
    assert_eq!(shown, symbols(&by_symbol[..50]));
    let csv = browser.find("a[href^='/screen.csv']").await;
    let href = browser.attribute(&csv, "href").await.unwrap_or_default();
    assert!(
        href.contains("sort=symbol"),
        "the CSV keeps the order: {href}"
    );

    let next = browser.find("nav.pages a[rel=next]").await;
    browser.click(&next).await;
    let url = browser.url().await;
    assert!(
        url.contains("sort=symbol") && url.contains("page=2"),
        "{url}"
    );
    let shown = browser.texts("table.ranking tbody td:nth-child(2)").await;
    assert_eq!(shown, symbols(&by_symbol[50..100]));
    let next = browser.find("nav.pages a[rel=next]").await;
    browser.click(&next).await;
    let shown = browser.texts("table.ranking tbody td:nth-child(2)").await;
    assert_eq!(shown, symbols(&by_symbol[100..]), "the last page");
    assert!(
        browser.find_all("nav.pages a[rel=next]").await.is_empty(),
        "no page after the last"
    );
    let prev = browser.find("nav.pages a[rel=prev]").await;
    browser.click(&prev).await;
    assert!(browser.url().await.contains("page=2"));
    let shown = browser.texts("table.ranking tbody td:nth-child(2)").await;
    assert_eq!(shown, symbols(&by_symbol[50..100]));

    // A filter typed into the form: only rows at or below it.
    browser.goto(&d.url("/screen")).await;
    let field = browser.find("input[name=min_drawdown]").await;
    browser.type_into(&field, "10").await;
    let apply = browser.find("form.filters button[type=submit]").await;
    browser.click(&apply).await;
    let want: Vec<String> = screen
        .rows
        .iter()
        .filter(|r| r.drawdown_pct <= -10.0)
        .take(50)
        .map(|r| r.symbol.as_str().to_string())
        .collect();
    assert!(!want.is_empty(), "some symbol is down 10%");
    let shown = browser.texts("table.ranking tbody td:nth-child(2)").await;
    assert_eq!(shown, want);
    d.h.shutdown.cancel();
}

/// A screenshot of every page at desktop and phone widths, each a PNG
/// of exactly that viewport, under `target/screenshots/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn screenshots_of_every_page_at_desktop_and_phone_widths() {
    let Some((d, browser)) = dashboard_and_browser().await else {
        return;
    };
    // Signed out first: the sign-in page.
    for (width, height) in [DESKTOP, PHONE] {
        browser.viewport(width, height).await;
        browser.goto(&d.url("/")).await;
        assert!(shows_refusal(&browser).await);
        shoot(&browser, "sign-in", width, height).await;
    }
    d.sign_in(&browser, READERS.start + 2).await;
    let symbol = format!(
        "/symbol/{}",
        d.snapshot().screen.as_ref().unwrap().rows[0]
            .symbol
            .as_str()
    );
    for (name, path) in [
        ("overview", "/"),
        ("screen", "/screen"),
        ("symbol", symbol.as_str()),
        ("portfolio", "/portfolio"),
        ("runs", "/runs"),
        ("alerts", "/alerts"),
        ("backtests", "/backtests"),
        // Trading is off on the simulated market: the page says how to
        // turn it on (the list itself is shot by orders.rs).
        ("orders-off", "/orders"),
        ("miniapp", "/miniapp"),
    ] {
        for (width, height) in [DESKTOP, PHONE] {
            browser.viewport(width, height).await;
            browser.goto(&d.url(path)).await;
            assert_eq!(browser.url().await, d.url(path), "not sent elsewhere");
            fits(&browser, name, width).await;
            shoot(&browser, name, width, height).await;
        }
    }
    d.h.shutdown.cancel();
}

/// The page shown fits its viewport with no sideways scrolling, and every
/// figure shown is drawn at about the size it is shown: its text at least
/// 11 CSS pixels.
pub(super) async fn fits(browser: &Browser, name: &str, width: u32) {
    let v = browser
        .execute(
            "const d = document.documentElement;
             return [d.scrollWidth, window.innerWidth, document.body.scrollWidth];",
        )
        .await;
    let (scroll, inner, body) = (
        v[0].as_u64().unwrap(),
        v[1].as_u64().unwrap(),
        v[2].as_u64().unwrap(),
    );
    assert_eq!(inner, u64::from(width), "{name}: the viewport");
    assert!(
        scroll <= inner && body <= inner,
        "{name} at {width}: {scroll} px wide in a {inner} px window"
    );
    // The ranking, the positions and the orders keep their key columns
    // whole on a phone: they fit without scrolling inside themselves either.
    let tables = browser
        .execute(
            "return [...document.querySelectorAll('table.ranking, #positions, table.orders')]
               .map(t => [t.scrollWidth, t.clientWidth, [...t.querySelectorAll('tbody tr:first-child td')].map(c => c.className + ':' + c.getBoundingClientRect().width + ':' + c.textContent).join(' | ')]);",
        )
        .await;
    for t in tables.as_array().unwrap() {
        let (scroll, client) = (t[0].as_u64().unwrap(), t[1].as_u64().unwrap());
        assert!(
            scroll <= client,
            "{name} at {width}: a key table is {scroll} px wide in {client} px: {}",
            t[2]
        );
    }
    // Each visible figure's smallest text, as shown: the drawn size times
    // the figure's scale on the page.
    let sizes = browser
        .execute(
            "const out = [];
             for (const svg of document.querySelectorAll('figure.chart svg')) {
               const r = svg.getBoundingClientRect();
               if (r.width === 0) continue;
               const drawn = svg.viewBox.baseVal && svg.viewBox.baseVal.width
                 ? svg.viewBox.baseVal.width : svg.width.baseVal.value;
               const scale = r.width / drawn;
               let least = Infinity;
               for (const t of svg.querySelectorAll('text')) {
                 const px = parseFloat(t.getAttribute('font-size') || getComputedStyle(t).fontSize);
                 if (px > 0) least = Math.min(least, px * scale);
               }
               out.push([svg.closest('figure').getAttribute('aria-label'), least, r.width, drawn]);
             }
             return out;",
        )
        .await;
    for f in sizes.as_array().unwrap() {
        let least = f[1].as_f64().unwrap_or(f64::INFINITY);
        assert!(
            least >= 11.0,
            "{name} at {width}: the figure {} shows text at {least:.1} px ({} px shown, {} drawn)",
            f[0],
            f[2],
            f[3]
        );
    }
}

/// Save a screenshot as `target/screenshots/NAME-WIDTH.png` and check it
/// is a PNG of the viewport.
pub(super) async fn shoot(browser: &Browser, name: &str, width: u32, height: u32) {
    let png = browser.screenshot().await;
    assert_eq!(png_size(&png), (width, height), "{name} at {width}");
    let path = screenshot_path(&format!("{name}-{width}"));
    std::fs::write(&path, &png).unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), png.len() as u64);
}
