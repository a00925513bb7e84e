//! Snapshot-style tests of every reply answered from the snapshot, on fixed
//! data, through the table ([`super::snapshot_reply`]), and the check that
//! the table, `/help` and `docs/BOT.md` name the same commands.

use super::account::account;
use super::download::download_usage;
use super::fixtures::*;
use super::trigger::{admin_only, trigger_finished, trigger_started};
use super::*;
use crate::bot::account::AccountView;
use crate::bot::format::{apology, plain_text, refusal, unknown_command};
use crate::domain::RunSource;
use crate::trigger::trigger_busy;

/// The help's text down to its list of commands (both `/help` snapshots
/// start with it).
const HELP_HEAD: &str = "<b>dipwatch</b> ranks a universe of stocks by how far each has fallen from its recent peak, and watches your portfolio for the profit target.\n\
<b>Strategy</b>: buy the stocks furthest below their 180-session peak; take profit when your best 5 positions average +100.00% or more.\n\
\n\
/help — What the bot does and every command\n\
/dashboard — Account, portfolio, profit target and top candidates (also /daily)\n\
/screen [N] — The worst drawdowns: rank, drop, peak and price\n\
/symbol TICKER — One symbol: rank, drawdown, history, position\n\
/chart TICKER [3m|6m|1y|5y] — A symbol's price chart: window, peak and drawdown\n\
/breadth — Chart: names down 20% and 30% or more, median drawdown\n\
/portfolio — Positions by return, with value, P&amp;L and totals\n\
/monitor — The profit-taking rule: top positions vs target\n\
/risk — Portfolio risk: concentration, effective bets, exits, candidates\n\
/backtest [from YYYY-MM-DD] [to YYYY-MM-DD] [top N] [entry -30] [take-profit 100] ... — Replay the strategy over the history vs the benchmark, with a chart\n\
/account — Equity, cash, buying power (live, cached 60 s)\n\
/stats — Data health, last run and next run\n\
/download [drawdowns|positions|bars|account|orders] [days] — A dataset as a CSV file\n\
/trigger — Collect now (admins only)\n\
/alert TICKER below -30 | top N | market below -20 count 50 | profit | risk weight|hhi|cluster LEVEL | digest 07:30 — Set an alert pushed after each run\n\
/alerts — Your alerts, with delete buttons\n\
/unalert ID — Delete an alert by id\n\
/web — Sign in to the web dashboard (a one-time link)\n\
/logout — Sign out of the web dashboard everywhere\n\
";

/// A reply for commands not answered from the snapshot: any well-formed
/// text stands in (the fuzz test checks the edge, not their handlers).
fn trigger_reply() -> String {
    "⏳ Collection started.".into()
}

pub(super) fn cases() -> Vec<(&'static str, String)> {
    let s = snapshot();
    let r = |text: &str| reply_to(text, &s).text;
    let e = empty();
    let re = |text: &str| reply_to(text, &e).text;
    vec![
        ("help", r("/help")),
        ("dashboard", r("/dashboard")),
        ("screen", r("/screen")),
        ("screen_capped", r("/screen 500")),
        ("screen_usage", r("/screen ten")),
        ("symbol", r("/symbol bf.b")),
        ("symbol_skipped", r("/symbol NEWCO")),
        ("symbol_failed", r("/symbol flaky")),
        ("symbol_usage", r("/symbol <b>A&B</b>")),
        ("portfolio", r("/portfolio")),
        ("monitor", r("/monitor")),
        (
            "monitor_take_profit",
            reply_to("/monitor", &taking_profit()).text,
        ),
        ("stats", r("/stats")),
        (
            "account_live",
            account(
                &AccountView::Live {
                    account: hostile_account(),
                    fetched_at: now(),
                },
                false,
            ),
        ),
        (
            "account_snapshot",
            account(
                &AccountView::Snapshot {
                    account: acct(),
                    date: d("2026-11-24"),
                },
                true,
            ),
        ),
        ("empty_help", re("/start")),
        ("empty_dashboard", re("/dashboard")),
        ("empty_screen", re("/screen")),
        ("empty_portfolio", re("/portfolio")),
        ("empty_stats", re("/stats")),
    ]
}

