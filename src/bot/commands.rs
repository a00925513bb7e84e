//! The bot's commands and the parsing of what users type: the command
//! enum (its doc comments are the descriptions Telegram shows in the menu),
//! and pure parsers for each command's arguments.

use teloxide::utils::command::{BotCommands, ParseError};

use crate::chart::Period;
use crate::domain::Symbol;
use crate::store::Dataset;

/// Every command. The doc comment of each variant is its one-line
/// description, shown by `/help` and registered with `setMyCommands`.
#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "lowercase")]
pub enum Command {
    /// What the bot does and every command
    #[command(hide)]
    Start,
    /// What the bot does and every command
    Help,
    /// Account, portfolio, profit target and top candidates
    #[command(alias = "daily")]
    Dashboard,
    /// The worst drawdowns: rank, drop, peak and price
    Screen(String),
    /// One symbol: rank, drawdown, history, position
    Symbol(String),
    /// A symbol's price chart: window, peak and drawdown
    Chart(String),
    /// Chart: names down 20% and 30% or more, median drawdown
    Breadth,
    /// Positions by return, with value, P&L and totals
    Portfolio,
    /// The profit-taking rule: top positions vs target
    Monitor,
    /// Portfolio risk: concentration, effective bets, exits, candidates
    Risk,
    /// Replay the strategy over the history vs the benchmark, with a chart
    Backtest(String),
    /// Equity, cash, buying power (live, cached 60 s)
    Account,
    /// Data health, last run and next run
    Stats,
    /// A dataset as a CSV file
    Download(String),
    /// Collect now (admins only)
    Trigger,
    /// Set an alert pushed after each run
    Alert(String),
    /// Your alerts, with delete buttons
    Alerts,
    /// Delete an alert by id
    Unalert(String),
    /// Sign in to the web dashboard (a one-time link)
    Web,
    /// Sign out of the web dashboard everywhere
    Logout,
}

impl Command {
    /// Fixed name, for metrics labels and logs (never user text).
    pub fn name(&self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Help => "help",
            Self::Dashboard => "dashboard",
            Self::Screen(_) => "screen",
            Self::Symbol(_) => "symbol",
            Self::Chart(_) => "chart",
            Self::Breadth => "breadth",
            Self::Portfolio => "portfolio",
            Self::Monitor => "monitor",
            Self::Risk => "risk",
            Self::Backtest(_) => "backtest",
            Self::Account => "account",
            Self::Stats => "stats",
            Self::Download(_) => "download",
            Self::Trigger => "trigger",
            Self::Alert(_) => "alert",
            Self::Alerts => "alerts",
            Self::Unalert(_) => "unalert",
            Self::Web => "web",
            Self::Logout => "logout",
        }
    }
}

/// The arguments shown after a command in `/help`.
pub fn usage(command: &str) -> &'static str {
    match command {
        "screen" => " [N]",
        "symbol" => " TICKER",
        "chart" => " TICKER [3m|6m|1y|5y]",
        "download" => " [drawdowns|positions|bars|account] [days]",
        "alert" => {
            " TICKER below -30 | top N | market below -20 count 50 | profit | risk weight|hhi|cluster LEVEL | digest 07:30"
        }
        "unalert" => " ID",
        "backtest" => {
            " [from YYYY-MM-DD] [to YYYY-MM-DD] [top N] [entry -30] [take-profit 100] ..."
        }
        _ => "",
    }
}

/// What a message is, once read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// One of our commands.
    Command(Command),
    /// A command we do not have (`/foo`).
    Unknown,
    /// A command addressed to another bot (`/help@other_bot` in a group).
    OtherBot,
    /// Plain text, or a message without text.
    Text,
}

/// Read a message's text. Commands are matched case-insensitively (phone
/// keyboards capitalise the first letter), `@our_bot` suffixes are
/// accepted, and any whitespace separates the command from its arguments.
pub fn parse_input(text: Option<&str>, bot_username: &str) -> Input {
    let Some(text) = text.map(str::trim_start) else {
        return Input::Text;
    };
    if !text.starts_with('/') {
        return Input::Text;
    }
    let (word, rest) = match text.find(char::is_whitespace) {
        Some(i) => (&text[..i], text[i..].trim()),
        None => (text, ""),
    };
    // Lower-case the command, not the bot name after '@' (compared
    // case-insensitively by the parser).
    let (cmd, at) = match word.find('@') {
        // `/screen@` names no bot at all: it is ours (teloxide would read
        // an empty bot name as another bot's, and nobody would answer).
        Some(i) if i + 1 == word.len() => (&word[..i], ""),
        Some(i) => (&word[..i], &word[i..]),
        None => (word, ""),
    };
    let mut line = format!("{}{at}", cmd.to_lowercase());
    if !rest.is_empty() {
        line.push(' ');
        line.push_str(rest);
    }
    match Command::parse(&line, bot_username) {
        Ok(c) => Input::Command(c),
        Err(ParseError::WrongBotName(_)) => Input::OtherBot,
        Err(_) => Input::Unknown,
    }
}

