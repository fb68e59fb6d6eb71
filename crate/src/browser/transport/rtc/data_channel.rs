//! An `RTCDataChannel` as `AsyncRead + AsyncWrite`, with its JS handlers installed the moment the
//! channel is known (so no message is missed) and a send queue deep enough for throughput.
//!
//! A channel closes only once the remote has sent its last frame (`FIN` or `RESET`), or after
//! [`LINGER_MS`]. Closing resets the SCTP stream, and the browser then gives its id to the next
//! channel it opens. The server's SCTP (webrtc-rs 0.17) answers a reset with its own at once,
//! ahead of data it had queued for the stream, and sends that data after: on a channel closed
//! early (a stream dropped before its answer came), the old stream's bytes would reach the next
//! stream with the same id (seen: a rendezvous answer read as a relay's reply). Past the remote's
//! last frame nothing of the old stream is left to arrive.

use crate::wire::incoming_frames::IncomingFrames;
use bytes::BytesMut;
use futures::{future, task::AtomicWaker, AsyncRead, AsyncWrite, FutureExt};
use gloo_timers::future::TimeoutFuture;
use send_wrapper::SendWrapper;
use std::{
    cell::{Cell, RefCell},
    io,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll},
};
use wasm_bindgen::prelude::*;
use web_sys::{Event, MessageEvent, RtcDataChannel, RtcDataChannelState, RtcDataChannelType};

/// Bytes we let the browser queue on one channel before writes wait. Chrome closes a channel
/// whose queue passes 16 MiB; the upstream transport stops at 16 KiB, which caps throughput.
pub(crate) const MAX_BUFFERED: u32 = 1024 * 1024;
/// Writes resume once the queue has drained to this.
const LOW_WATER_MARK: u32 = 256 * 1024;
/// Received bytes held for a reader that is not keeping up; past this the stream fails.
const MAX_READ_BUFFER: usize = 4 * 1024 * 1024;
/// Longest a dropped stream's channel stays open waiting for the remote's last frame.
const LINGER_MS: u32 = 10_000;

/// A data channel shared between a libp2p stream and its drop listener (hence `Clone`).
/// libp2p wants streams to be `Send`; a tab is single-threaded, so the JS parts sit in a
/// `SendWrapper` (which panics if another thread ever touches them).
#[derive(Clone)]
pub(crate) struct DataChannel(SendWrapper<Channel>);

#[derive(Clone)]
struct Channel {
    inner: RtcDataChannel,
    shared: Rc<Shared>,
    handlers: Rc<Handlers>,
}

#[derive(Default)]
struct Shared {
    read_buffer: RefCell<BytesMut>,
    /// Removes js-libp2p's `FIN_ACK` frames, which our framing crate does not know, and tells
    /// when the remote's last frame came.
    frames: RefCell<IncomingFrames>,
    overloaded: Cell<bool>,
    read_waker: AtomicWaker,
    write_waker: AtomicWaker,
    open_waker: AtomicWaker,
}

/// The JS closures; dropping them with the last clone detaches them from the channel.
struct Handlers {
    channel: RtcDataChannel,
    shared: Rc<Shared>,
    keep_open: bool,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_low: Closure<dyn FnMut(Event)>,
    _on_close: Closure<dyn FnMut(Event)>,
}

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
}

/// Data channels this page holds open through us (a dropped stream's too, while it waits for
/// the remote's last frame).
pub(crate) fn live_data_channels() -> usize {
    LIVE.with(Cell::get)
}

impl Drop for Handlers {
    fn drop(&mut self) {
        detach(&self.channel);
        let lingers = !self.keep_open
            && is_open(&self.channel)
            && !self.shared.frames.borrow().remote_finished();
        if lingers {
            // Still open, and counted live, until the remote's last frame.
            wasm_bindgen_futures::spawn_local(close_after_last_frame(
                self.channel.clone(),
                self.shared.clone(),
            ));
            return;
        }
        LIVE.with(|live| live.set(live.get() - 1));
        if !self.keep_open && is_open(&self.channel) {
            self.channel.close();
        }
    }
}

fn detach(channel: &RtcDataChannel) {
    channel.set_onopen(None);
    channel.set_onmessage(None);
    channel.set_onbufferedamountlow(None);
    channel.set_onclose(None);
}

fn is_open(channel: &RtcDataChannel) -> bool {
    !matches!(
        channel.ready_state(),
        RtcDataChannelState::Closing | RtcDataChannelState::Closed
    )
}

