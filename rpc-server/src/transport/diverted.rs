//! Large incoming messages, received beside tungstenite instead of
//! through it.
//!
//! tungstenite reads each frame into a buffer of its own that grows to the
//! largest frame the connection ever received and never shrinks: one
//! 64 KiB call would leave the connection holding 64 KiB for its life. So
//! a message of one large frame is taken off the stream below tungstenite
//! (the frame watch sees its header first), gathered into a buffer of
//! exactly its size, unmasked, and handed to the connection as the message
//! tungstenite would have made; its memory goes when the call is done with
//! it.

use bytes::{Bytes, BytesMut};
use tokio_tungstenite::tungstenite::{Error as WsError, Message, Utf8Bytes};

/// A text frame's opcode (RFC 6455, 5.2); anything else diverted is binary.
const TEXT: u8 = 0x1;

/// One large single-frame message, as its payload arrives.
#[derive(Debug)]
pub(crate) struct Diverted {
    text: bool,
    key: [u8; 4],
    payload: BytesMut,
    len: usize,
}

impl Diverted {
    /// A frame of `opcode` (text or binary) carrying `len` bytes masked
    /// with `key`.
    pub(crate) fn new(opcode: u8, len: usize, key: [u8; 4]) -> Self {
        Self {
            text: opcode == TEXT,
            key,
            payload: BytesMut::with_capacity(len),
            len,
        }
    }

    /// Takes the next bytes of the payload (never more than is left of it),
    /// unmasked.
    pub(crate) fn fill(&mut self, bytes: &[u8]) {
        debug_assert!(self.payload.len() + bytes.len() <= self.len);
        let start = self.payload.len();
        self.payload.extend_from_slice(bytes);
        // The key applies from the payload's first byte on.
        let mut key = self.key;
        key.rotate_left(start % 4);
        unmask(&mut self.payload[start..], key);
    }

    pub(crate) fn is_complete(&self) -> bool {
        self.payload.len() == self.len
    }

    /// The message, or the error tungstenite reports for text that is not
    /// UTF-8.
    pub(crate) fn into_message(self) -> Result<Message, WsError> {
        let payload: Bytes = self.payload.freeze();
        if self.text {
            Ok(Message::Text(Utf8Bytes::try_from(payload)?))
        } else {
            Ok(Message::Binary(payload))
        }
    }
}

/// XORs `bytes` with `key` repeated, eight bytes at a time.
fn unmask(bytes: &mut [u8], key: [u8; 4]) {
    let wide = u64::from_ne_bytes([
        key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3],
    ]);
    let mut chunks = bytes.chunks_exact_mut(8);
    for chunk in &mut chunks {
        let word = u64::from_ne_bytes(chunk.try_into().expect("eight bytes")) ^ wide;
        chunk.copy_from_slice(&word.to_ne_bytes());
    }
    // The rest starts at a multiple of eight: in phase with the key.
    for (byte, mask) in chunks.into_remainder().iter_mut().zip(key.iter().cycle()) {
        *byte ^= mask;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masked(payload: &[u8], key: [u8; 4]) -> Vec<u8> {
        payload
            .iter()
            .zip(key.iter().cycle())
            .map(|(byte, mask)| byte ^ mask)
            .collect()
    }

    /// However the payload is cut into reads, it comes out unmasked.
    #[test]
    fn a_payload_in_any_pieces_is_unmasked_whole() {
        let key = [0x12, 0x34, 0x56, 0x78];
        let text: String = (0..1000)
            .map(|i| char::from(b'a' + (i % 26) as u8))
            .collect();
        let wire = masked(text.as_bytes(), key);
        for cuts in [
            vec![1000],
            vec![1, 2, 3, 994],
            vec![7, 9, 13, 971],
            vec![500, 500],
        ] {
            let mut diverted = Diverted::new(TEXT, wire.len(), key);
            let mut at = 0;
            for cut in cuts {
                assert!(!diverted.is_complete());
                diverted.fill(&wire[at..at + cut]);
                at += cut;
            }
            assert!(diverted.is_complete());
            let message = diverted.into_message().expect("UTF-8");
            assert_eq!(message, Message::Text(text.clone().into()));
        }
    }

    #[test]
    fn binary_stays_binary_and_bad_text_is_tungstenites_error() {
        let key = [1, 2, 3, 4];
        let bytes = [0xff, 0xfe, 0x00, 0x41, 0x42];
        let mut binary = Diverted::new(0x2, bytes.len(), key);
        binary.fill(&masked(&bytes, key));
        let message = binary.into_message().expect("binary");
        assert_eq!(message, Message::Binary(Bytes::copy_from_slice(&bytes)));

        let mut text = Diverted::new(TEXT, bytes.len(), key);
        text.fill(&masked(&bytes, key));
        assert!(matches!(text.into_message(), Err(WsError::Utf8(_))));
    }
}
