//! The sync protocol's framing: one length-prefixed byte string each way, with hard limits, and
//! the libp2p request-response codec that reads and writes it.
//!
//! Sync requests ("send me headers from height N") and responses ("here are 2000 headers") are
//! opaque bytes at this layer; the node encodes them. What this module guarantees is that a peer
//! cannot make us allocate or read more than the configured limit: a length prefix above the
//! limit is refused before any payload byte is read, and the payload is read through
//! [`AsyncReadExt::take`], so even a length under the limit only allocates as the bytes arrive.
//!
//! A request that breaks the framing is not an I/O error here but a [`BadFrame`] *value*: the
//! request-response behaviour (0.30) drops a `read_request` error with a debug log and no event,
//! so the node would never learn which peer sent it. As a value it travels up like any request,
//! with the peer's id attached, and the node makes the peer pay for it
//! ([`NetworkEvent::BadInboundRequest`](crate::net::NetworkEvent::BadInboundRequest)).
//!
//! Byte layout, identical for requests and responses (one message per stream; libp2p opens a
//! fresh stream per request):
//!
//! ```text
//! 4 bytes: payload length n, u32 little-endian
//! n bytes: payload
//! ```

use std::io;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use libp2p::request_response;

/// Size of the length prefix in bytes.
const LENGTH_PREFIX_LEN: usize = 4;

/// The largest sync payloads this node accepts (reading) and sends (writing).
///
/// Both peers apply their own limits: a response our peer is willing to send but that exceeds
/// our `max_response` fails on our side as an `InvalidData` read error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncLimits {
    /// Largest request payload, in bytes.
    pub max_request: usize,
    /// Largest response payload, in bytes.
    pub max_response: usize,
}

impl Default for SyncLimits {
    /// 64 KiB requests (a locator of a few hundred hashes fits easily) and 32 MiB responses
    /// (a batch of full blocks).
    fn default() -> Self {
        SyncLimits {
            max_request: 64 * 1024,
            max_response: 32 * 1024 * 1024,
        }
    }
}

/// A request-response codec for length-prefixed byte vectors under [`SyncLimits`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SyncCodec {
    limits: SyncLimits,
}

impl SyncCodec {
    /// Returns a codec enforcing `limits`.
    pub fn new(limits: SyncLimits) -> Self {
        SyncCodec { limits }
    }
}

/// Why a stream did not hold a well-formed frame. Both are the sender's doing (an honest peer
/// checks its own limit before sending, and closes its side only after the whole frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BadFrame {
    /// The length prefix announces more than our limit; no payload byte was read.
    #[error("frame announces {announced} bytes, limit is {max}")]
    TooLarge {
        /// What the prefix says.
        announced: u32,
        /// Our limit.
        max: usize,
    },
    /// The stream ended inside the prefix or before the announced payload was complete.
    #[error("frame announced {announced:?} bytes, stream ended after {received}")]
    Truncated {
        /// What the prefix says (`None`: the stream ended inside the prefix).
        announced: Option<u32>,
        /// Bytes of the prefix (if incomplete) or of the payload received.
        received: usize,
    },
}

impl From<BadFrame> for io::Error {
    /// `InvalidData` for a frame over the limit, `UnexpectedEof` for a truncated one.
    fn from(bad: BadFrame) -> Self {
        let kind = match bad {
            BadFrame::TooLarge { .. } => io::ErrorKind::InvalidData,
            BadFrame::Truncated { .. } => io::ErrorKind::UnexpectedEof,
        };
        io::Error::new(kind, bad)
    }
}

/// A sync request as read from a stream: its payload, or how the peer broke the framing.
pub type SyncRequest = Result<Vec<u8>, BadFrame>;

/// Reads one length-prefixed payload of at most `max` bytes.
///
/// # Errors
///
/// The outer error is the transport's (a reset stream, a closed connection): nobody's fault
/// that we can tell. The inner [`BadFrame`] is the sender's: a prefix over `max`, or a stream
/// that ended early.
pub async fn read_frame<T>(io: &mut T, max: usize) -> io::Result<Result<Vec<u8>, BadFrame>>
where
    T: AsyncRead + Unpin + Send,
{
    let mut prefix = [0u8; LENGTH_PREFIX_LEN];
    let mut filled = 0;
    while filled < LENGTH_PREFIX_LEN {
        match io.read(&mut prefix[filled..]).await? {
            0 => {
                return Ok(Err(BadFrame::Truncated {
                    announced: None,
                    received: filled,
                }));
            }
            n => filled += n,
        }
    }
    let announced = u32::from_le_bytes(prefix);
    // A `u32` that does not fit `usize` (16-bit targets) is over any limit we could have.
    let len = usize::try_from(announced).unwrap_or(usize::MAX);
    if len > max {
        return Ok(Err(BadFrame::TooLarge { announced, max }));
    }
    let mut payload = Vec::new();
    io.take(u64::from(announced))
        .read_to_end(&mut payload)
        .await?;
    if payload.len() != len {
        return Ok(Err(BadFrame::Truncated {
            announced: Some(announced),
            received: payload.len(),
        }));
    }
    Ok(Ok(payload))
}

