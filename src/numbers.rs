//! Number formatting shared by every human-facing output (CLI tables now,
//! bot replies later): thousands separators, signed percentages, prices.

/// `1234567` -> `1,234,567`.
pub fn thousands(n: u64) -> String {
    group_digits(&n.to_string())
}

/// A run of digits with thousands separators: `"1234567"` -> `"1,234,567"`
/// (the integer part of a number already formatted, without its sign).
pub fn group_digits(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A signed percentage with two decimals: `-12.34%`, `+5.00%`, `0.00%`.
pub fn signed_pct(x: f64) -> String {
    let r = (x * 100.0).round() / 100.0;
    if r > 0.0 {
        format!("+{r:.2}%")
    } else if r < 0.0 {
        format!("{r:.2}%")
    } else {
        "0.00%".to_string()
    }
}

/// A price: two decimals with thousands separators, four under one dollar.
pub fn price(x: f64) -> String {
    if !x.is_finite() {
        return x.to_string();
    }
    if x.abs() < 1.0 {
        return format!("{x:.4}");
    }
    let cents = (x.abs() * 100.0).round() as u64;
    let sign = if x < 0.0 { "-" } else { "" };
    format!("{sign}{}.{:02}", thousands(cents / 100), cents % 100)
}

/// `850 ms`, `1.3 s`, `2 min 5 s`, `1 h 5 min`.
pub fn duration(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if ms < 1_000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", d.as_secs_f64())
    } else if ms < 3_600_000 {
        format!("{} min {} s", ms / 60_000, (ms % 60_000) / 1_000)
    } else {
        format!("{} h {} min", ms / 3_600_000, (ms % 3_600_000) / 60_000)
    }
}

/// A wait still to go, in whole seconds rounded up: "0 ms" left would read
/// as "now".
pub fn time_left(left: std::time::Duration) -> String {
    duration(std::time::Duration::from_secs(
        left.as_secs() + u64::from(left.subsec_nanos() > 0),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(group_digits("1234567"), "1,234,567");
        assert_eq!(group_digits("123"), "123");
        assert_eq!(signed_pct(-12.345), "-12.35%");
        assert_eq!(signed_pct(5.0), "+5.00%");
        assert_eq!(signed_pct(-0.001), "0.00%");
        assert_eq!(price(1234.5), "1,234.50");
        assert_eq!(price(0.12345), "0.1235");
        assert_eq!(price(-2500.0), "-2,500.00");
    }
}
