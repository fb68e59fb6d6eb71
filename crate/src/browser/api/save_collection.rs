//! `peer.saveCollection`: downloads the chosen files of a collection one after another and
//! writes each, opened when private, chunk by chunk into a zip or a folder ([`SaveTarget`]), so
//! a collection of any size passes through memory a piece at a time.

use web_sys::File;

use crate::browser::api::collection_progress::{CollectionProgress, FileProgress};
use crate::browser::api::content::Content;
use crate::browser::api::content_options::{DownloadOptions, SaveOptions};
use crate::browser::content::open_sealed::Plaintext;
use crate::browser::content::save_target::{SaveTarget, SaveTo};
use crate::content::collection::{file_name, CollectionFile};
use crate::content::content_id::ContentId;
use crate::content::content_meta::ContentMeta;
use crate::error::{ErrorCode, PeerError};

impl Content {
    /// Saves the files of collection `id` that `options` choose, where it says; resolves to
    /// the zip when it was written to private storage. A failed or aborted save keeps no zip
    /// (a folder keeps the files saved whole before it).
    pub(crate) async fn save_collection(
        &self,
        id: ContentId,
        options: SaveOptions,
    ) -> Result<Option<File>, PeerError> {
        let index_options = DownloadOptions {
            on_progress: None,
            ..options.download.clone()
        };
        let (name, collection) = self.open_collection(id, index_options).await?;
        let chosen = collection
            .select(options.paths.as_deref())
            .map_err(|e| PeerError::new(ErrorCode::InvalidArgument, e.to_string()))?;
        let to = options.to.unwrap_or(SaveTo::PrivateZip(file_name(&name)));
        let mut target = SaveTarget::open(to).await?;
        match self
            .save_files(&chosen, &options.download, &mut target)
            .await
        {
            Ok(()) => target.finish().await,
            Err(error) => {
                target.abort().await;
                Err(error)
            }
        }
    }

    async fn save_files(
        &self,
        files: &[&CollectionFile],
        options: &DownloadOptions,
        target: &mut SaveTarget,
    ) -> Result<(), PeerError> {
        let reports = options.on_progress.clone().map(|user| {
            CollectionProgress::with_totals(user, files.iter().map(|f| f.cid.len()).collect())
        });
        for (index, file) in files.iter().enumerate() {
            // Kept until the file is downloaded: its callback stops working once dropped.
            let file_progress = reports.as_ref().map(|r| r.file(index, &file.path));
            let file_options = DownloadOptions {
                meta: ContentMeta::default(),
                key: None,
                on_progress: file_progress.as_ref().map(FileProgress::function),
                ..options.clone()
            };
            let stored = self.stored(file.cid, file_options).await?;
            let mut plain = Plaintext::of(stored, file.key.as_ref()).await?;
            target.start(&file.path, file.size).await?;
            let mut written = 0;
            while let Some(chunk) = plain.next().await? {
                if options.signal.as_ref().is_some_and(|s| s.aborted()) {
                    return Err(PeerError::new(
                        ErrorCode::Cancelled,
                        "cancelled: the save was aborted",
                    ));
                }
                written += u64::from(chunk.length());
                if written > file.size {
                    return Err(size_mismatch(file, written));
                }
                target.write(&chunk).await?;
            }
            if written != file.size {
                return Err(size_mismatch(file, written));
            }
            target.end_file().await?;
        }
        Ok(())
    }
}

fn size_mismatch(file: &CollectionFile, bytes: u64) -> PeerError {
    PeerError::new(
        ErrorCode::InvalidArgument,
        format!(
            "{:?} has {bytes} bytes or more where the collection index says {}",
            file.path, file.size
        ),
    )
}
