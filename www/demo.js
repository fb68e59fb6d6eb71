// The demo page: join the mesh, share a dropped file by link, download the file a link names.
// A link is `<origin>/#<content id>&name=<file name>&type=<MIME type>[&swarm=<swarm>]`.
import init, { Peer } from "/peerfetch-auto.js";

const $ = (id) => document.getElementById(id);

const megabytes = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

/** The content id and file details a link carries, or null. */
function parseLink(hash) {
  const [cid, ...rest] = hash.replace(/^#/, "").split("&");
  if (!cid) return null;
  const params = new URLSearchParams(rest.join("&"));
  return { cid, name: params.get("name") ?? "download", type: params.get("type") ?? "", swarm: params.get("swarm") };
}

function linkFor(cid, file, swarm) {
  const params = new URLSearchParams({ name: file.name || "file", type: file.type || "application/octet-stream" });
  if (swarm !== "demo") params.set("swarm", swarm);
  return `${location.origin}/#${cid}&${params}`;
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
    const cid = await peer.share(file, {
      onProgress: ({ phase, bytes, total }) => {
        $("share-progress").value = total ? bytes / total : 1;
        $("share-status").textContent = `${phase === "hashing" ? "Hashing" : "Storing"} ${file.name}: ${megabytes(bytes)} of ${megabytes(total)}`;
      },
    });
    $("share-progress").value = 1;
    $("share-status").textContent = `Shared ${file.name} (${megabytes(file.size)}).`;
    $("link").value = linkFor(cid, file, swarm);
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
      name: link.name,
      type: link.type,
      timeoutMs: 20000,
      onProgress: ({ bytes, total, bytesPerSecond, peers }) => {
        $("receive-progress").value = total ? bytes / total : 1;
        status.textContent = `${megabytes(bytes)} of ${megabytes(total)} at ${megabytes(bytesPerSecond)}/s from ${peers} peer${peers === 1 ? "" : "s"}`;
      },
    });
    $("receive-progress").value = 1;
    status.textContent = `Downloaded and verified ${link.name} (${megabytes(blob.size)}).`;
    const save = $("save");
    save.hidden = false;
    save.onclick = () => {
      const a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = link.name;
      a.click();
      setTimeout(() => URL.revokeObjectURL(a.href), 60000);
    };
  } catch (error) {
    status.className = "error";
    status.textContent = error.code === "ERR_NOT_FOUND"
      ? "No peer has this file right now. Ask the sender to keep their tab open, then reload."
      : `Download failed: ${error.message}`;
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
