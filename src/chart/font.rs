//! The one font charts are written in, compiled into the binary: DejaVu
//! Sans (Bitstream Vera licence, `assets/fonts/LICENSE-DejaVu.txt`),
//! registered with plotters' `ab_glyph` text as the `sans-serif` family,
//! so neither fontconfig nor FreeType is needed at build or run time, and
//! an SVG names a family every browser has.

use std::sync::Once;

use plotters::style::FontStyle;

/// The family name figures ask for.
pub(super) const FAMILY: &str = "sans-serif";

/// DejaVu Sans, Book.
static DEJAVU_SANS: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Register the font once per process (later calls return at once).
pub(super) fn register() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if plotters::style::register_font(FAMILY, FontStyle::Normal, DEJAVU_SANS).is_err() {
            // The bytes are compiled in and checked by a test: this cannot
            // happen in a build that passed its tests. Drawing text would
            // then fail with an error, not a panic.
            tracing::error!("the embedded chart font could not be read");
        }
    });
}
