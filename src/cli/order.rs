//! `dipwatch order buy|sell TICKER (--usd N | --qty N | --pct N) [--limit
//! PRICE] [--yes] [--format table|json]` and `dipwatch order cancel ID`.
//!
//! The preview (through [`Preview::rows`], the one rendering every front
//! end shows) is printed first; nothing is sent unless a person says so:
//! `--yes`, or "y" typed at the prompt on a terminal. Without `--yes` and
//! without a terminal the preview is dropped (journalled) and the command
//! exits 2 saying to pass `--yes`.

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::process::ExitCode;

use serde_json::json;

use super::orders::order_json;
use super::trading::{refused, service};
use super::{EXIT_CONFIG, usage_error};
use crate::config::AppConfig;
use crate::domain::{OrderSide, Symbol};
use crate::trading::amount::{AmountError, limit_price};
use crate::trading::{Actor, Amount, Ask, Placed, Preview, Refusal, Trading};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The preview as aligned rows, then the order's id and status.
    Table,
    /// One JSON document: `preview`, `order` (`null` until placed) and
    /// `already_placed`.
    Json,
}

/// `order` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum OrderCommand {
    /// Preview a buy (a limit order within the collar of the last trade)
    /// and place it when confirmed.
    Buy(AskArgs),
    /// Preview a sell of shares held (never a short) and place it when
    /// confirmed.
    Sell(AskArgs),
    /// Ask Alpaca to cancel an open order (its id, as `dipwatch orders`
    /// lists it).
    Cancel(CancelArgs),
}

/// `order` options.
#[derive(Debug, clap::Args)]
pub struct OrderArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: OrderCommand,
}

/// What to buy or sell and how much (exactly one of `--usd`, `--qty`,
/// `--pct`).
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("amount").required(true).args(["usd", "qty", "pct"])))]
pub struct AskArgs {
    /// The US stock's ticker (`AAPL`).
    pub ticker: String,
    /// Dollars: the whole shares they buy (or sell) at the limit price.
    #[arg(long, value_name = "N")]
    pub usd: Option<String>,
    /// Whole shares.
    #[arg(long, value_name = "N")]
    pub qty: Option<String>,
    /// Percent of equity (a buy) or of the position held (a sell), above 0
    /// and at most 100.
    #[arg(long, value_name = "N")]
    pub pct: Option<String>,
    /// Your own limit price, within trading.limit_collar_pct of the last
    /// trade (default: the collar's edge).
    #[arg(long, value_name = "PRICE")]
    pub limit: Option<String>,
    /// Place the order without asking (the preview is still printed).
    #[arg(long)]
    pub yes: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// `order cancel` options.
#[derive(Debug, clap::Args)]
pub struct CancelArgs {
    /// The order's Alpaca id.
    pub id: String,
}

/// Run `order buy|sell|cancel`.
pub async fn run(config: &AppConfig, args: &OrderArgs) -> anyhow::Result<ExitCode> {
    let (side, ask_args) = match &args.command {
        OrderCommand::Buy(a) => (OrderSide::Buy, a),
        OrderCommand::Sell(a) => (OrderSide::Sell, a),
        OrderCommand::Cancel(c) => return cancel(config, &c.id).await,
    };
    // Every argument is checked before anything is asked of the broker.
    let ask = ask_of(side, ask_args).unwrap_or_else(|e| usage_error(e));
    let trading = match service(config).await? {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    let actor = Actor::cli();
    let preview = match trading.preview(&ask, &actor).await {
        Ok(p) => p,
        Err(r) => return Ok(refused(&r)),
    };
    let format = ask_args.format;
    if format == Format::Table {
        print!("{}", render_preview(&preview));
    }
    if !preview.all_pass() {
        let _ = trading.discard(&preview.token, &actor).await;
        print_json(format, &preview, None);
        return Ok(refused(&Refusal::Guards(preview.guards.clone())));
    }
    if !ask_args.yes
        && let Err(code) = ask_on_terminal(&trading, &preview, &actor, format).await
    {
        print_json(format, &preview, None);
        return Ok(code);
    }
    match trading.confirm(&preview.token, &actor).await {
        Ok(placed) => {
            match format {
                Format::Table => println!("{}", placed_words(&placed)),
                Format::Json => print_json(format, &preview, Some(&placed)),
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(r) => {
            print_json(format, &preview, None);
            Ok(refused(&r))
        }
    }
}

/// The ask the arguments make, or why they do not make one (a usage
/// error: exit 2, nothing asked of anyone).
fn ask_of(side: OrderSide, a: &AskArgs) -> Result<Ask, String> {
    let symbol = Symbol::parse(&a.ticker).map_err(|e| {
        format!(
            "{:?} is not a US stock ticker ({e}): only US stocks are traded",
            a.ticker
        )
    })?;
    let flagged = |flag: &str, e: AmountError| format!("{flag}: {e}");
    let amount = match (&a.usd, &a.qty, &a.pct) {
        (Some(t), None, None) => Amount::usd(t).map_err(|e| flagged("--usd", e))?,
        (None, Some(t), None) => Amount::shares(t).map_err(|e| flagged("--qty", e))?,
        (None, None, Some(t)) => Amount::pct(t, side).map_err(|e| flagged("--pct", e))?,
        _ => return Err("give exactly one of --usd, --qty and --pct".into()),
    };
    let limit = a
        .limit
        .as_deref()
        .map(|t| limit_price(t).map_err(|e| flagged("--limit", e)))
        .transpose()?;
    Ok(Ask {
        symbol,
        side,
        amount,
        limit,
    })
}

/// The preview as aligned `label  value` rows under a title that says
/// PAPER or LIVE.
fn render_preview(p: &Preview) -> String {
    let rows = p.rows();
    let width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = format!(
        "Order preview ({}): {} {}\n",
        p.mode.as_str(),
        p.side,
        p.symbol
    );
    for (label, value) in rows {
        out.push_str(&format!("  {label:<width$}  {value}\n"));
    }
    out
}

/// Ask "Place this order?" on the terminal; `Ok` when the answer is yes.
/// Without a terminal, or on any other answer, the preview is dropped
/// (journalled) and the exit code is 2.
async fn ask_on_terminal(
    trading: &Trading,
    preview: &Preview,
    actor: &Actor,
    format: Format,
) -> Result<(), ExitCode> {
    let refuse = |why: &str| {
        eprintln!("error: {why}");
        ExitCode::from(EXIT_CONFIG)
    };
    if !std::io::stdin().is_terminal() {
        let _ = trading.discard(&preview.token, actor).await;
        return Err(refuse(
            "not confirmed: there is no terminal to ask on; pass --yes to place this order",
        ));
    }
    if format == Format::Json {
        // stdout is for the document: the person reads the preview here.
        eprint!("{}", render_preview(preview));
    }
    let _ = write!(
        std::io::stderr(),
        "Place this {} order ({})? Type y to place it: ",
        preview.mode.as_str(),
        preview.client_order_id
    );
    let answer = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).map(|_| line)
    })
    .await
    .ok()
    .and_then(Result::ok)
    .unwrap_or_default();
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        return Ok(());
    }
    let _ = trading.discard(&preview.token, actor).await;
    Err(refuse("not confirmed: nothing was sent"))
}

