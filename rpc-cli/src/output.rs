//! What `rpc` prints: JSON pretty for a person and compact (exactly as the
//! server wrote it, for a result) for a pipe; a closed pipe ends the program
//! quietly, as it would a shell tool.

use std::io::{IsTerminal as _, Write as _};

use serde::Serialize;
use serde_json::value::RawValue;

/// `value` as JSON text, pretty-printed or compact.
pub(crate) fn json(value: &impl Serialize, pretty: bool) -> String {
    // Values made of JSON always serialize.
    let compact = serde_json::to_string(value).unwrap_or_default();
    if pretty { indented(&compact) } else { compact }
}

/// JSON text laid out two spaces per level, members in their order and
/// numbers as written (parsing into a `Value` would sort keys and round
/// big integers), at any depth. `text` must be valid JSON.
fn indented(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    let mut depth = 0_usize;
    let (mut in_string, mut escaped) = (false, false);
    let mut chars = text.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.extend(std::iter::repeat_n("  ", depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                // `{}` and `[]` stay on one line.
                while chars.peek().is_some_and(|c| c.is_ascii_whitespace()) {
                    chars.next();
                }
                if chars.peek().is_some_and(|next| matches!(next, '}' | ']')) {
                    out.extend(chars.next());
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_ascii_whitespace() => {}
            c => out.push(c),
        }
    }
    out
}

/// Prints `value` on stdout: pretty on a terminal, compact when piped.
pub(crate) fn print(value: &impl Serialize) {
    line(&json(value, std::io::stdout().is_terminal()));
}

/// Prints a result: pretty on a terminal, as the server wrote it when
/// piped.
pub(crate) fn print_raw(raw: &RawValue) {
    if std::io::stdout().is_terminal() {
        line(&indented(raw.get()));
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
    if writeln!(stdout, "{}", escaped(text))
        .and_then(|()| stdout.flush())
        .is_err()
    {
        std::process::exit(0);
    }
}

/// Writes a line on stderr, escaped as [`line()`] writes stdout.
pub(crate) fn error_line(text: &str) {
    eprintln!("{}", escaped(text));
}

/// `text` with every control character a terminal would act on written as
/// a JSON escape (`\u001b`): C0 but newline and tab, DEL, and C1. Every
/// byte `rpc` prints from the server goes through it (results, errors,
/// HTTP pages, the discovered document), so a server cannot retitle the
/// terminal, clear it or write the clipboard. JSON stays JSON: these
/// escapes mean the same characters inside its strings.
pub(crate) fn escaped(text: &str) -> std::borrow::Cow<'_, str> {
    let acts = |c: char| matches!(c, '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}');
    if !text.contains(acts) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if acts(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_a_terminal_acts_on_are_escaped() {
        assert_eq!(escaped("plain\n\ttext"), "plain\n\ttext");
        assert_eq!(
            escaped("\u{1b}]0;owned\u{7}\u{1b}[2J\r\u{7f}\u{9b}31m\u{85}"),
            "\\u001b]0;owned\\u0007\\u001b[2J\\u000d\\u007f\\u009b31m\\u0085"
        );
        let json = "{\"s\":\"a\u{9b}b\"}";
        let read: serde_json::Value = serde_json::from_str(&escaped(json)).unwrap();
        assert_eq!(read["s"], "a\u{9b}b", "the same JSON");
    }

    #[test]
    fn indenting_keeps_order_numbers_and_strings() {
        let text = r#"{"b":[1,{}],"a":18446744073709551616, "s":"x:,{\"[y"}"#;
        assert_eq!(
            indented(text),
            "{\n  \"b\": [\n    1,\n    {}\n  ],\n  \"a\": 18446744073709551616,\n  \"s\": \"x:,{\\\"[y\"\n}"
        );
        assert_eq!(indented("[ ]"), "[]");
        assert_eq!(indented("19"), "19");
        let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        assert_eq!(indented(&deep).matches('[').count(), 1000);
    }
}
