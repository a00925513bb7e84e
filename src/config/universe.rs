//! `market.universe`: the built-in Russell 1000 list or a file of tickers.

use std::path::Path;

use super::error::{ConfigError, invalid};
use crate::domain::{Symbol, parse_universe};

/// `market.universe` value that selects the universe compiled into the
/// binary (the default), so every command works from any directory.
pub(crate) const BUILTIN_UNIVERSE: &str = "builtin:russell1000";

/// The built-in universe: ~930 Russell 1000 names.
const RUSSELL1000: &str = include_str!("../../config/universe/russell1000.txt");

/// The largest universe file read (a Russell 3000 list is ~20 KB): a
/// device or a wrong path to a huge file is refused instead of read whole.
const MAX_UNIVERSE_BYTES: u64 = 1 << 20;

const KEY: &str = "market.universe";

/// Read `market.universe`: the built-in list or a regular file of at most
/// [`MAX_UNIVERSE_BYTES`].
pub(crate) fn read_universe(value: &str) -> Result<Vec<Symbol>, ConfigError> {
    if value == BUILTIN_UNIVERSE {
        return parse_universe(RUSSELL1000).map_err(|e| invalid(KEY, e));
    }
    if let Some(name) = value.strip_prefix("builtin:") {
        return Err(invalid(
            KEY,
            format!("no built-in universe {name:?}; the built-in one is {BUILTIN_UNIVERSE:?}"),
        ));
    }
    let path = Path::new(value);
    let text = read_small_file(path)?;
    parse_universe(&text).map_err(|e| invalid(KEY, format!("{}: {e}", path.display())))
}

/// A regular file's text, refused when larger than [`MAX_UNIVERSE_BYTES`]
/// (read no further than that, whatever the path points at).
fn read_small_file(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read;
    let cannot = |e: &dyn std::fmt::Display| {
        invalid(
            KEY,
            format!(
                "cannot read {}: {e} (relative paths are from the working directory; \
                 {BUILTIN_UNIVERSE:?} is the built-in list)",
                path.display()
            ),
        )
    };
    let meta = std::fs::metadata(path).map_err(|e| cannot(&e))?;
    if !meta.is_file() {
        return Err(invalid(
            KEY,
            format!("{} is not a regular file", path.display()),
        ));
    }
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(MAX_UNIVERSE_BYTES + 1).read_to_string(&mut text))
        .map_err(|e| cannot(&e))?;
    if text.len() as u64 > MAX_UNIVERSE_BYTES {
        return Err(invalid(
            KEY,
            format!(
                "{} is larger than {} KiB: not a universe file",
                path.display(),
                MAX_UNIVERSE_BYTES / 1024
            ),
        ));
    }
    Ok(text)
}
