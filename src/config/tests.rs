//! The configuration loaded as users write it: defaults, files, the
//! environment and secrets, and every refusal naming its key.

use std::collections::HashMap;
use std::path::Path;

use rust_decimal::Decimal;
use secrecy::ExposeSecret;

use super::universe::BUILTIN_UNIVERSE;
use super::*;
use crate::screen::PeakBasis;
use crate::store::StorageUrl;

fn repo_env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    // No universe path: the built-in one works from any directory.
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn load(pairs: &[(&str, &str)]) -> Result<AppConfig, ConfigError> {
    AppConfig::load_with_env(None, repo_env(pairs))
}

#[test]
fn defaults_match_the_documented_values() {
    let c = load(&[]).unwrap();
    assert_eq!(c.market.provider, Provider::Alpaca);
    assert_eq!(c.screen.params.lookback_days, 180);
    assert_eq!(c.screen.params.min_history, 30);
    assert_eq!(c.screen.params.peak_basis, PeakBasis::High);
    assert_eq!(c.screen.top_n, 10);
    assert_eq!(c.portfolio.profit_target_pct, Decimal::ONE_HUNDRED);
    assert_eq!(c.portfolio.top_positions, 5);
    assert_eq!(c.schedule.tz, chrono_tz::America::New_York);
    assert_eq!(c.storage.url, StorageUrl::Local("./data".into()));
    assert_eq!(c.http.listen.to_string(), "127.0.0.1:9184");
    assert!(c.universe.len() > 900);
    assert!(c.telegram.allowed_chat_ids.is_empty());
}

#[test]
fn file_then_env_override_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("my.toml");
    std::fs::write(
        &file,
        "[screen]\ntop_n = 25\nlookback_days = 90\n[market]\nprovider = \"sim\"\n",
    )
    .unwrap();
    let env = repo_env(&[
        ("DIPWATCH__SCREEN__TOP_N", "7"),
        ("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS", "11,-22"),
        ("DIPWATCH__PORTFOLIO__PROFIT_TARGET_PCT", "62.5"),
    ]);
    let c = AppConfig::load_with_env(Some(&file), env).unwrap();
    assert_eq!(c.screen.top_n, 7, "env beats file");
    assert_eq!(c.screen.params.lookback_days, 90, "file beats default");
    assert_eq!(c.market.provider, Provider::Sim);
    assert_eq!(c.telegram.allowed_chat_ids, vec![11, -22]);
    // One id alone, as the README shows it.
    let one = load(&[("DIPWATCH__TELEGRAM__ADMIN_CHAT_IDS", "123456789")]).unwrap();
    assert_eq!(one.telegram.admin_chat_ids, vec![123456789]);
    let bad = load(&[("DIPWATCH__TELEGRAM__ADMIN_CHAT_IDS", "12,abc")])
        .unwrap_err()
        .to_string();
    assert!(
        bad.contains("admin_chat_ids") || bad.contains("not a chat id"),
        "{bad}"
    );
    assert_eq!(c.portfolio.profit_target_pct, Decimal::new(625, 1));
}

/// A chat id outside Telegram's range (teloxide panics on such an id
/// when it sends) is refused at load, naming the key.
#[test]
fn chat_ids_outside_telegrams_range_are_refused_by_key() {
    for (key, ids) in [
        ("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS", "111,2000000000000"),
        ("DIPWATCH__TELEGRAM__ADMIN_CHAT_IDS", "-1997852516353"),
        ("DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS", "0"),
    ] {
        let e = error_of(&[(key, ids)]);
        let name = key
            .trim_start_matches("DIPWATCH__TELEGRAM__")
            .to_lowercase();
        assert!(e.starts_with(&format!("telegram.{name}:")), "{e}");
        assert!(e.contains("not a Telegram chat id"), "{e}");
    }
    // The extremes of each kind are fine: users, groups, supergroups.
    let ok = load(&[(
        "DIPWATCH__TELEGRAM__ALLOWED_CHAT_IDS",
        "1,1099511627775,-1,-999999999999,-1000000000000,-1997852516352",
    )])
    .unwrap();
    assert_eq!(ok.telegram.allowed_chat_ids.len(), 6);
    assert!(!is_telegram_chat_id(1 << 40));
    assert!(is_telegram_chat_id((1 << 40) - 1));
}

fn error_of(pairs: &[(&str, &str)]) -> String {
    load(pairs).unwrap_err().to_string()
}

