// "This tab in the mesh": the tab's links, the server's transport and round trip, its storage.
import { $, megabytes } from "./format.js";

/** Shows `peer`'s state in the mesh. */
export function renderMesh(peer) {
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
