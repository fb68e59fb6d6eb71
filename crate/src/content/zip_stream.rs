//! A collection saved as one zip archive, written front to back as its files arrive: each entry
//! is stored (files people share are mostly compressed already, and storing keeps the save at
//! disk speed), its CRC and sizes follow its data, and nothing is ever rewritten, so the
//! archive streams into a file of any size (ZIP64 where an entry needs it) without being held
//! in memory.
//!
//! Sans-IO: each call hands back the bytes to append to the archive. The format is the `zip`
//! crate's; this module only lets it write into a buffer the caller drains.

use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;

use zip::write::{SimpleFileOptions, StreamWriter};
use zip::{CompressionMethod, ZipWriter};

/// Entries at least this long need ZIP64 sizes.
const ZIP64_FROM: u64 = u32::MAX as u64;

/// A zip archive being written.
pub struct ZipStream {
    /// Boxed: the writer's state is some kilobytes.
    writer: Box<ZipWriter<StreamWriter<Output>>>,
    output: Output,
}

/// Why the archive cannot go on.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the zip archive: {0}")]
pub struct ZipStreamError(#[from] zip::result::ZipError);

/// The bytes the writer produced and the caller has not taken yet.
#[derive(Clone, Default)]
struct Output(Rc<RefCell<Vec<u8>>>);

impl Write for Output {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Output {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.0.borrow_mut())
    }
}

impl Default for ZipStream {
    fn default() -> Self {
        Self::new()
    }
}

impl ZipStream {
    /// An empty archive.
    pub fn new() -> Self {
        let output = Output::default();
        Self {
            writer: Box::new(ZipWriter::new_stream(output.clone())),
            output,
        }
    }

    /// Starts the entry `path` (a collection's checked relative path) of `size` bytes; returns
    /// the bytes to append (the end of the previous entry and this one's header).
    pub fn start(&mut self, path: &str, size: u64) -> Result<Vec<u8>, ZipStreamError> {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Stored)
            .large_file(size >= ZIP64_FROM);
        self.writer.start_file(path, options)?;
        Ok(self.output.take())
    }

    /// Adds `bytes` to the current entry; returns the bytes to append.
    pub fn write(&mut self, bytes: &[u8]) -> Result<Vec<u8>, ZipStreamError> {
        self.writer
            .write_all(bytes)
            .map_err(zip::result::ZipError::from)?;
        Ok(self.output.take())
    }

    /// Ends the archive; returns its last bytes (the central directory).
    pub fn finish(self) -> Result<Vec<u8>, ZipStreamError> {
        self.writer.finish()?;
        Ok(self.output.take())
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Read};

    use super::*;

    /// Writes `entries` in chunks of `chunk` bytes, as the browser does.
    fn archive(entries: &[(&str, Vec<u8>)], chunk: usize) -> Vec<u8> {
        let mut zip = ZipStream::new();
        let mut out = Vec::new();
        for (path, bytes) in entries {
            out.extend(zip.start(path, bytes.len() as u64).unwrap());
            for part in bytes.chunks(chunk) {
                out.extend(zip.write(part).unwrap());
            }
        }
        out.extend(zip.finish().unwrap());
        out
    }

    #[test]
    fn a_standard_reader_gets_every_entry_back() {
        let entries = [
            (
                "photos/2026/a.jpg",
                (0..300_000u32).map(|i| i as u8).collect(),
            ),
            ("empty.txt", Vec::new()),
            ("notes/readme.md", b"hello".to_vec()),
        ];
        let bytes = archive(&entries, 65_536);
        let mut read = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        assert_eq!(read.len(), entries.len());
        for (i, (path, content)) in entries.iter().enumerate() {
            let mut entry = read.by_index(i).unwrap();
            assert_eq!(entry.name(), *path);
            assert_eq!(entry.size(), content.len() as u64);
            assert_eq!(entry.compression(), CompressionMethod::Stored);
            let mut back = Vec::new();
            // Reading to the end checks the entry's CRC.
            entry.read_to_end(&mut back).unwrap();
            assert_eq!(&back, content);
        }
    }

    #[test]
    fn bytes_come_out_as_they_go_in() {
        let mut zip = ZipStream::new();
        let header = zip.start("a.bin", 1 << 20).unwrap();
        assert!(header.starts_with(b"PK\x03\x04"), "a local header at once");
        let data = zip.write(&[7; 1 << 20]).unwrap();
        assert_eq!(data.len(), 1 << 20, "data is handed back, not buffered");
        assert!(
            zip.finish().unwrap().len() > 22,
            "the central directory at the end"
        );
    }

    #[test]
    fn a_damaged_entry_is_caught_by_its_crc() {
        let mut bytes = archive(&[("a.bin", vec![1; 1000])], 100);
        let data_at = bytes.windows(4).position(|w| w == [1, 1, 1, 1]).unwrap();
        bytes[data_at] ^= 0xff;
        let mut read = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        let mut back = Vec::new();
        assert!(read.by_index(0).unwrap().read_to_end(&mut back).is_err());
    }

    #[test]
    fn two_entries_with_one_path_are_refused() {
        let mut zip = ZipStream::new();
        zip.start("a", 0).unwrap();
        assert!(zip.start("a", 0).is_err());
    }
}
