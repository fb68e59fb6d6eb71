//! A collection: several files shared under one link (a dropped folder, or a few files). Its
//! index is content like any other, so peers verify and seed it; it lists each file's relative
//! path, size and content id, and for a private share each file's own key (one key per content:
//! a key never seals two contents), sealed with the index under the link's key.
//!
//! The index is JSON, `{"peerfetch":"collection/1","files":[{"path","size","cid","key"?}]}`,
//! checked as it is read: it comes from whoever made the link, and its paths name files on the
//! receiver's disk (a zip's entries or a chosen directory).

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::content_id::ContentId;
use super::sealed::ShareKey;

/// The MIME type a collection's index is shared with.
pub const COLLECTION_TYPE: &str = "application/vnd.peerfetch.collection+json";

/// Most files in a collection.
pub const MAX_FILES: usize = 10_000;

/// Longest relative path, in bytes.
pub const MAX_PATH_LEN: usize = 1024;

/// Largest index, in bytes (10 000 files with long paths fit).
pub const MAX_INDEX_LEN: usize = 16 << 20;

const FORMAT: &str = "collection/1";

/// One file of a collection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CollectionFile {
    /// Where the file goes, relative (`photos/2026/a.jpg`): components joined by `/`, none
    /// empty, `.` or `..`.
    pub path: String,
    /// The file's bytes (its plaintext, when sealed).
    pub size: u64,
    /// The content the file is shared as (sealed bytes, when sealed).
    pub cid: ContentId,
    /// The key that opens it, in a private collection.
    pub key: Option<ShareKey>,
}

/// The files of a collection, in the order they were given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    files: Vec<CollectionFile>,
}

/// Why an index cannot be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CollectionError {
    /// Not JSON of the collection format.
    #[error("not a collection index: {0}")]
    Malformed(String),
    /// More than [`MAX_INDEX_LEN`] bytes.
    #[error("the collection index has {0} bytes, more than {MAX_INDEX_LEN}")]
    TooLarge(usize),
    /// No files, or more than [`MAX_FILES`].
    #[error("a collection holds 1 to {MAX_FILES} files, not {0}")]
    FileCount(usize),
    /// A path that could leave the folder, or is not a plain relative path.
    #[error("unsafe path in the collection: {0:?}")]
    UnsafePath(String),
    /// Two files with one path.
    #[error("two files in the collection have the path {0:?}")]
    DuplicatePath(String),
    /// A file's size does not fit its content (equal to it for a plain file, smaller than it
    /// for a sealed one).
    #[error("{0:?}'s size does not match its content id")]
    SizeMismatch(String),
    /// Two paths that differ only by case: on most disks (Windows, macOS) one would overwrite
    /// the other.
    #[error("{0:?} and {1:?} differ only by case: saved, one would overwrite the other")]
    CaseCollision(String, String),
    /// A path that is also another file's folder (`a` and `a/b`): both cannot be saved.
    #[error("{0:?} is both a file and a folder in the collection")]
    FileAndFolder(String),
    /// Some files carry a key and some do not.
    #[error("a collection's files are either all private or none")]
    MixedKeys,
    /// A chosen path names no file of the collection.
    #[error("the collection has no file {0:?}")]
    NoSuchFile(String),
    /// An empty choice of files.
    #[error("no file of the collection was chosen")]
    NoneChosen,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Index {
    peerfetch: String,
    files: Vec<IndexFile>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexFile {
    path: String,
    size: u64,
    cid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
}

impl Collection {
    /// A collection of `files`, checked as a receiver will check it.
    pub fn new(files: Vec<CollectionFile>) -> Result<Self, CollectionError> {
        check_paths(files.iter().map(|f| f.path.as_str()))?;
        for file in &files {
            let fits = match file.key {
                None => file.size == file.cid.len(),
                Some(_) => file.size < file.cid.len(),
            };
            if !fits {
                return Err(CollectionError::SizeMismatch(file.path.clone()));
            }
        }
        let private = files.iter().filter(|f| f.key.is_some()).count();
        if private != 0 && private != files.len() {
            return Err(CollectionError::MixedKeys);
        }
        Ok(Self { files })
    }

    /// The files, in the order they were given.
    pub fn files(&self) -> &[CollectionFile] {
        &self.files
    }

    /// Whether the files are sealed (each under its own key).
    pub fn is_private(&self) -> bool {
        self.files[0].key.is_some()
    }

    /// The files at `paths` (each once, in the collection's order); all of them for `None`.
    pub fn select(
        &self,
        paths: Option<&[String]>,
    ) -> Result<Vec<&CollectionFile>, CollectionError> {
        let Some(paths) = paths else {
            return Ok(self.files.iter().collect());
        };
        let chosen: HashSet<&str> = paths.iter().map(String::as_str).collect();
        if let Some(missing) = chosen
            .iter()
            .find(|path| !self.files.iter().any(|f| f.path == **path))
        {
            return Err(CollectionError::NoSuchFile((*missing).to_owned()));
        }
        if chosen.is_empty() {
            return Err(CollectionError::NoneChosen);
        }
        Ok(self
            .files
            .iter()
            .filter(|f| chosen.contains(f.path.as_str()))
            .collect())
    }

    /// Bytes of all the files.
    pub fn total_size(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }

    /// The index's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let index = Index {
            peerfetch: FORMAT.into(),
            files: self
                .files
                .iter()
                .map(|f| IndexFile {
                    path: f.path.clone(),
                    size: f.size,
                    cid: f.cid.to_string(),
                    key: f.key.as_ref().map(ShareKey::to_link_text),
                })
                .collect(),
        };
        serde_json::to_vec(&index).expect("an index always serializes")
    }

    /// Reads and checks an index.
    pub fn decode(bytes: &[u8]) -> Result<Self, CollectionError> {
        if bytes.len() > MAX_INDEX_LEN {
            return Err(CollectionError::TooLarge(bytes.len()));
        }
        let malformed = |e: String| CollectionError::Malformed(e);
        let index: Index = serde_json::from_slice(bytes).map_err(|e| malformed(e.to_string()))?;
        if index.peerfetch != FORMAT {
            return Err(malformed(format!("format {:?}", index.peerfetch)));
        }
        let files = index
            .files
            .into_iter()
            .map(|f| {
                Ok(CollectionFile {
                    cid: f.cid.parse().map_err(|e| malformed(format!("{e}")))?,
                    key: f
                        .key
                        .map(|k| ShareKey::parse(&k).map_err(|e| malformed(e.to_string())))
                        .transpose()?,
                    path: f.path,
                    size: f.size,
                })
            })
            .collect::<Result<Vec<_>, CollectionError>>()?;
        Self::new(files)
    }
}

