//! What the load generator sends, and how it checks each answer.

use std::fmt::Write as _;

use serde::Deserialize;
use serde_json::value::RawValue;

/// How many calls a `batch` payload holds.
pub const BATCH_SIZE: u64 = 10;

/// One kind of request the load generator sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Payload {
    /// `add(id, 1)`, answered with `id + 1`.
    Add,
    /// `echo` of a 1 KiB string.
    Echo1k,
    /// `echo` of a 64 KiB string.
    Echo64k,
    /// A batch of ten `add` calls, one round trip.
    Batch,
}

/// What a server is expected to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Expect {
    /// JSON-RPC responses.
    Rpc,
    /// The request itself, byte for byte (the raw WebSocket echo).
    Echo,
}

impl Payload {
    /// Every payload, in the order the report lists them.
    pub const ALL: [Payload; 4] = [
        Payload::Add,
        Payload::Echo1k,
        Payload::Echo64k,
        Payload::Batch,
    ];

    /// The payload's name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Payload::Add => "add",
            Payload::Echo1k => "echo1k",
            Payload::Echo64k => "echo64k",
            Payload::Batch => "batch",
        }
    }

    fn echo_len(self) -> Option<usize> {
        match self {
            Payload::Echo1k => Some(1024),
            Payload::Echo64k => Some(64 * 1024),
            Payload::Add | Payload::Batch => None,
        }
    }
}

/// Builds requests and checks answers for one payload; round trip `n` is
/// request `n`.
#[derive(Debug, Clone)]
pub struct Requests {
    payload: Payload,
    expect: Expect,
    /// The string `echo` sends, quoted as JSON: plain ASCII, so the answer's
    /// raw text must equal it.
    echo_json: String,
}

impl Requests {
    /// Requests of `payload`, answered as `expect` says.
    pub fn new(payload: Payload, expect: Expect) -> Self {
        let echo_json = payload
            .echo_len()
            .map(|len| {
                let text: String = (0..len)
                    .map(|i| char::from(b'a' + (i % 26) as u8))
                    .collect();
                format!("\"{text}\"")
            })
            .unwrap_or_default();
        Self {
            payload,
            expect,
            echo_json,
        }
    }

    /// Writes round trip `n`'s request into `out` (cleared first).
    pub fn write(&self, n: u64, out: &mut String) {
        out.clear();
        let _ = match self.payload {
            Payload::Add => write_add(out, n),
            Payload::Echo1k | Payload::Echo64k => write!(
                out,
                r#"{{"jsonrpc":"2.0","method":"echo","params":[{}],"id":{n}}}"#,
                self.echo_json
            ),
            Payload::Batch => {
                out.push('[');
                for k in 0..BATCH_SIZE {
                    if k > 0 {
                        out.push(',');
                    }
                    let _ = write_add(out, n * BATCH_SIZE + k);
                }
                out.push(']');
                Ok(())
            }
        };
    }

    /// Which round trip `answer` completes, if it is a correct answer to one.
    /// `scratch` is working space for rebuilding a request.
    pub fn check(&self, answer: &str, scratch: &mut String) -> Result<u64, String> {
        match self.expect {
            Expect::Echo => {
                let n = self.round_trip_of_echo(answer)?;
                self.write(n, scratch);
                if answer != scratch {
                    return Err(format!("echo differs from request {n}"));
                }
                Ok(n)
            }
            Expect::Rpc => match self.payload {
                Payload::Add => {
                    let response: Response<'_> = parse(answer)?;
                    check_add(&response)?;
                    Ok(response.id)
                }
                Payload::Echo1k | Payload::Echo64k => {
                    let response: Response<'_> = parse(answer)?;
                    match response.result {
                        Some(result) if result.get() == self.echo_json => Ok(response.id),
                        _ => Err(unexpected(answer)),
                    }
                }
                Payload::Batch => {
                    let responses: Vec<Response<'_>> = parse(answer)?;
                    let first = responses.first().ok_or_else(|| unexpected(answer))?;
                    let n = first.id / BATCH_SIZE;
                    let mut seen = 0u64;
                    for response in &responses {
                        check_add(response)?;
                        if response.id / BATCH_SIZE != n {
                            return Err(format!("batch {n} holds id {}", response.id));
                        }
                        seen |= 1 << (response.id % BATCH_SIZE);
                    }
                    if responses.len() as u64 != BATCH_SIZE || seen != (1 << BATCH_SIZE) - 1 {
                        return Err(format!("batch {n} is incomplete: {}", snippet(answer)));
                    }
                    Ok(n)
                }
            },
        }
    }