/// The expected text of each case, reviewed by eye when written (a
/// snapshot): any change to a reply shows up here as a diff.
fn expected(name: &str) -> String {
    match name {
        "help" => format!("{HELP_HEAD}\n<i>Data last updated: screen of 2026-11-24, read 2026-11-24 23:30 UTC (13 h 30 min ago).</i>\n<i>Prices are simulated (market.provider = sim).</i>"),
        "dashboard" => {
            r#"<i>[SIMULATED PRICES, not market data]</i>
<b>Dashboard</b> · 2026-11-24

<b>Account</b> (snapshot 2026-11-24)
Equity <b>$105,234.12</b> · day +$1,234.00 (+1.19%)
Cash $12,000.00 · buying power $24,000.50

<b>Portfolio</b>: 3 positions · value $17,790.00 · P&amp;L +$6,215.00 (+53.69%)
<pre>symbol    return         P&amp;L
NVDA    +152.10%  +$7,605.00
AAPL     +20.00%    +$315.00
BF.B     -34.10%  -$1,705.00</pre>

<b>Profit target</b>
Top 5 average <b>+46.00%</b> vs the +100.00% target: 54.00 points to go.
<i>Only 3 positions held: the average is over those.</i>

<b>Top 10 candidates</b> of 12 ranked
<pre> #  symbol  drawdown   price
 1  SAM      -73.33%    7.86
 2  ALSN     -68.33%   18.67
 3  BF.B     -63.33%   32.42
 4  MRNA     -58.33%   49.12
 5  PFE      -53.33%   68.77
 6  INTC     -48.33%   91.36
 7  WBA      -43.33%  116.90
 8  PARA     -38.33%  145.39
 9  DG       -33.33%  176.83
10  EL       -28.33%  211.21</pre>"#.into()
        }
        "screen" => {
            r#"<i>[SIMULATED PRICES, not market data]</i>
<b>Worst drawdowns</b> · screen 2026-11-24
Top 10 of 12 ranked
<pre> #  symbol  drawdown    peak     now  days
 1  SAM      -73.33%   29.47    7.86   101
 2  ALSN     -68.33%   58.94   18.67   100
 3  BF.B     -63.33%   88.41   32.42    99
 4  MRNA     -58.33%  117.88   49.12    98
 5  PFE      -53.33%  147.35   68.77    97
 6  INTC     -48.33%  176.82   91.36    96
 7  WBA      -43.33%  206.29  116.90    95
 8  PARA     -38.33%  235.76  145.39    94
 9  DG       -33.33%  265.23  176.83    93
10  EL       -28.33%  294.70  211.21    92</pre>
<i>peak → now: highest price in the window, then the last close; days: sessions since the peak.</i>"#.into()
        }
        // The whole ranking: the ten rows above, two more, and the cap said.
        "screen_capped" => expected("screen")
            .replace("Top 10 of 12 ranked", "Top 12 of 12 ranked (at most 50 per reply)")
            .replace(
                "211.21    92</pre>",
                "211.21    92\n11  CVS      -23.33%  324.17  248.54    91\n12  TGT      -18.33%  353.64  288.82    90</pre>",
            ),
        "screen_usage" => r#"Usage: /screen [N], N a whole number from 1 to 50 (default 10)."#.into(),
        "symbol" => {
            r#"<i>[SIMULATED PRICES, not market data]</i>
<b>BF.B</b> · screen 2026-11-24
Rank <b>3</b> of 12 · drawdown <b>-63.33%</b>
Peak 88.41 on 2026-07-02 (99 sessions ago) · now 32.42
Volume 1,234,567

<b>History</b>: 12 sessions, 2026-11-09 → 2026-11-20
<code>█▇▅▄▂▁▇▆▄▃▁▇</code>
Deepest -48.50% (2026-11-14) · shallowest -40.00% (2026-11-09)
<pre>date        drawdown  rank
2026-11-20   -40.70%     3
2026-11-19   -48.00%     4
2026-11-18   -46.30%     5
2026-11-17   -44.60%     3
2026-11-16   -42.90%     4
2026-11-15   -41.20%     5
2026-11-14   -48.50%     3
2026-11-13   -46.80%     4
2026-11-12   -45.10%     5
2026-11-11   -43.40%     3</pre>

<b>Position</b> (snapshot 2026-11-24)
100 shares at $50.00 · now $32.95
Value $3,295.00 · P&amp;L -$1,705.00 (-34.10%)"#.into()
        }
        "symbol_skipped" => {
            r#"<i>[SIMULATED PRICES, not market data]</i>
<b>NEWCO</b> · screen 2026-11-24
Not ranked on 2026-11-24: insufficient history: 12 bars, 30 required.

Not held (snapshot 2026-11-24)."#.into()
        }
        "symbol_failed" => {
            r#"<i>[SIMULATED PRICES, not market data]</i>
<b>FLAKY</b> · screen 2026-11-24
Could not be fetched on 2026-11-24: alpaca data request failed: 503 &lt;html&gt;.

Not held (snapshot 2026-11-24)."#.into()
        }
        "symbol_usage" => {
            r#"“&lt;b&gt;A&amp;B&lt;/b&gt;” is not a ticker (letters, digits, '.' and '-', up to 12 characters). Usage: /symbol TICKER, for example /symbol AAPL or /symbol BF.B."#.into()
        }
        "portfolio" => {
            r#"<i>[SIMULATED PRICES, not market data]</i>
<b>Portfolio</b> · snapshot 2026-11-24 · 3 positions
<pre>symbol    return       value         P&amp;L
NVDA    +152.10%  $12,605.00  +$7,605.00
AAPL     +20.00%   $1,890.00    +$315.00
BF.B     -34.10%   $3,295.00  -$1,705.00</pre>
Value <b>$17,790.00</b> · cost $11,575.00 · P&amp;L <b>+$6,215.00</b> (+53.69%)
Equity $105,234.12 · cash $12,000.00"#.into()
        }
        "monitor" => {
            r#"<i>[SIMULATED PRICES, not market data]</i>
<b>Profit-taking rule</b> · snapshot 2026-11-24
Take profit when the best 5 positions average +100.00% or more.
<pre>#  symbol    return
1  NVDA    +152.10%
2  AAPL     +20.00%
3  BF.B     -34.10%</pre>
The best 5 average <b>+46.00%</b> vs the +100.00% target: 54.00 points to go.
<i>Only 3 positions held: the average is over those.</i>"#.into()
        }
        "monitor_take_profit" => {
            r#"<i>[SIMULATED PRICES, not market data]</i>
<b>Profit-taking rule</b> · snapshot 2026-11-24
Take profit when the best 5 positions average +100.00% or more.
<pre>#  symbol    return
1  P0      +250.00%
2  P1      +180.00%
3  P2      +120.00%
4  P3       +90.00%
5  P4       +70.00%</pre>
✅ <b>TAKE PROFIT</b>: the best 5 average <b>+142.00%</b>, at or above the +100.00% target."#.into()
        }
        "stats" => {
            r#"<b>Data health</b> · provider sim (simulated prices)
<pre>dataset    latest      rows
bars       2026-11-24    12
drawdowns  2026-11-24    12
positions  2026-11-24     3
account    2026-11-24     1</pre>
<b>Latest screen</b> 2026-11-24: 12 ranked, 1 skipped, 1 failed of 14; the run took 1.0 s
<b>Last run</b> (since start): the schedule, started 2026-11-24 23:30 UTC, took 1.3 s: published 2026-11-24: 12 ranked, 1 skipped, 1 failed
<b>Next run</b>: 2026-11-25 23:30 UTC (in 10 h 30 min)
State read from the store 2026-11-24 23:30 UTC."#.into()
        }
        "account_live" => {
            r#"<b>Account</b> · live, as of 13:00:00 UTC (refreshed at most once a minute)
<pre>equity        $105,234.12
day change    +$1,234.00 (+1.19%)
cash          $12,000.00
buying power  $24,000.50
long value    $93,234.12
status        ACTIVE &amp; &lt;ok&gt; (U$D)
day trades    1 in 5 sessions · PDT no</pre>"#.into()
        }
        "account_snapshot" => {
            r#"<i>[SIMULATED PRICES, not market data]</i>
<b>Account</b> · the trading API did not answer just now; last snapshot 2026-11-24
<pre>equity        $105,234.12
day change    +$1,234.00 (+1.19%)
cash          $12,000.00
buying power  $24,000.50
long value    $93,234.12
status        ACTIVE (USD)
day trades    1 in 5 sessions · PDT no</pre>"#.into()
        }
        "empty_help" => format!("{HELP_HEAD}\n<i>No screen has been published yet. The next collection runs 2026-11-25 23:30 UTC (in 10 h 30 min). An admin can start one now with /trigger.</i>"),
        "empty_dashboard" => {
            r#"<b>Dashboard</b>

No portfolio snapshot yet: one is taken with each collection when an account is configured.

No screen has been published yet. The next collection runs 2026-11-25 23:30 UTC (in 10 h 30 min). An admin can start one now with /trigger."#.into()
        }
        "empty_screen" => {
            r#"No screen has been published yet. The next collection runs 2026-11-25 23:30 UTC (in 10 h 30 min). An admin can start one now with /trigger."#.into()
        }
        "empty_portfolio" => {
            r#"No portfolio snapshot yet: one is taken with each collection when an account is configured."#.into()
        }
        "empty_stats" => {
            r#"<b>Data health</b> · provider alpaca
Nothing published in the store yet.
<b>Latest screen</b>: none published yet
<b>Last run</b> (since start): none yet
<b>Next run</b>: 2026-11-25 23:30 UTC (in 10 h 30 min)
"#.into()
        }
        other => panic!("no snapshot for {other}"),
    }
}

