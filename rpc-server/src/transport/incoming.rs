//! What is arriving on a WebSocket, watched under tungstenite: where each
//! frame starts and ends, so that a message being received has a start
//! time (for its deadline) and the memory its frames will take is reserved
//! from the server-wide budget before their bytes are handed up.
//!
//! tungstenite buffers a message until it is complete; a client that sends
//! all but the last byte of large messages would otherwise hold that memory
//! for as long as it likes, on as many connections as it can open.
//!
//! Large single-frame messages do not go up at all: the watch diverts them
//! (see [`super::diverted`]), so that tungstenite's read buffer never grows
//! to their size.

use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::io::ReadBuf;
use tokio::sync::Semaphore;
use tokio::time::Sleep;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_util::sync::PollSemaphore;

use super::diverted::Diverted;

/// The bytes of unfinished incoming messages the whole server may hold
/// (`ServerConfig::max_incoming_bytes`): one permit a byte.
#[derive(Debug, Clone)]
pub(crate) struct IncomingBudget {
    permits: Arc<Semaphore>,
    total: usize,
}

impl IncomingBudget {
    pub(crate) fn new(total: usize) -> Self {
        let total = total.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            permits: Arc::new(Semaphore::new(total)),
            total,
        }
    }

    /// What a message of `len` bytes takes: all of it, or the whole budget
    /// for one larger than that (which then goes through alone).
    pub(crate) fn share(&self, len: u64) -> u32 {
        let len = usize::try_from(len).unwrap_or(usize::MAX).min(self.total);
        u32::try_from(len).unwrap_or(u32::MAX)
    }

    /// The semaphore, for waiting on it.
    pub(crate) fn semaphore(&self) -> Arc<Semaphore> {
        Arc::clone(&self.permits)
    }

    /// Bytes not reserved by anyone.
    #[cfg(test)]
    pub(crate) fn available(&self) -> usize {
        self.permits.available_permits()
    }
}

/// What every connection's watch follows: the server's budget, the frame
/// cap and the message timeout.
#[derive(Debug)]
pub(crate) struct WatchRules {
    pub(crate) budget: IncomingBudget,
    /// Frames larger than this are tungstenite's to refuse (1009): never
    /// reserved for.
    pub(crate) max_frame: u64,
    /// How long a message may take (`message_timeout`).
    pub(crate) timeout: Option<Duration>,
    /// Single-frame messages larger than this are diverted; tungstenite
    /// gets the rest.
    pub(crate) divert_above: u64,
}

impl WatchRules {
    pub(crate) fn new(config: &crate::config::ServerConfig) -> Self {
        Self {
            budget: IncomingBudget::new(config.max_incoming_bytes),
            max_frame: u64::try_from(config.max_frame_size).unwrap_or(u64::MAX),
            timeout: config.message_timeout,
            // Larger frames would grow tungstenite's read buffer.
            divert_above: (tungstenite_read_buffer(config) - MAX_HEADER) as u64,
        }
    }
}

/// tungstenite's own read buffer, held for the connection's whole life:
/// small, since the read-ahead under it makes the large reads, and the
/// frames that would not fit are diverted. 512 bytes rather than the 2 KiB
/// it was before frames were diverted: 1.5 KiB less per connection, for
/// 1–2% more instructions per pipelined call or batch (tungstenite reads
/// at most its buffer's size at a time), measured with
/// `bench/callgrind.sh`.
pub(crate) fn tungstenite_read_buffer(config: &crate::config::ServerConfig) -> usize {
    (512).min(config.read_buffer_size).max(MAX_HEADER + 1)
}