#[test]
fn the_trigger_cooldown_defaults_to_five_minutes_and_is_bounded() {
    assert_eq!(load(&[]).unwrap().telegram.trigger_cooldown_secs, 300);
    let off = load(&[("DIPWATCH__TELEGRAM__TRIGGER_COOLDOWN_SECS", "0")]).unwrap();
    assert_eq!(off.telegram.trigger_cooldown_secs, 0);
    let e = error_of(&[("DIPWATCH__TELEGRAM__TRIGGER_COOLDOWN_SECS", "86401")]);
    assert!(e.starts_with("telegram.trigger_cooldown_secs:"), "{e}");
}

#[test]
fn every_bad_value_names_its_key() {
    assert!(error_of(&[("DIPWATCH__MARKET__PROVIDER", "yahoo")]).contains("market.provider"));
    assert!(
        error_of(&[("DIPWATCH__SCHEDULE__COLLECT", "30 18 * * *")])
            .starts_with("schedule.collect:")
    );
    assert!(
        error_of(&[("DIPWATCH__SCHEDULE__COLLECT", "0 99 18 * * *")])
            .starts_with("schedule.collect:")
    );
    assert!(
        error_of(&[("DIPWATCH__SCHEDULE__TIMEZONE", "Mars/Olympus")])
            .starts_with("schedule.timezone:")
    );
    assert!(
        error_of(&[("DIPWATCH__MARKET__UNIVERSE", "/nonexistent/u.txt")])
            .starts_with("market.universe:")
    );
    assert!(error_of(&[("DIPWATCH__STORAGE__URL", "ftp://host/x")]).starts_with("storage.url:"));
    assert!(
        error_of(&[
            ("DIPWATCH__STORAGE__URL", "s3://bucket/lake"),
            ("DIPWATCH__STORAGE__OPTIONS__ENDPIONT", "http://x"),
        ])
        .starts_with("storage.options.endpiont: not an S3 option"),
        "a typo in an S3 option is named"
    );
    assert!(
        error_of(&[("DIPWATCH__STORAGE__OPTIONS__REGION", "eu-west-1")])
            .starts_with("storage.options.region: only an s3://")
    );
    assert!(error_of(&[("DIPWATCH__MARKET__FEED", "nasdaq")]).starts_with("market.feed:"));
    assert!(
        error_of(&[("DIPWATCH__MARKET__DATA_URL", "not a url")]).starts_with("market.data_url:")
    );
    assert!(
        error_of(&[("DIPWATCH__SCREEN__MIN_HISTORY", "500")]).starts_with("screen.min_history:")
    );
    assert!(error_of(&[("DIPWATCH__HTTP__LISTEN", "localhost")]).starts_with("http.listen:"));
    assert!(error_of(&[("DIPWATCH__SCREEN__TOP_N", "many")]).contains("top_n"));
    assert!(
        error_of(&[("DIPWATCH__ALERTS__DEFAULTS", "top zero")]).starts_with("alerts.defaults:")
    );
}

#[test]
fn harmful_values_are_refused_with_their_key_and_bounds() {
    for (key, value, named) in [
        (
            "DIPWATCH__SCHEDULE__RETRY_INTERVAL_SECS",
            "0",
            "schedule.retry_interval_secs:",
        ),
        (
            "DIPWATCH__SCHEDULE__RETRY_WINDOW_SECS",
            "999999",
            "schedule.retry_window_secs:",
        ),
        (
            "DIPWATCH__SCHEDULE__COLLECT",
            "0 0 12 30 2 *",
            "schedule.collect:",
        ),
        (
            "DIPWATCH__PORTFOLIO__PROFIT_TARGET_PCT",
            "-100",
            "portfolio.profit_target_pct:",
        ),
        (
            "DIPWATCH__PORTFOLIO__PROFIT_TARGET_PCT",
            "0",
            "portfolio.profit_target_pct:",
        ),
        (
            "DIPWATCH__MARKET__UNIVERSE",
            "/dev/zero",
            "market.universe:",
        ),
        (
            "DIPWATCH__MARKET__UNIVERSE",
            "builtin:sp500",
            "market.universe:",
        ),
        ("DIPWATCH__STORAGE__URL", "s3:/bucket", "storage.url:"),
    ] {
        let err = error_of(&[(key, value)]);
        assert!(err.starts_with(named), "{key}={value}: {err}");
    }
    assert!(error_of(&[("DIPWATCH__SCHEDULE__COLLECT", "0 0 12 30 2 *")]).contains("never fires"));
    // Named choices list what exists, not a Rust enum.
    let provider = error_of(&[("DIPWATCH__MARKET__PROVIDER", "simulated")]);
    assert!(provider.contains("alpaca | sim"), "{provider}");
    assert!(!provider.contains("enum"), "{provider}");
    assert!(error_of(&[("DIPWATCH__LOG__FORMAT", "xml")]).contains("auto | json | text"));
    assert!(error_of(&[("DIPWATCH__SCREEN__PEAK_BASIS", "low")]).contains("high | close"));
}

