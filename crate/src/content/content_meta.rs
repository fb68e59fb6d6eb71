//! What is known about a resource besides its bytes: a file's name and type.

use serde::{Deserialize, Serialize};

/// A resource's name and type, as its sharer gave them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentMeta {
    /// File name, if it came from a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// MIME type, if known.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub mime: Option<String>,
}