/// Where the incoming byte stream of one connection stands. Small: every
/// connection holds one for its life.
pub(crate) struct FrameWatch {
    /// The current frame's header, while it is incomplete: held back until
    /// it is whole, to decide whether the frame is diverted.
    header: [u8; MAX_HEADER],
    header_len: u8,
    /// A whole header going up, and how much of it already went.
    going_up: [u8; MAX_HEADER],
    going_up_len: u8,
    went_up: u8,
    /// Whether the current frame belongs to a data message (text, binary,
    /// continuation), and whether it is the message's last.
    data: bool,
    fin: bool,
    /// Payload bytes of the current frame still to come.
    payload_left: u64,
    /// Payload bytes to reserve for before they may be handed up.
    to_reserve: u64,
    /// Bytes reserved for the message being received, returned when it
    /// completes or the connection ends.
    reserved: usize,
    message_started: Option<Instant>,
    rules: Arc<WatchRules>,
    /// Made when first needed, for a message that spans reads (they
    /// allocate), and dropped with it.
    slow: Option<Box<Slow>>,
    /// The large message being diverted, until the connection takes it.
    diverted: Option<Box<Diverted>>,
    /// A close frame went up: what follows is tungstenite's to handle.
    closing: bool,
}

/// The timer of a message under way, and the wait for room in the budget.
#[derive(Default)]
struct Slow {
    deadline: Option<(Instant, Pin<Box<Sleep>>)>,
    waiting: Option<PollSemaphore>,
}

/// 2 bytes, 8 of extended length, 4 of mask.
const MAX_HEADER: usize = 14;

/// A message of one frame up to this size is not counted: it costs no
/// more than a connection's read-ahead, and so the calls of ordinary
/// clients never wait for the budget, however full large messages keep it.
/// Larger frames, and every frame of a fragmented message, are counted.
pub(crate) const UNCOUNTED_MESSAGE: u64 = 64 * 1024;

impl FrameWatch {
    pub(crate) fn new(rules: Arc<WatchRules>) -> Self {
        Self {
            header: [0; MAX_HEADER],
            header_len: 0,
            going_up: [0; MAX_HEADER],
            going_up_len: 0,
            went_up: 0,
            data: false,
            fin: false,
            payload_left: 0,
            to_reserve: 0,
            reserved: 0,
            message_started: None,
            rules,
            slow: None,
            diverted: None,
            closing: false,
        }
    }

    /// When the data message being received started arriving; `None`
    /// between messages.
    #[cfg(test)]
    pub(crate) fn message_started(&self) -> Option<Instant> {
        self.message_started
    }

    /// Whether the message under way has run past its deadline; arms the
    /// timer (to wake the task then) the first time it is asked.
    pub(crate) fn poll_overdue(&mut self, cx: &mut Context<'_>) -> bool {
        let (Some(started), Some(timeout)) = (self.message_started, self.rules.timeout) else {
            return false;
        };
        let due = started + timeout;
        let slow = self.slow.get_or_insert_with(Box::default);
        let (_, sleep) = match &mut slow.deadline {
            Some((armed, sleep)) if *armed == due => (armed, sleep),
            Some((armed, sleep)) => {
                sleep.as_mut().reset(due.into());
                *armed = due;
                (armed, sleep)
            }
            None => {
                let sleep = Box::pin(tokio::time::sleep_until(due.into()));
                let (armed, sleep) = slow.deadline.insert((due, sleep));
                (armed, sleep)
            }
        };
        sleep.as_mut().poll(cx).is_ready()
    }

