//! What `rpc` prints: JSON pretty for a person and compact (exactly as the
//! server wrote it, for a result) for a pipe; a closed pipe ends the program
//! quietly, as it would a shell tool.

use std::io::{IsTerminal as _, Write as _};

use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// `value` as JSON text, pretty-printed (its object keys then sorted) or
/// compact.
pub(crate) fn json(value: &impl Serialize, pretty: bool) -> String {
    // Values made of JSON always serialize.
    let compact = serde_json::to_string(value).unwrap_or_default();
    if !pretty {
        return compact;
    }
    serde_json::from_str::<Value>(&compact)
        .and_then(|value| serde_json::to_string_pretty(&value))
        .unwrap_or(compact)
}

/// Prints `value` on stdout: pretty on a terminal, compact when piped.
pub(crate) fn print(value: &impl Serialize) {
    line(&json(value, std::io::stdout().is_terminal()));
}

/// Prints a result: pretty on a terminal, as the server wrote it when
/// piped.
pub(crate) fn print_raw(raw: &RawValue) {
    if std::io::stdout().is_terminal() {
        print(&raw);
    } else {
        line(raw.get());
    }
}

/// Prints `value` on stdout on one line (a stream of lines).
pub(crate) fn print_line(value: &impl Serialize) {
    line(&json(value, false));
}

/// Prints text made for a person (ending with a newline or not).
pub(crate) fn print_text(text: &str) {
    line(text.strip_suffix('\n').unwrap_or(text));
}

/// Writes a line on stdout; when the reader has gone (`rpc listen | head
/// -1`), exits at once, successfully, instead of panicking as `println!`
/// would.
fn line(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "{text}")
        .and_then(|()| stdout.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}

pub(crate) fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// At most the first 300 characters of `text`, for an error message.
pub(crate) fn truncated(text: &str) -> String {
    const MAX: usize = 300;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}… ({} bytes in all)", &text[..cut], text.len()),
        None => text.to_owned(),
    }
}
