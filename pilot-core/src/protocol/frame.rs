//! Length-prefixed JSON frames: a big-endian `u32` length, then that many
//! bytes of JSON.

use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::error::{ProtocolError, Result};

/// Size of the length prefix in bytes.
const PREFIX_LEN: usize = 4;

/// Reads and writes frames on any `AsyncRead`/`AsyncWrite`, refusing frames
/// above a maximum size before allocating them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameCodec {
    max_frame_len: usize,
}

impl Default for FrameCodec {
    fn default() -> Self {
        FrameCodec::new()
    }
}

impl FrameCodec {
    /// The default maximum body size: 16 MiB.
    pub const DEFAULT_MAX_FRAME_LEN: usize = 16 * 1024 * 1024;

    /// A codec with the default maximum frame size.
    pub fn new() -> Self {
        FrameCodec {
            max_frame_len: Self::DEFAULT_MAX_FRAME_LEN,
        }
    }

    /// A codec accepting bodies of at most `max_frame_len` bytes (capped at
    /// `u32::MAX`, the largest length the prefix can carry).
    pub fn with_max_frame_len(max_frame_len: usize) -> Self {
        FrameCodec {
            max_frame_len: max_frame_len.min(u32::MAX as usize),
        }
    }

    /// The largest body this codec reads or writes.
    pub fn max_frame_len(&self) -> usize {
        self.max_frame_len
    }

    /// Encodes one message as a complete frame (prefix and body).
    pub fn encode<M: Serialize>(&self, message: &M) -> Result<Vec<u8>> {
        let mut frame = vec![0u8; PREFIX_LEN];
        serde_json::to_writer(&mut frame, message).map_err(|cause| ProtocolError::Encode {
            kind: short_type_name::<M>(),
            cause,
        })?;
        let body_len = frame.len() - PREFIX_LEN;
        if body_len > self.max_frame_len {
            return Err(ProtocolError::FrameTooLarge {
                len: body_len as u64,
                max: self.max_frame_len,
            });
        }
        let prefix = u32::try_from(body_len).map_err(|_| ProtocolError::FrameTooLarge {
            len: body_len as u64,
            max: self.max_frame_len,
        })?;
        frame[..PREFIX_LEN].copy_from_slice(&prefix.to_be_bytes());
        Ok(frame)
    }

    /// Writes one message as a frame and flushes the writer.
    pub async fn write<W, M>(&self, writer: &mut W, message: &M) -> Result<()>
    where
        W: AsyncWrite + Unpin + ?Sized,
        M: Serialize,
    {
        let frame = self.encode(message)?;
        writer
            .write_all(&frame)
            .await
            .map_err(|source| ProtocolError::Io {
                action: "write a frame",
                cause: source,
            })?;
        writer.flush().await.map_err(|cause| ProtocolError::Io {
            action: "flush a frame",
            cause,
        })
    }

    /// Reads one frame and decodes it. `Ok(None)` when the peer closed the
    /// connection cleanly between frames; a connection closed inside a frame
    /// is [`ProtocolError::Truncated`].
    pub async fn read<R, M>(&self, reader: &mut R) -> Result<Option<M>>
    where
        R: AsyncRead + Unpin + ?Sized,
        M: DeserializeOwned,
    {
        match self.read_body(reader).await? {
            Some(body) => self.decode(&body).map(Some),
            None => Ok(None),
        }
    }

    /// Reads one frame's body without decoding it (a reader that may have to
    /// wait before handling a message keeps the few bytes of the frame
    /// rather than the larger decoded value). `Ok(None)` as for
    /// [`read`](Self::read).
    pub async fn read_body<R>(&self, reader: &mut R) -> Result<Option<Vec<u8>>>
    where
        R: AsyncRead + Unpin + ?Sized,
    {
        let mut prefix = [0u8; PREFIX_LEN];
        let got = read_until_eof(reader, &mut prefix).await?;
        if got == 0 {
            return Ok(None);
        }
        if got < PREFIX_LEN {
            return Err(ProtocolError::Truncated {
                part: "length prefix",
                expected: PREFIX_LEN,
                received: got,
            });
        }
        let len = u32::from_be_bytes(prefix);
        let body_len = usize::try_from(len)
            .ok()
            .filter(|&n| n <= self.max_frame_len)
            .ok_or(ProtocolError::FrameTooLarge {
                len: u64::from(len),
                max: self.max_frame_len,
            })?;
        let mut body = vec![0u8; body_len];
        let got = read_until_eof(reader, &mut body).await?;
        if got < body_len {
            return Err(ProtocolError::Truncated {
                part: "body",
                expected: body_len,
                received: got,
            });
        }
        Ok(Some(body))
    }

    /// Decodes a frame body read by [`read_body`](Self::read_body).
    pub fn decode<M: DeserializeOwned>(&self, body: &[u8]) -> Result<M> {
        serde_json::from_slice(body).map_err(|cause| ProtocolError::Decode {
            expected: short_type_name::<M>(),
            cause,
        })
    }
}

/// Fills `buf` unless the reader ends first; returns how many bytes arrived.
async fn read_until_eof<R>(reader: &mut R, buf: &mut [u8]) -> Result<usize>
where
    R: AsyncRead + Unpin + ?Sized,
{
    let mut filled = 0;
    while filled < buf.len() {
        let n = reader
            .read(&mut buf[filled..])
            .await
            .map_err(|cause| ProtocolError::Io {
                action: "read a frame",
                cause,
            })?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    Ok(filled)
}

/// The last path segment of a type's name, e.g. "AgentMessage".
fn short_type_name<T>() -> &'static str {
    let full = std::any::type_name::<T>();
    let base = full.split('<').next().unwrap_or(full);
    base.rsplit("::").next().unwrap_or(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_is_big_endian_body_length() {
        let frame = FrameCodec::new().encode(&"hi").expect("encode");
        assert_eq!(&frame[..4], &[0, 0, 0, 4]);
        assert_eq!(&frame[4..], b"\"hi\"");
    }

    #[test]
    fn encode_refuses_bodies_over_the_maximum() {
        let err = FrameCodec::with_max_frame_len(3)
            .encode(&"long")
            .unwrap_err();
        assert!(matches!(
            err,
            ProtocolError::FrameTooLarge { len: 6, max: 3 }
        ));
    }

    #[test]
    fn type_names_are_shortened() {
        assert_eq!(short_type_name::<FrameCodec>(), "FrameCodec");
        assert_eq!(short_type_name::<Vec<String>>(), "Vec");
    }
}
