//! The server's persistent identity: its libp2p key and its WebRTC certificate, kept in one
//! JSON file so that the peer id and the `/certhash/` browsers dial survive restarts.
//!
//! The file is written whole or not at all: into a temporary file beside it (mode 0600),
//! flushed to disk, then renamed into place without replacing a file that appeared meanwhile.
//! A crash leaves at most a stray `.NAME.*.tmp` beside it, never a truncated key file. A key
//! file that group or others may read is used, with a warning.

use base64::{engine::general_purpose::STANDARD as BASE64, Engine as _};
use libp2p::identity::Keypair;
use libp2p_webrtc::tokio::Certificate;
use serde::{Deserialize, Serialize};
use std::{
    fs, io,
    path::{Path, PathBuf},
};

/// Why the identity file could not be used. The file is never overwritten when it exists.
#[derive(Debug, thiserror::Error)]
pub enum IdentityFileError {
    /// The file exists but could not be read.
    #[error("cannot read key file {path}: {source}")]
    Read {
        /// The key file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// The file could not be created.
    #[error("cannot create key file {path}: {source}")]
    Write {
        /// The key file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// The file was read but its contents are not a peerfetch identity.
    #[error("key file {path} is not a valid peerfetch-server identity: {reason}")]
    Invalid {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// The key pair and certificate a server runs with.
pub struct Identity {
    /// libp2p identity (ed25519); its public key is the peer id.
    pub keypair: Keypair,
    /// WebRTC-direct DTLS certificate; its SHA-256 is the `/certhash/` in addresses.
    pub certificate: Certificate,
}

#[derive(Serialize, Deserialize)]
struct IdentityFile {
    /// Protobuf encoding of the key pair, base64.
    keypair: String,
    /// Certificate and its private key, PEM.
    webrtc_certificate: String,
}

impl Identity {
    /// Loads the identity at `path`, or generates one and writes it there (mode 0600) if the
    /// file does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self, IdentityFileError> {
        match fs::read_to_string(path) {
            Ok(text) => {
                if readable_by_others(path) {
                    tracing::warn!(
                        path = %path.display(),
                        "the key file is readable by group or others: anyone who reads it can \
                         impersonate this server; chmod 600 it"
                    );
                }
                Self::parse(&text).map_err(|reason| IdentityFileError::Invalid {
                    path: path.to_owned(),
                    reason,
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let identity = Self::generate();
                identity.write_new(path)?;
                Ok(identity)
            }
            Err(source) => Err(IdentityFileError::Read {
                path: path.to_owned(),
                source,
            }),
        }
    }

    fn generate() -> Self {
        Self {
            keypair: Keypair::generate_ed25519(),
            certificate: Certificate::generate(&mut rand::rng())
                .expect("certificate generation with default parameters does not fail"),
        }
    }

    fn parse(text: &str) -> Result<Self, String> {
        let file: IdentityFile = serde_json::from_str(text).map_err(|e| e.to_string())?;
        let bytes = BASE64
            .decode(file.keypair)
            .map_err(|e| format!("keypair: {e}"))?;
        let keypair =
            Keypair::from_protobuf_encoding(&bytes).map_err(|e| format!("keypair: {e}"))?;
        let certificate = Certificate::from_pem(&file.webrtc_certificate)
            .map_err(|e| format!("webrtc_certificate: {e}"))?;
        Ok(Self {
            keypair,
            certificate,
        })
    }

    fn write_new(&self, path: &Path) -> Result<(), IdentityFileError> {
        let file = IdentityFile {
            keypair: BASE64.encode(
                self.keypair
                    .to_protobuf_encoding()
                    .expect("ed25519 keys always encode"),
            ),
            webrtc_certificate: self.certificate.serialize_pem(),
        };
        let text = serde_json::to_string_pretty(&file).expect("plain strings serialize");
        write_atomically(path, text.as_bytes()).map_err(|source| IdentityFileError::Write {
            path: path.to_owned(),
            source,
        })
    }
}

/// Writes `bytes` to a new file at `path` (mode 0600 on unix), whole or not at all; fails
/// without touching it when `path` exists.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    // `tempfile` creates it with mode 0600 and removes it if we fail before the rename.
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    io::Write::write_all(&mut temp, bytes)?;
    temp.as_file().sync_all()?;
    temp.persist_noclobber(path).map_err(|e| e.error)?;
    // The rename itself reaches the disk once the folder is synced (not possible everywhere).
    if let Ok(dir) = fs::File::open(dir) {
        let _ = dir.sync_all();
    }
    Ok(())
}

/// Whether users other than the owner may read the file at `path`.
#[cfg(unix)]
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|meta| meta.permissions().mode() & 0o044 != 0)
}

#[cfg(not(unix))]
fn readable_by_others(_path: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("peerfetch-id-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir");
        dir.join("key.json")
    }

    #[test]
    fn created_once_then_reloaded_identically() {
        let path = temp_path("reload");
        let first = Identity::load_or_create(&path).expect("creates");
        let second = Identity::load_or_create(&path).expect("reloads");
        assert_eq!(first.keypair.public(), second.keypair.public());
        assert_eq!(
            first.certificate.fingerprint(),
            second.certificate.fingerprint()
        );
    }

    #[test]
    fn the_key_file_is_written_whole_and_private_and_never_replaced() {
        let path = temp_path("atomic");
        write_atomically(&path, b"first").expect("writes");
        assert_eq!(fs::read(&path).expect("readable"), b"first");
        let err = write_atomically(&path, b"second").expect_err("exists");
        assert_eq!(err.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(fs::read(&path).expect("readable"), b"first", "kept");
        let names: Vec<_> = fs::read_dir(path.parent().expect("a folder"))
            .expect("listable")
            .map(|entry| entry.expect("an entry").file_name())
            .collect();
        assert_eq!(names, ["key.json"], "no temporary file left behind");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).expect("exists").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            assert!(!readable_by_others(&path));
            fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod");
            assert!(readable_by_others(&path));
        }
    }

    #[test]
    fn a_partial_temporary_file_from_a_crash_does_not_stop_creation() {
        let path = temp_path("crashed");
        let dir = path.parent().expect("a folder");
        fs::write(dir.join(".key.json.a1B2c3.tmp"), "{\"keypair\": \"CAES").expect("write");
        fs::write(dir.join("key.json.tmp"), "{\"keypair\"").expect("write");
        let first = Identity::load_or_create(&path).expect("creates");
        let again = Identity::load_or_create(&path).expect("reloads");
        assert_eq!(first.keypair.public(), again.keypair.public());
    }

    #[test]
    fn corrupt_file_is_reported_and_kept() {
        let path = temp_path("corrupt");
        fs::write(&path, "{not json").expect("write");
        let err = Identity::load_or_create(&path).err().expect("rejects");
        assert!(
            err.to_string()
                .contains("not a valid peerfetch-server identity"),
            "{err}"
        );
        assert_eq!(fs::read_to_string(&path).expect("still there"), "{not json");
    }

    #[test]
    fn unreadable_path_is_reported() {
        let path = temp_path("dir");
        fs::create_dir_all(&path).expect("a directory where the file should be");
        let err = Identity::load_or_create(&path).err().expect("rejects");
        assert!(err.to_string().starts_with("cannot read key file"), "{err}");
    }
}