/// Keeps a dropped stream's channel open until the remote's last frame has come (or for
/// [`LINGER_MS`]), discarding what arrives, then closes it.
async fn close_after_last_frame(channel: RtcDataChannel, shared: Rc<Shared>) {
    // Nobody reads any more.
    *shared.read_buffer.borrow_mut() = BytesMut::new();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new({
        let shared = shared.clone();
        move |event: MessageEvent| {
            let data = js_sys::Uint8Array::new(&event.data()).to_vec();
            shared.frames.borrow_mut().push(&data, &mut BytesMut::new());
            shared.read_waker.wake();
        }
    });
    let on_close = Closure::<dyn FnMut(Event)>::new({
        let shared = shared.clone();
        move |_| shared.read_waker.wake()
    });
    channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    channel.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    let last_frame = future::poll_fn(|cx| {
        shared.read_waker.register(cx.waker());
        if shared.frames.borrow().remote_finished() || !is_open(&channel) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    });
    futures::select! {
        () = last_frame.fuse() => {}
        () = TimeoutFuture::new(LINGER_MS).fuse() => {}
    }
    detach(&channel);
    if is_open(&channel) {
        channel.close();
    }
    LIVE.with(|live| live.set(live.get() - 1));
}

impl DataChannel {
    /// Wraps `inner`, installing its handlers now.
    pub(crate) fn new(inner: RtcDataChannel) -> Self {
        Self::wrap(inner, false)
    }

    /// Wraps the Noise handshake channel (id 0). Closing it is a no-op: the channel stays open
    /// as long as the peer connection, because a closed id 0 would be reused by the next stream
    /// the browser opens, which the server still takes for the handshake channel.
    pub(crate) fn handshake(inner: RtcDataChannel) -> Self {
        Self::wrap(inner, true)
    }

    fn wrap(inner: RtcDataChannel, keep_open: bool) -> Self {
        LIVE.with(|live| live.set(live.get() + 1));
        inner.set_binary_type(RtcDataChannelType::Arraybuffer);
        inner.set_buffered_amount_low_threshold(LOW_WATER_MARK);
        let shared = Rc::new(Shared::default());
        let on_open = Closure::<dyn FnMut(Event)>::new({
            let shared = shared.clone();
            move |_| {
                shared.open_waker.wake();
                shared.write_waker.wake();
            }
        });
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new({
            let shared = shared.clone();
            move |event: MessageEvent| {
                let data = js_sys::Uint8Array::new(&event.data());
                let mut buffer = shared.read_buffer.borrow_mut();
                if buffer.len() + data.length() as usize > MAX_READ_BUFFER {
                    shared.overloaded.set(true);
                } else {
                    shared.frames.borrow_mut().push(&data.to_vec(), &mut buffer);
                }
                shared.read_waker.wake();
            }
        });
        let on_low = Closure::<dyn FnMut(Event)>::new({
            let shared = shared.clone();
            move |_| shared.write_waker.wake()
        });
        let on_close = Closure::<dyn FnMut(Event)>::new({
            let shared = shared.clone();
            move |_| {
                shared.read_waker.wake();
                shared.write_waker.wake();
                shared.open_waker.wake();
            }
        });
        inner.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        inner.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        inner.set_onbufferedamountlow(Some(on_low.as_ref().unchecked_ref()));
        inner.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Self(SendWrapper::new(Channel {
            handlers: Rc::new(Handlers {
                channel: inner.clone(),
                shared: shared.clone(),
                keep_open,
                _on_open: on_open,
                _on_message: on_message,
                _on_low: on_low,
                _on_close: on_close,
            }),
            inner,
            shared,
        }))
    }
}

impl Channel {
    /// Ready once the channel is open; an error once it is closing or closed.
    fn poll_open(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.inner.ready_state() {
            RtcDataChannelState::Connecting => {
                self.shared.open_waker.register(cx.waker());
                if self.inner.ready_state() == RtcDataChannelState::Connecting {
                    return Poll::Pending;
                }
                self.poll_open(cx)
            }
            RtcDataChannelState::Open => Poll::Ready(Ok(())),
            _ => Poll::Ready(Err(io::ErrorKind::BrokenPipe.into())),
        }
    }
}

