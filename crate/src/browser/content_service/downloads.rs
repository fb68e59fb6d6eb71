//! The service's downloads: starting one from what the store holds, carrying out what the
//! sans-IO `Download` asks, writing verified pieces, and handing out the `Blob`.

use super::*;

impl ContentService {
    /// Adds a waiter to `id`'s fetch, starting it once the store says which pieces it holds
    /// already (so an interrupted download resumes instead of fetching them again).
    pub(super) fn download(&mut self, id: ContentId, waiter: Waiter) {
        if let Some(fetch) = self.fetch_mut(&id) {
            fetch.last_activity = now();
            fetch.not_found_after = waiter.not_found_after;
            fetch.wait(waiter.reply, waiter.progress, waiter.activity);
            return;
        }
        let store = self.store.clone();
        let done = self.done.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let have = store.pieces(&id).await;
            if have.is_ok() {
                let _ = store.write_meta(&id, &waiter.meta).await;
            }
            let _ = done.unbounded_send(Done::FetchReady(id, have, waiter));
        });
    }

    /// Starts `id`'s fetch from the pieces held (or fails it if the store could not say).
    pub(super) fn start_fetch(
        &mut self,
        id: ContentId,
        have: Result<Bitfield, StoreError>,
        waiter: Waiter,
    ) {
        let now = now();
        if self.fetch_mut(&id).is_some() {
            // Another request started it meanwhile.
            return self.download(id, waiter);
        }
        let have = match have {
            Ok(have) => have,
            Err(e) => {
                let _ = waiter.reply.send(Err(e.to_string()));
                return;
            }
        };
        let resource = self
            .resources
            .entry(id)
            .or_insert_with(|| Resource::new(Bitfield::empty(have.len()), ContentMeta::default()));
        let newly_held: Vec<u32> = have.iter().filter(|i| resource.have.insert(*i)).collect();
        if resource.meta.name.is_none() && resource.meta.mime.is_none() {
            resource.meta = waiter.meta.clone();
        }
        let config = DownloadConfig {
            seed: u64::from(now.subsec_nanos()) ^ self.next_link,
            ..DownloadConfig::default()
        };
        let mut fetch = Fetch::new(Download::new(id, resource.have.clone(), config), now);
        fetch.finishing = resource.have.is_full();
        fetch.not_found_after = waiter.not_found_after;
        fetch.wait(waiter.reply, waiter.progress, waiter.activity);
        for peer in resource.links.keys() {
            fetch.download.add_peer(*peer, now);
        }
        // Peers linked already learn what the store held beyond what they were told.
        for link in resource.links.values().filter_map(|l| self.links.get(l)) {
            for index in &newly_held {
                link.link.send(&SwarmMessage::HavePiece(*index));
            }
        }
        resource.fetch = Some(fetch);
        self.tell_node(Command::Provide(id));
        self.finish_if_complete(id);
        self.lookup_due(id);
    }

    /// Carries out what `id`'s download asks for.
    pub(super) fn drain_download(&mut self, id: ContentId) {
        let now = now();
        loop {
            let Some(resource) = self.resources.get_mut(&id) else {
                return;
            };
            let Some(fetch) = resource.fetch.as_mut() else {
                return;
            };
            let Some(event) = fetch.download.poll_event() else {
                fetch.report(now, false);
                return;
            };
            match event {
                Event::Send(peer, message) => {
                    if let Some(state) = resource.links.get(&peer).and_then(|l| self.links.get(l)) {
                        state.link.send(&message);
                    }
                }
                Event::Verified(piece) => {
                    fetch.touch(now);
                    let index = piece.index();
                    let stored = stored_form(&piece);
                    resource.have.insert(index);
                    resource.unwritten.insert(index, stored.clone());
                    let store = self.store.clone();
                    let done = self.done.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        let result = store.write_piece(&id, index, &stored).await;
                        let _ = done.unbounded_send(Done::Stored(id, index, result));
                    });
                }
                Event::Drop(peer, reason) => {
                    tracing::warn!(%id, %peer, ?reason, "dropping swarm peer");
                    if reason.is_ban() {
                        resource.banned.insert(peer);
                    }
                    if let Some(link) = resource.links.get(&peer).copied() {
                        self.close_link(link);
                    }
                }
                Event::Finished => {
                    fetch.finishing = true;
                    self.finish_if_complete(id);
                }
            }
        }
    }

    /// Hands out the `Blob` once every piece is verified and written.
    pub(super) fn finish_if_complete(&mut self, id: ContentId) {
        let Some(resource) = self.resources.get_mut(&id) else {
            return;
        };
        let ready = resource.fetch.as_ref().is_some_and(|f| f.finishing)
            && resource.have.is_full()
            && resource.unwritten.is_empty();
        if !ready {
            return;
        }
        if let Some(fetch) = resource.fetch.as_mut() {
            fetch.report(now(), true);
        }
        let store = self.store.clone();
        let done = self.done.clone();
        let mime = resource.meta.mime.clone().unwrap_or_default();
        wasm_bindgen_futures::spawn_local(async move {
            let blob = store.blob(&id, &mime).await.map_err(|e| e.to_string());
            let _ = done.unbounded_send(Done::Assembled(id, blob));
        });
        // Settled when the Blob is ready; no more assembling meanwhile.
        if let Some(fetch) = resource.fetch.as_mut() {
            fetch.finishing = false;
            fetch.assembling = true;
        }
    }

    pub(super) fn on_stored(&mut self, id: ContentId, index: u32, result: Result<(), StoreError>) {
        let Some(resource) = self.resources.get_mut(&id) else {
            return;
        };
        resource.unwritten.remove(&index);
        match result {
            Ok(()) => self.finish_if_complete(id),
            Err(e) => {
                tracing::warn!(%id, index, "cannot store piece: {e}");
                resource.have.remove(index);
                if let Some(fetch) = resource.fetch.take() {
                    fetch.settle(Err(e.to_string()));
                }
            }
        }
    }
}
