//! `dipwatch check-config`: validate and print the effective configuration,
//! then prove the store takes writes (a small probe object, removed again).

use std::process::ExitCode;

use crate::config::{AppConfig, Provider, TradingSettings};

/// Print the redacted configuration and its warnings; fail if the provider
/// cannot run or the store cannot be written.
pub async fn run(config: &AppConfig) -> anyhow::Result<ExitCode> {
    print!("{}", config.redacted_toml());
    println!();
    println!("# parsed");
    println!(
        "# universe: {} symbols from {}",
        config.universe.len(),
        config.market.universe
    );
    // Never "none": a cron that never fires is refused at load.
    if let Ok(next) = config.schedule.cron.find_next_occurrence(
        &chrono::Utc::now().with_timezone(&config.schedule.tz),
        false,
    ) {
        println!(
            "# next collection: {} ({})",
            next.to_rfc3339(),
            config.schedule.tz
        );
    }
    println!("# trading: {}", trading_line(config));
    for w in &config.warnings {
        println!("# warning: {w}");
    }
    if config.market.provider == Provider::Alpaca {
        if let Some(w) = crate::alpaca::symbols::universe_warning(&config.universe) {
            println!("# warning: {w}");
        }
        config.secrets.alpaca_credentials()?;
    }
    let store = super::open_store(config).await?;
    super::probe_store(&store).await?;
    println!("# storage: {} (writable)", config.storage.url);
    println!("# writer lease: {}", lease_line(config, &store).await?);
    println!("# configuration OK");
    Ok(ExitCode::SUCCESS)
}

/// Whether orders may be placed, and where they go: PAPER or LIVE.
fn trading_line(config: &AppConfig) -> String {
    let t = &config.trading;
    if !t.enabled {
        return "off (trading.enabled = false)".into();
    }
    format!(
        "on, {} orders to {} (max ${} an order, ${} and {} orders a day)",
        TradingSettings::mode(&config.market.trading_url).as_str(),
        config.market.trading_url,
        t.max_order_usd,
        t.max_daily_usd,
        t.max_orders_per_day
    )
}

/// Who holds the store's writer lease; a store that cannot keep one (no
/// conditional writes) is an error, as it is for `run` and `collect`.
async fn lease_line(config: &AppConfig, store: &crate::store::Store) -> anyhow::Result<String> {
    let settings = &config.lease;
    if !settings.enabled {
        return Ok("off (lease.enabled = false)".into());
    }
    let lease = crate::lease::Lease::new(store.lease_target(), settings, "check-config");
    lease
        .check_store()
        .await
        .map_err(|e| crate::config::ConfigError::Unusable(format!("storage.url: {e}")))?;
    Ok(match lease.current().await {
        Ok(Some(d)) if !d.released => format!("held by {}", d.describe()),
        Ok(_) => format!("free (lease.ttl_secs = {})", settings.ttl_secs),
        Err(e) => format!("unreadable: {e}"),
    })
}