    /// Moves what may go up of `input` (the next bytes on the stream) into
    /// `out`, and returns how many bytes of `input` it took. It stops
    /// before a frame's payload that the budget has no room for yet (the
    /// task is then woken when it has), and once a diverted message is
    /// whole (until [`Self::take_message`]). Headers go up whole; a
    /// diverted frame's header and payload do not go up at all.
    pub(crate) fn transfer(
        &mut self,
        cx: &mut Context<'_>,
        input: &[u8],
        out: &mut ReadBuf<'_>,
    ) -> usize {
        let mut taken = 0;
        // `input[run..taken]` goes up as it is, in one copy, once the run
        // ends.
        let mut run = 0;
        loop {
            if self.went_up < self.going_up_len {
                // (Held back only where the run was ended.)
                debug_assert_eq!(run, taken);
                let header =
                    &self.going_up[usize::from(self.went_up)..usize::from(self.going_up_len)];
                let n = header.len().min(out.remaining());
                if n == 0 {
                    break;
                }
                out.put_slice(&header[..n]);
                self.went_up += u8::try_from(n).unwrap_or(u8::MAX);
                continue;
            }
            if self.has_message() || taken == input.len() {
                break;
            }
            if self.to_reserve > 0 && !self.reserve(cx) {
                break;
            }
            let rest = &input[taken..];
            let room = out.remaining() - (taken - run);
            if self.payload_left > 0 {
                let n = usize::try_from(self.payload_left)
                    .unwrap_or(usize::MAX)
                    .min(rest.len());
                let n = match &mut self.diverted {
                    Some(diverted) => {
                        out.put_slice(&input[run..taken]);
                        diverted.fill(&rest[..n]);
                        run = taken + n;
                        n
                    }
                    None if room == 0 => break,
                    None => n.min(room),
                };
                taken += n;
                self.payload_left -= n as u64;
                if self.payload_left == 0 {
                    self.frame_done();
                }
                continue;
            }
            // A header whole in the input (the usual case) is read in one
            // go; one cut by the end of a read is gathered byte by byte.
            if self.header_len == 0 {
                if let Some(header) = parse_header(rest) {
                    let goes_up = self.frame_started(&header);
                    if !goes_up || room < header.size {
                        out.put_slice(&input[run..taken]);
                        if goes_up {
                            self.going_up[..header.size].copy_from_slice(&rest[..header.size]);
                            self.going_up_len = header.size as u8;
                            self.went_up = 0;
                        }
                        run = taken + header.size;
                    }
                    taken += header.size;
                    continue;
                }
            }
            out.put_slice(&input[run..taken]);
            self.header[usize::from(self.header_len)] = rest[0];
            self.header_len += 1;
            taken += 1;
            run = taken;
            if let Some(header) = parse_header(&self.header[..usize::from(self.header_len)]) {
                self.header_len = 0;
                if self.frame_started(&header) {
                    self.going_up[..header.size].copy_from_slice(&self.header[..header.size]);
                    self.going_up_len = header.size as u8;
                    self.went_up = 0;
                }
            }
        }
        out.put_slice(&input[run..taken]);
        taken
    }

    /// Whether a diverted message is whole and waiting to be taken.
    pub(crate) fn has_message(&self) -> bool {
        self.diverted
            .as_ref()
            .is_some_and(|diverted| diverted.is_complete())
    }

    /// The diverted message, once whole: the next message on the stream.
    pub(crate) fn take_message(&mut self) -> Option<Result<Message, WsError>> {
        if !self.has_message() {
            return None;
        }
        self.diverted.take().map(|diverted| diverted.into_message())
    }

    /// Takes note of a frame's header; true if it goes up (false: the
    /// frame is diverted).
    fn frame_started(&mut self, header: &Header) -> bool {
        self.data = header.opcode < 0x8;
        self.fin = header.fin;
        self.payload_left = header.len;
        self.closing |= header.opcode == CLOSE;
        let key = self.divertible(header);
        if let Some(key) = key {
            let len = usize::try_from(header.len).unwrap_or(usize::MAX);
            self.diverted = Some(Box::new(Diverted::new(header.opcode, len, key)));
        }
        if self.data {
            let whole_message = header.fin && self.message_started.is_none();
            self.message_started.get_or_insert_with(Instant::now);
            let small = whole_message && header.len <= UNCOUNTED_MESSAGE;
            if !small && header.len <= self.rules.max_frame {
                self.to_reserve = header.len;
            }
        }
        if header.len == 0 {
            self.frame_done();
        }
        key.is_none()
    }

    /// The mask key of a frame to divert: a whole large text or binary
    /// message, well formed. Anything tungstenite would refuse (too large,
    /// unmasked, reserved bits, a new message inside a fragmented one) and
    /// anything after a close frame goes up to it.
    fn divertible(&self, header: &Header) -> Option<[u8; 4]> {
        let whole = header.fin && self.message_started.is_none();
        let data = matches!(header.opcode, 0x1 | 0x2) && header.rsv == 0;
        let size = header.len > self.rules.divert_above && header.len <= self.rules.max_frame;
        if whole && data && size && !self.closing {
            header.mask
        } else {
            None
        }
    }