#[test]
fn web_proxies_limits_and_frame_origins_are_parsed_or_refused_by_key() {
    let c = load(&[
        ("DIPWATCH__WEB__TRUSTED_PROXIES", "127.0.0.1,10.0.0.0/8,::1"),
        (
            "DIPWATCH__WEB__FRAME_ANCESTORS",
            "https://web.telegram.org,https://webk.telegram.org",
        ),
    ])
    .unwrap();
    assert_eq!(c.web.trusted_proxies.len(), 3);
    assert!(c.web.trusted_proxies[1].contains("10.9.8.7".parse().unwrap()));
    assert_eq!(c.web.frame_ancestors.len(), 2);
    assert_eq!(c.web.sessions_per_chat, 10);
    assert_eq!(c.web.max_connections, 512);
    for (key, value) in [
        ("DIPWATCH__WEB__TRUSTED_PROXIES", "10.0.0.0/33"),
        ("DIPWATCH__WEB__TRUSTED_PROXIES", "proxy.example"),
        ("DIPWATCH__WEB__FRAME_ANCESTORS", "https://a.example/path"),
        ("DIPWATCH__WEB__FRAME_ANCESTORS", "*"),
        ("DIPWATCH__WEB__SESSIONS_PER_CHAT", "0"),
        ("DIPWATCH__WEB__MAX_CONNECTIONS", "0"),
    ] {
        let e = error_of(&[(key, value)]);
        let named = key
            .trim_start_matches("DIPWATCH__WEB__")
            .to_ascii_lowercase();
        assert!(e.contains(&format!("web.{named}")), "{value}: {e}");
    }
    // Anonymous pages on a listener others reach, or behind a proxy: a warning.
    let open = load(&[
        ("DIPWATCH__WEB__ANONYMOUS_LOOPBACK", "true"),
        ("DIPWATCH__WEB__LISTEN", "0.0.0.0:9185"),
        ("DIPWATCH__WEB__TRUSTED_PROXIES", "127.0.0.1"),
    ])
    .unwrap();
    let keys: Vec<&str> = open.warnings.iter().map(|w| w.key.as_str()).collect();
    assert_eq!(keys, ["web.anonymous_loopback", "web.anonymous_loopback"]);
}

#[test]
fn risky_values_pass_with_a_warning_naming_the_key() {
    assert!(load(&[]).unwrap().warnings.is_empty(), "the defaults warn");
    let c = load(&[
        ("DIPWATCH__SCHEDULE__COLLECT", "* * * * * *"),
        ("DIPWATCH__SCHEDULE__RETRY_INTERVAL_SECS", "1"),
        ("DIPWATCH__HTTP__LISTEN", "0.0.0.0:9184"),
    ])
    .unwrap();
    let keys: Vec<&str> = c.warnings.iter().map(|w| w.key.as_str()).collect();
    assert_eq!(
        keys,
        [
            "schedule.retry_interval_secs",
            "schedule.collect",
            "http.listen"
        ]
    );
    assert!(
        c.warnings[1].message.contains("every 1 s"),
        "{}",
        c.warnings[1]
    );
    assert!(
        c.warnings[2].message.contains("/metrics"),
        "{}",
        c.warnings[2]
    );
    // Once a year: sessions in between would be missed.
    let rare = load(&[("DIPWATCH__SCHEDULE__COLLECT", "0 0 12 1 1 *")]).unwrap();
    assert_eq!(rare.warnings.len(), 1);
    assert!(rare.warnings[0].message.contains("next fires"));
}

