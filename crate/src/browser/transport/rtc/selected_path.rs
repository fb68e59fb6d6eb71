//! The path a peer connection took ([`IcePath`]), read once from its stats when it comes up,
//! and remembered per peer for `connections()` (which answers synchronously).

use crate::net::ice_path::IcePath;
use hashlink::LinkedHashMap;
use js_sys::{Map, Reflect};
use libp2p::PeerId;
use std::cell::RefCell;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::RtcPeerConnection;

/// Peers whose path is remembered at most; the oldest is forgotten first.
const MAX_REMEMBERED: usize = 1024;

thread_local! {
    static PATHS: RefCell<LinkedHashMap<PeerId, IcePath>> = RefCell::new(LinkedHashMap::new());
}

/// Reads the path of `pc` (connected) and remembers it as the path to `peer`.
pub(crate) async fn note_path(peer: PeerId, pc: &RtcPeerConnection) {
    let Some(path) = selected_path(pc).await else {
        return tracing::debug!(%peer, "no selected ICE pair in the stats");
    };
    PATHS.with(|paths| {
        let mut paths = paths.borrow_mut();
        paths.replace(peer, path);
        while paths.len() > MAX_REMEMBERED {
            paths.pop_front();
        }
    });
}

/// The path of the last direct link to `peer` that came up.
pub(crate) fn path_to(peer: &PeerId) -> Option<IcePath> {
    PATHS.with(|paths| paths.borrow().get(peer).copied())
}

async fn selected_path(pc: &RtcPeerConnection) -> Option<IcePath> {
    let report: Map = JsFuture::from(pc.get_stats()).await.ok()?.unchecked_into();
    let text = |stat: &JsValue, key: &str| Reflect::get(stat, &key.into()).ok()?.as_string();
    let flag = |stat: &JsValue, key: &str| {
        Reflect::get(stat, &key.into())
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    };
    let stats: Vec<JsValue> = report.values().into_iter().filter_map(Result::ok).collect();
    let by_id = |id: &str| stats.iter().find(|s| text(s, "id").as_deref() == Some(id));
    // Chromium names the pair on the transport; Firefox marks it `selected`.
    let pair = stats
        .iter()
        .filter(|s| text(s, "type").as_deref() == Some("transport"))
        .find_map(|t| by_id(&text(t, "selectedCandidatePairId")?))
        .or_else(|| {
            stats.iter().find(|s| {
                text(s, "type").as_deref() == Some("candidate-pair")
                    && (flag(s, "selected")
                        || flag(s, "nominated") && text(s, "state").as_deref() == Some("succeeded"))
            })
        })?;
    let local = by_id(&text(pair, "localCandidateId")?)?;
    let remote = by_id(&text(pair, "remoteCandidateId")?)?;
    let remote_ip = text(remote, "address");
    let remote_ip_is_reflexive = stats.iter().any(|s| {
        text(s, "type").as_deref() == Some("remote-candidate")
            && text(s, "candidateType").as_deref() == Some("srflx")
            && remote_ip.is_some()
            && text(s, "address") == remote_ip
    });
    IcePath::of(
        &text(local, "candidateType")?,
        &text(remote, "candidateType")?,
        remote_ip_is_reflexive,
    )
}
