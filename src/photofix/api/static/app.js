// The playground page: pick a photo, run a task through the public API, show and compare.
import { PlaygroundError, decodeImage, describeState, notAnImage, runTask } from "./api.js";
import { drawSameRegion, outputToInput } from "./compare.js";
import { CornerEditor } from "./corners.js";

const $ = (id) => document.getElementById(id);
const KEY_STORAGE = "photofix.apiKey";
const DOCUMENT_TYPES = new Set([0, 2]);
const ENHANCE_TYPES = new Set([1, 2]);
const CUTOUT = 4;
const SLUGS = ["scan", "enhanced", "scan-enhanced", "crop", "cutout"];

const ui = {
  key: $("api-key"), forgetKey: $("forget-key"), keyPrompt: $("key-prompt"),
  form: $("job"), drop: $("drop"), file: $("file"), fileName: $("file-name"), url: $("image-url"),
  format: $("format"), enhance: $("enhance"), enhanceField: $("enhance-field"), go: $("go"),
  keepShadow: $("keep-shadow"), shadowField: $("shadow-field"),
  status: $("status"), progress: $("progress"), statusText: $("status-text"),
  message: $("message"), messageTitle: $("message-title"), messageDetail: $("message-detail"),
  results: $("results"), original: $("original"), originalFrame: $("original-frame"),
  originalNone: $("original-none"), overlay: $("overlay"),
  cornerTools: $("corner-tools"), cornerHint: $("corner-hint"),
  applyCorners: $("apply-corners"), resetCorners: $("reset-corners"),
  result: $("result"), resultNone: $("result-none"), resultHeading: $("result-heading"),
  meta: $("meta"), download: $("download"),
  bgTools: $("bg-tools"), bgColor: $("bg-color"),
  comparePanel: $("compare-panel"), compare: $("compare"), compareRange: $("compare-range"),
  compareBefore: $("compare-before"), compareAfter: $("compare-after"),
  compareAfterLayer: $("compare-after-layer"),
};

const state = {
  source: null, // {file, name} or {url, name}
  originalUrl: null, // blob: URL of the picked file
  resultUrl: null,
  detected: null, // the corners the server found, for Reset
  lastType: null,
  controller: null, // aborts the task being polled when a new one starts
};

const editor = new CornerEditor(ui.overlay, ui.original, {
  onChange: () => ui.applyCorners.classList.add("primary"),
});

// --- the API key: typed once, kept in this browser only ---------------------------------------
function storage() {
  try {
    return window.localStorage;
  } catch {
    return null; // storage disabled: the key then lasts as long as the page
  }
}
ui.key.value = storage()?.getItem(KEY_STORAGE) ?? "";
ui.key.addEventListener("input", () => {
  storage()?.setItem(KEY_STORAGE, ui.key.value.trim());
  ui.keyPrompt.hidden = true;
});
ui.forgetKey.addEventListener("click", () => {
  storage()?.removeItem(KEY_STORAGE);
  ui.key.value = "";
  ui.key.focus();
});

// --- choosing the source ------------------------------------------------------------------------
async function setFile(file) {
  if (!file) return;
  abortRun();
  const refused = await notAnImage(file);
  if (refused) {
    forgetSource();
    ui.fileName.textContent = "";
    resetResult();
    ui.results.hidden = true;
    showMessage("This file is not a photo", refused);
    reveal(ui.message);
    return;
  }
  if (state.originalUrl) URL.revokeObjectURL(state.originalUrl);
  state.source = { file, name: file.name || "photo" };
  state.originalUrl = URL.createObjectURL(file);
  ui.url.value = "";
  ui.fileName.textContent = fileLabel();
  ui.original.src = state.originalUrl;
  ui.originalFrame.hidden = false;
  ui.originalNone.hidden = true;
  resetResult();
}

function forgetSource() {
  if (state.originalUrl) URL.revokeObjectURL(state.originalUrl);
  state.originalUrl = null;
  state.source = null;
  ui.original.removeAttribute("src");
}

function setUrl(url) {
  abortRun();
  ui.file.value = "";
  ui.fileName.textContent = "";
  forgetSource();
  state.source = url ? { url, name: urlName(url) } : null;
  ui.originalFrame.hidden = true;
  ui.originalNone.hidden = false;
  ui.originalNone.textContent = "The server downloads the URL itself, so there is no original to show here.";
  resetResult();
  ui.results.hidden = !url;
}

