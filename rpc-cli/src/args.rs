//! The command line: commands, their arguments and the connection options
//! every command takes.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use clap_complete::Shell;

/// `rpc --help`. (A string rather than doc comments: rustdoc would read
/// the JSON examples as links.)
const ABOUT: &str = "Calls a JSON-RPC 2.0 server from the terminal, over ws://, wss://, http:// or https://.

PARAMS is JSON ('[42,23]', '{\"a\":1}') or key=value pairs (a=1 b=hello: each value is parsed as JSON when it is JSON, else taken as a string).

Exit status: 0 success; 1 the server answered with a JSON-RPC error (printed as JSON on stderr); 2 bad usage or bad PARAMS (nothing sent); 3 no answer: could not connect, the handshake was refused, the connection dropped or the call timed out.";

/// The command line.
#[derive(Debug, Parser)]
#[command(name = "rpc", version, about = ABOUT.lines().next(), long_about = ABOUT)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
    #[command(flatten)]
    pub(crate) connection: ConnectionOptions,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Calls METHOD and prints its result as JSON (pretty on a terminal,
    /// compact when piped).
    Call(CallArgs),
    /// Sends METHOD as a notification (no answer is expected).
    Notify(CallArgs),
    /// Sends the JSON array of requests read from stdin as one batch and
    /// prints the responses in the same order, with the ids given.
    ///
    /// Each request is {"method": …, "params": …, "id": …}; one without an
    /// "id" is a notification and gets no response. Exits with 1 when any
    /// call was answered with an error.
    Batch(UrlArg),
    /// Lists the server's methods with their parameters, types and docs
    /// (its OpenRPC document, from rpc.discover).
    Discover(DiscoverArgs),
    /// Stays connected and prints each notification from the server as a
    /// JSON line until interrupted (ws:// and wss:// only).
    Listen(ListenArgs),
    /// Prints a completion script for SHELL.
    Completions {
        /// The shell.
        shell: Shell,
    },
}

#[derive(Debug, Args)]
pub(crate) struct UrlArg {
    /// ws://, wss://, http:// or https:// address of the server.
    pub(crate) url: String,
}

#[derive(Debug, Args)]
pub(crate) struct CallArgs {
    /// ws://, wss://, http:// or https:// address of the server.
    pub(crate) url: String,
    /// The method's name.
    pub(crate) method: String,
    #[arg(help = r#"JSON ('[42,23]', '{"a":1}') or key=value pairs"#)]
    pub(crate) params: Vec<String>,
}

#[derive(Debug, Args)]
pub(crate) struct DiscoverArgs {
    /// ws://, wss://, http:// or https:// address of the server.
    pub(crate) url: String,
    /// Prints the OpenRPC document itself.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ListenArgs {
    /// ws:// or wss:// address of the server.
    pub(crate) url: String,
    /// Calls METHOD first (with PARAMS), to join a group or subscribe, and
    /// prints its result as the first line.
    #[arg(long, num_args = 1.., value_names = ["METHOD", "PARAMS"])]
    pub(crate) call: Vec<String>,
    /// Stops after this many notifications.
    #[arg(long, value_name = "N")]
    pub(crate) count: Option<u64>,
}

/// How to reach the server; every command takes them.
#[derive(Debug, Clone, Args)]
pub(crate) struct ConnectionOptions {
    /// Adds a header to the request or handshake (repeatable).
    #[arg(long, short = 'H', value_name = "NAME:VALUE", global = true, value_parser = parse_header)]
    pub(crate) header: Vec<(String, String)>,
    /// Sends `Authorization: Bearer TOKEN`.
    #[arg(long, value_name = "TOKEN", global = true)]
    pub(crate) token: Option<String>,
    /// How long connecting, and then each answer, may take: 10s, 500ms, 2m
    /// (a bare number is seconds).
    #[arg(long, value_name = "DURATION", default_value = "10s", global = true, value_parser = parse_duration)]
    pub(crate) timeout: Duration,
    /// Trusts the certificate authorities in FILE (PEM) for wss:// and
    /// https://, besides the usual roots.
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) cacert: Option<PathBuf>,
    /// Accepts any TLS certificate, unverified (a self-signed test server;
    /// never in production).
    #[arg(long, short = 'k', global = true)]
    pub(crate) insecure: bool,
}

impl ConnectionOptions {
    /// Every header to send, the token's included.
    pub(crate) fn headers(&self) -> Vec<(String, String)> {
        let mut headers = self.header.clone();
        if let Some(token) = &self.token {
            headers.push(("authorization".to_owned(), format!("Bearer {token}")));
        }
        headers
    }
}

fn parse_header(arg: &str) -> Result<(String, String), String> {
    let (name, value) = arg
        .split_once(':')
        .ok_or_else(|| format!("expected NAME:VALUE, got {arg:?}"))?;
    let name = name.trim();
    http::HeaderName::try_from(name).map_err(|_| format!("invalid header name {name:?}"))?;
    let value = value.trim();
    http::HeaderValue::try_from(value).map_err(|_| format!("invalid header value {value:?}"))?;
    Ok((name.to_owned(), value.to_owned()))
}

/// `10s`, `500ms`, `2m`, `1.5s`, or a bare number of seconds.
pub(crate) fn parse_duration(arg: &str) -> Result<Duration, String> {
    let arg = arg.trim();
    let split = arg
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(arg.len());
    let (number, unit) = arg.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("expected a duration such as 10s or 500ms, got {arg:?}"))?;
    let seconds = match unit {
        "" | "s" => number,
        "ms" => number / 1000.0,
        "m" => number * 60.0,
        _ => return Err(format!("unknown unit {unit:?} in {arg:?} (use ms, s or m)")),
    };
    // At most a day: deadlines are computed from now, and must not overflow.
    const MAX: Duration = Duration::from_secs(24 * 60 * 60);
    Duration::try_from_secs_f64(seconds)
        .ok()
        .filter(|duration| !duration.is_zero() && *duration <= MAX)
        .ok_or_else(|| format!("{arg:?} is not a duration between 1ms and 24h"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_the_usual_units() {
        assert_eq!(parse_duration("10"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        for bad in [
            "",
            "s",
            "10h",
            "0",
            "-1",
            "ten",
            "1441m",
            "10000000000000000000",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn headers_are_name_colon_value() {
        assert_eq!(
            parse_header("X-Trace: abc:1"),
            Ok(("X-Trace".to_owned(), "abc:1".to_owned()))
        );
        assert!(parse_header("no-colon").is_err());
        assert!(parse_header("bad name: x").is_err());
    }

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
    }
}