#[test]
fn the_universe_is_built_in_and_a_file_may_start_with_a_bom() {
    let builtin = load(&[]).unwrap();
    assert_eq!(builtin.market.universe, BUILTIN_UNIVERSE);
    assert!(builtin.universe.len() > 900);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("u.txt");
    std::fs::write(&file, "\u{feff}AAPL\nMSFT\n").unwrap();
    let c = load(&[("DIPWATCH__MARKET__UNIVERSE", file.to_str().unwrap())]).unwrap();
    let names: Vec<&str> = c.universe.iter().map(|s| s.as_str()).collect();
    assert_eq!(names, ["AAPL", "MSFT"]);
    // Over 1 MiB is not a universe file.
    std::fs::write(&file, "AAPL\n".repeat(300_000)).unwrap();
    let err = error_of(&[("DIPWATCH__MARKET__UNIVERSE", file.to_str().unwrap())]);
    assert!(err.contains("larger than 1024 KiB"), "{err}");
}

#[test]
fn a_secret_file_with_two_lines_is_refused_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("key");
    std::fs::write(&file, "PKFIRSTLINE\nsecond-line-secret\n").unwrap();
    let err = error_of(&[("APCA_API_SECRET_KEY_FILE", file.to_str().unwrap())]);
    assert!(err.starts_with("APCA_API_SECRET_KEY_FILE:"), "{err}");
    assert!(err.contains("more than one line"), "{err}");
    assert!(!err.contains("second-line-secret") && !err.contains("PKFIRSTLINE"));
    // One trailing newline (CRLF too) is still fine.
    std::fs::write(&file, "value\r\n").unwrap();
    assert!(load(&[("APCA_API_SECRET_KEY_FILE", file.to_str().unwrap())]).is_ok());
    // A file holding only a newline is "not set": the systemd unit's
    // fallback for an absent bot token (SetCredential=TELOXIDE_TOKEN:\n).
    std::fs::write(&file, "\n").unwrap();
    let c = load(&[("TELOXIDE_TOKEN_FILE", file.to_str().unwrap())]).unwrap();
    assert!(c.secrets.telegram_token.is_none());
}

#[test]
fn the_printed_config_shows_numbers_as_numbers() {
    let printed = load(&[]).unwrap().redacted_toml();
    assert!(printed.contains("profit_target_pct = 100.0\n"), "{printed}");
}

#[test]
fn unknown_keys_in_a_file_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("typo.toml");
    std::fs::write(&file, "[screen]\nlookback_dayz = 90\n").unwrap();
    let err = AppConfig::load_with_env(Some(&file), repo_env(&[]))
        .unwrap_err()
        .to_string();
    assert!(err.contains("lookback_dayz"), "{err}");
    let missing =
        AppConfig::load_with_env(Some(&dir.path().join("nope.toml")), repo_env(&[])).unwrap_err();
    assert!(missing.to_string().contains("nope.toml"));
}

#[test]
fn secrets_come_from_env_file_or_credentials_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("key_id"), "file-key-id-20-chars\n").unwrap();
    std::fs::write(dir.path().join("TELOXIDE_TOKEN"), "123:cred-token").unwrap();
    let file = dir.path().join("key_id").display().to_string();
    let creds = dir.path().display().to_string();
    let c = load(&[
        ("APCA_API_KEY_ID_FILE", &file),
        (
            "APCA_API_SECRET_KEY",
            "env-secret-of-the-forty-characters-alpac",
        ),
        ("CREDENTIALS_DIRECTORY", &creds),
    ])
    .unwrap();
    let id = c.secrets.alpaca_key_id.as_ref().unwrap();
    assert_eq!(id.value.expose_secret(), "file-key-id-20-chars");
    assert_eq!(id.source, SecretSource::File);
    assert_eq!(
        c.secrets.alpaca_secret_key.as_ref().unwrap().source,
        SecretSource::Env
    );
    let tok = c.secrets.telegram_token.as_ref().unwrap();
    assert_eq!(tok.value.expose_secret(), "123:cred-token");
    assert_eq!(tok.source, SecretSource::Credentials);
    assert!(c.secrets.alpaca_credentials().is_ok());
}

