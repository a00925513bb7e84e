//! `dipwatch check-config`: validate and print the effective configuration.

use std::process::ExitCode;

use crate::config::{AppConfig, Provider};

/// Print the redacted configuration; fail if the provider cannot run.
pub fn run(config: &AppConfig) -> anyhow::Result<ExitCode> {
    print!("{}", config.redacted_toml());
    println!();
    println!("# parsed");
    println!(
        "# universe: {} symbols from {}",
        config.universe.len(),
        config.settings.market.universe.display()
    );
    println!("# storage: {}", config.storage);
    let next = config
        .collect_cron
        .find_next_occurrence(&chrono::Utc::now().with_timezone(&config.timezone), false)
        .map(|t| t.to_rfc3339())
        .unwrap_or_else(|e| format!("none ({e})"));
    println!("# next collection: {next} ({})", config.timezone);
    if config.settings.market.provider == Provider::Alpaca {
        config.alpaca_credentials()?;
    }
    println!("# configuration OK");
    Ok(ExitCode::SUCCESS)
}