/// An argument that cannot be used: the reply is the command's usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadArgs;

/// The largest `/screen N`.
pub const MAX_SCREEN_ROWS: usize = 50;

/// `/screen [N]`: how many rows, or why the argument is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    /// Rows to show.
    pub n: usize,
    /// True when the request was above the maximum and was lowered.
    pub capped: bool,
}

/// Parse `/screen`'s argument: empty means `default`, above `max` is
/// capped, anything but a positive whole number is an error.
pub fn parse_count(arg: &str, default: usize, max: usize) -> Result<Count, BadArgs> {
    let arg = arg.trim();
    if arg.is_empty() {
        return Ok(Count {
            n: default.clamp(1, max),
            capped: false,
        });
    }
    if !arg.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BadArgs);
    }
    // All digits: an overflow is just a very large request.
    let n = arg.parse::<usize>().unwrap_or(usize::MAX);
    match n {
        0 => Err(BadArgs),
        n if n > max => Ok(Count {
            n: max,
            capped: true,
        }),
        n => Ok(Count { n, capped: false }),
    }
}

/// Why `/symbol`'s argument is not a ticker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TickerArg {
    /// No argument.
    Missing,
    /// Not a ticker; the text as typed.
    Invalid(String),
}

/// Parse `/symbol TICKER` (one word, any case, `$` prefix allowed).
pub fn parse_ticker(arg: &str) -> Result<Symbol, TickerArg> {
    let arg = arg.trim();
    if arg.is_empty() {
        return Err(TickerArg::Missing);
    }
    let word = arg.strip_prefix('$').unwrap_or(arg);
    if word.contains(char::is_whitespace) {
        return Err(TickerArg::Invalid(arg.to_string()));
    }
    Symbol::parse(word).map_err(|_| TickerArg::Invalid(arg.to_string()))
}

/// Why `/chart`'s arguments cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChartArg {
    /// The ticker is missing or is not one.
    Ticker(TickerArg),
    /// The period is not `3m`, `6m`, `1y` or `5y`; the text as typed.
    Period(String),
}

/// Parse `/chart TICKER [3m|6m|1y|5y]` (the period defaults to `1y`).
pub fn parse_chart(arg: &str) -> Result<(Symbol, Period), ChartArg> {
    let mut words = arg.split_whitespace();
    let ticker = parse_ticker(words.next().unwrap_or("")).map_err(ChartArg::Ticker)?;
    let period = match (words.next(), words.next()) {
        (None, _) => Period::Y1,
        (Some(p), None) => Period::parse(p).ok_or_else(|| ChartArg::Period(p.to_string()))?,
        (Some(_), Some(_)) => return Err(ChartArg::Period(arg.trim().to_string())),
    };
    Ok((ticker, period))
}

/// The most published dates one `/download` concatenates.
pub const MAX_DOWNLOAD_DAYS: usize = 366;

/// `/download` arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadArgs {
    /// Which dataset (default `drawdowns`).
    pub dataset: Dataset,
    /// How many of the latest published dates (default 1).
    pub days: usize,
    /// True when `days` was lowered to [`MAX_DOWNLOAD_DAYS`].
    pub capped: bool,
}