    fn frame_done(&mut self) {
        if self.data && self.fin {
            self.release();
            self.message_started = None;
            // An idle connection holds no timer. (Nothing is being waited
            // for: the whole message went up.)
            self.slow = None;
        }
    }

    /// Reserves the current frame's payload; false (and the task woken
    /// later) while the budget has no room.
    fn reserve(&mut self, cx: &mut Context<'_>) -> bool {
        let budget = &self.rules.budget;
        let share = budget.share(self.to_reserve);
        let waiting = self.slow.as_mut().and_then(|slow| slow.waiting.as_mut());
        let permit = match waiting {
            Some(waiting) => waiting.poll_acquire_many(cx, share),
            // Nobody waiting here: most frames find room at once.
            None => match Arc::clone(&budget.permits).try_acquire_many_owned(share) {
                Ok(permit) => Poll::Ready(Some(permit)),
                Err(_) => {
                    let slow = self.slow.get_or_insert_with(Box::default);
                    let waiting = slow.waiting.insert(PollSemaphore::new(budget.semaphore()));
                    waiting.poll_acquire_many(cx, share)
                }
            },
        };
        match permit {
            Poll::Ready(Some(permit)) => {
                permit.forget();
                self.reserved += share as usize;
                self.to_reserve = 0;
                true
            }
            // Closed: never, the semaphore is ours.
            Poll::Ready(None) => {
                self.to_reserve = 0;
                true
            }
            Poll::Pending => false,
        }
    }

    fn release(&mut self) {
        if self.reserved > 0 {
            self.rules.budget.permits.add_permits(self.reserved);
            self.reserved = 0;
        }
    }
}

impl Drop for FrameWatch {
    fn drop(&mut self) {
        self.release();
    }
}

impl std::fmt::Debug for FrameWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameWatch")
            .field("payload_left", &self.payload_left)
            .field("reserved", &self.reserved)
            .field("message_started", &self.message_started)
            .finish_non_exhaustive()
    }
}

struct Header {
    fin: bool,
    /// The three reserved bits: no extension is negotiated, so any set is
    /// an error (tungstenite's to report).
    rsv: u8,
    opcode: u8,
    mask: Option<[u8; 4]>,
    len: u64,
    /// The header's own length, in bytes.
    size: usize,
}

/// A close frame's opcode.
const CLOSE: u8 = 0x8;

