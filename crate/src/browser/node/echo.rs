//! `/peerfetch/echo/1.0.0`: every byte written is sent back, until the writer closes. Used to
//! check a path end to end and to measure stream throughput.

use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::{PeerId, StreamProtocol};
use libp2p_stream::Control;
use std::{cell::Cell, rc::Rc};

/// The protocol id.
pub(crate) const PROTOCOL: StreamProtocol = StreamProtocol::new(crate::wire::protocols::ECHO);

/// Echo streams served at once; further ones are dropped (reset).
const MAX_SERVED: usize = 16;

/// Serves echo streams until the swarm goes away.
pub(crate) async fn serve(mut control: Control) {
    let Ok(mut incoming) = control.accept(PROTOCOL) else {
        tracing::warn!("echo is already being served");
        return;
    };
    let active = Rc::new(Cell::new(0usize));
    while let Some((peer, stream)) = incoming.next().await {
        if active.get() >= MAX_SERVED {
            tracing::info!(%peer, "echo stream refused: {MAX_SERVED} already served");
            continue;
        }
        active.set(active.get() + 1);
        let active = active.clone();
        wasm_bindgen_futures::spawn_local(async move {
            let (reader, mut writer) = stream.split();
            match futures::io::copy(reader, &mut writer).await {
                Ok(_) => {
                    let _ = writer.close().await;
                }
                // Dropping without closing resets the stream: the sender sees an error, not a
                // short echo.
                Err(e) => tracing::debug!(%peer, "echo stream failed: {e}"),
            }
            active.set(active.get() - 1);
        });
    }
}

/// Bytes sent but not yet echoed back. WebRTC data channels have no receive window, so the
/// sender keeps the echo server's unread bytes bounded itself.
const WINDOW: usize = 2 * 1024 * 1024;
/// Bytes per write.
const CHUNK: usize = 64 * 1024;

/// Sends `data` to `peer` over a new echo stream and returns what came back.
pub(crate) async fn echo(
    mut control: Control,
    peer: PeerId,
    data: Vec<u8>,
) -> Result<Vec<u8>, String> {
    let stream = control
        .open_stream(peer, PROTOCOL)
        .await
        .map_err(|e| format!("cannot open an echo stream to {peer}: {e}"))?;
    let (mut reader, mut writer) = stream.split();
    let mut received = Vec::with_capacity(data.len());
    let mut buffer = vec![0u8; CHUNK];
    let mut sent = 0;
    if data.is_empty() {
        writer
            .close()
            .await
            .map_err(|e| format!("echo write failed: {e}"))?;
    }
    loop {
        if sent < data.len() && sent - received.len() < WINDOW {
            let end = data.len().min(sent + CHUNK);
            writer
                .write_all(&data[sent..end])
                .await
                .map_err(|e| format!("echo write failed: {e}"))?;
            sent = end;
            if sent == data.len() {
                writer
                    .close()
                    .await
                    .map_err(|e| format!("echo write failed: {e}"))?;
            }
            continue;
        }
        let n = reader
            .read(&mut buffer)
            .await
            .map_err(|e| format!("echo read failed: {e}"))?;
        if n == 0 {
            break;
        }
        received.extend_from_slice(&buffer[..n]);
    }
    Ok(received)
}
