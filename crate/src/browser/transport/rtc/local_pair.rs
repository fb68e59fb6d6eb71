//! Test support: two `RTCPeerConnection`s in one page, connected to each other (non-trickle ICE,
//! so the descriptions carry every candidate).

use gloo_timers::future::TimeoutFuture;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RtcIceGatheringState, RtcPeerConnection, RtcSdpType, RtcSessionDescriptionInit};

/// Connects `offerer` to `answerer`; channels created on `offerer` before the call are
/// negotiated by it.
pub(crate) async fn connect(
    offerer: &RtcPeerConnection,
    answerer: &RtcPeerConnection,
) -> Result<(), JsValue> {
    let offer = describe(offerer, RtcSdpType::Offer).await?;
    set_description(answerer, Side::Remote, RtcSdpType::Offer, &offer).await?;
    let answer = describe(answerer, RtcSdpType::Answer).await?;
    set_description(offerer, Side::Remote, RtcSdpType::Answer, &answer).await
}

async fn describe(pc: &RtcPeerConnection, kind: RtcSdpType) -> Result<String, JsValue> {
    let description = match kind {
        RtcSdpType::Offer => JsFuture::from(pc.create_offer()).await?,
        _ => JsFuture::from(pc.create_answer()).await?,
    };
    let sdp = js_sys::Reflect::get(&description, &"sdp".into())?
        .as_string()
        .unwrap_or_default();
    set_description(pc, Side::Local, kind, &sdp).await?;
    while pc.ice_gathering_state() != RtcIceGatheringState::Complete {
        TimeoutFuture::new(10).await;
    }
    Ok(pc.local_description().map(|d| d.sdp()).unwrap_or_default())
}

enum Side {
    Local,
    Remote,
}

async fn set_description(
    pc: &RtcPeerConnection,
    side: Side,
    kind: RtcSdpType,
    sdp: &str,
) -> Result<(), JsValue> {
    let init = RtcSessionDescriptionInit::new(kind);
    init.set_sdp(sdp);
    let promise = match side {
        Side::Local => pc.set_local_description(&init),
        Side::Remote => pc.set_remote_description(&init),
    };
    JsFuture::from(promise).await.map(drop)
}
