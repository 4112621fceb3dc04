//! What is arriving on a WebSocket, watched under tungstenite: where each
//! frame starts and ends, so that a message being received has a start
//! time (for its deadline) and the memory its frames will take is reserved
//! from the server-wide budget before their bytes are handed up.
//!
//! tungstenite buffers a message until it is complete; a client that sends
//! all but the last byte of large messages would otherwise hold that memory
//! for as long as it likes, on as many connections as it can open.

use std::future::Future as _;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::Semaphore;
use tokio::time::Sleep;
use tokio_util::sync::PollSemaphore;

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
}

impl WatchRules {
    pub(crate) fn new(config: &crate::config::ServerConfig) -> Self {
        Self {
            budget: IncomingBudget::new(config.max_incoming_bytes),
            max_frame: u64::try_from(config.max_frame_size).unwrap_or(u64::MAX),
            timeout: config.message_timeout,
        }
    }
}

/// Where the incoming byte stream of one connection stands. Small: every
/// connection holds one for its life.
pub(crate) struct FrameWatch {
    /// The current frame's header, while it is incomplete.
    header: [u8; MAX_HEADER],
    header_len: u8,
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
            data: false,
            fin: false,
            payload_left: 0,
            to_reserve: 0,
            reserved: 0,
            message_started: None,
            rules,
            slow: None,
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

    /// How many of `bytes` (the next on the stream) may be handed up now:
    /// all, or those before a frame's payload that the budget has no room
    /// for yet (then the task is woken when it has).
    pub(crate) fn pass(&mut self, cx: &mut Context<'_>, bytes: &[u8]) -> usize {
        let mut passed = 0;
        while passed < bytes.len() {
            if self.to_reserve > 0 && !self.reserve(cx) {
                break;
            }
            if self.payload_left > 0 {
                let rest = u64::try_from(bytes.len() - passed).unwrap_or(u64::MAX);
                let n = self.payload_left.min(rest);
                self.payload_left -= n;
                passed += usize::try_from(n).unwrap_or(usize::MAX);
                if self.payload_left == 0 {
                    self.frame_done();
                }
                continue;
            }
            self.header[usize::from(self.header_len)] = bytes[passed];
            self.header_len += 1;
            passed += 1;
            if let Some(header) = parse_header(&self.header[..usize::from(self.header_len)]) {
                self.header_len = 0;
                self.frame_started(header);
            }
        }
        passed
    }

    fn frame_started(&mut self, header: Header) {
        self.data = header.opcode < 0x8;
        self.fin = header.fin;
        self.payload_left = header.len;
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
    opcode: u8,
    len: u64,
}

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
    Some(Header {
        fin: first & 0x80 != 0,
        opcode: first & 0x0f,
        len,
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
        bytes.extend_from_slice(&[1, 2, 3, 4]);
        bytes.extend_from_slice(payload);
        bytes
    }

    fn watching(budget: &IncomingBudget, max_frame: u64) -> FrameWatch {
        FrameWatch::new(Arc::new(WatchRules {
            budget: budget.clone(),
            max_frame,
            timeout: None,
        }))
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
            assert_eq!(watch.pass(&mut cx(), std::slice::from_ref(byte)), 1);
        }
        assert!(watch.message_started().is_some());
        assert_eq!(budget.available(), 100_000, "nothing read yet");
        // The whole frame is reserved before its first payload byte goes up.
        assert_eq!(watch.pass(&mut cx(), &first[14..15]), 1);
        assert_eq!(budget.available(), 30_000);
        assert_eq!(watch.pass(&mut cx(), &first[15..]), first.len() - 15);
        // A ping in the middle changes nothing.
        let ping = frame(true, 0x9, b"hi");
        assert_eq!(watch.pass(&mut cx(), &ping), ping.len());
        assert!(watch.message_started().is_some());
        // The last frame needs 40,000 more than the 30,000 left: its header
        // passes, its payload waits.
        let last = frame(true, 0x0, &[b'b'; 40_000]);
        let header = last.len() - 40_000;
        assert_eq!(watch.pass(&mut cx(), &last), header);
        assert_eq!(watch.pass(&mut cx(), &last[header..]), 0);
        // Another connection finishing its message makes room.
        budget.permits.add_permits(10_000);
        assert_eq!(watch.pass(&mut cx(), &last[header..]), 40_000);
        assert_eq!(watch.message_started(), None);
        assert_eq!(budget.available(), 110_000, "all of it given back");
    }

    #[test]
    fn small_messages_pass_even_with_the_budget_spent_and_dropping_gives_back() {
        let budget = IncomingBudget::new(100_000);
        let mut watch = watching(&budget, 1 << 20);
        let large = frame(true, 0x2, &[0; 100_000]);
        assert_eq!(watch.pass(&mut cx(), &large[..20]), 20);
        assert_eq!(budget.available(), 0);

        let mut other = watching(&budget, 1 << 20);
        let mut calls = Vec::new();
        for i in 0..50u8 {
            calls.extend(frame(true, 0x1, &[i; 100]));
        }
        assert_eq!(other.pass(&mut cx(), &calls), calls.len());
        // A fragmented message counts from its first frame.
        let fragment = frame(false, 0x1, &[0; 100]);
        assert_eq!(other.pass(&mut cx(), &fragment), fragment.len() - 100);

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
        assert_eq!(watch.pass(&mut cx(), &huge[..100]), 100);
        assert_eq!(
            budget.available(),
            100_000,
            "tungstenite refuses it with 1009"
        );
    }
}