    /// An echoed request's round trip: its `id` (a batch's first id / 10).
    fn round_trip_of_echo(&self, answer: &str) -> Result<u64, String> {
        #[derive(Deserialize)]
        struct Request {
            id: u64,
        }
        Ok(match self.payload {
            Payload::Batch => {
                let requests: Vec<Request> = parse(answer)?;
                requests.first().ok_or_else(|| unexpected(answer))?.id / BATCH_SIZE
            }
            _ => parse::<Request>(answer)?.id,
        })
    }
}

fn write_add(out: &mut String, id: u64) -> std::fmt::Result {
    write!(
        out,
        r#"{{"jsonrpc":"2.0","method":"add","params":[{id},1],"id":{id}}}"#
    )
}

#[derive(Deserialize)]
struct Response<'a> {
    id: u64,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    #[serde(borrow, default)]
    error: Option<&'a RawValue>,
}

fn check_add(response: &Response<'_>) -> Result<(), String> {
    let expected = response.id + 1;
    match (response.result, response.error) {
        (Some(result), None) if result.get().parse::<u64>() == Ok(expected) => Ok(()),
        (_, Some(error)) => Err(format!("add {} failed: {}", response.id, error.get())),
        (result, None) => Err(format!(
            "add {} answered {:?}, not {expected}",
            response.id,
            result.map(RawValue::get)
        )),
    }
}

fn parse<'a, T: Deserialize<'a>>(answer: &'a str) -> Result<T, String> {
    serde_json::from_str(answer).map_err(|err| format!("{err}: {}", snippet(answer)))
}

fn unexpected(answer: &str) -> String {
    format!("unexpected answer: {}", snippet(answer))
}

fn snippet(text: &str) -> &str {
    let end = text
        .char_indices()
        .nth(200)
        .map_or(text.len(), |(at, _)| at);
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_echo_server_answer_is_the_request() {
        let mut request = String::new();
        let mut scratch = String::new();
        for payload in Payload::ALL {
            let requests = Requests::new(payload, Expect::Echo);
            requests.write(42, &mut request);
            assert_eq!(requests.check(&request, &mut scratch), Ok(42));
            // Valid JSON with the same id, but not the request sent.
            let altered = request.replacen("\"params\":[", "\"params\":[ ", 1);
            assert_ne!(altered, request);
            assert!(requests.check(&altered, &mut scratch).is_err());
        }
    }

    #[test]
    fn rpc_answers_are_checked() {
        let mut scratch = String::new();
        let add = Requests::new(Payload::Add, Expect::Rpc);
        assert_eq!(
            add.check(r#"{"jsonrpc":"2.0","result":8,"id":7}"#, &mut scratch),
            Ok(7)
        );
        assert!(
            add.check(r#"{"jsonrpc":"2.0","result":9,"id":7}"#, &mut scratch)
                .is_err()
        );
        let error = r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"x"},"id":7}"#;
        assert!(add.check(error, &mut scratch).is_err());

        let echo = Requests::new(Payload::Echo1k, Expect::Rpc);
        let mut request = String::new();
        echo.write(3, &mut request);
        let params = request
            .split("[")
            .nth(1)
            .unwrap()
            .split("]")
            .next()
            .unwrap();
        let answer = format!(r#"{{"jsonrpc":"2.0","id":3,"result":{params}}}"#);
        assert_eq!(echo.check(&answer, &mut scratch), Ok(3));
        let short = answer.replacen("abc", "ab", 1);
        assert!(echo.check(&short, &mut scratch).is_err());

        let batch = Requests::new(Payload::Batch, Expect::Rpc);
        let answers: Vec<String> = (20..30)
            .rev()
            .map(|id| format!(r#"{{"jsonrpc":"2.0","result":{},"id":{id}}}"#, id + 1))
            .collect();
        let answer = format!("[{}]", answers.join(","));
        assert_eq!(batch.check(&answer, &mut scratch), Ok(2));
        let missing = format!("[{}]", answers[1..].join(","));
        assert!(batch.check(&missing, &mut scratch).is_err());
    }
}
