//! What the examples share: reading `--addr`, and saying where they listen.
//! The examples themselves are in `examples/`.

use std::net::SocketAddr;

/// The value of `--addr ADDR` (or `--addr=ADDR`), else `default`. `--help`
/// prints the usage and exits.
pub fn addr_from_args(default: &str) -> String {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            println!("usage: [--addr HOST:PORT]   (default {default}; port 0 picks a free one)");
            std::process::exit(0);
        }
        if let Some(addr) = arg.strip_prefix("--addr=") {
            return addr.to_owned();
        }
        if arg == "--addr" {
            if let Some(addr) = args.next() {
                return addr;
            }
        }
        eprintln!("unknown argument {arg:?}; try --help");
        std::process::exit(2);
    }
    default.to_owned()
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
