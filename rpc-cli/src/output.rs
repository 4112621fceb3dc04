//! JSON on the terminal: pretty for a person, compact for a pipe.

use std::io::IsTerminal as _;

use serde::Serialize;

/// `value` as JSON text, pretty-printed or on one line.
pub(crate) fn json(value: &impl Serialize, pretty: bool) -> String {
    let text = if pretty {
        serde_json::to_string_pretty(value)
    } else {
        serde_json::to_string(value)
    };
    // Values made of JSON always serialize.
    text.unwrap_or_default()
}

/// Prints `value` on stdout: pretty on a terminal, compact when piped.
pub(crate) fn print(value: &impl Serialize) {
    println!("{}", json(value, std::io::stdout().is_terminal()));
}

/// Prints `value` on stdout on one line (a stream of lines).
pub(crate) fn print_line(value: &impl Serialize) {
    println!("{}", json(value, false));
}

pub(crate) fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}