/// What the terminal says once the order is placed.
fn placed_words(p: &Placed) -> String {
    let o = &p.order;
    if p.already_placed {
        format!(
            "Already placed: order {} ({}) is {}; nothing new was sent.",
            o.id, p.client_order_id, o.status
        )
    } else {
        format!(
            "Placed: order {} ({}) is {}.",
            o.id, p.client_order_id, o.status
        )
    }
}

/// With `--format json`, the one document: the preview, the order once
/// placed, whether it had been placed before.
fn print_json(format: Format, preview: &Preview, placed: Option<&Placed>) {
    if format != Format::Json {
        return;
    }
    let doc = json!({
        "preview": preview,
        "order": placed.map(|p| order_json(&p.order, Some("cli"))),
        "already_placed": placed.is_some_and(|p| p.already_placed),
    });
    println!(
        "{}",
        serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into())
    );
}

/// `order cancel ID`.
async fn cancel(config: &AppConfig, id: &str) -> anyhow::Result<ExitCode> {
    let id = id.trim();
    if id.is_empty() || id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        usage_error(format!(
            "{id:?} is not an order id (as `dipwatch orders` lists them)"
        ));
    }
    let trading = match service(config).await? {
        Ok(t) => t,
        Err(code) => return Ok(code),
    };
    match trading.cancel(id, &Actor::cli()).await {
        Ok(order) => {
            println!(
                "Cancel asked for order {} ({} {} {}): it is {}.",
                order.id, order.side, order.symbol, order.client_order_id, order.status
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(r) => Ok(refused(&r)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    fn args(usd: Option<&str>, qty: Option<&str>, pct: Option<&str>) -> AskArgs {
        AskArgs {
            ticker: "aapl".into(),
            usd: usd.map(Into::into),
            qty: qty.map(Into::into),
            pct: pct.map(Into::into),
            limit: None,
            yes: false,
            format: Format::Table,
        }
    }

    #[test]
    fn amounts_follow_the_side() {
        let a = ask_of(OrderSide::Buy, &args(None, None, Some("2.5"))).unwrap();
        assert_eq!(a.amount, Amount::PctOfEquity(Decimal::new(25, 1)));
        assert_eq!(a.symbol.as_str(), "AAPL");
        let a = ask_of(OrderSide::Sell, &args(None, None, Some("50%"))).unwrap();
        assert_eq!(a.amount, Amount::PctOfPosition(Decimal::from(50)));
        let a = ask_of(OrderSide::Buy, &args(Some("500.10"), None, None)).unwrap();
        assert_eq!(a.amount, Amount::Usd(Decimal::new(50010, 2)));
        let a = ask_of(OrderSide::Sell, &args(None, Some("3"), None)).unwrap();
        assert_eq!(a.amount, Amount::Shares(Decimal::from(3)));
    }

    #[test]
    fn bad_amounts_and_tickers_are_usage_errors() {
        for (usd, qty, pct, why) in [
            (Some("0"), None, None, "--usd: “0” is zero"),
            (Some("-5"), None, None, "--usd: “-5” is negative"),
            (Some("1e3"), None, None, "not a number"),
            (Some("1,00"), None, None, "groups of three"),
            (Some("NaN"), None, None, "not a number"),
            (Some("10.001"), None, None, "more than cents"),
            (
                None,
                Some("1.5"),
                None,
                "--qty: “1.5” is not a whole number",
            ),
            (None, None, Some("101"), "--pct: “101” is over 100%"),
            (None, None, Some(""), "--pct: “” has no number"),
        ] {
            let e = ask_of(OrderSide::Buy, &args(usd, qty, pct)).unwrap_err();
            assert!(e.contains(why), "{usd:?} {qty:?} {pct:?}: {e}");
        }
        let mut a = args(Some("10"), None, None);
        for bad in ["BTC/USD", "AAPL240126P00050000", ""] {
            a.ticker = bad.into();
            let e = ask_of(OrderSide::Buy, &a).unwrap_err();
            assert!(e.contains("only US stocks are traded"), "{e}");
        }
    }
}