/// Longest file name made by [`file_name`], in bytes (file systems allow 255).
const MAX_NAME_LEN: usize = 200;

/// A file name made from a collection's `name` (which its sharer chose: anything) for the
/// receiver's disk: `/`, `\`, `:` and control characters become `_`, an empty, `.` or `..`
/// name becomes `files`, and a long one is cut at a character boundary.
pub fn file_name(name: &str) -> String {
    let mut safe: String = name
        .chars()
        .map(|c| {
            if matches!(c, '/' | '\\' | ':') || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if safe.len() > MAX_NAME_LEN {
        let mut end = MAX_NAME_LEN;
        while !safe.is_char_boundary(end) {
            end -= 1;
        }
        safe.truncate(end);
    }
    match safe.trim() {
        "" | "." | ".." => "files".into(),
        _ => safe,
    }
}

/// Checks the paths of a collection's files before anything is shared: 1 to [`MAX_FILES`] of
/// them, each safe, no two alike.
pub fn check_paths<'a>(
    paths: impl ExactSizeIterator<Item = &'a str>,
) -> Result<(), CollectionError> {
    if paths.len() == 0 || paths.len() > MAX_FILES {
        return Err(CollectionError::FileCount(paths.len()));
    }
    let mut seen = HashSet::new();
    let mut folded = HashMap::new();
    for path in paths {
        check_path(path)?;
        if !seen.insert(path) {
            return Err(CollectionError::DuplicatePath(path.to_owned()));
        }
        if let Some(other) = folded.insert(path.to_lowercase(), path) {
            return Err(CollectionError::CaseCollision(
                other.to_owned(),
                path.to_owned(),
            ));
        }
    }
    // Every folder some path goes through; none may also be a file.
    for path in &seen {
        let mut folder = *path;
        while let Some((parent, _)) = folder.rsplit_once('/') {
            if seen.contains(parent) {
                return Err(CollectionError::FileAndFolder(parent.to_owned()));
            }
            folder = parent;
        }
    }
    Ok(())
}

/// A path is safe when it stays inside whatever folder the receiver puts it in, on any system.
fn check_path(path: &str) -> Result<(), CollectionError> {
    let unsafe_path = || CollectionError::UnsafePath(path.to_owned());
    if path.is_empty() || path.len() > MAX_PATH_LEN {
        return Err(unsafe_path());
    }
    for component in path.split('/') {
        let forbidden = component.is_empty()
            || component == "."
            || component == ".."
            || component.contains(['\\', ':', '\0'])
            || component.chars().any(char::is_control);
        if forbidden {
            return Err(unsafe_path());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cid(n: u8) -> ContentId {
        ContentId::new(blake3::hash(&[n]), u64::from(n) * 1000).unwrap()
    }

    fn file(path: &str, n: u8, key: Option<ShareKey>) -> CollectionFile {
        CollectionFile {
            path: path.into(),
            size: u64::from(n) * 1000,
            cid: cid(n),
            key,
        }
    }

    #[test]
    fn an_index_survives_its_encoding() {
        let sealed = |path, n: u8| CollectionFile {
            cid: cid(n + 1),
            ..file(path, n, Some(ShareKey::from_bytes([n; 32])))
        };
        let collection = Collection::new(vec![
            sealed("photos/a.jpg", 1),
            sealed("photos/2026/b – ü.jpg", 2),
            sealed("notes.txt", 3),
        ])
        .unwrap();
        let decoded = Collection::decode(&collection.encode()).unwrap();
        assert_eq!(decoded, collection);
        assert!(decoded.is_private());
        assert_eq!(decoded.total_size(), 6000);
    }

    #[test]
    fn paths_that_could_leave_the_folder_are_refused() {
        for path in [
            "",
            "/etc/passwd",
            "../up",
            "a/../../up",
            "a//b",
            "a/./b",
            "dir/",
            "c:\\windows",
            "a\\..\\b",
            "nul\0byte",
            "line\nbreak",
        ] {
            assert_eq!(
                Collection::new(vec![file(path, 1, None)]),
                Err(CollectionError::UnsafePath(path.into())),
                "{path:?}"
            );
        }
        let long = "a".repeat(MAX_PATH_LEN + 1);
        assert!(Collection::new(vec![file(&long, 1, None)]).is_err());
    }

    #[test]
    fn bad_collections_are_refused_saying_why() {
        assert_eq!(Collection::new(vec![]), Err(CollectionError::FileCount(0)));
        assert_eq!(
            Collection::new(vec![file("a", 1, None), file("a", 2, None)]),
            Err(CollectionError::DuplicatePath("a".into()))
        );
        assert_eq!(
            Collection::new(vec![
                file("Docs/Read me.txt", 1, None),
                file("docs/read ME.txt", 2, None)
            ]),
            Err(CollectionError::CaseCollision(
                "Docs/Read me.txt".into(),
                "docs/read ME.txt".into()
            ))
        );
        let sealed = |path, n| CollectionFile {
            cid: cid(n + 1),
            ..file(path, n, Some(ShareKey::from_bytes([n; 32])))
        };
        assert_eq!(
            Collection::new(vec![file("a", 1, None), sealed("b", 2)]),
            Err(CollectionError::MixedKeys)
        );
        let lying = CollectionFile {
            size: 5,
            ..file("a", 1, None)
        };
        assert_eq!(
            Collection::new(vec![lying]),
            Err(CollectionError::SizeMismatch("a".into()))
        );
        let not_sealed_enough = CollectionFile {
            cid: cid(1),
            ..sealed("b", 1)
        };
        assert_eq!(
            Collection::new(vec![not_sealed_enough]),
            Err(CollectionError::SizeMismatch("b".into()))
        );
        let many = (0..=MAX_FILES)
            .map(|i| file(&format!("f{i}"), 1, None))
            .collect();
        assert_eq!(
            Collection::new(many),
            Err(CollectionError::FileCount(MAX_FILES + 1))
        );
    }

    #[test]
    fn a_file_cannot_also_be_a_folder() {
        assert_eq!(
            Collection::new(vec![file("a/b/c", 1, None), file("a/b", 2, None)]),
            Err(CollectionError::FileAndFolder("a/b".into()))
        );
        assert!(Collection::new(vec![file("a/b", 1, None), file("a/bc", 2, None)]).is_ok());
    }

    #[test]
    fn a_collection_name_becomes_a_safe_file_name() {
        assert_eq!(file_name("holiday 2026"), "holiday 2026");
        assert_eq!(file_name("../../etc/passwd"), ".._.._etc_passwd");
        assert_eq!(file_name("c:\\x\nz"), "c__x_z");
        for empty in ["", " ", ".", ".."] {
            assert_eq!(file_name(empty), "files");
        }
        let long = file_name(&"é".repeat(300));
        assert!(long.len() <= MAX_NAME_LEN && long.chars().all(|c| c == 'é'));
    }

    #[test]
    fn files_are_chosen_by_path() {
        let collection = Collection::new(vec![
            file("a", 1, None),
            file("d/b", 2, None),
            file("c", 3, None),
        ])
        .unwrap();
        let paths = |chosen: Vec<&CollectionFile>| -> Vec<String> {
            chosen.into_iter().map(|f| f.path.clone()).collect()
        };
        assert_eq!(paths(collection.select(None).unwrap()), ["a", "d/b", "c"]);
        let some = ["c".to_owned(), "a".to_owned(), "c".to_owned()];
        assert_eq!(paths(collection.select(Some(&some)).unwrap()), ["a", "c"]);
        assert_eq!(
            collection.select(Some(&["d".to_owned()])),
            Err(CollectionError::NoSuchFile("d".into()))
        );
        assert_eq!(
            collection.select(Some(&[])),
            Err(CollectionError::NoneChosen)
        );
    }

    #[test]
    fn malformed_indexes_are_refused() {
        for bytes in [
            &b"not json"[..],
            br#"{"peerfetch":"collection/2","files":[]}"#,
            br#"{"peerfetch":"collection/1","files":[{"path":"a","size":1,"cid":"nope"}]}"#,
            br#"{"peerfetch":"collection/1","files":[],"extra":1}"#,
        ] {
            assert!(
                matches!(
                    Collection::decode(bytes),
                    Err(CollectionError::Malformed(_))
                ),
                "{}",
                String::from_utf8_lossy(bytes)
            );
        }
        assert_eq!(
            Collection::decode(&vec![b' '; MAX_INDEX_LEN + 1]),
            Err(CollectionError::TooLarge(MAX_INDEX_LEN + 1))
        );
    }
}
