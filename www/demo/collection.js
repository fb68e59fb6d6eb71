// Receiving several files a link names (a collection): the list of files with their sizes, a
// checkbox each, and Save all / Save selected. Saving streams a zip to disk: into a file the
// person picks where the File System Access API exists, else into the origin's private storage,
// offered as a download link; "into a folder" writes each file at its path instead. Only a piece
// at a time is ever in the tab's memory (`peer.saveCollection`).
import { $, megabytes, peers, transferText } from "./format.js";
import { fileRow, setRow } from "./file-list.js";
import { ATTEMPT_MS, untilFound, waitingText } from "./patience.js";
import { failureText, receiveState } from "./receive.js";

/**
 * Lists the collection `link` names, waiting for a peer that has it, and saves what is chosen;
 * stops quietly once `signal` aborts (another link was opened).
 */
export async function receiveCollection(peer, link, signal) {
  $("receive").hidden = false;
  $("receive-name").textContent = link.name;
  receiveState("looking", "Looking for peers that have it…");
  const waiting = (attempts) => receiveState("waiting", waitingText("these files", attempts));
  let listing;
  try {
    listing = await untilFound(
      () => peer.openCollection(link.cid, { key: link.key, timeoutMs: ATTEMPT_MS, signal }),
      waiting,
      signal,
    );
  } catch (error) {
    if (!signal.aborted) receiveState("failed", failureText(error));
    return;
  }
  // A private collection's name is sealed in its index; a public one's is in the link.
  const name = link.key ? listing.name : link.name;
  $("receive-name").textContent = name;
  const total = listing.files.reduce((sum, f) => sum + f.size, 0);
  receiveState("listed", `${listing.files.length} files, ${megabytes(total)}: choose what to save.`);
  const rows = new Map(listing.files.map((f) => [f.path, fileRow(f.path, f.size, true)]));
  $("collection-files").replaceChildren(...rows.values());
  $("collection").hidden = false;

  const boxes = () => [...$("collection-files").querySelectorAll("input[type=checkbox]")];
  const chosen = () => boxes().filter((b) => b.checked).map((b) => b.value);
  const buttons = [$("save-all"), $("save-selected"), $("save-folder")];
  const refresh = () => {
    $("save-selected").disabled = chosen().length === 0;
    $("save-folder").disabled = chosen().length === 0;
    $("select-all").checked = chosen().length === rows.size;
  };
  $("collection-files").onchange = refresh;
  $("select-all").onchange = () => {
    for (const box of boxes()) box.checked = $("select-all").checked;
    refresh();
  };
  refresh();

  const save = async (paths, pick) => {
    let to;
    try {
      to = await pick?.();
    } catch (error) {
      // AbortError: the person closed the picker.
      if (error.name !== "AbortError") receiveState("failed", `Could not save there: ${error.message}`);
      return;
    }
    for (const button of buttons) button.disabled = true;
    $("zip-row").hidden = true;
    for (const row of rows.values()) setRow(row, 0, paths.includes(row.dataset.path) ? "waiting its turn" : "");
    try {
      const zip = await untilFound(() => peer.saveCollection(link.cid, {
        key: link.key, name: link.key ? undefined : name, paths, to, timeoutMs: ATTEMPT_MS, signal,
        onProgress: showFileProgress(rows),
      }), waiting, signal);
      for (const path of paths) setRow(rows.get(path), 1, "saved");
      $("receive-progress").value = 1;
      const where = zip ? "into a zip" : to.kind === "directory" ? `into the folder ${to.name}` : `into ${to.name}`;
      receiveState("done", `Saved ${paths.length} of ${rows.size} files ${where}, verified${link.key ? " and decrypted" : ""}.`);
      if (zip) offerZip(zip, `${name}.zip`);
    } catch (error) {
      if (!signal.aborted) receiveState("failed", failureText(error));
    } finally {
      for (const button of buttons) button.disabled = false;
      refresh();
    }
  };
  const zipPicker = window.showSaveFilePicker && (() => window.showSaveFilePicker({
    suggestedName: `${name}.zip`,
    types: [{ description: "Zip archive", accept: { "application/zip": [".zip"] } }],
  }));
  $("save-all").onclick = () => save(listing.files.map((f) => f.path), zipPicker);
  $("save-selected").onclick = () => save(chosen(), zipPicker);
  $("save-folder").hidden = !window.showDirectoryPicker;
  $("save-folder").onclick = () => save(chosen(), () => window.showDirectoryPicker({ mode: "readwrite" }));
}

/**
 * A `saveCollection` progress callback: each report on its file's row (the file before it is
 * then saved), the whole collection on the section's bar.
 */
function showFileProgress(rows) {
  let current = null;
  return (p) => {
    if (current !== null && current !== p.path) setRow(rows.get(current), 1, "saved");
    current = p.path;
    const text = p.bytes === 0 && p.peers === 0 ? "looking for peers" : transferText(p);
    setRow(rows.get(p.path), p.total ? p.bytes / p.total : 1, text);
    $("receive-progress").value = p.collectionTotal ? p.collectionBytes / p.collectionTotal : 1;
    receiveState("receiving", `File ${p.file + 1} of ${p.files}: ${p.path}, from ${peers(p.peers)}`);
  };
}

/** Offers the zip `saveCollection` stored in private storage as a link that saves it as `name`. */
function offerZip(zip, name) {
  const a = $("zip-link");
  if (a.href) URL.revokeObjectURL(a.href);
  a.href = URL.createObjectURL(zip);
  a.download = name;
  a.textContent = `Save ${name} (${megabytes(zip.size)})`;
  $("zip-row").hidden = false;
}
