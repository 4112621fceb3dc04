//! The real `rpc` binary against the running examples (and, for wss:// and
//! https://, a TLS server with a certificate made at test time): what it
//! prints and the exit status of each outcome.

#[path = "../../examples/tests/common/child.rs"]
mod child;
#[path = "../../examples/tests/common/running.rs"]
mod running;

use std::io::Write as _;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use running::{Running, start};
use serde_json::{Value, json};

/// How long one `rpc` may run before the test fails.
const LIMIT: Duration = Duration::from_secs(30);

/// What a finished `rpc` left.
#[derive(Debug)]
struct Finished {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Finished {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|err| panic!("stdout is not JSON ({err}): {self:?}"))
    }

    fn stderr_json(&self) -> Value {
        serde_json::from_str(&self.stderr)
            .unwrap_or_else(|err| panic!("stderr is not JSON ({err}): {self:?}"))
    }
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_rpc"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rpc")
}

/// Runs `rpc ARGS`, with `stdin` as its standard input.
fn rpc_with_stdin(args: &[&str], stdin: &str) -> Finished {
    let mut child = spawn(args);
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    finish(child)
}

/// Runs `rpc ARGS`.
fn rpc(args: &[&str]) -> Finished {
    let mut child = spawn(args);
    drop(child.stdin.take());
    finish(child)
}

/// Waits for `child` (killing it and failing past [`LIMIT`]) and collects
/// what it printed.
fn finish(child: Child) -> Finished {
    let output = child::wait(child, LIMIT)
        .unwrap_or_else(|killed| panic!("rpc ran longer than {LIMIT:?}: {killed:?}"));
    Finished {
        code: output.status.code().expect("an exit status"),
        stdout: String::from_utf8(output.stdout).expect("UTF-8 stdout"),
        stderr: String::from_utf8(output.stderr).expect("UTF-8 stderr"),
    }
}

fn ws(example: &Running) -> String {
    format!("ws://{}", example.addr)
}

fn http(example: &Running) -> String {
    format!("http://{}", example.addr)
}

/// An address nothing listens on (port 1, tcpmux, is never served here;
/// a port freed by a test could be taken by an example starting meanwhile).
const NOBODY: &str = "127.0.0.1:1";

/// Standard output of `child`, line by line, read on a thread so that a
/// test can wait for a line with a timeout.
fn lines_of(child: &mut Child) -> std::sync::mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("stdout");
    let (sender, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)).map_while(Result::ok) {
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    lines
}

fn next_line(lines: &std::sync::mpsc::Receiver<String>) -> String {
    lines.recv_timeout(LIMIT).expect("a line within the limit")
}