/// Parse `/download [dataset] [days]` (either may be left out, any order).
pub fn parse_download(arg: &str) -> Result<DownloadArgs, BadArgs> {
    let mut out = DownloadArgs {
        dataset: Dataset::Drawdowns,
        days: 1,
        capped: false,
    };
    let (mut seen_dataset, mut seen_days) = (false, false);
    for word in arg.split_whitespace() {
        let lower = word.to_ascii_lowercase();
        if let Some(d) = Dataset::ALL.iter().find(|d| d.name() == lower) {
            if seen_dataset {
                return Err(BadArgs);
            }
            out.dataset = *d;
            seen_dataset = true;
        } else if !seen_days && !word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()) {
            let days = word.parse::<usize>().unwrap_or(usize::MAX);
            if days == 0 {
                return Err(BadArgs);
            }
            out.capped = days > MAX_DOWNLOAD_DAYS;
            out.days = days.min(MAX_DOWNLOAD_DAYS);
            seen_days = true;
        } else {
            return Err(BadArgs);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(text: &str) -> Input {
        parse_input(Some(text), "dipwatch_bot")
    }

    #[test]
    fn commands_parse_with_arguments_aliases_and_bot_name() {
        assert_eq!(cmd("/start"), Input::Command(Command::Start));
        assert_eq!(cmd("/daily"), Input::Command(Command::Dashboard));
        assert_eq!(cmd("/Dashboard"), Input::Command(Command::Dashboard));
        assert_eq!(
            cmd("/screen 25"),
            Input::Command(Command::Screen("25".into()))
        );
        assert_eq!(
            cmd("/screen"),
            Input::Command(Command::Screen(String::new()))
        );
        assert_eq!(
            cmd("  /symbol@DipWatch_Bot\n bf.b  "),
            Input::Command(Command::Symbol("bf.b".into()))
        );
        assert_eq!(
            cmd("/download bars 5"),
            Input::Command(Command::Download("bars 5".into()))
        );
        assert_eq!(cmd("/help@other_bot"), Input::OtherBot);
        assert_eq!(
            cmd("/screen@ 3"),
            Input::Command(Command::Screen("3".into()))
        );
        assert_eq!(cmd("/help@"), Input::Command(Command::Help));
        assert_eq!(cmd("/frobnicate"), Input::Unknown);
        assert_eq!(cmd("/"), Input::Unknown);
        assert_eq!(cmd("hello /help"), Input::Text);
        assert_eq!(parse_input(None, "dipwatch_bot"), Input::Text);
    }

    #[test]
    fn menu_lists_every_visible_command_in_telegram_syntax() {
        let menu = Command::bot_commands();
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

    #[test]
    fn screen_count() {
        assert_eq!(
            parse_count("", 10, 50),
            Ok(Count {
                n: 10,
                capped: false
            })
        );
        assert_eq!(
            parse_count(" 7 ", 10, 50),
            Ok(Count {
                n: 7,
                capped: false
            })
        );
        assert_eq!(
            parse_count("500", 10, 50),
            Ok(Count {
                n: 50,
                capped: true
            })
        );
        assert_eq!(
            parse_count("99999999999999999999999", 10, 50),
            Ok(Count {
                n: 50,
                capped: true
            })
        );
        assert_eq!(parse_count("0", 10, 50), Err(BadArgs));
        assert_eq!(parse_count("-3", 10, 50), Err(BadArgs));
        assert_eq!(parse_count("ten", 10, 50), Err(BadArgs));
        assert_eq!(
            parse_count("", 80, 50),
            Ok(Count {
                n: 50,
                capped: false
            })
        );
    }

    #[test]
    fn tickers() {
        assert_eq!(parse_ticker(" bf.b ").unwrap().as_str(), "BF.B");
        assert_eq!(parse_ticker("$aapl").unwrap().as_str(), "AAPL");
        assert_eq!(parse_ticker(""), Err(TickerArg::Missing));
        assert_eq!(
            parse_ticker("A&B"),
            Err(TickerArg::Invalid("A&B".to_string()))
        );
        assert_eq!(
            parse_ticker("AAPL MSFT"),
            Err(TickerArg::Invalid("AAPL MSFT".to_string()))
        );
    }

    #[test]
    fn chart_arguments() {
        let sym = |s: &str| Symbol::parse(s).unwrap();
        assert_eq!(parse_chart(" aapl "), Ok((sym("AAPL"), Period::Y1)));
        assert_eq!(parse_chart("$bf.b 6M"), Ok((sym("BF.B"), Period::M6)));
        assert_eq!(parse_chart("NVDA 5y"), Ok((sym("NVDA"), Period::Y5)));
        assert_eq!(parse_chart(""), Err(ChartArg::Ticker(TickerArg::Missing)));
        assert_eq!(
            parse_chart("A&B 1y"),
            Err(ChartArg::Ticker(TickerArg::Invalid("A&B".into())))
        );
        assert_eq!(parse_chart("AAPL 2y"), Err(ChartArg::Period("2y".into())));
        assert_eq!(
            parse_chart("AAPL 1y 3m"),
            Err(ChartArg::Period("AAPL 1y 3m".into()))
        );
    }

    #[test]
    fn download_arguments() {
        let d = |s| parse_download(s);
        assert_eq!(
            d(""),
            Ok(DownloadArgs {
                dataset: Dataset::Drawdowns,
                days: 1,
                capped: false
            })
        );
        assert_eq!(
            d("bars 5").map(|a| (a.dataset, a.days)),
            Ok((Dataset::Bars, 5))
        );
        assert_eq!(
            d("30 Positions").map(|a| (a.dataset, a.days)),
            Ok((Dataset::Positions, 30))
        );
        assert_eq!(d("9999").map(|a| (a.days, a.capped)), Ok((366, true)));
        assert_eq!(d("quotes"), Err(BadArgs));
        assert_eq!(d("bars bars"), Err(BadArgs));
        assert_eq!(d("0"), Err(BadArgs));
        assert_eq!(d("1 2"), Err(BadArgs));
    }
}