/// A frame header (RFC 6455, 5.2), once `bytes` hold all of it.
fn parse_header(bytes: &[u8]) -> Option<Header> {
    let [first, second, rest @ ..] = bytes else {
        return None;
    };
    let masked = second & 0x80 != 0;
    let (len_bytes, short) = match second & 0x7f {
        126 => (2, None),
        127 => (8, None),
        short => (0, Some(u64::from(short))),
    };
    let needed = len_bytes + if masked { 4 } else { 0 };
    if rest.len() < needed {
        return None;
    }
    let len = short.unwrap_or_else(|| {
        rest[..len_bytes]
            .iter()
            .fold(0u64, |len, byte| (len << 8) | u64::from(*byte))
    });
    let mask = masked.then(|| {
        let key = &rest[len_bytes..len_bytes + 4];
        [key[0], key[1], key[2], key[3]]
    });
    Some(Header {
        fin: first & 0x80 != 0,
        rsv: (first >> 4) & 0x7,
        opcode: first & 0x0f,
        mask,
        len,
        size: 2 + needed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::task::noop_waker_ref;

    /// A masked client frame: `opcode` with `fin`, carrying `payload`.
    fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut bytes = vec![u8::from(fin) << 7 | opcode];
        match payload.len() {
            len @ 0..=125 => bytes.push(0x80 | len as u8),
            len @ 126..=0xffff => {
                bytes.push(0x80 | 126);
                bytes.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                bytes.push(0x80 | 127);
                bytes.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        let key = [1, 2, 3, 4];
        bytes.extend_from_slice(&key);
        bytes.extend(
            payload
                .iter()
                .zip(key.iter().cycle())
                .map(|(byte, mask)| byte ^ mask),
        );
        bytes
    }

    fn watching(budget: &IncomingBudget, max_frame: u64) -> FrameWatch {
        FrameWatch::new(Arc::new(WatchRules {
            budget: budget.clone(),
            max_frame,
            timeout: None,
            divert_above: u64::MAX,
        }))
    }

    /// How many of `bytes` the watch takes, with room for all of them (and
    /// a header held back from before).
    fn pass(watch: &mut FrameWatch, bytes: &[u8]) -> usize {
        let mut room = vec![0; bytes.len() + MAX_HEADER];
        watch.transfer(&mut cx(), bytes, &mut ReadBuf::new(&mut room))
    }

    fn cx() -> Context<'static> {
        Context::from_waker(noop_waker_ref())
    }

    #[test]
    fn a_message_holds_its_share_until_its_last_frame_is_in() {
        let budget = IncomingBudget::new(100_000);
        let mut watch = watching(&budget, 1 << 20);
        let first = frame(false, 0x1, &[b'a'; 70_000]);
        // Byte by byte through the header, then the payload in pieces.
        for byte in &first[..14] {
            assert_eq!(pass(&mut watch, std::slice::from_ref(byte)), 1);
        }
        assert!(watch.message_started().is_some());
        assert_eq!(budget.available(), 100_000, "nothing read yet");
        // The whole frame is reserved before its first payload byte goes up.
        assert_eq!(pass(&mut watch, &first[14..15]), 1);
        assert_eq!(budget.available(), 30_000);
        assert_eq!(pass(&mut watch, &first[15..]), first.len() - 15);
        // A ping in the middle changes nothing.
        let ping = frame(true, 0x9, b"hi");
        assert_eq!(pass(&mut watch, &ping), ping.len());
        assert!(watch.message_started().is_some());
        // The last frame needs 40,000 more than the 30,000 left: its header
        // passes, its payload waits.
        let last = frame(true, 0x0, &[b'b'; 40_000]);
        let header = last.len() - 40_000;
        assert_eq!(pass(&mut watch, &last), header);
        assert_eq!(pass(&mut watch, &last[header..]), 0);
        // Another connection finishing its message makes room.
        budget.permits.add_permits(10_000);
        assert_eq!(pass(&mut watch, &last[header..]), 40_000);
        assert_eq!(watch.message_started(), None);
        assert_eq!(budget.available(), 110_000, "all of it given back");
    }

    #[test]
    fn small_messages_pass_even_with_the_budget_spent_and_dropping_gives_back() {
        let budget = IncomingBudget::new(100_000);
        let mut watch = watching(&budget, 1 << 20);
        let large = frame(true, 0x2, &[0; 100_000]);
        assert_eq!(pass(&mut watch, &large[..20]), 20);
        assert_eq!(budget.available(), 0);

        let mut other = watching(&budget, 1 << 20);
        let mut calls = Vec::new();
        for i in 0..50u8 {
            calls.extend(frame(true, 0x1, &[i; 100]));
        }
        assert_eq!(pass(&mut other, &calls), calls.len());
        // A fragmented message counts from its first frame.
        let fragment = frame(false, 0x1, &[0; 100]);
        assert_eq!(pass(&mut other, &fragment), fragment.len() - 100);

        // The large message's connection closes: the waiting fragment gets
        // its share, and the rest is free again.
        drop(watch);
        assert_eq!(budget.available(), 99_900);
        drop(other);
        assert_eq!(budget.available(), 100_000);
    }

    #[test]
    fn a_frame_past_the_cap_is_not_reserved_for() {
        let budget = IncomingBudget::new(100_000);
        let mut watch = watching(&budget, 70_000);
        let huge = frame(true, 0x2, &[0; 80_000]);
        assert_eq!(pass(&mut watch, &huge[..100]), 100);
        assert_eq!(
            budget.available(),
            100_000,
            "tungstenite refuses it with 1009"
        );
    }

    fn diverting_above(divert_above: u64) -> FrameWatch {
        FrameWatch::new(Arc::new(WatchRules {
            budget: IncomingBudget::new(1 << 20),
            max_frame: 100_000,
            timeout: None,
            divert_above,
        }))
    }

    /// Hands `bytes` through the watch in reads of `read` bytes into room
    /// of `room` bytes at a time, as tungstenite would ask: what went up,
    /// and the messages diverted, in the order they came (text that is not
    /// UTF-8 as an empty binary message, a stand-in for the error).
    fn stream(
        watch: &mut FrameWatch,
        bytes: &[u8],
        read: usize,
        room: usize,
    ) -> (Vec<u8>, Vec<Message>) {
        let (mut up, mut diverted) = (Vec::new(), Vec::new());
        let mut at = 0;
        let mut pending: &[u8] = &[];
        loop {
            if pending.is_empty() && at < bytes.len() {
                let end = (at + read).min(bytes.len());
                pending = &bytes[at..end];
                at = end;
            }
            let mut space = vec![0; room];
            let mut out = ReadBuf::new(&mut space);
            let taken = watch.transfer(&mut cx(), pending, &mut out);
            pending = &pending[taken..];
            up.extend_from_slice(out.filled());
            if let Some(message) = watch.take_message() {
                diverted.push(message.unwrap_or_else(|_| Message::Binary(Vec::new().into())));
            } else if out.filled().is_empty() && pending.is_empty() && at == bytes.len() {
                return (up, diverted);
            }
        }
    }

    #[test]
    fn a_large_message_of_one_frame_is_diverted_and_the_rest_goes_up_intact() {
        let large: Vec<u8> = (0..5000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let mut wire = frame(true, 0x1, b"small before");
        wire.extend(frame(true, 0x1, &large));
        let after = frame(true, 0x2, &[9; 300]);
        wire.extend(&after);
        for (read, room) in [(wire.len(), wire.len()), (1, 1), (7, 3), (1000, 2048)] {
            let mut watch = diverting_above(1000);
            let (up, diverted) = stream(&mut watch, &wire, read, room);
            let mut expected = frame(true, 0x1, b"small before");
            expected.extend(&after);
            assert_eq!(up, expected, "reads of {read}, room {room}");
            assert_eq!(
                diverted,
                [Message::Text(
                    String::from_utf8(large.clone()).unwrap().into()
                )]
            );
            assert_eq!(watch.message_started(), None);
        }
    }

    /// Nothing past a diverted message goes up until it is taken: it is the
    /// next message on the stream.
    #[test]
    fn a_diverted_message_holds_what_follows_until_taken() {
        let mut watch = diverting_above(10);
        let mut wire = frame(true, 0x2, &[1; 50]);
        wire.extend(frame(true, 0x1, b"next"));
        let mut space = vec![0; 100];
        let mut out = ReadBuf::new(&mut space);
        let taken = watch.transfer(&mut cx(), &wire, &mut out);
        assert_eq!(taken, wire.len() - frame(true, 0x1, b"next").len());
        assert!(out.filled().is_empty());
        assert!(watch.has_message());
        assert_eq!(watch.transfer(&mut cx(), &wire[taken..], &mut out), 0);
        assert_eq!(
            watch.take_message().expect("whole").expect("binary"),
            Message::binary(vec![1; 50])
        );
        assert_eq!(
            watch.transfer(&mut cx(), &wire[taken..], &mut out),
            wire.len() - taken
        );
        assert_eq!(out.filled(), &frame(true, 0x1, b"next")[..]);
    }

    /// Whatever tungstenite must see (and refuse, or put together) goes up
    /// byte for byte.
    #[test]
    fn fragments_malformed_frames_and_all_after_a_close_go_up() {
        let big = [b'x'; 500];
        let unmasked = {
            let mut bytes = vec![0x81, 126, 0x01, 0xf4];
            bytes.extend_from_slice(&big);
            bytes
        };
        let mut reserved_bit = frame(true, 0x1, &big);
        reserved_bit[0] |= 0x40;
        let cases: [(&str, Vec<u8>); 6] = [
            (
                "fragments",
                [frame(false, 0x1, &big), frame(true, 0x0, &big)].concat(),
            ),
            ("unmasked", unmasked),
            ("reserved bit", reserved_bit),
            ("past the frame cap", frame(true, 0x2, &vec![0; 100_001])),
            (
                "after a close",
                [frame(true, 0x8, &[3, 232]), frame(true, 0x1, &big)].concat(),
            ),
            ("a ping", frame(true, 0x9, &[0; 100])),
        ];
        for (what, wire) in cases {
            let mut watch = diverting_above(50);
            let (up, diverted) = stream(&mut watch, &wire, 64, 64);
            assert_eq!(up, wire, "{what}");
            assert!(diverted.is_empty(), "{what}");
        }
    }

    mod model {
        use super::super::*;
        use super::{frame, stream};
        use proptest::prelude::*;

        /// A frame as a client might send it, well formed or not.
        #[derive(Debug, Clone)]
        struct Sent {
            fin: bool,
            opcode: u8,
            masked: bool,
            rsv: bool,
            payload: Vec<u8>,
        }

        impl Sent {
            fn bytes(&self) -> Vec<u8> {
                let mut bytes = frame(self.fin, self.opcode, &self.payload);
                if self.rsv {
                    bytes[0] |= 0x40;
                }
                if !self.masked {
                    // The same header without its mask bit and key, and
                    // the payload as it is.
                    let key_at = bytes.len() - self.payload.len() - 4;
                    bytes[1] &= 0x7f;
                    bytes.truncate(key_at);
                    bytes.extend_from_slice(&self.payload);
                }
                bytes
            }
        }

        fn sent() -> impl Strategy<Value = Sent> {
            let opcode =
                prop_oneof![4 => 0x1u8..=0x2, 2 => Just(0x0u8), 1 => Just(0x8u8), 1 => Just(0x9u8)];
            let size = prop_oneof![3 => 0usize..200, 2 => 900usize..1200, 1 => 60_000usize..70_000];
            (
                any::<bool>(),
                opcode,
                prop::bool::weighted(0.9),
                prop::bool::weighted(0.05),
                size,
            )
                .prop_map(|(fin, opcode, masked, rsv, size)| Sent {
                    fin,
                    opcode,
                    masked,
                    rsv,
                    payload: (0..size).map(|i| (i % 251) as u8).collect(),
                })
        }

        /// What should go up, and what should be diverted, by the rules
        /// (`FrameWatch::divertible`): the stream as it was sent, less the
        /// frames diverted.
        fn expected(frames: &[Sent], divert_above: usize) -> (Vec<u8>, Vec<Message>) {
            let (mut up, mut diverted) = (Vec::new(), Vec::new());
            let (mut in_message, mut closing) = (false, false);
            for sent in frames {
                let data = sent.opcode < 0x8;
                let whole = sent.fin && !in_message;
                if whole
                    && matches!(sent.opcode, 0x1 | 0x2)
                    && sent.masked
                    && !sent.rsv
                    && !closing
                    && sent.payload.len() > divert_above
                {
                    diverted.push(match sent.opcode {
                        0x1 => match String::from_utf8(sent.payload.clone()) {
                            Ok(text) => Message::Text(text.into()),
                            Err(_) => Message::Binary(Vec::new().into()),
                        },
                        _ => Message::Binary(sent.payload.clone().into()),
                    });
                } else {
                    up.extend(sent.bytes());
                }
                if data {
                    in_message = !sent.fin;
                }
                closing |= sent.opcode == 0x8;
            }
            (up, diverted)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(200))]

            /// However the stream is cut into reads, and however little
            /// room each read has, what goes up and what is diverted is
            /// what the rules say, byte for byte and in order.
            #[test]
            fn the_watch_keeps_the_stream_whole(
                frames in prop::collection::vec(sent(), 1..12),
                read in 1usize..5000,
                room in 1usize..3000,
            ) {
                let divert_above = 1000;
                let wire: Vec<u8> = frames.iter().flat_map(Sent::bytes).collect();
                let mut watch = FrameWatch::new(Arc::new(WatchRules {
                    budget: IncomingBudget::new(1 << 30),
                    max_frame: 1 << 20,
                    timeout: None,
                    divert_above: divert_above as u64,
                }));
                let (up, diverted) = stream(&mut watch, &wire, read, room);
                let (expected_up, expected_diverted) = expected(&frames, divert_above);
                prop_assert_eq!(up, expected_up);
                prop_assert_eq!(diverted, expected_diverted);
            }
        }
    }
}