impl AsyncRead for DataChannel {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &*self.0;
        if this.shared.overloaded.get() {
            return Poll::Ready(Err(io::Error::other(
                "remote sent more than the read buffer holds",
            )));
        }
        let mut buffer = this.shared.read_buffer.borrow_mut();
        if buffer.is_empty() {
            match this.inner.ready_state() {
                // Closed with nothing left: end of stream.
                RtcDataChannelState::Closing | RtcDataChannelState::Closed => {
                    return Poll::Ready(Ok(0))
                }
                _ => {
                    this.shared.read_waker.register(cx.waker());
                    return Poll::Pending;
                }
            }
        }
        let n = buf.len().min(buffer.len());
        buf[..n].copy_from_slice(&buffer.split_to(n));
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for DataChannel {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &*self.0;
        futures::ready!(this.poll_open(cx))?;
        if this.inner.buffered_amount() >= MAX_BUFFERED {
            this.shared.write_waker.register(cx.waker());
            // The queue may have drained between the check and the registration.
            if this.inner.buffered_amount() >= MAX_BUFFERED {
                return Poll::Pending;
            }
        }
        // One message per write, no larger than the peer accepts (`a=max-message-size`).
        let chunk = &buf[..buf.len().min(libp2p_webrtc_utils::MAX_MSG_LEN)];
        match this.inner.send_with_u8_array(chunk) {
            Ok(()) => Poll::Ready(Ok(chunk.len())),
            Err(e) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                format!("{e:?}"),
            ))),
        }
    }

    /// Data handed to `send` belongs to the browser, which delivers it unless the channel closes;
    /// waiting for the queue to empty would add an event round trip to every request/response.
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.0.poll_open(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = &*self.0;
        if this.handlers.keep_open {
            return Poll::Ready(Ok(()));
        }
        match this.inner.ready_state() {
            RtcDataChannelState::Closed => Poll::Ready(Ok(())),
            state => {
                if state != RtcDataChannelState::Closing {
                    this.inner.close();
                }
                this.shared.open_waker.register(cx.waker());
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::browser::transport::rtc::local_pair;
    use futures::{AsyncReadExt, AsyncWriteExt};
    use wasm_bindgen_test::wasm_bindgen_test;
    use web_sys::{RtcDataChannelInit, RtcPeerConnection};

    type FramedStream = libp2p_webrtc_utils::Stream<DataChannel>;
    type Listener = libp2p_webrtc_utils::DropListener<DataChannel>;

    /// libp2p streams over the same pre-negotiated channel (id 7) on both ends of a local
    /// peer-connection pair: data channels always carry the spec's framing, which is what the
    /// channel's `FIN_ACK` filter parses.
    async fn negotiated_pair() -> (
        (RtcPeerConnection, RtcPeerConnection, Listener, Listener),
        FramedStream,
        FramedStream,
    ) {
        let a = RtcPeerConnection::new().expect("peer connection");
        let b = RtcPeerConnection::new().expect("peer connection");
        let init = RtcDataChannelInit::new();
        init.set_negotiated(true);
        init.set_id(7);
        let (left, left_listener) = libp2p_webrtc_utils::Stream::new(DataChannel::new(
            a.create_data_channel_with_data_channel_dict("t", &init),
        ));
        let (right, right_listener) = libp2p_webrtc_utils::Stream::new(DataChannel::new(
            b.create_data_channel_with_data_channel_dict("t", &init),
        ));
        local_pair::connect(&a, &b)
            .await
            .expect("local pair connects");
        ((a, b, left_listener, right_listener), left, right)
    }

    #[wasm_bindgen_test]
    async fn carries_three_mebibytes_byte_exact_in_order() {
        let (_keep, mut left, mut right) = negotiated_pair().await;
        let sent: Vec<u8> = (0..3 * 1024 * 1024u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let expected = sent.clone();
        let write = async move {
            for piece in sent.chunks(64 * 1024) {
                left.write_all(piece).await.expect("write");
            }
            left.flush().await.expect("flush");
            left
        };
        let read = async move {
            let mut got = vec![0u8; expected.len()];
            right.read_exact(&mut got).await.expect("read");
            assert!(got == expected, "received bytes differ from sent bytes");
            right
        };
        let (mut left, _right) = futures::join!(write, read);
        left.close().await.expect("close");
    }

    #[wasm_bindgen_test]
    async fn reader_sees_end_of_stream_when_the_remote_closes() {
        let (_keep, mut left, mut right) = negotiated_pair().await;
        left.write_all(b"last words").await.expect("write");
        left.close().await.expect("close");
        let mut got = Vec::new();
        right.read_to_end(&mut got).await.expect("read to end");
        assert_eq!(got, b"last words");
    }
}
