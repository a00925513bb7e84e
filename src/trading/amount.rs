//! How much to buy or sell, as typed: `500` or `$500` (dollars), `2%` (of
//! equity for a buy, of the position for a sell), `size` (the risk view's
//! suggested size), `all` (the whole position), or a share count
//! (`--qty`, `/sell X 10`). Parsed at the edge into [`Amount`]; sized into
//! whole shares by [`super::preview`].

use rust_decimal::Decimal;

/// How much, before it is sized into shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Amount {
    /// Dollars (a buy's `500` / `$500`, `--usd`).
    Usd(Decimal),
    /// Shares (`--qty`, a sell's `10`).
    Shares(Decimal),
    /// Percent of equity (a buy's `2%`, `--pct`).
    PctOfEquity(Decimal),
    /// Percent of the position (a sell's `50%`, `--pct`).
    PctOfPosition(Decimal),
    /// The risk view's suggested size for the symbol (`size`).
    Suggested,
    /// The whole position (a sell's `all`, the default of `/sell X`).
    All,
}