ui.drop.addEventListener("click", () => ui.file.click());
ui.drop.addEventListener("keydown", (event) => {
  if (event.key === "Enter" || event.key === " ") {
    event.preventDefault();
    ui.file.click();
  }
});
ui.file.addEventListener("change", () => {
  setFile(ui.file.files[0]);
  ui.file.value = ""; // so that picking the same file again is a change too
});
// A typed URL becomes the source when the form is sent, not on "change": that fires on the
// blur of a click elsewhere, and re-laying the page out under the pointer loses the click.
ui.url.addEventListener("input", () => {
  const url = ui.url.value.trim();
  if (state.source?.file) ui.fileName.textContent = url ? "The URL will be used instead" : fileLabel();
});
// A photo dropped anywhere on the page is taken, not opened by the browser in place of it.
window.addEventListener("dragover", (event) => {
  event.preventDefault();
  ui.drop.classList.add("over");
});
window.addEventListener("dragleave", (event) => {
  if (!event.relatedTarget) ui.drop.classList.remove("over");
});
window.addEventListener("drop", (event) => {
  event.preventDefault();
  ui.drop.classList.remove("over");
  const file = event.dataTransfer?.files[0];
  // An image dragged from another page arrives as its address: the server fetches it.
  const uri = event.dataTransfer?.getData("text/uri-list")?.split("\n")[0]?.trim();
  if (file) setFile(file);
  else if (uri && /^https?:/i.test(uri)) {
    ui.url.value = uri;
    ui.url.dispatchEvent(new Event("input"));
  }
});
window.addEventListener("paste", (event) => {
  const file = [...(event.clipboardData?.files ?? [])].find((f) => f.type.startsWith("image/"));
  if (file) setFile(file);
});
ui.original.addEventListener("error", () => {
  if (!ui.original.getAttribute("src")) return;
  ui.originalFrame.hidden = true;
  ui.originalNone.hidden = false;
  ui.originalNone.textContent =
    "This browser cannot show this file. If it is an image (TIFF, camera RAW, HEIC…), the server may still read it.";
});

function selectedType() {
  return Number(ui.form.elements.type.value);
}
function updateOptions() {
  ui.enhanceField.hidden = !ENHANCE_TYPES.has(selectedType());
  ui.shadowField.hidden = selectedType() !== CUTOUT;
}
ui.form.addEventListener("change", (event) => {
  updateOptions();
  // Another type, another result: the one shown was made for the old type.
  if (event.target.name === "type" && state.resultUrl) {
    abortRun();
    resetResult();
  }
});
updateOptions();

// --- running a task -----------------------------------------------------------------------------
ui.form.addEventListener("submit", (event) => {
  event.preventDefault();
  const url = ui.url.value.trim();
  if (url ? state.source?.url !== url : state.source?.url) setUrl(url);
  run(selectedType(), null);
});
ui.applyCorners.addEventListener("click", () => run(state.lastType, editor.value()));
ui.resetCorners.addEventListener("click", () => {
  editor.set(state.detected);
  ui.applyCorners.classList.remove("primary");
});

function abortRun() {
  state.controller?.abort(new DOMException("replaced by a newer task", "AbortError"));
  state.controller = null;
}

async function run(type, corners) {
  const key = ui.key.value.trim();
  if (!key) {
    // Said beside the key box, which is at the top: on a phone a message below the form
    // and the box could not both be in view.
    hideMessage();
    ui.keyPrompt.hidden = false;
    ui.key.focus({ preventScroll: true });
    window.scrollTo({ top: 0 });
    return;
  }
  if (!state.source) {
    showMessage("Nothing to process yet", "Drop or choose a photo, or paste an image URL.", "info");
    reveal(ui.message);
    return;
  }
  const form = new FormData();
  if (state.source.file) form.append("image_file", state.source.file, state.source.name);
  else form.append("image_url", state.source.url);
  form.append("type", String(type));
  form.append("return_type", "2"); // base64 in the answer: no second request for the image
  if (ui.format.value) form.append("format", ui.format.value);
  if (ENHANCE_TYPES.has(type)) form.append("enhance", ui.enhance.value);
  if (type === CUTOUT && ui.keepShadow.checked) form.append("keep_shadow", "1");
  if (corners) form.append("corners", corners);

  abortRun();
  const controller = new AbortController();
  state.controller = controller;
  hideMessage();
  setBusy(true);
  clearShownResult();
  const progress = new Progress();
  progress.stage(0, corners ? "Uploading with your corners" : "Uploading");
  reveal(ui.status);
  const started = performance.now();
  try {
    const data = await runTask(form, {
      key,
      signal: controller.signal,
      onProgress: (task) => progress.stage(task.progress ?? 0, describeState(task.state)),
      onRetry: (status, seconds) => {
        const why = status === 429 ? "Rate limited" : "The server is busy";
        progress.stage(0, `${why} (HTTP ${status}): retrying in ${Math.ceil(seconds)} s, as it asked`);
      },
    });
    progress.stop();
    await showResult(data, type, Boolean(corners));
    if (controller.signal.aborted) return;
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    setStatus("done", 100, `Done in ${seconds} s`);
    reveal(ui.status);
    ui.resultHeading.focus({ preventScroll: true }); // the result is what the page is about now
  } catch (error) {
    progress.stop();
    if (controller.signal.aborted) return; // a newer task took over
    showError(error);
    reveal(ui.message);
  } finally {
    if (state.controller === controller) {
      state.controller = null;
      setBusy(false);
    }
  }
}

