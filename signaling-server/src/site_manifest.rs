//! `peerfetch-server manifest DIR`: builds a site's manifest (URL path → content id and type)
//! for every file under a folder of assets, and writes it where the site serves it.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use peerfetch::cdn::manifest::{Manifest, ManifestError};
use peerfetch::content::content_hasher::ContentHasher;
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};

/// The file name the manifest is written to in the folder, unless told otherwise.
pub const MANIFEST_FILE: &str = "peerfetch-manifest.json";

/// Characters a browser percent-encodes in a URL path (the WHATWG path percent-encode set).
pub(crate) const PATH_ESCAPES: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// Bytes read at a time while hashing.
const READ_LEN: usize = 1 << 20;

/// Why a manifest could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SiteManifestError {
    /// A file or folder could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// What could not be read.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file's name is not UTF-8, so it has no URL path.
    #[error("{0} has a name that is not UTF-8")]
    Name(PathBuf),
    /// A file could not be hashed (larger than a content id allows).
    #[error("cannot hash {path}: {reason}")]
    Hash {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The URL prefix is not a path.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
}

/// The manifest of every file under `dir` (hidden ones and `skip` left out), at URL paths
/// `base` + the file's path relative to `dir`.
pub fn build(dir: &Path, base: &str, skip: &Path) -> Result<Manifest, SiteManifestError> {
    let base = format!("/{}", base.trim_matches('/'));
    let base = base.trim_end_matches('/');
    let mut manifest = Manifest::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        let read_err = |source| SiteManifestError::Read {
            path: folder.clone(),
            source,
        };
        for entry in std::fs::read_dir(&folder).map_err(read_err)? {
            let path = entry.map_err(read_err)?.path();
            let name = path.file_name().and_then(|n| n.to_str());
            let Some(name) = name else {
                return Err(SiteManifestError::Name(path));
            };
            if name.starts_with('.') || path == skip {
                continue;
            }
            if path.is_dir() {
                folders.push(path);
                continue;
            }
            let relative = path.strip_prefix(dir).expect("walked from dir");
            let mut url_path = base.to_owned();
            for segment in relative.iter() {
                let segment = segment
                    .to_str()
                    .ok_or_else(|| SiteManifestError::Name(path.clone()))?;
                url_path.push('/');
                url_path.extend(utf8_percent_encode(segment, PATH_ESCAPES));
            }
            let content_type = mime_guess::from_path(&path)
                .first_or_octet_stream()
                .to_string();
            manifest.insert(url_path, hash_file(&path)?, content_type)?;
        }
    }
    Ok(manifest)
}

/// Builds the manifest of `dir` and writes it to `out` (default `dir/peerfetch-manifest.json`);
/// returns where it went and the manifest.
pub fn write(
    dir: &Path,
    base: &str,
    out: Option<&Path>,
) -> Result<(PathBuf, Manifest), SiteManifestError> {
    let out = out.map_or_else(|| dir.join(MANIFEST_FILE), Path::to_path_buf);
    let manifest = build(dir, base, &out)?;
    std::fs::write(&out, manifest.to_json()).map_err(|source| SiteManifestError::Read {
        path: out.clone(),
        source,
    })?;
    Ok((out, manifest))
}

fn hash_file(path: &Path) -> Result<peerfetch::content::content_id::ContentId, SiteManifestError> {
    let read_err = |source| SiteManifestError::Read {
        path: path.to_path_buf(),
        source,
    };
    let hash_err = |e: &dyn std::fmt::Display| SiteManifestError::Hash {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let mut file = File::open(path).map_err(read_err)?;
    let len = file.metadata().map_err(read_err)?.len();
    let mut hasher = ContentHasher::new(len).map_err(|e| hash_err(&e))?;
    let mut buffer = vec![0; READ_LEN];
    loop {
        let read = file.read(&mut buffer).map_err(read_err)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]).map_err(|e| hash_err(&e))?;
    }
    // A file that changed length while read fails here.
    let (id, _outboard) = hasher.finish().map_err(|e| hash_err(&e))?;
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_every_file_at_its_url_path() {
        let dir = std::env::temp_dir().join(format!("peerfetch-manifest-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("img")).unwrap();
        std::fs::create_dir_all(dir.join(".git")).unwrap();
        std::fs::write(dir.join("app.js"), b"console.log(1)").unwrap();
        std::fs::write(dir.join("img/a b.png"), vec![7u8; 3 << 20]).unwrap();
        std::fs::write(dir.join(".git/x"), b"hidden").unwrap();
        let (out, manifest) = write(&dir, "/cdn/", None).unwrap();
        assert_eq!(out, dir.join(MANIFEST_FILE));
        let paths: Vec<&str> = manifest.iter().map(|(path, _)| path).collect();
        assert_eq!(paths, ["/cdn/app.js", "/cdn/img/a%20b.png"]);
        let png = manifest.get("/cdn/img/a%20b.png").unwrap();
        assert_eq!(png.content_type, "image/png");
        assert_eq!(png.cid.hash(), blake3::hash(&vec![7u8; 3 << 20]));
        assert_eq!(png.cid.len(), 3 << 20);
        assert_eq!(
            manifest.get("/cdn/app.js").unwrap().content_type,
            "text/javascript"
        );
        // Written where it says, readable, and not part of itself when built again.
        let again = write(&dir, "cdn", None).unwrap().1;
        assert_eq!(again, manifest);
        let read = Manifest::parse(&std::fs::read(&out).unwrap()).unwrap();
        assert_eq!(read, manifest);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
