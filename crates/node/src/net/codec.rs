//! The sync protocol's wire format: one length-prefixed byte string each way, with hard limits.
//!
//! Sync requests ("send me headers from height N") and responses ("here are 2000 headers") are
//! opaque bytes at this layer; the node encodes them. What this module guarantees is that a peer
//! cannot make us allocate or read more than the configured limit: a length prefix above the
//! limit is an error before any payload byte is read, and the payload is read through
//! [`AsyncReadExt::take`], so even a length under the limit only allocates as the bytes arrive.
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

/// Reads one length-prefixed payload of at most `max` bytes.
///
/// # Errors
///
/// `InvalidData` if the prefix announces more than `max` bytes, `UnexpectedEof` if the stream
/// ends before the prefix or the announced payload is complete, or any error of `io`.
pub async fn read_frame<T>(io: &mut T, max: usize) -> io::Result<Vec<u8>>
where
    T: AsyncRead + Unpin + Send,
{
    let mut prefix = [0u8; LENGTH_PREFIX_LEN];
    io.read_exact(&mut prefix).await?;
    let announced = u32::from_le_bytes(prefix);
    // A `u32` that does not fit `usize` (16-bit targets) is over any limit we could have.
    let len = usize::try_from(announced).unwrap_or(usize::MAX);
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("frame announces {len} bytes, limit is {max}"),
        ));
    }
    let mut payload = Vec::new();
    io.take(u64::from(announced))
        .read_to_end(&mut payload)
        .await?;
    if payload.len() != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!(
                "frame announced {len} bytes, stream ended after {}",
                payload.len()
            ),
        ));
    }
    Ok(payload)
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
    type Request = Vec<u8>;
    type Response = Vec<u8>;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.limits.max_request).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Vec<u8>>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.limits.max_response).await
    }

    async fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        request: Vec<u8>,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
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

    #[test]
    fn frame_is_length_little_endian_then_payload() {
        assert_eq!(encode(b"abc"), [3, 0, 0, 0, b'a', b'b', b'c']);
        assert_eq!(encode(b""), [0, 0, 0, 0]);
    }

    #[test]
    fn frame_round_trips_at_the_limit() {
        let payload = vec![7u8; 1000];
        let decoded = block_on(read_frame(&mut Cursor::new(encode(&payload)), 1000));
        assert_eq!(decoded.expect("a frame at the limit is accepted"), payload);
    }

    #[test]
    fn announced_length_over_the_limit_is_rejected_before_reading() {
        // Announces 4 GiB - 1 and sends nothing: must fail on the prefix, not try to allocate.
        let wire = [0xff, 0xff, 0xff, 0xff];
        let err = block_on(read_frame(&mut Cursor::new(wire), 1024)).expect_err("over the limit");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn frame_one_byte_over_the_limit_is_rejected() {
        let err = block_on(read_frame(&mut Cursor::new(encode(&[0u8; 11])), 10))
            .expect_err("over the limit");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
    }

    #[test]
    fn truncated_payload_is_an_unexpected_eof() {
        let mut wire = encode(b"hello");
        wire.truncate(wire.len() - 1);
        let err = block_on(read_frame(&mut Cursor::new(wire), 100)).expect_err("truncated");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn truncated_prefix_is_an_unexpected_eof() {
        let err = block_on(read_frame(&mut Cursor::new([1u8, 0]), 100)).expect_err("truncated");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
    }

    #[test]
    fn writing_over_the_limit_writes_nothing() {
        let mut buf = Cursor::new(Vec::new());
        let err = block_on(write_frame(&mut buf, &[0u8; 11], 10)).expect_err("over the limit");
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(buf.into_inner().is_empty());
    }
}