/// Writes one length-prefixed payload of at most `max` bytes and closes the writing side.
///
/// # Errors
///
/// `InvalidInput` if `payload` is longer than `max` (or than `u32::MAX`), otherwise any error of
/// `io`. Nothing is written when the payload is too large.
pub async fn write_frame<T>(io: &mut T, payload: &[u8], max: usize) -> io::Result<()>
where
    T: AsyncWrite + Unpin + Send,
{
    let len = u32::try_from(payload.len())
        .ok()
        .filter(|_| payload.len() <= max)
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "frame of {} bytes exceeds the limit of {max}",
                    payload.len()
                ),
            )
        })?;
    io.write_all(&len.to_le_bytes()).await?;
    io.write_all(payload).await?;
    io.close().await
}

impl request_response::Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = SyncRequest;
    type Response = Vec<u8>;

    /// Returns a bad frame as a value, so that it reaches the node with the peer's id.
    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<SyncRequest>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.limits.max_request).await
    }

    /// Returns a bad frame as an error: our own request failed, and the caller learns why from
    /// [`RequestError::Io`](crate::net::RequestError::Io) (`InvalidData`: over our limit).
    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        Ok(read_frame(io, self.limits.max_response).await??)
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: SyncRequest,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        // The driver only sends payloads; a `BadFrame` exists on the reading side alone.
        let request = request.map_err(|bad| {
            io::Error::new(io::ErrorKind::InvalidInput, format!("cannot send {bad}"))
        })?;
        write_frame(io, &request, self.limits.max_request).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        response: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, &response, self.limits.max_response).await
    }
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;
    use futures::io::Cursor;

    use super::*;

    fn encode(payload: &[u8]) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        block_on(write_frame(&mut buf, payload, usize::MAX)).expect("writing to memory works");
        buf.into_inner()
    }

    fn read(wire: &[u8], max: usize) -> Result<Vec<u8>, BadFrame> {
        block_on(read_frame(&mut Cursor::new(wire), max)).expect("reading memory works")
    }

    #[test]
    fn frame_is_length_little_endian_then_payload() {
        assert_eq!(encode(b"abc"), [3, 0, 0, 0, b'a', b'b', b'c']);
        assert_eq!(encode(b""), [0, 0, 0, 0]);
    }

    #[test]
    fn frame_round_trips_at_the_limit() {
        let payload = vec![7u8; 1000];
        assert_eq!(read(&encode(&payload), 1000), Ok(payload));
    }

    #[test]
    fn announced_length_over_the_limit_is_rejected_before_reading() {
        // Announces 4 GiB - 1 and sends nothing: must fail on the prefix, not try to allocate.
        assert_eq!(
            read(&[0xff, 0xff, 0xff, 0xff], 1024),
            Err(BadFrame::TooLarge {
                announced: u32::MAX,
                max: 1024
            })
        );
    }

    #[test]
    fn frame_one_byte_over_the_limit_is_rejected() {
        assert_eq!(
            read(&encode(&[0u8; 11]), 10),
            Err(BadFrame::TooLarge {
                announced: 11,
                max: 10
            })
        );
    }

    #[test]
    fn truncated_payload_is_named_with_what_arrived() {
        let mut wire = encode(b"hello");
        wire.truncate(wire.len() - 1);
        assert_eq!(
            read(&wire, 100),
            Err(BadFrame::Truncated {
                announced: Some(5),
                received: 4
            })
        );
    }

    #[test]
    fn truncated_prefix_and_empty_stream_are_truncated_frames() {
        assert_eq!(
            read(&[1u8, 0], 100),
            Err(BadFrame::Truncated {
                announced: None,
                received: 2
            })
        );
        assert_eq!(
            read(&[], 100),
            Err(BadFrame::Truncated {
                announced: None,
                received: 0
            })
        );
    }

    #[test]
    fn a_bad_response_frame_is_an_io_error_of_the_documented_kind() {
        let too_large = io::Error::from(BadFrame::TooLarge {
            announced: 11,
            max: 10,
        });
        assert_eq!(too_large.kind(), io::ErrorKind::InvalidData);
        let truncated = io::Error::from(BadFrame::Truncated {
            announced: None,
            received: 0,
        });
        assert_eq!(truncated.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn a_bad_request_is_read_as_a_value_not_an_error() {
        use request_response::Codec;
        let mut codec = SyncCodec::new(SyncLimits {
            max_request: 10,
            max_response: 10,
        });
        let protocol = StreamProtocol::new("/test/1");
        let request = block_on(codec.read_request(&protocol, &mut Cursor::new(encode(&[0; 11]))));
        assert_eq!(
            request.expect("a bad frame is not an i/o error"),
            Err(BadFrame::TooLarge {
                announced: 11,
                max: 10
            })
        );
        let response = block_on(codec.read_response(&protocol, &mut Cursor::new(encode(&[0; 11]))));
        assert_eq!(
            response.expect_err("over the limit").kind(),
            io::ErrorKind::InvalidData
        );
    }

    #[test]
    fn writing_over_the_limit_writes_nothing() {
        let mut buf = Cursor::new(Vec::new());
        let err = block_on(write_frame(&mut buf, &[0u8; 11], 10)).expect_err("over the limit");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(buf.into_inner().is_empty());
    }
}
