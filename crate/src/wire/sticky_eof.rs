//! A byte stream whose end stays the end.
//!
//! `libp2p-webrtc-utils` 0.5 answers a read after the remote's `FIN` with `BrokenPipe` instead
//! of another end of stream. `futures::io::copy` reads again after the end whenever its final
//! flush had to wait (the data channel's send queue was full), so an echo of 1 MiB to a
//! js-libp2p tab failed with "broken pipe" and lost its last 8 KiB under load. Callers of
//! `AsyncRead` may read past the end; this wrapper answers every such read with `Ok(0)`.

use futures::{AsyncRead, AsyncWrite};
use std::{
    io,
    pin::Pin,
    task::{Context, Poll},
};

/// `inner`, with every read after its first end of stream answered `Ok(0)`.
#[derive(Debug)]
pub struct StickyEof<S> {
    inner: S,
    ended: bool,
}

impl<S> StickyEof<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            ended: false,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for StickyEof<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if self.ended || buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = futures::ready!(Pin::new(&mut self.inner).poll_read(cx, buf))?;
        self.ended = n == 0;
        Poll::Ready(Ok(n))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for StickyEof<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::{executor::block_on, AsyncReadExt, AsyncWriteExt};

    /// Reads `data`, then fails every read after the end, as the WebRTC framing does.
    struct BrokenAfterEnd {
        data: Vec<u8>,
        ended: bool,
    }

    impl AsyncRead for BrokenAfterEnd {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            if self.ended {
                return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
            }
            let n = buf.len().min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data.drain(..n);
            self.ended = n == 0;
            Poll::Ready(Ok(n))
        }
    }

    #[test]
    fn reads_after_the_end_are_the_end_again() {
        let mut stream = StickyEof::new(BrokenAfterEnd {
            data: b"last words".to_vec(),
            ended: false,
        });
        let mut got = Vec::new();
        block_on(stream.read_to_end(&mut got)).expect("read to end");
        assert_eq!(got, b"last words");
        let mut buf = [0u8; 4];
        for _ in 0..3 {
            assert_eq!(
                block_on(stream.read(&mut buf)).expect("end, not an error"),
                0
            );
        }
    }

    #[test]
    fn writes_pass_through() {
        let mut stream = StickyEof::new(futures::io::Cursor::new(Vec::new()));
        block_on(stream.write_all(b"abc")).expect("write");
        block_on(stream.close()).expect("close");
        assert_eq!(stream.inner.into_inner(), b"abc");
    }
}
