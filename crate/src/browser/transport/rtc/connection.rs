//! A libp2p connection over one `RTCPeerConnection`: each libp2p stream is a data channel.
//!
//! Unlike the upstream websys transport, the `datachannel` handler is installed when the peer
//! connection is created, before the Noise handshake: a server opens its identify and ping
//! streams the moment its side of the handshake ends, and channels announced before a handler
//! exists are lost, leaving those streams to time out after 10 s (the ping stall we measured).

use super::data_channel::DataChannel;
use super::outbound_hold::{OutboundHold, RemoteOpened};
use crate::wire::sticky_eof::StickyEof;
use futures::{channel::mpsc, stream::FuturesUnordered, Future, StreamExt};
use libp2p::core::muxing::{StreamMuxer, StreamMuxerEvent};
use libp2p_webrtc_utils::{DropListener, Stream};
use send_wrapper::SendWrapper;
use std::{
    cell::Cell,
    pin::Pin,
    rc::Rc,
    task::{Context, Poll, Waker},
};
use wasm_bindgen::prelude::*;
use web_sys::{
    Event, EventTarget, RtcDataChannelEvent, RtcDataChannelInit, RtcPeerConnection,
    RtcPeerConnectionState,
};

// `RTCSctpTransport`, which web-sys does not bind: its state turns `closed` when the remote
// closes its peer connection (an SCTP ABORT), long before ICE consent checks notice.
#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(extends = EventTarget)]
    type SctpTransport;
    #[wasm_bindgen(method, getter)]
    fn state(this: &SctpTransport) -> String;
}

/// Inbound channels waiting to be accepted; past this the remote is opening too many and new
/// ones are closed.
const MAX_PENDING_INBOUND: usize = 32;

