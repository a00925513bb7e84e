//! The `dipwatch` binary: see the library's crate docs for the layout.

#[tokio::main]
async fn main() -> std::process::ExitCode {
    dipwatch::cli::main().await
}
