// The demo page: join the mesh, share dropped or picked files (or a folder) by link, receive what
// a link names. The links: www/demo/link.js. The parts: www/demo/.
import init, { Peer } from "/peerfetch-auto.js";
import { $ } from "./demo/format.js";
import { parseLink } from "./demo/link.js";
import { renderMesh } from "./demo/mesh.js";
import { copyLink, share } from "./demo/share.js";
import { receiveFile } from "./demo/receive.js";
import { receiveCollection } from "./demo/collection.js";
import { droppedFiles } from "./demo/drop.js";

/** Stops receiving what the link opened before named. */
let stopReceiving = new AbortController();

/** Receives what `link` names, a file or a collection, in place of what was received before. */
function receive(peer, link) {
  stopReceiving.abort();
  stopReceiving = new AbortController();
  for (const id of ["save", "collection", "zip-row"]) $(id).hidden = true;
  $("receive-progress").value = 0;
  (link.collection ? receiveCollection : receiveFile)(peer, link, stopReceiving.signal);
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
  drop.addEventListener("drop", async (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const files = await droppedFiles(e.dataTransfer);
    if (files.length) share(peer, files, swarm);
  });
  for (const input of [$("file"), $("folder")]) {
    input.addEventListener("change", () => { if (input.files.length) share(peer, [...input.files], swarm); });
  }
  $("copy").addEventListener("click", copyLink);
  if (link) receive(peer, link);
  window.addEventListener("hashchange", () => {
    const next = parseLink(location.hash);
    if (next) receive(peer, next);
  });
}

main();
