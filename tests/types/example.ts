// A page written against the generated `peerfetch.d.ts`: it must type-check as is, and each
// `@ts-expect-error` line must be an error (so the types are not `any`).
import init, { Peer, measureVerification, qrCodeSvg } from "../../target/pkg/peerfetch.js";
import type {
  CollectionInfo,
  DownloadProgress,
  ErrorCode,
  PeerEvent,
  PeerfetchError,
  PeerStats,
  PrivateShare,
  TransferInfo,
} from "../../target/pkg/peerfetch.js";

export async function example(file: File): Promise<void> {
  await init();
  const peer: Peer = await Peer.join({ swarm: "photos", stepTimeoutMs: 5000, logLevel: "warn" });
  const alone: Peer = await Peer.join();

  const cid: string = await peer.share(file, {
    name: "holiday.jpg",
    onProgress: ({ phase, bytes, total }) => console.log(phase, bytes / total),
  });
  const onProgress = (progress: DownloadProgress) => console.log(progress.bytesPerSecond);
  try {
    const blob: Blob = await alone.download(cid, { timeoutMs: 10_000, onProgress });
    console.log(blob.size);
  } catch (error) {
    const code: ErrorCode = (error as PeerfetchError).code;
    if (code === "ERR_NOT_FOUND" || code === "ERR_CANCELLED") console.log("try later");
  }
  const { cid: sealed, key }: PrivateShare = await peer.share(file, { encrypt: true });
  const opened: Blob = await alone.download(sealed, { key });
  const either: string | PrivateShare = await peer.share(file, { encrypt: Math.random() < 0.5 });
  const set: PrivateShare = await peer.shareFiles([file], { encrypt: true, name: "holiday" });
  const listing: CollectionInfo = await alone.openCollection(set.cid, { key: set.key });
  for (const entry of listing.files) await alone.download(entry.cid, { key: entry.key ?? undefined });
  console.log(either);
  console.log(opened.size);
  const held: boolean = await peer.has(cid);
  await peer.remove(cid);

  const stats: PeerStats = peer.stats();
  const ratio: number | undefined = stats.offload?.offloadRatio;
  const transfers: TransferInfo[] = peer.transfers();
  const sent = transfers.flatMap((t) => t.peers).reduce((sum, p) => sum + p.bytesSent, 0);
  const { usedBytes, quotaBytes } = peer.storage();
  const transports = peer.connections().map((c) => c.transport);
  const response: Response = await peer.fetch("/assets/video.mp4", { headers: { range: "bytes=0-99" } });
  const covered: boolean = await peer.covers(new URL("https://example.org/x"));
  const other: string = await peer.connect(peer.id);
  const { megabytesPerSecond } = await peer.measureThroughput(other, 1 << 20);
  const { verifyMegabytesPerSecond } = measureVerification(16);
  const qr: string = qrCodeSvg(`${location.origin}/#${set.cid}&k=${set.key}`);
  document.body.insertAdjacentHTML("beforeend", qr);
  peer.events.addEventListener("neighbour", (event) => {
    const { peer: neighbour, direction } = (event as PeerEvent<"neighbour">).detail;
    console.log(neighbour, direction);
  });
  console.log(held, ratio, sent, usedBytes, quotaBytes, transports, response, covered, megabytesPerSecond, verifyMegabytesPerSecond);
  peer.close();

  // @ts-expect-error: the swarm is a string
  await Peer.join({ swarm: 7 });
  // @ts-expect-error: unknown option
  await Peer.join({ swram: "typo" });
  // @ts-expect-error: download resolves to a Blob
  const notText: string = await peer.download(cid);
  // @ts-expect-error: a private share resolves to { cid, key }
  const notCid: string = await peer.share(file, { encrypt: true });
  // @ts-expect-error: not an error code
  const wrong: ErrorCode = "ERR_TYPO";
  // @ts-expect-error: a QR code is drawn from a string
  qrCodeSvg(new URL("https://example.org/"));
  // @ts-expect-error: stats has no such field
  console.log(stats.bandwidth, notText, notCid, wrong);
}
