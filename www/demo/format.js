// How the demo page writes sizes, speeds and transfers.

/** `bytes` in megabytes, one decimal: "3.1 MB". */
export const megabytes = (bytes) => `${(bytes / 1e6).toFixed(1)} MB`;

/** "1 peer", "2 peers". */
export const peers = (count) => `${count} peer${count === 1 ? "" : "s"}`;

/** A download's progress as people read it: "1.2 MB of 3.1 MB at 0.8 MB/s from 2 peers". */
export const transferText = ({ bytes, total, bytesPerSecond, peers: count }) =>
  `${megabytes(bytes)} of ${megabytes(total)} at ${megabytes(bytesPerSecond)}/s from ${peers(count)}`;

/** The element `id`. */
export const $ = (id) => document.getElementById(id);

/** A new `tag` element with `className` and text. */
export function element(tag, className = "", text = "") {
  const made = document.createElement(tag);
  made.className = className;
  made.textContent = text;
  return made;
}
