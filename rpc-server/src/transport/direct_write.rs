//! Large outgoing messages, written straight from the reply instead of
//! through tungstenite.
//!
//! tungstenite copies every frame into a write buffer of its own that
//! grows to the largest frame it ever wrote and never shrinks. A large
//! message is instead framed here and written from its own bytes (no copy,
//! nothing kept after it): the connection hands it over once everything
//! tungstenite holds is flushed, and this layer writes it before any byte
//! tungstenite writes after it (a pong, the next reply, the close frame),
//! so that frames never interleave.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::{Buf as _, Bytes};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::Message;

/// An IO whose writes wait behind the large message being written.
#[derive(Debug)]
pub(crate) struct DirectWrites<IO> {
    io: IO,
    /// Boxed: an idle connection holds only the pointer.
    writing: Option<Box<Frame>>,
}

/// A data frame as it goes out: its header, then its payload.
#[derive(Debug)]
struct Frame {
    header: [u8; MAX_HEADER],
    header_left: std::ops::Range<usize>,
    payload: Bytes,
}

/// 2 bytes, and 8 of extended length (a server's frames are not masked).
const MAX_HEADER: usize = 10;

impl<IO> DirectWrites<IO> {
    pub(crate) fn new(io: IO) -> Self {
        Self { io, writing: None }
    }

    pub(crate) fn get_mut(&mut self) -> &mut IO {
        &mut self.io
    }

    /// Whether nothing is being written: a message may be handed over.
    pub(crate) fn is_idle(&self) -> bool {
        self.writing.is_none()
    }

    /// Takes `message` (text or binary; anything else is handed back) to
    /// be written as one frame before anything else written to this IO. It
    /// goes out as flushes (and writes) drive it. Everything written before
    /// it must have been flushed.
    pub(crate) fn send(&mut self, message: Message) -> Result<(), Message> {
        debug_assert!(self.is_idle());
        let (opcode, payload) = match message {
            Message::Text(text) => (TEXT, Bytes::from(text)),
            Message::Binary(bytes) => (BINARY, bytes),
            other => return Err(other),
        };
        let mut header = [0; MAX_HEADER];
        header[0] = FIN | opcode;
        let len = payload.len();
        let header_len = if len < 126 {
            header[1] = len as u8;
            2
        } else if let Ok(len) = u16::try_from(len) {
            header[1] = 126;
            header[2..4].copy_from_slice(&len.to_be_bytes());
            4
        } else {
            header[1] = 127;
            header[2..10].copy_from_slice(&(len as u64).to_be_bytes());
            10
        };
        self.writing = Some(Box::new(Frame {
            header,
            header_left: 0..header_len,
            payload,
        }));
        Ok(())
    }
}

const FIN: u8 = 0x80;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;

impl<IO: AsyncWrite + Unpin> DirectWrites<IO> {
    /// Writes what is left of the frame being written, if any.
    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(frame) = &mut self.writing {
            let header = &frame.header[frame.header_left.clone()];
            if header.is_empty() && frame.payload.is_empty() {
                self.writing = None;
                break;
            }
            let slices = [IoSlice::new(header), IoSlice::new(&frame.payload)];
            let n = ready!(Pin::new(&mut self.io).poll_write_vectored(cx, &slices))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            let from_header = n.min(header.len());
            frame.header_left.start += from_header;
            frame.payload.advance(n - from_header);
        }
        Poll::Ready(Ok(()))
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for DirectWrites<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for DirectWrites<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_frame(cx))?;
        Pin::new(&mut this.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        ready!(this.poll_frame(cx))?;
        Pin::new(&mut this.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_frame(cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_frame(cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{SinkExt as _, StreamExt as _};
    use tokio_tungstenite::WebSocketStream;
    use tokio_tungstenite::tungstenite::protocol::Role;

    /// A large message written here and small ones written by tungstenite
    /// before and after it reach a real WebSocket reader whole and in
    /// order, through a pipe too narrow to take any of them at once.
    #[tokio::test]
    async fn frames_written_here_and_by_tungstenite_never_interleave() {
        let (server, client) = tokio::io::duplex(1000);
        let mut server =
            WebSocketStream::from_raw_socket(DirectWrites::new(server), Role::Server, None).await;
        let mut client = WebSocketStream::from_raw_socket(client, Role::Client, None).await;
        let large: String = (0..200_000)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let sizes = [10, 125, 126, 65_535, 65_536];
        let reading = tokio::spawn(async move {
            let mut got = Vec::new();
            while got.len() < 4 + sizes.len() {
                got.push(client.next().await.expect("open").expect("a message"));
            }
            got
        });
        server.send(Message::text("before")).await.expect("sent");
        assert!(server.get_mut().is_idle());
        server
            .get_mut()
            .send(Message::text(large.clone()))
            .expect("data");
        server.send(Message::text("after")).await.expect("sent");
        for size in sizes {
            server
                .get_mut()
                .send(Message::binary(vec![7; size]))
                .expect("data");
            server.flush().await.expect("flushed");
        }
        server.send(Message::text("last")).await.expect("sent");
        let got = reading.await.expect("reader");
        assert_eq!(got[0], Message::text("before"));
        assert_eq!(got[1], Message::text(large));
        assert_eq!(got[2], Message::text("after"));
        for (message, size) in got[3..].iter().zip(sizes) {
            assert_eq!(*message, Message::binary(vec![7; size]));
        }
        assert_eq!(got[8], Message::text("last"));
        assert!(server.get_mut().is_idle());
    }

    #[test]
    fn only_data_goes_direct() {
        let (io, _other) = tokio::io::duplex(10);
        let mut direct = DirectWrites::new(io);
        let ping = Message::Ping(Bytes::from_static(b"x"));
        assert_eq!(direct.send(ping.clone()), Err(ping));
        assert!(direct.is_idle());
    }
}
