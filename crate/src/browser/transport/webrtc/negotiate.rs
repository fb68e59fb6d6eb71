//! Runs one [`Session`] against a real `RTCPeerConnection` and a signaling stream.

use crate::browser::js::clock::now;
use crate::browser::js::error::js_message;
use crate::browser::js::listener::JsListener;
use crate::browser::transport::rtc::{note_path, PeerConnection};
use crate::signaling::session::{Input, Output, Role, SdpKind, Session, SignalingError};
use futures::{channel::mpsc, io::ReadHalf, AsyncReadExt, AsyncWriteExt, FutureExt, StreamExt};
use gloo_timers::future::TimeoutFuture;
use libp2p::{PeerId, Stream};
use std::time::Duration;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    RtcConfiguration, RtcIceCandidateInit, RtcPeerConnection, RtcPeerConnectionIceEvent,
    RtcPeerConnectionState, RtcSdpType, RtcSessionDescriptionInit,
};

/// Why a browser-to-browser connection could not be set up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum NegotiationError {
    /// The exchange itself failed (timeout, ICE failure, refusal, bad message).
    #[error(transparent)]
    Signaling(#[from] SignalingError),
    /// A browser API refused.
    #[error("browser WebRTC error: {0}")]
    Browser(String),
}

impl From<JsValue> for NegotiationError {
    fn from(value: JsValue) -> Self {
        Self::Browser(js_message(&value))
    }
}

/// Negotiates a direct peer connection with `peer_id` over `stream`; on success the stream is closed and the
/// connection is ready for streams. On failure everything created here is closed.
pub(crate) async fn negotiate(
    role: Role,
    peer_id: PeerId,
    stream: Stream,
    config: &RtcConfiguration,
    timeout: Duration,
) -> Result<PeerConnection, NegotiationError> {
    let peer = PeerConnection::new(RtcPeerConnection::new_with_configuration(config)?);
    let pc = peer.js().clone();
    let (candidate_tx, mut candidates) = mpsc::channel(64);
    let _candidate_listener = JsListener::forward(&pc, "icecandidate", candidate_tx, |event| {
        let event: RtcPeerConnectionIceEvent = event.dyn_into().ok()?;
        Some(event.candidate().and_then(|c| {
            js_sys::JSON::stringify(&c.to_json())
                .ok()
                .and_then(|s| s.as_string())
        }))
    });
    let (state_tx, mut states) = mpsc::channel(16);
    let _state_listener = JsListener::forward(&pc, "connectionstatechange", state_tx, {
        let pc = pc.clone();
        move |_| Some(pc.connection_state())
    });
    // The offer needs a data section: a channel that lives only through the negotiation.
    let init_channel = (role == Role::Offerer).then(|| pc.create_data_channel("init"));
    let mut session = Session::new(role, now(), timeout);
    if role == Role::Offerer {
        let sdp = create_local(&pc, RtcSdpType::Offer).await?;
        session.handle(now(), Input::LocalDescription(sdp))?;
    }
    let (reader, mut writer) = stream.split();
    let mut reader = Reader::new(reader);
    let mut writable = true;
    loop {
        while let Some(output) = session.poll_output() {
            match output {
                // Once the remote has its description, the stream may go away (its relayed
                // connection closes when the direct one is up): a failed write is a close.
                Output::Send(bytes) if writable => {
                    if let Err(e) = write(&mut writer, &bytes).await {
                        tracing::debug!("signaling stream closed for writing: {e}");
                        writable = false;
                        session.handle(now(), Input::StreamClosed)?;
                    }
                }
                Output::Send(_) => {}
                Output::SetRemoteDescription(kind, sdp) => {
                    let sdp_type = match kind {
                        SdpKind::Offer => RtcSdpType::Offer,
                        SdpKind::Answer => RtcSdpType::Answer,
                    };
                    let init = RtcSessionDescriptionInit::new(sdp_type);
                    init.set_sdp(&sdp);
                    JsFuture::from(pc.set_remote_description(&init)).await?;
                    if kind == SdpKind::Offer {
                        let answer = create_local(&pc, RtcSdpType::Answer).await?;
                        session.handle(now(), Input::LocalDescription(answer))?;
                    }
                }
                Output::AddRemoteCandidate(Some(json)) => {
                    let init: RtcIceCandidateInit = js_sys::JSON::parse(&json)?.unchecked_into();
                    if let Err(e) = JsFuture::from(
                        pc.add_ice_candidate_with_opt_rtc_ice_candidate_init(Some(&init)),
                    )
                    .await
                    {
                        tracing::debug!("remote candidate rejected: {}", js_message(&e));
                    }
                }
                Output::AddRemoteCandidate(None) => {}
                Output::Done => {
                    let _ = writer.close().await;
                    if let Some(channel) = init_channel {
                        channel.close();
                    }
                    note_path(peer_id, &pc).await;
                    return Ok(peer);
                }
            }
        }
        let deadline = session.poll_timeout().unwrap_or_else(now);
        let wait = u32::try_from(deadline.saturating_sub(now()).as_millis()).unwrap_or(u32::MAX);
        let input = futures::select! {
            read = reader.next_chunk().fuse() => match read {
                Some(bytes) => Input::StreamBytes(bytes),
                None => Input::StreamClosed,
            },
            candidate = candidates.next() => Input::LocalCandidate(candidate.flatten()),
            state = states.next() => match state {
                Some(RtcPeerConnectionState::Connected) => Input::Connected,
                Some(RtcPeerConnectionState::Failed) => Input::Failed("connection state failed".into()),
                Some(RtcPeerConnectionState::Closed) => Input::Failed("connection closed".into()),
                _ => continue,
            },
            () = TimeoutFuture::new(wait).fuse() => {
                session.handle_timeout(now())?;
                continue;
            }
        };
        session.handle(now(), input)?;
    }
}

