//! What `peer.transfers()` returns: each resource the tab holds or downloads and each peer's part
//! in it, read off the swarms.

use libp2p::PeerId;
use serde::Serialize;

use crate::content::piece_layout::PieceLayout;
use crate::swarm::resource::ResourceSwarm;

/// What one resource looks like from the page.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TransferInfo {
    cid: String,
    name: Option<String>,
    bytes: u64,
    total: u64,
    pieces: u32,
    total_pieces: u32,
    downloading: bool,
    peers: Vec<TransferPeer>,
    banned: Vec<String>,
}

/// One peer's part in a transfer.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TransferPeer {
    peer: String,
    bytes_received: u64,
    bytes_sent: u64,
    connected: bool,
}

impl TransferInfo {
    /// The transfer of `swarm`'s resource, shown under `name`.
    pub(crate) fn of(swarm: &ResourceSwarm<PeerId>, name: Option<String>) -> Self {
        let id = swarm.id();
        let layout = PieceLayout::of(id);
        let mut banned: Vec<String> = swarm.banned().map(PeerId::to_string).collect();
        banned.sort();
        Self {
            cid: id.to_string(),
            name,
            bytes: layout.bytes_in(swarm.have()),
            total: id.len(),
            pieces: swarm.have().count(),
            total_pieces: layout.piece_count(),
            downloading: swarm.stage().is_some(),
            peers: swarm
                .peers()
                .into_iter()
                .map(|part| TransferPeer {
                    peer: part.peer.to_string(),
                    bytes_received: part.received,
                    bytes_sent: part.sent,
                    connected: part.linked,
                })
                .collect(),
            banned,
        }
    }

    /// The resource's content id, string form.
    pub(crate) fn cid(&self) -> &str {
        &self.cid
    }

    /// Peers that sent this tab some of the resource.
    pub(crate) fn suppliers(&self) -> impl Iterator<Item = String> + '_ {
        self.peers
            .iter()
            .filter(|p| p.bytes_received > 0)
            .map(|p| p.peer.clone())
    }
}
