//! [`OffloadStats`]: where a page's bytes came from — peers, the origin, or the tab's own
//! store — in total and per resource, with the peers that served each.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

/// Where bytes of a resource came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Source {
    /// Other tabs, verified against the manifest.
    Peers,
    /// The site's own server.
    Origin,
    /// This tab's store, from an earlier fetch.
    Store,
}

/// Bytes by where they came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ByteCounts {
    /// Bytes from other tabs.
    pub from_peers: u64,
    /// Bytes from the origin.
    pub from_origin: u64,
    /// Bytes from this tab's store.
    pub from_store: u64,
}

impl ByteCounts {
    /// Counts `bytes` from `source`.
    pub fn add(&mut self, source: Source, bytes: u64) {
        match source {
            Source::Peers => self.from_peers += bytes,
            Source::Origin => self.from_origin += bytes,
            Source::Store => self.from_store += bytes,
        }
    }

    /// All bytes counted.
    pub fn total(&self) -> u64 {
        self.from_peers + self.from_origin + self.from_store
    }

    /// The share of bytes that did not come from the origin (0 when nothing was counted).
    pub fn offload_ratio(&self) -> f64 {
        match self.total() {
            0 => 0.0,
            total => (total - self.from_origin) as f64 / total as f64,
        }
    }
}

/// One resource's part of the stats.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceStats {
    /// Its content id (string form).
    pub cid: String,
    /// Where its bytes came from, over every fetch of it.
    #[serde(flatten)]
    pub bytes: ByteCounts,
    /// Peers that delivered some of it.
    pub peers: BTreeSet<String>,
    /// How often the page fetched it.
    pub fetches: u32,
}

/// Where a page's bytes came from, in total and per URL path.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OffloadStats {
    /// Over every resource.
    #[serde(flatten)]
    pub bytes: ByteCounts,
    /// The share of bytes that did not come from the origin.
    pub offload_ratio: f64,
    /// Peers that delivered anything.
    pub peers: BTreeSet<String>,
    /// Per URL path.
    pub resources: BTreeMap<String, ResourceStats>,
}

impl OffloadStats {
    /// Counts a fetch of the resource `cid` at `path` that got `bytes` from each source, with
    /// the peers that took part.
    pub fn record(
        &mut self,
        path: &str,
        cid: &str,
        bytes: &[(Source, u64)],
        peers: impl IntoIterator<Item = String>,
    ) {
        let resource = self.resources.entry(path.to_owned()).or_default();
        resource.cid = cid.to_owned();
        resource.fetches += 1;
        for &(source, count) in bytes {
            resource.bytes.add(source, count);
            self.bytes.add(source, count);
        }
        for peer in peers {
            self.peers.insert(peer.clone());
            resource.peers.insert(peer);
        }
        self.offload_ratio = self.bytes.offload_ratio();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_resource_and_in_total() {
        let mut stats = OffloadStats::default();
        stats.record("/a.js", "a", &[(Source::Origin, 100)], []);
        stats.record(
            "/b.png",
            "b",
            &[(Source::Peers, 250), (Source::Origin, 50)],
            ["p1".to_owned(), "p2".to_owned()],
        );
        stats.record("/a.js", "a", &[(Source::Store, 100)], []);
        assert_eq!(stats.bytes.total(), 500);
        assert_eq!(stats.bytes.from_origin, 150);
        assert!((stats.offload_ratio - 0.7).abs() < 1e-9);
        assert_eq!(stats.resources["/a.js"].fetches, 2);
        assert_eq!(stats.resources["/a.js"].bytes.from_store, 100);
        assert_eq!(stats.resources["/b.png"].peers.len(), 2);
        assert_eq!(stats.peers.len(), 2);
        let json = serde_json::to_value(&stats).unwrap();
        assert_eq!(json["fromPeers"], 250);
        assert_eq!(json["resources"]["/b.png"]["fromOrigin"], 50);
        assert_eq!(ByteCounts::default().offload_ratio(), 0.0);
    }
}
