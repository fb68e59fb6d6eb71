// What was dropped on the page: files, and the files of dropped folders, walked.

/**
 * The files of a drop. A dropped folder's files carry their path below the drop point as
 * `webkitRelativePath`, as a picked folder's do (the browser leaves it empty for dropped ones),
 * which is the path `peer.shareFiles` gives them. Reads the drop's items at once, as browsers
 * allow only during the event.
 */
export function droppedFiles(dataTransfer) {
  const entries = [...dataTransfer.items].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
  const files = [...dataTransfer.files];
  if (entries.length === 0) return Promise.resolve(files);
  return walk(entries);
}

/** The files below `entries` (`FileSystemEntry`s), depth first. */
async function walk(entries) {
  const files = [];
  for (const entry of entries) {
    if (entry.isFile) {
      const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
      // "/photos/a.jpg" for a file in a dropped folder, "/a.jpg" for a dropped file.
      if (entry.fullPath.split("/").length > 2) {
        Object.defineProperty(file, "webkitRelativePath", { value: entry.fullPath.slice(1) });
      }
      files.push(file);
    } else if (entry.isDirectory) {
      files.push(...await walk(await allEntries(entry.createReader())));
    }
  }
  return files;
}

/** Every entry a directory reader gives (it gives them in batches, then an empty one). */
async function allEntries(reader) {
  const entries = [];
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return entries;
    entries.push(...batch);
  }
}