/** Scroll `element` to the top of the view (the status, the message, and under them the
 * result): on a phone they are below the form, and Go must visibly do something. */
function reveal(element) {
  element.scrollIntoView({ block: "start" });
}

/** The progress bar moves steadily: the server reports few steps (0, 5, 30, 100), so the bar
 * creeps on between them towards the next, never past 95 % before the task is done. */
class Progress {
  constructor() {
    this.shown = 0;
    this.floor = 0;
    this.label = "";
    this.timer = setInterval(() => this.#tick(), 250);
  }

  stage(percent, label) {
    this.floor = Math.max(this.floor, percent);
    this.label = label;
    this.shown = Math.max(this.shown, this.floor);
    this.#draw();
  }

  stop() {
    clearInterval(this.timer);
  }

  #tick() {
    const ceiling = Math.min(95, this.floor + 60);
    this.shown += (ceiling - this.shown) * 0.04;
    this.#draw();
  }

  #draw() {
    setStatus("running", Math.round(this.shown), `${this.label}…`);
  }
}

function setBusy(busy) {
  ui.go.disabled = busy;
  ui.applyCorners.disabled = busy;
  ui.go.textContent = busy ? "Working…" : "Go";
  ui.resultNone.textContent = busy ? "Working on it…" : "Press Go to see the result.";
  ui.resultNone.classList.toggle("busy", busy);
}

function setStatus(name, percent, text) {
  ui.status.hidden = false;
  ui.status.dataset.state = name;
  ui.progress.value = percent;
  ui.statusText.textContent = text;
}

function showMessage(title, detail, kind = "error") {
  ui.message.hidden = false;
  ui.message.classList.toggle("info", kind === "info");
  ui.messageTitle.textContent = title;
  ui.messageDetail.textContent = detail;
}
function hideMessage() {
  ui.message.hidden = true;
}

function showError(error) {
  if (error instanceof PlaygroundError) showMessage(error.title, error.detail);
  else showMessage("Something went wrong in this page", String(error?.message ?? error));
  // The message says it in words; the code is kept for whoever inspects the page.
  const code = error?.status ? `HTTP ${error.status}` : error?.state != null ? `state ${error.state}` : "";
  ui.message.dataset.code = code;
  setStatus("error", 100, "");
  ui.status.hidden = true;
}

// --- showing the result -------------------------------------------------------------------------
function resetResult() {
  clearShownResult();
  state.detected = null;
  ui.results.hidden = false;
  editor.set(null);
  ui.cornerTools.hidden = true;
  ui.status.hidden = true;
  ui.status.dataset.state = "idle";
  hideMessage();
}

/** Take the last result off the page (a new task is on its way, or the type changed). */
function clearShownResult() {
  if (state.resultUrl) URL.revokeObjectURL(state.resultUrl);
  state.resultUrl = null;
  ui.result.hidden = true;
  ui.result.removeAttribute("src");
  ui.resultNone.hidden = false;
  ui.meta.textContent = "";
  ui.download.removeAttribute("href");
  ui.download.classList.add("disabled");
  ui.download.setAttribute("aria-disabled", "true");
  ui.bgTools.hidden = true;
  ui.comparePanel.hidden = true;
}

