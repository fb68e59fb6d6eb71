// Sharing what the person dropped or picked: one file under its own link, several files (or a
// folder) as a collection under one link (`peer.shareFiles`). Each file's progress while it is
// hashed and stored, then the link with its QR code, Copy and Share buttons, and while the tab
// stays open what it sends: to how many peers, how fast, per file.
import { qrCodeSvg } from "/peerfetch-auto.js";
import { $, megabytes, peers } from "./format.js";
import { fileRow, setRow } from "./file-list.js";
import { linkFor } from "./link.js";

/** How often the sending figures are refreshed. */
const UPLOAD_REFRESH_MS = 1000;

/** The interval refreshing the last share's sending figures (one share is watched at a time). */
let watching = null;

const pathOf = (file) => file.webkitRelativePath || file.name;

/** A collection's name: its folder's when every file comes from one folder, else "files". */
function collectionName(files) {
  const tops = new Set(files.map((f) => pathOf(f).split("/")).map((parts) => (parts.length > 1 ? parts[0] : "")));
  const [top] = tops;
  return tops.size === 1 && top ? top : "files";
}

/** Shares `files` (one, several, or a folder's) in the swarm `swarm` and shows its link. */
export async function share(peer, files, swarm) {
  clearInterval(watching);
  const several = files.length > 1 || files.some((f) => f.webkitRelativePath);
  const name = several ? collectionName(files) : files[0].name;
  const rows = new Map(files.map((f) => [pathOf(f), fileRow(pathOf(f), f.size)]));
  $("share-files").replaceChildren(...rows.values());
  $("share-result").hidden = false;
  $("share-link-row").hidden = true;
  $("share-status").className = "";
  const encrypt = $("private").checked;
  const onProgress = ({ phase, bytes, total, path = pathOf(files[0]), file = 0, files: count = 1 }) => {
    const fraction = total ? bytes / total : 1;
    const hashing = phase === "hashing";
    setRow(rows.get(path), fraction, `${hashing ? "hashing" : "storing"}: ${megabytes(bytes)} of ${megabytes(total)}`);
    $("share-progress").value = (file + (hashing ? fraction / 2 : 0.5 + fraction / 2)) / count;
    $("share-status").textContent = `${hashing ? "Hashing" : "Storing"} ${path}${count > 1 ? ` (file ${file + 1} of ${count})` : ""}`;
  };
  try {
    const shared = several
      ? await peer.shareFiles(files, { name, encrypt, onProgress })
      : await peer.share(files[0], { encrypt, onProgress });
    $("share-progress").value = 1;
    const size = files.reduce((sum, f) => sum + f.size, 0);
    const what = several ? `${files.length} files as “${name}”` : name;
    $("share-status").textContent = `Shared ${what} (${megabytes(size)}${encrypt ? ", encrypted" : ""}).`;
    for (const row of rows.values()) setRow(row, 1, "ready to send");
    showLink(linkFor(shared, { name, type: files[0].type, collection: several, swarm }), name);
    const key = typeof shared === "string" ? undefined : shared.key;
    const cid = typeof shared === "string" ? shared : shared.cid;
    // The index of a collection is in this tab's store: it opens at once and names each file's content id.
    const entries = several
      ? (await peer.openCollection(cid, { key })).files
      : [{ path: pathOf(files[0]), cid }];
    watching = watchUploads(peer, entries, rows);
  } catch (error) {
    $("share-status").textContent = `Could not share ${name}: ${error.message}`;
    $("share-status").className = "error";
  }
}

/** Shows `link`, its QR code, and the Share button where the browser can share links. */
function showLink(link, name) {
  $("link").value = link;
  try {
    $("qr").innerHTML = qrCodeSvg(link);
  } catch (error) {
    $("qr").textContent = `No QR code: ${error.message}`;
  }
  $("copy").textContent = "Copy link";
  $("web-share").hidden = !navigator.share;
  $("web-share").onclick = () => navigator.share({ title: name, url: link }).catch(() => {});
  $("share-link-row").hidden = false;
}

/** Copies the link, and says so on the button for a few seconds. */
export async function copyLink() {
  const button = $("copy");
  try {
    await navigator.clipboard.writeText($("link").value);
    button.textContent = "Copied";
  } catch {
    $("link").select();
    button.textContent = "Select and copy it";
  }
  setTimeout(() => { button.textContent = "Copy link"; }, 4000);
}

/**
 * Refreshes, every second, what this tab sends of each of `entries` (`{ path, cid }`): bytes
 * sent, to how many connected peers, how fast. Returns the interval.
 */
function watchUploads(peer, entries, rows) {
  const sentBefore = new Map();
  let last = performance.now();
  return setInterval(() => {
    const now = performance.now();
    const seconds = (now - last) / 1000;
    last = now;
    const transfers = new Map(peer.transfers().map((t) => [t.cid, t]));
    const everyone = new Set();
    let rate = 0;
    for (const { path, cid } of entries) {
      const links = transfers.get(cid)?.peers ?? [];
      const sent = links.reduce((sum, p) => sum + p.bytesSent, 0);
      const receiving = links.filter((p) => p.connected).map((p) => p.peer);
      for (const id of receiving) everyone.add(id);
      const perSecond = Math.max(0, sent - (sentBefore.get(cid) ?? sent)) / seconds;
      sentBefore.set(cid, sent);
      rate += perSecond;
      if (sent > 0 || receiving.length > 0) {
        setRow(rows.get(path), 1, `sent ${megabytes(sent)} to ${peers(receiving.length)} at ${megabytes(perSecond)}/s`);
      }
    }
    $("uploads").textContent = everyone.size
      ? `Sending to ${peers(everyone.size)} at ${megabytes(rate)}/s.`
      : "No peer is fetching it right now.";
  }, UPLOAD_REFRESH_MS);
}
