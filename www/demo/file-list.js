// The list of files on both sides of a link: each file's path and size, its progress bar and a
// line saying how it is going; on the receiving side a checkbox to choose it.
import { element, megabytes } from "./format.js";

/** A row for the file at `path` of `size` bytes, with a checkbox when `selectable`. */
export function fileRow(path, size, selectable = false) {
  const row = element("li");
  row.dataset.path = path;
  const label = element("label", "file-name");
  if (selectable) {
    const box = element("input");
    box.type = "checkbox";
    box.checked = true;
    box.value = path;
    label.append(box, " ");
  }
  label.append(element("span", "path", path), " ", element("span", "size", megabytes(size)));
  const bar = element("progress");
  bar.max = 1;
  bar.value = 0;
  row.append(label, bar, element("span", "file-status"));
  return row;
}

/** Sets `row`'s bar to `fraction` (0 to 1) and its status line to `text`. */
export function setRow(row, fraction, text) {
  row.querySelector("progress").value = fraction;
  row.querySelector(".file-status").textContent = text;
}
