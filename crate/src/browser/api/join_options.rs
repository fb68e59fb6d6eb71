//! The options object `Peer.join` takes.

use crate::browser::content::cdn::CdnConfig;
use crate::cdn::manifest::DEFAULT_MANIFEST_PATH;
use crate::net::ice_server::IceServer;
use serde::Deserialize;
use std::time::Duration;

/// `Peer.join({ server, swarm, pingIntervalMs, dialTimeoutMs, stepTimeoutMs, logLevel,
/// iceServers, iceTransportPolicy, connectTimeoutMs, meshDegree, maxDegree, storageQuotaBytes,
/// uploadLimitBytesPerSecond, manifest, peerTimeoutMs, diagnostics })`; every field is optional.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct JoinOptions {
    /// HTTP origin of a peerfetch-server; default `location.origin`.
    pub(crate) server: Option<String>,
    /// Name of the swarm to join; default `"default"`.
    pub(crate) swarm: Option<String>,
    /// Interval between pings to each connected peer; default 2000 ms.
    pub(crate) ping_interval_ms: Option<u32>,
    /// Time allowed for each transport's dial to the server; default 5000 ms.
    pub(crate) dial_timeout_ms: Option<u32>,
    /// Time allowed for opening storage, for fetching `/bootstrap` and for the relay
    /// reservation; default 10000 ms each.
    pub(crate) step_timeout_ms: Option<u32>,
    /// Most verbose log level written to the console: `error`, `warn`, `info` (default),
    /// `debug` or `trace`. Applies to the first `join` of the page.
    pub(crate) log_level: Option<String>,
    /// ICE servers for browser-to-browser connections, as in `RTCConfiguration.iceServers`
    /// (e.g. `[{ urls: "stun:stun.example.org" }]`); default those the server offers: its STUN
    /// (in the bootstrap document) and its TURN (credentials asked for once attached). `[]`
    /// means none.
    pub(crate) ice_servers: Option<Vec<IceServer>>,
    /// `RTCConfiguration.iceTransportPolicy` for browser-to-browser links: `"all"` (default) or
    /// `"relay"` (only TURN candidates, e.g. to hide host addresses).
    pub(crate) ice_transport_policy: Option<String>,
    /// Time allowed for a browser-to-browser connection to come up; default 15000 ms.
    pub(crate) connect_timeout_ms: Option<u32>,
    /// Direct neighbours the mesh keeps in the swarm; default 8.
    pub(crate) mesh_degree: Option<u32>,
    /// Neighbours held at most (inbound links beyond are closed); default twice `meshDegree`.
    pub(crate) max_degree: Option<u32>,
    /// Bytes of shared and downloaded content the tab keeps; default 4 GiB.
    pub(crate) storage_quota_bytes: Option<f64>,
    /// Cap on the bytes per second the tab uploads to other tabs; default none.
    pub(crate) upload_limit_bytes_per_second: Option<f64>,
    /// URL of the site manifest `peer.fetch` verifies against, relative to the page; default
    /// `/peerfetch-manifest.json`.
    pub(crate) manifest: Option<String>,
    /// `peer.fetch` turns to the origin for what is missing when no byte of a resource came
    /// from peers for this long and no byte of any other either (three times this while
    /// peers deliver other resources); default 1500 ms.
    pub(crate) peer_timeout_ms: Option<u32>,
    /// Answer the echo and throughput diagnostics protocols (for tests and benchmarks);
    /// default off.
    pub(crate) diagnostics: Option<bool>,
    /// Test builds only (feature `corrupt-uploads`): serve damaged pieces.
    pub(crate) corrupt_uploads: Option<bool>,
}

impl JoinOptions {
    /// Whether to answer the echo and throughput protocols.
    pub(crate) fn diagnostics(&self) -> bool {
        self.diagnostics.unwrap_or(false)
    }

    pub(crate) fn swarm(&self) -> &str {
        self.swarm.as_deref().unwrap_or("default")
    }