async function showResult(data, type, withCorners) {
  const meta = data.meta ?? {};
  const { blob, extension } = decodeImage(data.image, meta.format);
  if (state.resultUrl) URL.revokeObjectURL(state.resultUrl);
  state.resultUrl = URL.createObjectURL(blob);
  state.lastType = type;
  ui.result.src = state.resultUrl;
  await ui.result.decode().catch(() => {}); // its size is known before the page scrolls to it
  ui.result.hidden = false;
  ui.resultNone.hidden = true;
  ui.result.dataset.type = String(type);
  ui.result.dataset.taskId = data.task_id; // to look the task up with the API
  ui.meta.textContent = summary(meta, data, extension);

  const stem = (state.source.name || "photo").replace(/\.[^.]*$/, "") || "photo";
  ui.download.href = state.resultUrl;
  ui.download.download = `${stem}-${SLUGS[type]}.${extension}`;
  ui.download.classList.remove("disabled");
  ui.download.removeAttribute("aria-disabled");

  // Corners: only where the original is shown, for the document types.
  const canEdit = DOCUMENT_TYPES.has(type) && Boolean(state.originalUrl) && !ui.originalFrame.hidden;
  ui.cornerTools.hidden = !canEdit;
  if (canEdit) {
    const found = meta.document?.found ? meta.document.corners : null;
    if (!withCorners) state.detected = found ?? insetFrame(0.08);
    editor.set(found ?? state.detected);
    ui.applyCorners.classList.remove("primary");
    ui.cornerHint.textContent = found || withCorners
      ? "Drag the corners to adjust the page"
      : "No page was found: drag the corners onto it";
  } else {
    editor.set(null);
  }

  ui.bgTools.hidden = type !== 4;
  setBackground(type === 4 ? currentBackground() : null);

  const comparable = Boolean(state.originalUrl) && !ui.originalFrame.hidden;
  ui.comparePanel.hidden = !comparable;
  if (comparable) showComparison(meta, type);
}

/** Before / after of the same region: the photo cut and warped as the result was. */
function showComparison(meta, type) {
  const input = [ui.original.naturalWidth, ui.original.naturalHeight];
  const output = [ui.result.naturalWidth, ui.result.naturalHeight];
  if (!input[0] || !output[0]) {
    ui.comparePanel.hidden = true;
    return;
  }
  const before = drawSameRegion(ui.original, outputToInput(meta, type, input, output), output);
  before.id = "compare-before";
  for (const name of ["role", "aria-label"]) before.setAttribute(name, ui.compareBefore.getAttribute(name));
  ui.compareBefore.replaceWith(before);
  ui.compareBefore = before;
  ui.compareAfter.src = state.resultUrl;
  ui.compareRange.value = "50"; // each result starts from the middle
  ui.compare.style.setProperty("--split", "50%");
  // The box has the result's shape, so the two halves are laid out pixel for pixel alike.
  ui.compare.style.setProperty("--ratio", String(output[0] / output[1]));
}

function summary(meta, data, extension) {
  const parts = [];
  if (meta.width && meta.height) parts.push(`${meta.width} × ${meta.height}`);
  parts.push(extension.toUpperCase());
  if (meta.document) parts.push(meta.document.found ? "page found" : "no page found");
  if (meta.subject) parts.push(meta.subject.found ? "subject found" : "no subject found");
  if (meta.rotation) parts.push(`turned ${meta.rotation}°`);
  if (meta.deskew) parts.push(`deskewed ${meta.deskew}°`);
  if (data.time_elapsed != null) parts.push(`${data.time_elapsed} s on the server`);
  return parts.join(" · ");
}

function insetFrame(fraction) {
  const w = ui.original.naturalWidth;
  const h = ui.original.naturalHeight;
  const [x0, y0, x1, y1] = [w * fraction, h * fraction, w * (1 - fraction), h * (1 - fraction)];
  return [[x0, y0], [x1, y0], [x1, y1], [x0, y1]];
}

// --- cut-out background preview (the download itself stays as the server made it) -------------
function currentBackground() {
  const active = ui.bgTools.querySelector(".active");
  return active?.dataset.bg ?? active?.value ?? "";
}

function setBackground(colour) {
  for (const element of [ui.result, ui.compareAfterLayer]) {
    element.classList.toggle("checker", colour === "");
    element.style.backgroundColor = colour || "";
  }
}

ui.bgTools.addEventListener("click", (event) => {
  const swatch = event.target.closest(".swatch");
  if (swatch) pickBackground(swatch, swatch.dataset.bg);
});
ui.bgColor.addEventListener("input", () => pickBackground(ui.bgColor, ui.bgColor.value));

function pickBackground(control, colour) {
  for (const other of ui.bgTools.querySelectorAll(".swatch, input")) {
    other.classList.toggle("active", other === control);
    if (other.matches(".swatch")) other.setAttribute("aria-pressed", String(other === control));
  }
  setBackground(colour);
}

// --- before / after -----------------------------------------------------------------------------
ui.compareRange.addEventListener("input", () => {
  ui.compare.style.setProperty("--split", `${ui.compareRange.value}%`);
});

function fileLabel() {
  const { file, name } = state.source;
  return `${name} · ${formatBytes(file.size)}`;
}

function urlName(url) {
  try {
    return decodeURIComponent(new URL(url).pathname.split("/").pop()) || "image";
  } catch {
    return "image";
  }
}

function formatBytes(bytes) {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
