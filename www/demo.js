// The demo page: join the mesh, share a dropped file by link, download the file a link names.
// A link is `<origin>/#<content id>&k=<key>[&swarm=<swarm>]` for a private (sealed) file, whose
// name and type are sealed with it, or `<origin>/#<content id>&name=<file name>&type=<MIME
// type>[&swarm=<swarm>]`. Browsers never send the fragment (after `#`) to the server.
import init, { Peer } from "/peerfetch-auto.js";

const $ = (id) => document.getElementById(id);

const megabytes = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

/** The content id, key and file details a link carries, or null. */
function parseLink(hash) {
  const [cid, ...rest] = hash.replace(/^#/, "").split("&");
  if (!cid) return null;
  const params = new URLSearchParams(rest.join("&"));
  const key = params.get("k") ?? undefined;
  const name = params.get("name") ?? (key ? "a private file" : "download");
  return { cid, key, name, type: params.get("type") ?? "", swarm: params.get("swarm") };
}

/** The link to a share: `shared` is a content id, or `{ cid, key }` for a private share. */
function linkFor(shared, file, swarm) {
  const params = typeof shared === "string"
    ? new URLSearchParams({ name: file.name || "file", type: file.type || "application/octet-stream" })
    : new URLSearchParams({ k: shared.key });
  if (swarm !== "demo") params.set("swarm", swarm);
  return `${location.origin}/#${typeof shared === "string" ? shared : shared.cid}&${params}`;
}

function renderMesh(peer) {
  const stats = peer.stats();
  $("transport").textContent = stats.serverTransport ?? "not connected";
  $("reservation").textContent = stats.relayReservation ? "accepted" : "none";
  $("rtt").textContent = stats.rttMs === null
    ? "waiting for the first ping"
    : `${stats.rttMs.toFixed(1)} ms (p50 ${stats.rttP50Ms.toFixed(1)} ms, p99 ${stats.rttP99Ms.toFixed(1)} ms, ${stats.pings} pings)`;
  try {
    const { usedBytes, quotaBytes } = peer.storage();
    $("storage").textContent = `${megabytes(usedBytes)} of ${megabytes(quotaBytes)}`;
  } catch (error) {
    $("storage").textContent = error.message;
  }
  $("connections").replaceChildren(...peer.connections().map((c) => {
    const row = document.createElement("tr");
    for (const text of [c.peer, c.transport, c.direction]) {
      const cell = document.createElement("td");
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  }));
}

async function share(peer, file, swarm) {
  $("share-result").hidden = false;
  $("share-link-row").hidden = true;
  $("share-status").className = "";
  try {
    const shared = await peer.share(file, {
      encrypt: $("private").checked,
      onProgress: ({ phase, bytes, total }) => {
        $("share-progress").value = total ? bytes / total : 1;
        $("share-status").textContent = `${phase === "hashing" ? "Hashing" : "Storing"} ${file.name}: ${megabytes(bytes)} of ${megabytes(total)}`;
      },
    });
    $("share-progress").value = 1;
    const how = typeof shared === "string" ? "" : ", encrypted";
    $("share-status").textContent = `Shared ${file.name} (${megabytes(file.size)}${how}).`;
    $("link").value = linkFor(shared, file, swarm);
    $("share-link-row").hidden = false;
  } catch (error) {
    $("share-status").textContent = `Could not share ${file.name}: ${error.message}`;
    $("share-status").className = "error";
  }
}

async function receive(peer, link) {
  $("receive").hidden = false;
  $("receive-name").textContent = link.name;
  const status = $("receive-status");
  try {
    const blob = await peer.download(link.cid, {
      ...(link.key ? { key: link.key } : { name: link.name, type: link.type }),
      timeoutMs: 20000,
      onProgress: ({ bytes, total, bytesPerSecond, peers }) => {
        $("receive-progress").value = total ? bytes / total : 1;
        status.textContent = `${megabytes(bytes)} of ${megabytes(total)} at ${megabytes(bytesPerSecond)}/s from ${peers} peer${peers === 1 ? "" : "s"}`;
      },
    });
    $("receive-progress").value = 1;
    // A private file is a `File` named by its sealed name.
    const name = blob.name ?? link.name;
    $("receive-name").textContent = name;
    status.textContent = `Downloaded, verified${link.key ? " and decrypted" : ""} ${name} (${megabytes(blob.size)}).`;
    const save = $("save");
    save.hidden = false;
    save.onclick = () => {
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 60000);
    };
  } catch (error) {
    status.className = "error";
    status.textContent = {
      ERR_NOT_FOUND: "No peer has this file right now. Ask the sender to keep their tab open, then reload.",
      ERR_KEY_NEEDED: "This file is private and the link has no key: ask the sender for the whole link.",
      ERR_WRONG_KEY: "The link's key does not open this file: ask the sender for the link again.",
    }[error.code] ?? `Download failed: ${error.message}`;
  }
}

async function main() {
  await init();
  const link = parseLink(location.hash);
  const swarm = link?.swarm ?? new URLSearchParams(location.search).get("swarm") ?? "demo";
  let peer;
  try {
    peer = await Peer.join({ swarm });
  } catch (error) {
    $("status").textContent = `Could not join: ${error.message}`;
    $("status").className = "error";
    return;
  }
  window.peer = peer;
  $("status").textContent = `Joined swarm “${swarm}”.`;
  $("peer-id").textContent = peer.id;
  for (const name of ["connection", "disconnection", "ping", "reservation", "close"]) {
    peer.events.addEventListener(name, () => renderMesh(peer));
  }
  renderMesh(peer);

  const drop = $("drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const file = e.dataTransfer.files[0];
    if (file) share(peer, file, swarm);
  });
  $("file").addEventListener("change", (e) => { if (e.target.files[0]) share(peer, e.target.files[0], swarm); });
  $("copy").addEventListener("click", () => navigator.clipboard.writeText($("link").value));
  if (link) receive(peer, link);
  window.addEventListener("hashchange", () => {
    const next = parseLink(location.hash);
    if (next) receive(peer, next);
  });
}

main();
