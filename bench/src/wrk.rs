//! The HTTP scenario's load: `wrk` POSTing `add(1, 2)` over keep-alive
//! connections, and what it prints read back as a [`Measured`].

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use crate::load::Measured;

/// The request every connection sends.
pub const ADD: &str = r#"{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}"#;

/// The Lua script that makes `wrk` POST [`ADD`].
pub fn script() -> String {
    format!(
        "wrk.method = \"POST\"\nwrk.body = '{ADD}'\nwrk.headers[\"Content-Type\"] = \"application/json\"\n"
    )
}

/// POSTs [`ADD`] once to `addr` and checks the reply is `200` with the
/// result 3 (`wrk` counts statuses only, so the answer is checked here).
pub fn check(addr: &str) -> Result<(), String> {
    let mut stream = TcpStream::connect(addr).map_err(|err| format!("{addr}: {err}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|err| err.to_string())?;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{ADD}",
        ADD.len()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|err| err.to_string())?;
    let mut reply = String::new();
    stream
        .read_to_string(&mut reply)
        .map_err(|err| err.to_string())?;
    let body = reply.split_once("\r\n\r\n").map_or("", |(_, body)| body);
    let answered = serde_json::from_str::<serde_json::Value>(body)
        .is_ok_and(|value| value["result"] == 3 && value["id"] == 1);
    if reply.starts_with("HTTP/1.1 200") && answered {
        Ok(())
    } else {
        Err(format!("add(1, 2) over HTTP was answered {reply:?}"))
    }
}

/// Reads what `wrk --latency` printed: requests per second and the 50th
/// and 99th percentiles. Fails on any socket error or non-2xx answer.
pub fn parse(output: &str) -> Result<Measured, String> {
    if let Some(line) = output.lines().find(|line| line.contains("Non-2xx")) {
        return Err(format!("wrk: {}", line.trim()));
    }
    if let Some(line) = output.lines().find(|line| line.contains("Socket errors")) {
        return Err(format!("wrk: {}", line.trim()));
    }
    let field = |prefix: &str| {
        output
            .lines()
            .map(str::trim)
            .find_map(|line| line.strip_prefix(prefix))
            .map(str::trim)
            .ok_or_else(|| format!("wrk printed no {prefix:?}:\n{output}"))
    };
    let per_second: f64 = field("Requests/sec:")?
        .parse()
        .map_err(|_| format!("wrk's rate is not a number:\n{output}"))?;
    let p50_us = micros(field("50%")?)?;
    let p99_us = micros(field("99%")?)?;
    // "123456 requests in 5.00s, 12.34MB read"
    let (requests, seconds) = output
        .lines()
        .find_map(|line| {
            let (requests, rest) = line.trim().split_once(" requests in ")?;
            let seconds = rest.split_once(',')?.0;
            Some((requests.parse().ok()?, micros(seconds).ok()? / 1e6))
        })
        .ok_or_else(|| format!("wrk printed no request count:\n{output}"))?;
    Ok(Measured {
        round_trips: requests,
        seconds,
        per_second,
        p50_us,
        p99_us,
        // wrk reports no 99.9th percentile.
        p999_us: f64::NAN,
    })
}

/// `wrk`'s durations ("812.00us", "1.23ms", "5.00s") in microseconds.
fn micros(value: &str) -> Result<f64, String> {
    let split = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (number, unit) = value.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("not a duration: {value:?}"))?;
    let scale = match unit {
        "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        "m" => 60e6,
        _ => return Err(format!("not a duration: {value:?}")),
    };
    Ok(number * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PRINTED: &str = "Running 5s test @ http://127.0.0.1:40000/
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.02ms  210.31us   9.87ms   91.00%
    Req/Sec    49.12k     1.20k   51.00k    80.00%
  Latency Distribution
     50%  812.00us
     75%    1.10ms
     90%    1.30ms
     99%    2.05ms
  244409 requests in 5.00s, 35.89MB read
Requests/sec:  48873.42
Transfer/sec:      7.18MB
";

    #[test]
    fn reads_the_rate_and_the_percentiles() {
        let measured = parse(PRINTED).expect("parsed");
        assert_eq!(measured.round_trips, 244_409);
        assert!((measured.seconds - 5.0).abs() < 1e-9);
        assert!((measured.per_second - 48_873.42).abs() < 1e-6);
        assert!((measured.p50_us - 812.0).abs() < 1e-9);
        assert!((measured.p99_us - 2_050.0).abs() < 1e-9);
    }

    #[test]
    fn errors_fail_the_run() {
        let refused = PRINTED.replace(
            "Requests/sec",
            "  Non-2xx or 3xx responses: 12\nRequests/sec",
        );
        assert!(parse(&refused).unwrap_err().contains("Non-2xx"));
        let broken = PRINTED.replace(
            "Requests/sec",
            "  Socket errors: connect 0, read 3, write 0, timeout 0\nRequests/sec",
        );
        assert!(parse(&broken).unwrap_err().contains("Socket errors"));
        assert!(parse("nothing").is_err());
    }
}
