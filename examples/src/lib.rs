//! What the examples share: reading `--addr`, and saying where they listen.
//! The examples themselves are in `examples/`.

use std::net::SocketAddr;

/// The value of `--addr ADDR` (or `--addr=ADDR`), else `default`. `--help`
/// prints the usage and exits.
pub fn addr_from_args(default: &str) -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        [] => default.to_owned(),
        ["--addr", addr] => (*addr).to_owned(),
        [arg] if arg.starts_with("--addr=") => arg["--addr=".len()..].to_owned(),
        ["--help" | "-h"] => {
            println!("usage: [--addr HOST:PORT]   (default {default}; port 0 picks a free one)");
            std::process::exit(0);
        }
        _ => {
            eprintln!("unexpected arguments {args:?}; try --help");
            std::process::exit(2);
        }
    }
}

/// Prints the line tests and tools wait for: `listening on ws://ADDR`.
pub fn announce(addr: SocketAddr) {
    println!("listening on ws://{addr}");
}

/// Completes on ctrl-c, for a graceful shutdown.
pub async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        // No signal handling here: run until killed.
        std::future::pending::<()>().await;
    }
}
