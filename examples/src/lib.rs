//! What the examples share: reading `--addr` (or `--url`), and saying
//! where they listen.
//! The examples themselves are in `examples/`.

use std::net::SocketAddr;

/// The value of `--addr ADDR` (or `--addr=ADDR`), else `default`. `--help`
/// prints the usage and exits.
pub fn addr_from_args(default: &str) -> String {
    flag_from_args("--addr", "HOST:PORT (port 0 picks a free one)", default)
}

/// The value of `FLAG VALUE` (or `FLAG=VALUE`), else `default`: the one
/// flag an example takes. `--help` prints the usage and exits.
pub fn flag_from_args(flag: &str, placeholder: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        [] => default.to_owned(),
        [name, value] if *name == flag => (*value).to_owned(),
        [arg]
            if arg
                .strip_prefix(flag)
                .is_some_and(|rest| rest.starts_with('=')) =>
        {
            arg[flag.len() + 1..].to_owned()
        }
        ["--help" | "-h"] => {
            println!("usage: [{flag} {placeholder}]   (default {default})");
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