#[test]
fn replies_match_their_snapshots() {
    for (name, text) in cases() {
        assert_eq!(text, expected(name), "reply {name:?} changed:\n{text}");
    }
}

#[test]
fn every_reply_is_well_formed_html() {
    for (name, text) in cases() {
        assert!(crate::bot::html::well_formed(&text), "{name}: {text}");
    }
    for text in [
        trigger_started(),
        trigger_busy(RunSource::Schedule),
        trigger_finished(None),
        admin_only(-100123),
        refusal(42),
        unknown_command(),
        plain_text(),
        apology(),
        download_usage(),
    ] {
        assert!(crate::bot::html::well_formed(&text), "{text}");
    }
}

#[test]
fn real_prices_carry_no_simulated_marker() {
    let mut s = snapshot();
    s.simulated = false;
    let text = reply_to("/screen 3", &s).text;
    assert!(!text.contains("SIMULATED"), "{text}");
    assert!(text.starts_with("<b>Worst drawdowns</b>"));
    let sim = reply_to("/screen 3", &snapshot()).text;
    assert!(sim.starts_with("<i>[SIMULATED PRICES, not market data]</i>"));
}

/// A random message: a command (ours, an alias, a made-up one, odd case)
/// or plain text, with arguments drawn from unicode, markup characters,
/// digits and huge strings.
pub(crate) fn random_message(rng: &mut rand_pcg::Pcg64) -> String {
    use rand::Rng;
    const WORDS: [&str; 18] = [
        "/start",
        "/help",
        "/dashboard",
        "/daily",
        "/screen",
        "/symbol",
        "/portfolio",
        "/monitor",
        "/stats",
        "/SCREEN",
        "/Symbol@dipwatch_bot",
        "/help@other_bot",
        "/nope",
        "/",
        "/screen@",
        "hello",
        "",
        "/symbol\n",
    ];
    const PIECES: [&str; 24] = [
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
        "99999999999999999999999",
        "0",
        "\u{0}",
    ];
    let mut out = String::from(WORDS[rng.random_range(0..WORDS.len())]);
    let pieces = match rng.random_range(0..10) {
        0 => 0,
        1 => rng.random_range(500..3000),
        _ => rng.random_range(1..8),
    };
    if pieces > 0 && !out.is_empty() {
        out.push(' ');
    }
    for _ in 0..pieces {
        if rng.random_range(0..4) == 0 {
            out.push(char::from_u32(rng.random_range(0x20..0x3_0000)).unwrap_or('?'));
        } else {
            out.push_str(PIECES[rng.random_range(0..PIECES.len())]);
        }
    }
    out
}

