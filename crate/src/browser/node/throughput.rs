//! `/peerfetch/throughput/1.0.0`: the sender writes N bytes and closes; the receiver counts them
//! and answers with the count (8 bytes, big-endian). Measures one-way stream throughput.

use futures::{AsyncReadExt, AsyncWriteExt, StreamExt};
use libp2p::{PeerId, StreamProtocol};
use libp2p_stream::Control;

/// The protocol id.
pub(crate) const PROTOCOL: StreamProtocol = StreamProtocol::new(crate::wire::protocols::THROUGHPUT);

/// Bytes per write when sending.
const CHUNK: usize = 64 * 1024;

/// Counts incoming bytes on throughput streams, one stream at a time.
pub(crate) async fn serve(mut control: Control) {
    let Ok(mut incoming) = control.accept(PROTOCOL) else {
        return;
    };
    let mut buffer = vec![0u8; CHUNK];
    while let Some((peer, mut stream)) = incoming.next().await {
        let mut total: u64 = 0;
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) => break,
                Ok(n) => total += n as u64,
                Err(e) => {
                    tracing::debug!(%peer, "throughput stream failed: {e}");
                    break;
                }
            }
        }
        let _ = stream.write_all(&total.to_be_bytes()).await;
        let _ = stream.close().await;
    }
}

/// Sends `bytes` zero bytes to `peer`; returns how many it counted.
pub(crate) async fn send(mut control: Control, peer: PeerId, bytes: u64) -> Result<u64, String> {
    let mut stream = control
        .open_stream(peer, PROTOCOL)
        .await
        .map_err(|e| format!("cannot open a throughput stream to {peer}: {e}"))?;
    let chunk = vec![0u8; CHUNK];
    let mut sent = 0u64;
    while sent < bytes {
        let n = (bytes - sent).min(CHUNK as u64) as usize;
        stream
            .write_all(&chunk[..n])
            .await
            .map_err(|e| format!("throughput write failed: {e}"))?;
        sent += n as u64;
    }
    stream
        .close()
        .await
        .map_err(|e| format!("throughput close failed: {e}"))?;
    let mut count = [0u8; 8];
    stream
        .read_exact(&mut count)
        .await
        .map_err(|e| format!("throughput count missing: {e}"))?;
    Ok(u64::from_be_bytes(count))
}
