//! Large reads from the socket into a buffer that exists only while data
//! is flowing.
//!
//! tungstenite reads through a buffer of its own that it allocates once,
//! for the connection's whole life, and never reads more than that buffer's
//! size at a time: a large buffer costs every idle connection its size, a
//! small one costs a system call per few KiB of a large message. Under a
//! small tungstenite buffer this reads up to `chunk` bytes per call, and
//! gives the memory back whenever the socket has nothing more to read.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf as _, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::incoming::FrameWatch;

/// The error a read fails with once a message has taken longer than the
/// message timeout to arrive.
const SLOW_MESSAGE: &str = "the message did not arrive in time";

/// An IO whose reads go through a read-ahead buffer of up to `chunk` bytes.
#[derive(Debug)]
pub(crate) struct ReadAhead<IO> {
    io: IO,
    /// What was read and not yet taken; no allocation while empty and idle.
    buffer: BytesMut,
    chunk: usize,
    /// Frame boundaries and the memory budget, when watched: bytes go up
    /// only as the budget allows.
    watch: Option<FrameWatch>,
}

impl<IO> ReadAhead<IO> {
    pub(crate) fn new(io: IO, chunk: usize) -> Self {
        Self {
            io,
            buffer: BytesMut::new(),
            chunk: chunk.max(1),
            watch: None,
        }
    }

    /// Hands bytes up only as `watch` allows.
    pub(crate) fn watched(mut self, watch: FrameWatch) -> Self {
        self.watch = Some(watch);
        self
    }

    /// The next message, when the watch diverted it (a large one) and it
    /// is whole: it comes before anything still to go up.
    pub(crate) fn take_message(&mut self) -> Option<Result<Message, WsError>> {
        self.watch.as_mut()?.take_message()
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for ReadAhead<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if let Some(watch) = &mut this.watch {
                if watch.poll_overdue(cx) {
                    return Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, SLOW_MESSAGE)));
                }
                // Even with nothing buffered: a header may be waiting to
                // go up whole.
                let before = out.filled().len();
                let taken = watch.transfer(cx, &this.buffer, out);
                this.buffer.advance(taken);
                if out.filled().len() > before {
                    return Poll::Ready(Ok(()));
                }
                if !this.buffer.is_empty() || watch.has_message() {
                    // The budget has no room yet (its semaphore wakes us),
                    // or a diverted message is to be taken first (the
                    // connection does, as soon as this is pending).
                    return Poll::Pending;
                }
            } else if !this.buffer.is_empty() {
                let taken = out.remaining().min(this.buffer.len());
                out.put_slice(&this.buffer[..taken]);
                this.buffer.advance(taken);
                return Poll::Ready(Ok(()));
            } else if out.remaining() >= this.chunk {
                // A read as large as ours needs no buffer in between.
                return Pin::new(&mut this.io).poll_read(cx, out);
            }
            // Reuses the allocation still held, if any.
            this.buffer.clear();
            this.buffer.reserve(this.chunk);
            match tokio_util::io::poll_read_buf(Pin::new(&mut this.io), cx, &mut this.buffer) {
                // The end of the stream goes up as a read of nothing.
                Poll::Ready(Ok(0)) => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err)),
                Poll::Pending => {
                    // Nothing to read: an idle connection holds no buffer.
                    this.buffer = BytesMut::new();
                    return Poll::Pending;
                }
            }
        }
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for ReadAhead<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::FutureExt as _;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    /// Small reads are served from one large read, every byte arrives in
    /// order, and the buffer is released once the socket runs dry.
    #[tokio::test]
    async fn small_reads_see_every_byte_and_idle_holds_nothing() {
        let (client, server) = tokio::io::duplex(1 << 20);
        let mut reader = ReadAhead::new(server, 64 * 1024);
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut writer = client;
        let sent = data.clone();
        let writing = tokio::spawn(async move {
            writer.write_all(&sent).await.expect("written");
            writer
        });
        let mut received = Vec::new();
        let mut small = [0u8; 1000];
        while received.len() < data.len() {
            let n = reader.read(&mut small).await.expect("read");
            assert!(n > 0, "no end of stream before all data");
            received.extend_from_slice(&small[..n]);
        }
        assert_eq!(received, data);
        let _writer = writing.await.expect("writer");
        // Nothing buffered and nothing to read: the next read parks and
        // gives the buffer back.
        let parked = reader.read(&mut small).now_or_never();
        assert!(parked.is_none(), "nothing to read");
        assert_eq!(reader.buffer.capacity(), 0);
    }

    #[tokio::test]
    async fn the_end_of_the_stream_reads_as_zero() {
        let (client, server) = tokio::io::duplex(1024);
        let mut reader = ReadAhead::new(server, 4096);
        let mut writer = client;
        writer.write_all(b"last words").await.expect("written");
        drop(writer);
        let mut text = String::new();
        reader.read_to_string(&mut text).await.expect("read");
        assert_eq!(text, "last words");
    }

    #[tokio::test]
    async fn the_end_of_the_stream_reads_as_zero_when_watched() {
        use crate::transport::incoming::{FrameWatch, IncomingBudget, WatchRules};
        let (client, server) = tokio::io::duplex(1024);
        let rules = WatchRules {
            budget: IncomingBudget::new(1 << 20),
            max_frame: 1 << 20,
            timeout: None,
            divert_above: 1 << 20,
        };
        let watch = FrameWatch::new(std::sync::Arc::new(rules));
        let mut reader = ReadAhead::new(server, 4096).watched(watch);
        let mut writer = client;
        writer.write_all(b"last words").await.expect("written");
        drop(writer);
        let mut text = String::new();
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            reader.read_to_string(&mut text),
        );
        read.await.expect("the end, not a hang").expect("read");
        assert_eq!(text, "last words");
    }
}