    pub(crate) fn log_level(&self) -> Result<tracing::Level, String> {
        match self.log_level.as_deref() {
            None => Ok(tracing::Level::INFO),
            Some(level) => level
                .parse()
                .map_err(|_| format!("invalid logLevel {level:?}")),
        }
    }

    /// The CDN settings, the manifest URL resolved against `page` (the page's URL).
    pub(crate) fn cdn_config(&self, page: &str) -> Result<CdnConfig, String> {
        let manifest = self.manifest.as_deref().unwrap_or(DEFAULT_MANIFEST_PATH);
        let manifest_url = web_sys::Url::new_with_base(manifest, page)
            .map_err(|_| format!("invalid manifest URL {manifest:?}"))?
            .href();
        Ok(CdnConfig {
            manifest_url,
            peer_timeout: millis(self.peer_timeout_ms, 1500),
            preload: self.manifest.is_some(),
        })
    }

    pub(crate) fn ping_interval(&self) -> Duration {
        millis(self.ping_interval_ms, 2000)
    }

    pub(crate) fn dial_timeout(&self) -> Duration {
        millis(self.dial_timeout_ms, 5000)
    }

    pub(crate) fn mesh_config(&self) -> crate::net::mesh::MeshConfig {
        let defaults = crate::net::mesh::MeshConfig::default();
        let target = self
            .mesh_degree
            .map_or(defaults.target_degree, |d| d as usize);
        crate::net::mesh::MeshConfig {
            target_degree: target,
            max_degree: self
                .max_degree
                .map_or(target * 2, |d| (d as usize).max(target)),
            ..defaults
        }
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        millis(self.connect_timeout_ms, 15_000)
    }

    /// The `RTCConfiguration` for browser-to-browser peer connections, with `servers` (the
    /// `iceServers` option, else those the server offers).
    pub(crate) fn rtc_configuration(
        &self,
        servers: &[IceServer],
    ) -> Result<web_sys::RtcConfiguration, String> {
        let config = web_sys::RtcConfiguration::new();
        if !servers.is_empty() {
            let servers = crate::browser::js::value::to_plain_js(&servers)
                .map_err(|e| format!("invalid iceServers: {e}"))?;
            config.set_ice_servers(&servers);
        }
        match self.ice_transport_policy.as_deref() {
            None | Some("all") => {}
            Some("relay") => config.set_ice_transport_policy(web_sys::RtcIceTransportPolicy::Relay),
            Some(other) => {
                return Err(format!(
                    "invalid iceTransportPolicy {other:?}: use \"all\" or \"relay\""
                ))
            }
        }
        Ok(config)
    }

    /// The content store's quota in bytes.
    pub(crate) fn storage_quota(&self) -> Result<u64, String> {
        match self.storage_quota_bytes {
            None => Ok(4 << 30),
            Some(bytes) if bytes >= 0.0 && bytes.is_finite() => Ok(bytes as u64),
            Some(_) => Err("storageQuotaBytes must be a number of bytes".into()),
        }
    }

    /// The content service's settings.
    pub(crate) fn service_config(
        &self,
    ) -> Result<crate::browser::content::service::ServiceConfig, String> {
        let upload_limit = match self.upload_limit_bytes_per_second {
            None => None,
            Some(rate) if rate >= 1.0 && rate.is_finite() => Some(rate as u64),
            Some(_) => return Err("uploadLimitBytesPerSecond must be at least 1".into()),
        };
        #[cfg(not(feature = "corrupt-uploads"))]
        if self.corrupt_uploads.is_some() {
            return Err("corruptUploads exists only in test builds".into());
        }
        Ok(crate::browser::content::service::ServiceConfig {
            upload_limit,
            #[cfg(feature = "corrupt-uploads")]
            corrupt_uploads: self.corrupt_uploads.unwrap_or(false),
        })
    }

    pub(crate) fn step_timeout(&self) -> Duration {
        millis(self.step_timeout_ms, 10_000)
    }
}

fn millis(value: Option<u32>, default: u32) -> Duration {
    Duration::from_millis(u64::from(value.unwrap_or(default).max(1)))
}