#[test]
fn fuzzed_messages_never_panic_and_always_get_well_formed_replies() {
    use rand::SeedableRng;
    let mut rng = rand_pcg::Pcg64::seed_from_u64(0x00d1_9a7c);
    let (full, none) = (snapshot(), empty());
    let p = params();
    for i in 0..5_000 {
        let text = random_message(&mut rng);
        let snap = if i % 2 == 0 { &full } else { &none };
        let reply = match parse_input(Some(&text), "dipwatch_bot") {
            Input::Command(_) => {
                snapshot_reply(&text, snap, &p, now()).map_or_else(trigger_reply, |r| r.text)
            }
            Input::Unknown => unknown_command(),
            _ => plain_text(),
        };
        let parts = crate::bot::html::split(&reply, crate::bot::html::MAX_MESSAGE);
        assert!(!parts.is_empty(), "{text:?} got no reply");
        for part in parts {
            assert!(crate::bot::html::well_formed(&part), "{text:?} -> {part}");
        }
    }
}

#[test]
fn menu_lists_every_visible_command_in_telegram_syntax() {
    let menu = menu();
    let names: Vec<&str> = menu.iter().map(|c| c.command.as_str()).collect();
    assert_eq!(
        names,
        [
            "/help",
            "/dashboard",
            "/screen",
            "/symbol",
            "/chart",
            "/breadth",
            "/portfolio",
            "/monitor",
            "/risk",
            "/backtest",
            "/account",
            "/stats",
            "/download",
            "/trigger",
            "/alert",
            "/alerts",
            "/unalert",
            "/web",
            "/logout"
        ]
    );
    for c in &menu {
        let n = c.description.chars().count();
        assert!((1..=256).contains(&n), "{}: {n}", c.command);
    }
}

