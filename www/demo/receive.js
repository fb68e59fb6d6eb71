// Receiving one file a link names: progress, speed and peers while it arrives, a waiting state
// while no peer has it, then Save.
import { $, megabytes, transferText } from "./format.js";
import { ATTEMPT_MS, untilFound, waitingText } from "./patience.js";

/** Shows the receive section in `state` ("looking", "waiting", "receiving", "done", "failed"). */
export function receiveState(state, text) {
  $("receive").dataset.state = state;
  $("receive-status").className = state === "failed" ? "error" : "";
  $("receive-status").textContent = text;
}

/** What a download's rejection means to the person who opened the link. */
export const failureText = (error) => ({
  ERR_KEY_NEEDED: "This is private and the link has no key: ask the sender for the whole link.",
  ERR_WRONG_KEY: "The link's key does not open this: ask the sender for the link again.",
}[error.code] ?? `Download failed: ${error.message}`);

/** Shows a download's progress in the section's bar and status, once a peer takes part. */
export function showProgress(progress) {
  if (progress.bytes === 0 && progress.peers === 0) return;
  $("receive-progress").value = progress.total ? progress.bytes / progress.total : 1;
  receiveState("receiving", transferText(progress));
}

/**
 * Downloads the file `link` names, waiting for a peer that has it, and offers to save it; stops
 * quietly once `signal` aborts (another link was opened).
 */
export async function receiveFile(peer, link, signal) {
  $("receive").hidden = false;
  $("receive-name").textContent = link.name;
  receiveState("looking", "Looking for peers that have it…");
  try {
    const blob = await untilFound(
      () => peer.download(link.cid, {
        ...(link.key ? { key: link.key } : { name: link.name, type: link.type }),
        timeoutMs: ATTEMPT_MS,
        signal,
        onProgress: showProgress,
      }),
      (attempts) => receiveState("waiting", waitingText("this file", attempts)),
      signal,
    );
    $("receive-progress").value = 1;
    // A private file is a `File` named by its sealed name.
    const name = blob.name ?? link.name;
    $("receive-name").textContent = name;
    receiveState("done", `Downloaded, verified${link.key ? " and decrypted" : ""} ${name} (${megabytes(blob.size)}).`);
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
    if (!signal.aborted) receiveState("failed", failureText(error));
  }
}
