//! Bytes in and out of a TCP connection, counted for the metrics: an IO
//! layer under TLS, hyper and tungstenite, so it sees what the wire
//! carries. With metrics off it holds nothing and counts nothing.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use crate::metrics::ByteCounters;

/// `IO`, with what it reads and writes added to `counters` (if any).
pub(crate) struct Counted<IO> {
    io: IO,
    counters: Option<ByteCounters>,
}

impl<IO> Counted<IO> {
    pub(crate) fn new(io: IO, counters: Option<ByteCounters>) -> Self {
        Self { io, counters }
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for Counted<IO> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.io).poll_read(cx, buf);
        if let (Some(counters), Poll::Ready(Ok(()))) = (&self.counters, &polled) {
            counters.received(buf.filled().len() - before);
        }
        polled
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for Counted<IO> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write(cx, buf);
        self.count_sent(&polled);
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.io).poll_write_vectored(cx, bufs);
        self.count_sent(&polled);
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

impl<IO> Counted<IO> {
    fn count_sent(&self, polled: &Poll<io::Result<usize>>) {
        if let (Some(counters), Poll::Ready(Ok(sent))) = (&self.counters, polled) {
            counters.sent(*sent);
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;
    use crate::metrics::Metrics;

    #[tokio::test]
    async fn what_passes_is_counted_both_ways() {
        let metrics = Metrics::new([]);
        let (ours, mut theirs) = tokio::io::duplex(64);
        let mut counted = Counted::new(ours, Some(metrics.bytes()));
        counted.write_all(b"hello").await.unwrap();
        theirs.write_all(b"hi there").await.unwrap();
        let mut read = [0; 8];
        counted.read_exact(&mut read).await.unwrap();
        let text = metrics.encode();
        assert!(text.contains("rpc_bytes_sent_total 5\n"), "{text}");
        assert!(text.contains("rpc_bytes_received_total 8\n"), "{text}");
    }
}