/// The table, `/help`, the menu and `docs/BOT.md` cannot drift apart: every
/// command (and alias) is in the docs' table, every listed one in `/help`,
/// and every command the docs' table names is registered.
#[test]
fn every_command_is_in_the_help_and_the_docs() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/BOT.md");
    let docs = std::fs::read_to_string(path).expect("docs/BOT.md");
    let table: Vec<&str> = docs
        .lines()
        .skip_while(|l| !l.starts_with("## Commands"))
        .take_while(|l| !l.starts_with("Anything else"))
        .filter(|l| l.starts_with("| `/"))
        .collect();
    let documented = |word: &str| {
        let word = format!("`/{word}");
        table.iter().any(|row| {
            row.split('|').nth(1).is_some_and(|cell| {
                cell.match_indices(&word).any(|(i, _)| {
                    let next = cell[i + word.len()..].chars().next();
                    matches!(next, Some('`' | ' '))
                })
            })
        })
    };
    let help = reply_to("/help", &snapshot()).text;
    for c in COMMANDS {
        for word in std::iter::once(&c.name).chain(c.aliases) {
            assert!(documented(word), "/{word} is not in docs/BOT.md's table");
            assert_eq!(find(word).map(|s| s.name), Some(c.name), "/{word}");
        }
        let line = format!("\n/{}{} — ", c.name, escape(c.usage));
        assert_eq!(help.contains(&line), c.listed, "/{} in /help", c.name);
    }
    for row in &table {
        let cell = row.split('|').nth(1).unwrap_or_default();
        for word in cell.split('`').filter(|w| w.starts_with('/')) {
            let name = word[1..].split([' ', '@']).next().unwrap_or_default();
            assert!(
                find(name).is_some(),
                "docs/BOT.md names {word}, which is not a command"
            );
        }
    }
    let mut names: Vec<&str> = COMMANDS.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), COMMANDS.len(), "a name is registered twice");
}
