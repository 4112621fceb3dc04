//! What the examples share: reading their flags (`--addr`, `--url`,
//! `--redis`), and saying where they listen.
//! The examples themselves are in `examples/`.

use std::net::SocketAddr;

/// The value of `--addr ADDR` (or `--addr=ADDR`), else `default`. `--help`
/// prints the usage and exits.
pub fn addr_from_args(default: &str) -> String {
    flag_from_args("--addr", "HOST:PORT (port 0 picks a free one)", default)
}

/// The value of `FLAG VALUE` (or `FLAG=VALUE`), else `default`: for an
/// example that takes one flag. `--help` prints the usage and exits.
pub fn flag_from_args(flag: &str, placeholder: &str, default: &str) -> String {
    let [value] = flags_from_args(&[(flag, placeholder)]);
    value.unwrap_or_else(|| default.to_owned())
}

/// The values of the `FLAG VALUE` (or `FLAG=VALUE`) flags given, each flag
/// described as `(flag, placeholder)`, in that order. `--help` prints the
/// usage and exits; anything else unexpected exits with status 2.
pub fn flags_from_args<const N: usize>(flags: &[(&str, &str); N]) -> [Option<String>; N] {
    let mut values: [Option<String>; N] = std::array::from_fn(|_| None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--help" || arg == "-h" {
            let usage: Vec<String> = flags
                .iter()
                .map(|(flag, placeholder)| format!("[{flag} {placeholder}]"))
                .collect();
            println!("usage: {}", usage.join(" "));
            std::process::exit(0);
        }
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (arg.clone(), None),
        };
        let Some(at) = flags.iter().position(|(flag, _)| *flag == name) else {
            eprintln!("unexpected argument {arg:?}; try --help");
            std::process::exit(2);
        };
        let Some(value) = inline.or_else(|| args.next()) else {
            eprintln!("{name} needs a value; try --help");
            std::process::exit(2);
        };
        values[at] = Some(value);
    }
    values
}

/// Prints the line tests and tools wait for: `listening on ws://ADDR`.
pub fn announce(addr: SocketAddr) {
    println!("listening on ws://{addr}");
}

/// `Server::builder()` configured from the `RPC_*` environment variables
/// (`ServerConfig::from_env`), so that any example can be tried with other
/// settings: `RPC_JSONRPC1=true` (JSON-RPC 1.0 too),
/// `RPC_MAX_CONNECTIONS=2`, … A variable that does not parse ends the
/// example with its message.
pub fn server() -> rpc_server::ServerBuilder {
    init_logs();
    match rpc_server::ServerConfig::from_env() {
        Ok(config) => rpc_server::Server::builder().config(config),
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(2);
        }
    }
}

/// Installs the examples' logs, on stderr (stdout keeps the lines tools
/// read): `RUST_LOG` filters them (`info` when unset: where the server
/// listens, its limits, shutdowns, warnings), and `RPC_LOG_FORMAT=json`
/// writes them as JSON lines. At debug (`RUST_LOG=rpc_core=debug`) each
/// call's span is printed as it closes: method, id, connection, transport,
/// the caller's `traceparent`, the outcome and how long it took.
pub fn init_logs() {
    use tracing_subscriber::EnvFilter;
    use tracing_subscriber::fmt::format::FmtSpan;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_span_events(FmtSpan::CLOSE)
        .with_writer(std::io::stderr);
    // A second call (or a subscriber set elsewhere) keeps the first.
    let _ = match std::env::var("RPC_LOG_FORMAT").as_deref() {
        Ok("json") => logs.json().try_init(),
        _ => logs.try_init(),
    };
}