async fn write(writer: &mut futures::io::WriteHalf<Stream>, bytes: &[u8]) -> std::io::Result<()> {
    writer.write_all(bytes).await?;
    writer.flush().await
}

async fn create_local(
    pc: &RtcPeerConnection,
    kind: RtcSdpType,
) -> Result<String, NegotiationError> {
    let description = match kind {
        RtcSdpType::Offer => JsFuture::from(pc.create_offer()).await?,
        _ => JsFuture::from(pc.create_answer()).await?,
    };
    let sdp = js_sys::Reflect::get(&description, &"sdp".into())?
        .as_string()
        .ok_or_else(|| NegotiationError::Browser("description without sdp".into()))?;
    let init = RtcSessionDescriptionInit::new(kind);
    init.set_sdp(&sdp);
    JsFuture::from(pc.set_local_description(&init)).await?;
    Ok(sdp)
}

/// Reads the signaling stream in chunks; once it ended, stays pending so the loop keeps going
/// until the connection comes up or the deadline passes.
struct Reader {
    inner: ReadHalf<Stream>,
    ended: bool,
    buffer: Vec<u8>,
}

impl Reader {
    fn new(inner: ReadHalf<Stream>) -> Self {
        Self {
            inner,
            ended: false,
            buffer: vec![0; 16 * 1024],
        }
    }

    /// The next bytes, or `None` once when the stream ends or breaks (a reset after the
    /// exchange is how the remote's relayed connection going away looks).
    async fn next_chunk(&mut self) -> Option<bytes::Bytes> {
        if self.ended {
            return futures::future::pending().await;
        }
        match self.inner.read(&mut self.buffer).await {
            Ok(n) if n > 0 => Some(bytes::Bytes::copy_from_slice(&self.buffer[..n])),
            result => {
                if let Err(e) = result {
                    tracing::debug!("signaling stream broke: {e}");
                }
                self.ended = true;
                None
            }
        }
    }
}
