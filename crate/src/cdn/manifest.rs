//! [`Manifest`]: a site's trust root. The origin serves it; it maps each URL path it covers to
//! the content id (BLAKE3 root and length) and content type of the resource there. Bytes from
//! peers are accepted for a path only when they hash to its content id; a path missing from the
//! manifest always comes from the origin.
//!
//! Its JSON form, as `peerfetch-server manifest DIR` writes it:
//!
//! ```json
//! { "version": 1,
//!   "resources": { "/cdn/app.js": { "cid": "<64 hex>-<len>", "type": "text/javascript" } } }
//! ```

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::content::content_id::{ContentId, ContentIdError};

/// The manifest format this build reads and writes.
pub const MANIFEST_VERSION: u32 = 1;
/// Largest manifest accepted, in bytes of JSON.
pub const MAX_MANIFEST_LEN: usize = 16 << 20;
/// Where a site serves its manifest by default, relative to its origin.
pub const DEFAULT_MANIFEST_PATH: &str = "/peerfetch-manifest.json";

/// One resource a manifest covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestEntry {
    /// What its bytes must hash to.
    pub cid: ContentId,
    /// Its `Content-Type`.
    pub content_type: String,
}

/// URL paths of a site and the resources at them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifest {
    resources: BTreeMap<String, ManifestEntry>,
}

/// Why a manifest was refused.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// Larger than [`MAX_MANIFEST_LEN`].
    #[error("manifest is {0} bytes, more than the {MAX_MANIFEST_LEN} accepted")]
    TooLarge(usize),
    /// Not JSON of the expected shape.
    #[error("manifest is not valid: {0}")]
    Json(#[from] serde_json::Error),
    /// Written for another format version.
    #[error("manifest version {0} is not supported (this build reads version {MANIFEST_VERSION})")]
    Version(u32),
    /// A path that is not an absolute URL path.
    #[error("manifest path {0:?} does not start with '/'")]
    Path(String),
    /// A content id that does not parse.
    #[error("manifest entry {path:?}: {source}")]
    ContentId {
        /// The entry's path.
        path: String,
        /// What is wrong with its id.
        source: ContentIdError,
    },
}

#[derive(Serialize, Deserialize)]
struct ManifestJson {
    version: u32,
    resources: BTreeMap<String, EntryJson>,
}

#[derive(Serialize, Deserialize)]
struct EntryJson {
    cid: String,
    #[serde(rename = "type")]
    content_type: String,
}

impl Manifest {
    /// An empty manifest.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads a manifest from its JSON form.
    pub fn parse(json: &[u8]) -> Result<Self, ManifestError> {
        if json.len() > MAX_MANIFEST_LEN {
            return Err(ManifestError::TooLarge(json.len()));
        }
        let raw: ManifestJson = serde_json::from_slice(json)?;
        if raw.version != MANIFEST_VERSION {
            return Err(ManifestError::Version(raw.version));
        }
        let mut manifest = Self::new();
        for (path, entry) in raw.resources {
            let cid = entry
                .cid
                .parse()
                .map_err(|source| ManifestError::ContentId {
                    path: path.clone(),
                    source,
                })?;
            manifest.insert(path, cid, entry.content_type)?;
        }
        Ok(manifest)
    }

    /// Adds (or replaces) the resource at `path`.
    pub fn insert(
        &mut self,
        path: String,
        cid: ContentId,
        content_type: String,
    ) -> Result<(), ManifestError> {
        if !path.starts_with('/') {
            return Err(ManifestError::Path(path));
        }
        self.resources
            .insert(path, ManifestEntry { cid, content_type });
        Ok(())
    }

    /// The resource at URL path `path` (no query, no fragment), if the manifest covers it.
    pub fn get(&self, path: &str) -> Option<&ManifestEntry> {
        self.resources.get(path)
    }

    /// Paths and resources, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ManifestEntry)> {
        self.resources
            .iter()
            .map(|(path, entry)| (path.as_str(), entry))
    }

    /// How many resources it covers.
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// Whether it covers none.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// Its JSON form, one resource per line.
    pub fn to_json(&self) -> String {
        let raw = ManifestJson {
            version: MANIFEST_VERSION,
            resources: self
                .resources
                .iter()
                .map(|(path, entry)| {
                    let json = EntryJson {
                        cid: entry.cid.to_string(),
                        content_type: entry.content_type.clone(),
                    };
                    (path.clone(), json)
                })
                .collect(),
        };
        serde_json::to_string_pretty(&raw).expect("strings and maps always serialize")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cid(data: &[u8]) -> ContentId {
        ContentId::new(blake3::hash(data), data.len() as u64).unwrap()
    }

    #[test]
    fn round_trips_through_json() {
        let mut manifest = Manifest::new();
        manifest
            .insert("/cdn/app.js".into(), cid(b"app"), "text/javascript".into())
            .unwrap();
        manifest
            .insert("/cdn/a b.png".into(), cid(b"png"), "image/png".into())
            .unwrap();
        let parsed = Manifest::parse(manifest.to_json().as_bytes()).unwrap();
        assert_eq!(parsed, manifest);
        assert_eq!(parsed.get("/cdn/app.js").unwrap().cid, cid(b"app"));
        assert_eq!(parsed.get("/cdn/missing.js"), None);
        assert_eq!(parsed.len(), 2);
    }

    #[test]
    fn bad_manifests_are_clear_errors() {
        let cases: [(&str, &str); 5] = [
            ("not json", "not valid"),
            (r#"{"version":2,"resources":{}}"#, "version 2"),
            (r#"{"version":1}"#, "missing field `resources`"),
            (
                r#"{"version":1,"resources":{"x.js":{"cid":"CID","type":"t"}}}"#,
                "does not start with '/'",
            ),
            (
                r#"{"version":1,"resources":{"/x.js":{"cid":"zz-1","type":"t"}}}"#,
                "\"/x.js\"",
            ),
        ];
        let valid = cid(b"x").to_string();
        for (json, expected) in cases {
            let json = json.replace("CID", &valid);
            let err = Manifest::parse(json.as_bytes()).unwrap_err().to_string();
            assert!(err.contains(expected), "{json}: {err}");
        }
        let huge = vec![b' '; MAX_MANIFEST_LEN + 1];
        assert!(matches!(
            Manifest::parse(&huge),
            Err(ManifestError::TooLarge(_))
        ));
    }
}