#[test]
fn alpaca_keys_shorter_than_issued_are_refused_naming_the_variable() {
    let id = "PKABCDEFGHIJKLMNOPQR";
    let secret = "s".repeat(40);
    assert!(
        load(&[("APCA_API_KEY_ID", id), ("APCA_API_SECRET_KEY", &secret)])
            .unwrap()
            .secrets
            .alpaca_credentials()
            .is_ok()
    );
    for (short_id, short_secret, name, len, issued) in [
        ("PKSHORT", secret.as_str(), "APCA_API_KEY_ID", 7, 20),
        (
            id,
            "s3cr3t-39-characters-long-xxxxxxxxxxxxx",
            "APCA_API_SECRET_KEY",
            39,
            40,
        ),
    ] {
        let err = load(&[
            ("APCA_API_KEY_ID", short_id),
            ("APCA_API_SECRET_KEY", short_secret),
        ])
        .unwrap()
        .secrets
        .alpaca_credentials()
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with(&format!("{name}: {len} characters")),
            "{err}"
        );
        assert!(err.contains(&format!("with {issued}")), "{err}");
        assert!(
            !err.contains(short_id) && !err.contains(short_secret),
            "{err}"
        );
    }
}

#[test]
fn unreadable_secret_file_is_an_error_naming_the_variable() {
    let err = load(&[("TELOXIDE_TOKEN_FILE", "/nonexistent/token")])
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("TELOXIDE_TOKEN_FILE:"), "{err}");
}

#[test]
fn secrets_never_show_in_debug_or_the_printed_config() {
    let c = load(&[
        ("APCA_API_KEY_ID", "PKSECRETKEYID123"),
        ("APCA_API_SECRET_KEY", "very-secret-value-456"),
        ("TELOXIDE_TOKEN", "999:bot-token-789"),
        ("DIPWATCH__STORAGE__URL", "s3://bucket/lake"),
        (
            "DIPWATCH__STORAGE__OPTIONS__SECRET_ACCESS_KEY",
            "aws-secret-000",
        ),
    ])
    .unwrap();
    let debug = format!("{c:?}");
    let printed = c.redacted_toml();
    for secret in [
        "PKSECRETKEYID123",
        "very-secret-value-456",
        "999:bot-token-789",
        "aws-secret-000",
    ] {
        assert!(!debug.contains(secret), "Debug leaks {secret}");
        assert!(!printed.contains(secret), "check-config leaks {secret}");
    }
    assert!(
        printed.contains("APCA_API_KEY_ID = \"set (environment)\""),
        "{printed}"
    );
    assert!(
        printed.contains("secret_access_key = \"[redacted]\""),
        "{printed}"
    );
}

#[test]
fn alpaca_without_keys_names_the_keys_and_the_demo() {
    let c = load(&[]).unwrap();
    let err = c.secrets.alpaca_credentials().unwrap_err().to_string();
    for needle in ["APCA_API_KEY_ID", "APCA_API_SECRET_KEY", "config/demo.toml"] {
        assert!(err.contains(needle), "{err}");
    }
}

#[test]
fn shipped_config_files_parse() {
    let demo = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/config/demo.toml"));
    let c = AppConfig::load_with_env(Some(demo), repo_env(&[])).unwrap();
    assert_eq!(c.market.provider, Provider::Sim);
}

#[test]
fn risk_settings_have_defaults_and_bad_values_name_their_key() {
    let c = load(&[]).unwrap();
    let r = &c.risk;
    assert_eq!(
        (
            r.lookback,
            r.budget,
            r.cluster_correlation,
            r.duplicate_correlation,
            r.candidates
        ),
        (90, 0.02, 0.7, 0.8, 10)
    );
    let ok = load(&[("DIPWATCH__RISK__LOOKBACK", "250")]).unwrap();
    assert_eq!(ok.risk.lookback, 250);
    for (var, value, key) in [
        ("DIPWATCH__RISK__LOOKBACK", "5", "risk.lookback"),
        ("DIPWATCH__RISK__LOOKBACK", "3000", "risk.lookback"),
        ("DIPWATCH__RISK__BUDGET", "0", "risk.budget"),
        ("DIPWATCH__RISK__BUDGET", "1.5", "risk.budget"),
        (
            "DIPWATCH__RISK__CLUSTER_CORRELATION",
            "-0.2",
            "risk.cluster_correlation",
        ),
        (
            "DIPWATCH__RISK__DUPLICATE_CORRELATION",
            "1.01",
            "risk.duplicate_correlation",
        ),
        ("DIPWATCH__RISK__CANDIDATES", "0", "risk.candidates"),
    ] {
        let err = load(&[(var, value)]).unwrap_err().to_string();
        assert!(err.contains(key), "{var}={value}: {err}");
    }
}