thread_local! {
    /// Every `RTCPeerConnection` this page holds open through us.
    static LIVE: std::cell::RefCell<Vec<RtcPeerConnection>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// `RTCPeerConnection`s this page holds open through us (Chrome allows about 500 per page).
pub(crate) fn live_peer_connections() -> usize {
    LIVE.with(|live| live.borrow().len())
}

/// Closes every peer connection at once, synchronously: called when the page goes away, so the
/// other side learns it now rather than after ICE consent checks time out.
pub(crate) fn close_all_peer_connections() {
    LIVE.with(|live| {
        for pc in live.borrow().iter() {
            pc.close();
        }
    });
}

/// A libp2p stream over a data channel (reads past its end answered as the end).
pub(crate) type DataStream = StickyEof<Stream<DataChannel>>;

/// Why the connection failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectionError {
    /// ICE or DTLS failed, or the remote closed the peer connection.
    #[error("peer connection {0}")]
    Ended(&'static str),
}

/// The peer connection and its handlers; closes the peer connection when dropped.
pub(crate) struct PeerConnection {
    inner: RtcPeerConnection,
    inbound: Option<mpsc::Receiver<DataChannel>>,
    state_waker: Rc<Cell<Option<Waker>>>,
    /// Set when the remote opens its first stream (see [`OutboundHold`]).
    remote_opened: Rc<RemoteOpened>,
    /// The SCTP transport, once the connection is up (watched for the remote's close).
    sctp: Option<SctpTransport>,
    _on_data_channel: Closure<dyn FnMut(RtcDataChannelEvent)>,
    on_state_change: Closure<dyn FnMut(Event)>,
}

impl PeerConnection {
    /// Takes ownership of `inner` and starts collecting the channels the remote opens.
    pub(crate) fn new(inner: RtcPeerConnection) -> Self {
        let (mut sender, receiver) = mpsc::channel(MAX_PENDING_INBOUND);
        let remote_opened: Rc<RemoteOpened> = Rc::default();
        let on_data_channel = Closure::<dyn FnMut(RtcDataChannelEvent)>::new({
            let remote_opened = remote_opened.clone();
            move |event: RtcDataChannelEvent| {
                let channel = event.channel();
                // js-libp2p's dialer (and ours) opens an `init` channel only to get a data
                // section into the offer, then closes it: it is not a libp2p stream.
                if channel.label() == "init" {
                    return;
                }
                // Wrapping at once installs `onmessage` before any message can be dispatched.
                let channel = DataChannel::new(channel);
                if sender.try_send(channel).is_err() {
                    tracing::warn!("remote opened more than {MAX_PENDING_INBOUND} unaccepted streams; dropping one");
                }
                remote_opened.mark();
            }
        });
        inner.set_ondatachannel(Some(on_data_channel.as_ref().unchecked_ref()));
        let state_waker: Rc<Cell<Option<Waker>>> = Rc::default();
        let on_state_change = Closure::<dyn FnMut(Event)>::new({
            let state_waker = state_waker.clone();
            move |_| {
                if let Some(waker) = state_waker.take() {
                    waker.wake();
                }
            }
        });
        inner.set_onconnectionstatechange(Some(on_state_change.as_ref().unchecked_ref()));
        LIVE.with(|live| live.borrow_mut().push(inner.clone()));
        Self {
            inner,
            inbound: Some(receiver),
            state_waker,
            remote_opened,
            sctp: None,
            _on_data_channel: on_data_channel,
            on_state_change,
        }
    }

    /// Starts watching the SCTP transport (there is one once the connection is up).
    fn watch_sctp(&mut self) {
        self.sctp = js_sys::Reflect::get(&self.inner, &"sctp".into())
            .ok()
            .filter(|sctp| sctp.is_object())
            .map(JsCast::unchecked_into);
        if let Some(sctp) = &self.sctp {
            let listener = self.on_state_change.as_ref().unchecked_ref();
            let _ = sctp.add_event_listener_with_callback("statechange", listener);
        }
    }

    /// Whether the SCTP association ended (the remote closed its peer connection).
    fn sctp_closed(&self) -> bool {
        self.sctp
            .as_ref()
            .is_some_and(|sctp| sctp.state() == "closed")
    }

    /// The JS peer connection.
    pub(crate) fn js(&self) -> &RtcPeerConnection {
        &self.inner
    }

    /// Creates the pre-negotiated channel 0 the Noise handshake runs on; it stays open (unused)
    /// until the peer connection closes.
    pub(crate) fn handshake_channel(&self) -> DataChannel {
        let init = RtcDataChannelInit::new();
        init.set_negotiated(true);
        init.set_id(0);
        DataChannel::handshake(
            self.inner
                .create_data_channel_with_data_channel_dict("", &init),
        )
    }
}

impl Drop for PeerConnection {
    fn drop(&mut self) {
        self.inner.set_ondatachannel(None);
        self.inner.set_onconnectionstatechange(None);
        if let Some(sctp) = &self.sctp {
            let listener = self.on_state_change.as_ref().unchecked_ref();
            let _ = sctp.remove_event_listener_with_callback("statechange", listener);
        }
        self.inner.close();
        let inner: &wasm_bindgen::JsValue = &self.inner;
        LIVE.with(|live| {
            live.borrow_mut()
                .retain(|pc| !js_sys::Object::is(pc, inner))
        });
    }
}

/// An established connection: the `StreamMuxer` libp2p drives.
pub(crate) struct Connection {
    peer: SendWrapper<PeerConnection>,
    inbound: SendWrapper<mpsc::Receiver<DataChannel>>,
    drop_listeners: SendWrapper<FuturesUnordered<DropListener<DataChannel>>>,
    idle_waker: Option<Waker>,
    /// Holds outbound streams until the remote opened one (WebRTC-direct dialers only).
    hold: Option<SendWrapper<OutboundHold>>,
    /// Running while the peer connection is `disconnected`; the connection ends if it fires.
    disconnected_grace: Option<SendWrapper<gloo_timers::future::TimeoutFuture>>,
}

/// How long a `disconnected` peer connection may take to recover. Chrome only reports `failed`
/// after about 30 s of lost consent checks; a tab that closed without a goodbye should be
/// replaced in the mesh sooner than that.
const DISCONNECTED_GRACE_MS: u32 = 3000;

impl Connection {
    /// A connection whose streams open as soon as asked for: both sides had their `datachannel`
    /// handlers before the handshake (tab to tab).
    pub(crate) fn new(peer: PeerConnection) -> Self {
        Self::with_hold(peer, false)
    }

    /// A connection whose outbound streams wait for the remote's first stream, or a few seconds
    /// ([`OutboundHold`]): a WebRTC-direct dialer's, whose server installs its handler late.
    pub(crate) fn after_remote_opens(peer: PeerConnection) -> Self {
        Self::with_hold(peer, true)
    }

    fn with_hold(mut peer: PeerConnection, hold: bool) -> Self {
        let inbound = peer
            .inbound
            .take()
            .expect("a peer connection is upgraded once");
        peer.watch_sctp();
        let hold = hold.then(|| SendWrapper::new(OutboundHold::new(peer.remote_opened.clone())));
        Self {
            hold,
            peer: SendWrapper::new(peer),
            inbound: SendWrapper::new(inbound),
            drop_listeners: SendWrapper::new(FuturesUnordered::new()),
            idle_waker: None,
            disconnected_grace: None,
        }
    }

    fn stream(&mut self, channel: DataChannel) -> DataStream {
        let (stream, listener) = Stream::new(channel);
        self.drop_listeners.push(listener);
        if let Some(waker) = self.idle_waker.take() {
            waker.wake();
        }
        StickyEof::new(stream)
    }

    fn check_state(&mut self, cx: &mut Context<'_>) -> Result<(), ConnectionError> {
        self.peer.state_waker.set(Some(cx.waker().clone()));
        if self.peer.sctp_closed() {
            return Err(ConnectionError::Ended("closed by the peer"));
        }
        match self.peer.inner.connection_state() {
            RtcPeerConnectionState::Failed => Err(ConnectionError::Ended("failed")),
            RtcPeerConnectionState::Closed => Err(ConnectionError::Ended("closed")),
            RtcPeerConnectionState::Disconnected => {
                let grace = self.disconnected_grace.get_or_insert_with(|| {
                    SendWrapper::new(gloo_timers::future::TimeoutFuture::new(
                        DISCONNECTED_GRACE_MS,
                    ))
                });
                match Pin::new(&mut **grace).poll(cx) {
                    Poll::Ready(()) => Err(ConnectionError::Ended("disconnected")),
                    Poll::Pending => Ok(()),
                }
            }
            _ => {
                self.disconnected_grace = None;
                Ok(())
            }
        }
    }
}

impl StreamMuxer for Connection {
    type Substream = DataStream;
    type Error = ConnectionError;

    fn poll_inbound(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<DataStream, ConnectionError>> {
        match futures::ready!(self.inbound.poll_next_unpin(cx)) {
            Some(channel) => Poll::Ready(Ok(self.stream(channel))),
            None => Poll::Ready(Err(ConnectionError::Ended("closed"))),
        }
    }

    fn poll_outbound(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<DataStream, ConnectionError>> {
        if let Some(hold) = &mut self.hold {
            futures::ready!(hold.poll_released(cx));
            self.hold = None;
        }
        let channel = DataChannel::new(self.peer.inner.create_data_channel(""));
        Poll::Ready(Ok(self.stream(channel)))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), ConnectionError>> {
        self.peer.inner.close();
        Poll::Ready(Ok(()))
    }

    fn poll(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Result<StreamMuxerEvent, ConnectionError>> {
        if let Err(e) = self.check_state(cx) {
            return Poll::Ready(Err(e));
        }
        loop {
            match futures::ready!(self.drop_listeners.poll_next_unpin(cx)) {
                Some(Ok(())) => {}
                Some(Err(e)) => tracing::debug!("a stream's drop listener failed: {e}"),
                None => {
                    self.idle_waker = Some(cx.waker().clone());
                    return Poll::Pending;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::browser::transport::rtc::local_pair;
    use futures::AsyncReadExt;
    use gloo_timers::future::TimeoutFuture;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// Regression test for the lost-streams half of the 10 s stall: a stream the remote opens
    /// and writes to at once keeps its first bytes even when we accept it much later.
    #[wasm_bindgen_test]
    async fn remote_stream_keeps_its_first_message_when_accepted_late() {
        let remote = RtcPeerConnection::new().expect("peer connection");
        let mut local = PeerConnection::new(RtcPeerConnection::new().expect("peer connection"));
        let channel = remote.create_data_channel("early");
        let on_open = Closure::<dyn FnMut(Event)>::new({
            let channel = channel.clone();
            move |_| {
                // One framed message: varint length 7, then `message` (field 2) = "first".
                let frame = [7, 0x12, 5, b'f', b'i', b'r', b's', b't'];
                channel.send_with_u8_array(&frame).expect("send")
            }
        });
        channel.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        local_pair::connect(&remote, local.js())
            .await
            .expect("local pair connects");
        TimeoutFuture::new(500).await;
        let mut inbound = local.inbound.take().expect("unaccepted");
        let accepted = inbound.next().await.expect("the remote's channel");
        let (mut accepted, _listener) = libp2p_webrtc_utils::Stream::new(accepted);
        let mut got = [0u8; 5];
        accepted.read_exact(&mut got).await.expect("read");
        assert_eq!(&got, b"first");
    }

    /// A WebRTC-direct dialer opens no stream before the remote has opened one (our server
    /// would drop it), then opens them at once.
    #[wasm_bindgen_test]
    async fn a_held_connection_opens_streams_only_after_the_remote_opened_one() {
        let remote = RtcPeerConnection::new().expect("peer connection");
        let local = PeerConnection::new(RtcPeerConnection::new().expect("peer connection"));
        let _section = remote.create_data_channel("init");
        local_pair::connect(&remote, local.js())
            .await
            .expect("local pair connects");
        let mut connection = Connection::after_remote_opens(local);
        let mut outbound =
            futures::future::poll_fn(|cx| Pin::new(&mut connection).poll_outbound(cx));
        let early = futures::future::select(&mut outbound, TimeoutFuture::new(300)).await;
        assert!(
            matches!(early, futures::future::Either::Right(_)),
            "an outbound stream opened before the remote opened any"
        );
        let _identify = remote.create_data_channel("");
        let opened = futures::future::select(outbound, TimeoutFuture::new(1500)).await;
        assert!(
            matches!(opened, futures::future::Either::Left((Ok(_), _))),
            "still held 1.5 s after the remote opened a stream"
        );
    }

    /// A peer that closes its peer connection (the mesh dropping a link, a duplicate losing)
    /// is noticed within a second, not after ICE consent checks (about 8 s in Chrome).
    #[wasm_bindgen_test]
    async fn the_connection_ends_soon_after_the_remote_closes_its_peer_connection() {
        let remote = RtcPeerConnection::new().expect("peer connection");
        let local = RtcPeerConnection::new().expect("peer connection");
        let _section = remote.create_data_channel("init");
        local_pair::connect(&remote, &local)
            .await
            .expect("local pair connects");
        for _ in 0..100 {
            if local.connection_state() == RtcPeerConnectionState::Connected {
                break;
            }
            TimeoutFuture::new(20).await;
        }
        let mut connection = Connection::new(PeerConnection::new(local));
        remote.close();
        let ended = futures::future::select(
            futures::future::poll_fn(|cx| Pin::new(&mut connection).poll(cx)),
            TimeoutFuture::new(1500),
        )
        .await;
        match ended {
            futures::future::Either::Left((Err(ConnectionError::Ended(why)), _)) => {
                assert_eq!(why, "closed by the peer")
            }
            futures::future::Either::Left((Ok(_), _)) => panic!("an event, not the end"),
            futures::future::Either::Right(_) => panic!("still open 1.5 s after the remote closed"),
        }
    }
}