#[test]
fn call_prints_the_result_and_exits_0() {
    let calculator = start("calculator");
    let url = ws(&calculator);
    let by_position = rpc(&["call", &url, "subtract", "[42,23]"]);
    assert_eq!(
        (by_position.code, by_position.stdout.as_str()),
        (0, "19\n"),
        "{by_position:?}"
    );
    let by_name = rpc(&["call", &url, "subtract", "subtrahend=23", "minuend=42"]);
    assert_eq!(
        (by_name.code, by_name.stdout.as_str()),
        (0, "19\n"),
        "{by_name:?}"
    );
    let json_object = rpc(&["call", &url, "math.divide", r#"{"a":1,"b":4}"#]);
    assert_eq!(json_object.json(), json!(0.25));
    // Piped, a structured result is compact JSON on one line.
    let doc = rpc(&["call", &url, "rpc.discover"]);
    assert_eq!(doc.code, 0);
    assert_eq!(doc.stdout.lines().count(), 1, "{doc:?}");
    assert_eq!(doc.json()["info"]["title"], "Calculator");
}

#[test]
fn calls_over_http() {
    let example = start("http");
    let url = http(&example);
    let subtracted = rpc(&["call", &url, "subtract", "[42,23]"]);
    assert_eq!(
        (subtracted.code, subtracted.stdout.as_str()),
        (0, "19\n"),
        "{subtracted:?}"
    );
    let divided = rpc(&["call", &url, "math.divide", "a=1", "b=4"]);
    assert_eq!(divided.json(), json!(0.25));
    let error = rpc(&["call", &url, "math.divide", "[1,0]"]);
    assert_eq!(error.code, 1, "{error:?}");
    assert_eq!(error.stderr_json()["code"], 4000);
}

#[test]
fn a_servers_error_is_json_on_stderr_and_exit_1() {
    let calculator = start("calculator");
    let url = ws(&calculator);
    let divided = rpc(&["call", &url, "math.divide", "[1,0]"]);
    assert_eq!(divided.code, 1, "{divided:?}");
    assert_eq!(divided.stdout, "");
    assert_eq!(
        divided.stderr_json(),
        json!({"code": 4000, "message": "division by zero"})
    );
    let unknown = rpc(&["call", &url, "no.such.method"]);
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert_eq!(unknown.stderr_json()["code"], -32601);
    let bad_params = rpc(&["call", &url, "subtract", r#"["a","b"]"#]);
    assert_eq!(bad_params.code, 1, "{bad_params:?}");
    assert_eq!(bad_params.stderr_json()["code"], -32602);
}

#[test]
fn bad_usage_exits_2_before_connecting() {
    // Nothing listens here: trying to connect would exit 3, not 2.
    let url = format!("ws://{NOBODY}");
    let cases: [&[&str]; 7] = [
        &["call", &url, "subtract", "[42,"],
        &["call", &url, "subtract", "42"],
        &["call", &url, "subtract", "a=1", "a=2"],
        &["call", "ftp://127.0.0.1:1", "subtract"],
        &["call", &url],
        &["call", &url, "subtract", "--timeout", "soon"],
        &["frobnicate"],
    ];
    for args in cases {
        let finished = rpc(args);
        assert_eq!(finished.code, 2, "{args:?}: {finished:?}");
        assert!(!finished.stderr.is_empty(), "{args:?}: says why");
    }
    let bad_json = rpc(&["call", &url, "subtract", "[42,"]);
    assert!(bad_json.stderr.contains("not valid JSON"), "{bad_json:?}");
    let bad_batch = rpc_with_stdin(&["batch", &url], r#"{"method": "subtract"}"#);
    assert_eq!(bad_batch.code, 2, "{bad_batch:?}");
    assert!(bad_batch.stderr.contains("array"), "{bad_batch:?}");
}

#[test]
fn no_answer_exits_3() {
    for url in [format!("ws://{NOBODY}"), format!("http://{NOBODY}")] {
        let refused = rpc(&["call", &url, "subtract", "[1,2]"]);
        assert_eq!(refused.code, 3, "{refused:?}");
        assert!(refused.stderr.contains("connect"), "{refused:?}");
    }
    // The handshake refused: the HTTP status is shown.
    let tour = start("tour");
    let url = ws(&tour);
    let refused = rpc(&["call", &url, "ping"]);
    assert_eq!(refused.code, 3, "{refused:?}");
    assert!(
        refused.stderr.contains("HTTP 401 Unauthorized"),
        "{refused:?}"
    );
    // With the token, and with the same header given by hand.
    for credentials in [
        ["--token", "guest-token"],
        ["-H", "Authorization: Bearer guest-token"],
    ] {
        let mut args = vec!["call", url.as_str(), "rpc.discover"];
        args.extend(credentials);
        assert_eq!(rpc(&args).code, 0, "{credentials:?}");
    }
    // No answer in time: over WebSocket, then over HTTP.
    let bench = start("bench_server");
    for url in [ws(&bench), http(&bench)] {
        let started = Instant::now();
        let slow = rpc(&["call", &url, "sleep", "[5000]", "--timeout", "300ms"]);
        assert_eq!(slow.code, 3, "{slow:?}");
        assert!(
            started.elapsed() < Duration::from_secs(4),
            "gave up at the timeout"
        );
    }
}

#[test]
fn notify_sends_and_exits_0() {
    let calculator = start("calculator");
    let url = ws(&calculator);
    let sent = rpc(&["notify", &url, "log", "line=hello from rpc"]);
    assert_eq!((sent.code, sent.stdout.as_str()), (0, ""), "{sent:?}");
    calculator.wait_for_line("client says: hello from rpc");
}

#[test]
fn batch_answers_each_call_with_its_id() {
    let batch = r#"[
        {"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": "first"},
        {"method": "log", "params": ["between"]},
        {"method": "math.divide", "params": {"a": 1, "b": 0}, "id": 7}
    ]"#;
    for example in ["calculator", "http"] {
        let running = start(example);
        let url = if example == "http" {
            http(&running)
        } else {
            ws(&running)
        };
        let answered = rpc_with_stdin(&["batch", &url], batch);
        // One call failed: exit 1, every response on stdout.
        assert_eq!(answered.code, 1, "{example}: {answered:?}");
        let responses = answered.json();
        assert_eq!(
            responses[0],
            json!({"jsonrpc": "2.0", "result": 19, "id": "first"})
        );
        assert_eq!(responses[1]["id"], 7);
        assert_eq!(responses[1]["error"]["code"], 4000);
        assert_eq!(responses.as_array().map(Vec::len), Some(2), "{example}");
        let fine = rpc_with_stdin(
            &["batch", &url],
            r#"[{"method": "subtract", "params": [2, 1], "id": 1}]"#,
        );
        assert_eq!(fine.code, 0, "{example}: {fine:?}");
    }
}

#[test]
fn discover_lists_the_methods() {
    let calculator = start("calculator");
    let url = ws(&calculator);
    let listed = rpc(&["discover", &url]);
    assert_eq!(listed.code, 0, "{listed:?}");
    for line in [
        "Calculator 0.1.0: 5 methods",
        "  subtract(minuend: integer, subtrahend: integer) -> integer",
        "      Subtracts `subtrahend` from `minuend`.",
        "  math.divide(a: number, b: number) -> number",
        "  log(line: string)  [notification]",
    ] {
        assert!(
            listed.stdout.lines().any(|l| l == line),
            "{line:?} in\n{}",
            listed.stdout
        );
    }
    let doc = rpc(&["discover", &url, "--json"]).json();
    assert_eq!(doc["openrpc"], "1.2.6");
    assert_eq!(doc["methods"].as_array().map(Vec::len), Some(5));
}

#[test]
fn listen_prints_each_notification_as_a_line() {
    let chat = start("chat");
    let url = ws(&chat);
    let mut listener = spawn(&[
        "listen",
        &url,
        "--call",
        "join",
        "room=lobby",
        "name=ann",
        "--count",
        "2",
    ]);
    drop(listener.stdin.take());
    // The first line is the join's result; then the join's own notice, and
    // a message from another connection.
    let lines = lines_of(&mut listener);
    assert_eq!(next_line(&lines), "1");
    let said = rpc(&["call", &url, "say", "room=lobby", "text=hi there"]);
    assert_eq!(said.code, 0, "{said:?}");
    let notifications: Vec<Value> = [next_line(&lines), next_line(&lines)]
        .iter()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(
        notifications,
        [
            json!({"jsonrpc": "2.0", "method": "message", "params": {"room": "lobby", "from": "server", "text": "ann joined"}}),
            json!({"jsonrpc": "2.0", "method": "message", "params": {"room": "lobby", "from": "", "text": "hi there"}}),
        ]
    );
    // `--count 2`: done.
    let finished = finish(listener);
    assert_eq!(finished.code, 0, "{finished:?}");
    // Over HTTP the server cannot push.
    assert_eq!(rpc(&["listen", &http(&chat)]).code, 2);
}

#[test]
fn a_reader_that_goes_away_ends_rpc_quietly() {
    // `rpc listen URL | head -1`: the next line finds the pipe closed.
    let chat = start("chat");
    let url = ws(&chat);
    let mut listener = spawn(&["listen", &url, "--call", "join", "room=pipe", "name=bo"]);
    drop(listener.stdin.take());
    let lines = lines_of(&mut listener);
    assert_eq!(next_line(&lines), "1");
    // The reading thread ends at its next line (the join's notice), closing
    // the pipe; the messages that follow make `rpc` write to it.
    drop(lines);
    for _ in 0..100 {
        if listener.try_wait().expect("wait").is_some() {
            break;
        }
        assert_eq!(
            rpc(&["call", &url, "say", "room=pipe", "text=anyone?"]).code,
            0
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let finished = finish(listener);
    assert_eq!(
        (finished.code, finished.stderr.as_str()),
        (0, ""),
        "no panic"
    );
}

#[test]
fn an_http_notification_the_server_refuses_exits_1() {
    // Too large for the server: 413, with a JSON-RPC error.
    let example = running::start_with("http", &[], &[("RPC_MAX_MESSAGE_SIZE", "1000")]);
    let line = format!("line={}", "x".repeat(2000));
    let refused = rpc(&["notify", &http(&example), "log", &line]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert_eq!(refused.stderr_json()["code"], -32001);
    assert_eq!(
        rpc(&["notify", &http(&example), "log", "line=short"]).code,
        0
    );
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish"] {
        let script = rpc(&["completions", shell]);
        assert_eq!(script.code, 0, "{shell}: {script:?}");
        assert!(script.stdout.contains("discover"), "{shell}");
    }
}

mod tls {
    //! wss:// and https:// against a server with a self-signed certificate.

    use std::path::PathBuf;

    use rpc_server::{Server, ServerHandle, rpc_service};

    use super::*;

    struct Calc;

    #[rpc_service]
    impl Calc {
        async fn add(&self, a: i64, b: i64) -> i64 {
            a + b
        }
    }

    /// A certificate for localhost, written to `cert.pem` and `key.pem`.
    fn certificate() -> PathBuf {
        let generated = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()])
            .expect("a certificate");
        let dir = std::env::temp_dir().join(format!("rpc-cli-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("cert.pem"), generated.cert.pem()).unwrap();
        std::fs::write(dir.join("key.pem"), generated.signing_key.serialize_pem()).unwrap();
        dir
    }

    fn start(dir: &std::path::Path) -> (tokio::runtime::Runtime, ServerHandle) {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let server = runtime.block_on(async {
            Server::builder()
                .tls(dir.join("cert.pem"), dir.join("key.pem"))
                .serve("127.0.0.1:0", Calc)
                .expect("a TLS server")
                .spawn()
        });
        (runtime, server)
    }

    #[test]
    fn wss_and_https_verify_the_certificate_unless_told_not_to() {
        let dir = certificate();
        let (_runtime, server) = start(&dir);
        let port = server.local_addr().port();
        let cacert = dir.join("cert.pem");
        let cacert = cacert.to_str().unwrap();
        for url in [
            format!("wss://localhost:{port}"),
            format!("https://localhost:{port}"),
        ] {
            let untrusted = rpc(&["call", &url, "add", "[2,3]"]);
            assert_eq!(untrusted.code, 3, "{url}: {untrusted:?}");
            assert!(
                untrusted.stderr.to_lowercase().contains("certificate"),
                "{untrusted:?}"
            );
            let trusted = rpc(&["call", &url, "add", "[2,3]", "--cacert", cacert]);
            assert_eq!(
                (trusted.code, trusted.stdout.as_str()),
                (0, "5\n"),
                "{url}: {trusted:?}"
            );
            let insecure = rpc(&["call", &url, "add", "[2,3]", "--insecure"]);
            assert_eq!(
                (insecure.code, insecure.stdout.as_str()),
                (0, "5\n"),
                "{url}: {insecure:?}"
            );
        }
    }
}

/// A server that answers each request with the next of `answers`
/// (status line, content type, body), on a port of its own.
fn hostile_http(answers: Vec<(&'static str, &'static str, String)>) -> String {
    use std::io::{BufRead as _, BufReader, Read as _};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    let addr = listener.local_addr().expect("an address");
    std::thread::spawn(move || {
        for (status, content_type, body) in answers {
            let Ok((stream, _)) = listener.accept() else {
                return;
            };
            let mut reader = BufReader::new(stream);
            let mut length = 0;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                    break;
                }
                if let Some((name, value)) = header.split_once(':')
                    && name.eq_ignore_ascii_case("content-length")
                {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            let mut request = vec![0; length];
            let _ = reader.read_exact(&mut request);
            let id = serde_json::from_slice::<Value>(&request)
                .ok()
                .and_then(|request| request.get("id").cloned())
                .unwrap_or(Value::Null);
            let body = body.replace("$ID", &id.to_string());
            let mut stream = reader.into_inner();
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}")
}

/// Nothing a server sends reaches the terminal as a control sequence: an
/// HTTP error page with escape sequences (title, clear screen, OSC 52
/// clipboard), a JSON-RPC error message with C1 controls and DEL, and a
/// result with a C1 control are printed with those characters escaped.
#[test]
fn the_servers_bytes_never_drive_the_terminal() {
    let page = "\u{1b}]0;owned\u{7}\u{1b}[2J\u{1b}]52;c;aGVsbG8=\u{7}oops".to_owned();
    let error =
        r#"{"jsonrpc":"2.0","error":{"code":4000,"message":"bad\u009b31m\u007fthing"},"id":$ID}"#
            .replace("\\u009b", "\u{9b}")
            .replace("\\u007f", "\u{7f}");
    let result = r#"{"jsonrpc":"2.0","result":"x\u009b2Jy","id":$ID}"#.replace("\\u009b", "\u{9b}");
    let url = hostile_http(vec![
        ("500 Internal Server Error", "text/html", page),
        ("200 OK", "application/json", error),
        ("200 OK", "application/json", result),
    ]);
    let acts = |text: &str| {
        text.chars()
            .any(|c| matches!(c, '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{7f}'..='\u{9f}'))
    };
    let page = rpc(&["call", &url, "ping"]);
    assert_eq!(page.code, 3, "{page:?}");
    assert!(!acts(&page.stderr), "{page:?}");
    assert!(page.stderr.contains("\\u001b]0;owned"), "{page:?}");
    let error = rpc(&["call", &url, "ping"]);
    assert_eq!(error.code, 1, "{error:?}");
    assert!(!acts(&error.stderr), "{error:?}");
    assert_eq!(
        error.stderr_json()["message"],
        "bad\u{9b}31m\u{7f}thing",
        "still JSON"
    );
    let result = rpc(&["call", &url, "ping"]);
    assert_eq!(result.code, 0, "{result:?}");
    assert!(!acts(&result.stdout), "{result:?}");
    assert_eq!(result.json(), "x\u{9b}2Jy");
}
