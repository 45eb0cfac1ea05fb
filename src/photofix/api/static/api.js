// The async API as a real client uses it: create a task, poll it, retry on 429/503.
export const TASKS_PATH = "/api/tasks/visual/correction";

const RUNNING = { 0: "Queued", 2: "Preparing the image", 3: "Waiting for a worker", 4: "Processing" };

const FAILED = {
  [-1]: "Processing failed",
  [-3]: "The server could not download the image URL",
  [-5]: "The image is too large",
  [-7]: "This is not a valid image file",
  [-8]: "Processing timed out",
};

const MAX_RETRIES = 6; // per request, on 429 / 503
const MAX_RETRY_WAIT = 60; // seconds: a longer Retry-After is still honoured up to this

/** An error worth showing: a short title and a sentence of detail. */
export class PlaygroundError extends Error {
  constructor(title, detail, { status = null, field = null, state = null } = {}) {
    super(`${title}: ${detail}`);
    this.title = title;
    this.detail = detail;
    this.status = status;
    this.field = field;
    this.state = state;
  }
}

export function describeState(state) {
  return RUNNING[state] ?? (state === 1 ? "Done" : `State ${state}`);
}

/** The server's message as a sentence: capitalised, with a full stop. */
function sentence(text) {
  const trimmed = String(text ?? "").trim();
  if (!trimmed) return "";
  // "image_file is ..." keeps its field name as it is spelled
  const capital = /^[a-z]+(\s|$)/.test(trimmed) ? trimmed[0].toUpperCase() + trimmed.slice(1) : trimmed;
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

function httpError(status, body, retries) {
  const said = sentence(body?.message);
  const opts = { status, field: body?.field ?? null };
  switch (status) {
    case 400:
      return opts.field
        ? new PlaygroundError(`The “${opts.field}” field was refused`, said, opts)
        : new PlaygroundError("The request was refused", said || "Bad request.", opts);
    case 401:
      return new PlaygroundError(
        "API key refused",
        "The server did not accept this API key. Check the key at the top of the page " +
          "(make run prints one; photofix keys create NAME makes another).",
        opts,
      );
    case 404:
      return new PlaygroundError("Task not found", "It expired, or was made with another key.", opts);
    case 413:
      return new PlaygroundError(
        "The image is too large",
        said || "The limits are 20 MB and 4096 × 4096 pixels by default.",
        opts,
      );
    case 415:
      return new PlaygroundError("Unsupported image format", said || "Not an image format the server reads.", opts);
    case 429:
    case 503:
      return new PlaygroundError(
        status === 429 ? "Too many requests" : "The server is busy",
        `Still refused after ${retries} retries. ${said} Try again in a minute.`.replace("  ", " "),
        opts,
      );
    default:
      return new PlaygroundError(`The server answered HTTP ${status}`, said || "Unexpected error.", opts);
  }
}

function retryAfterSeconds(header) {
  if (!header) return 2;
  const seconds = Number(header);
  const wait = Number.isFinite(seconds) ? seconds : (Date.parse(header) - Date.now()) / 1000;
  return Math.min(Math.max(Number.isFinite(wait) ? wait : 2, 0), MAX_RETRY_WAIT);
}

function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason);
    }, { once: true });
  });
}

/** fetch + the envelope: the parsed body on 2xx, a PlaygroundError otherwise. */
async function call(url, init, { signal, onRetry }) {
  for (let retries = 0; ; retries++) {
    let response;
    try {
      response = await fetch(url, { ...init, signal, cache: "no-store" });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw new PlaygroundError("Cannot reach the server", "Is photofix serve still running? Check the address and your connection.");
    }
    if ((response.status === 429 || response.status === 503) && retries < MAX_RETRIES) {
      const wait = retryAfterSeconds(response.headers.get("Retry-After"));
      onRetry?.(response.status, wait);
      await sleep(wait * 1000, signal);
      continue;
    }
    let body = null;
    try {
      body = await response.json();
    } catch {
      // a proxy's HTML error page, say: the status alone has to do
    }
    if (!response.ok) throw httpError(response.status, body, retries);
    return body;
  }
}

/**
 * Run one task to its end: POST the form (no `sync`), then poll until state 1 or < 0.
 * `onProgress(data)` gets every poll answer, `onRetry(status, seconds)` every back-off.
 * Resolves to the finished task's `data`; rejects with a PlaygroundError.
 */
export async function runTask(form, { key, timeout = 180, signal, onProgress, onRetry } = {}) {
  const headers = { "X-API-KEY": key };
  const deadline = Date.now() + timeout * 1000;
  const created = await call(TASKS_PATH, { method: "POST", headers, body: form }, { signal, onRetry });
  const taskId = created?.data?.task_id;
  if (!taskId) throw new PlaygroundError("Unexpected answer", "the server sent no task id");
  onProgress?.({ task_id: taskId, state: 0, progress: 0 });
  let delay = 200;
  while (true) {
    const body = await call(`${TASKS_PATH}/${encodeURIComponent(taskId)}`, { headers },
      { signal, onRetry });
    const data = body.data;
    onProgress?.(data);
    if (data.state === 1) return data;
    if (data.state < 0) {
      const title = FAILED[data.state] ?? `The task failed (state ${data.state})`;
      throw new PlaygroundError(title, sentence(data.state_detail) || "No detail given.", { state: data.state });
    }
    if (Date.now() + delay > deadline) {
      throw new PlaygroundError(
        "Timed out",
        `The task was still “${describeState(data.state).toLowerCase()}” after ${timeout} s; ` +
          "the server may be overloaded.",
      );
    }
    await sleep(delay, signal);
    delay = Math.min(delay * 1.5, 1000);
  }
}

/** A base64 result as a Blob of the right type, sniffed from its bytes (meta as a fallback). */
export function decodeImage(base64, metaFormat) {
  const raw = atob(base64);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  let format = metaFormat === "jpg" ? "jpeg" : metaFormat || "png";
  if (bytes[0] === 0x89 && bytes[1] === 0x50) format = "png";
  else if (bytes[0] === 0xff && bytes[1] === 0xd8) format = "jpeg";
  else if (raw.startsWith("RIFF") && raw.slice(8, 12) === "WEBP") format = "webp";
  return { blob: new Blob([bytes], { type: `image/${format}` }), extension: format === "jpeg" ? "jpg" : format };
}

// What the server reads, by magic bytes (imaging/codec/sniff.py): a file that is none of these
// is refused in the page at once, before anything is sent.
const RAW_NAMES = /\.(dng|cr2|cr3|nef|arw|orf|rw2|raf)$/i;
const KNOWN_OTHERS = [["GIF8", "a GIF"], ["%PDF", "a PDF"], ["<svg", "an SVG"], ["<?xml", "an SVG or XML file"], ["8BPS", "a Photoshop file"]];

/** null when `file` looks like an image the server reads, else a sentence saying what it is. */
export async function notAnImage(file) {
  if (!file.size) return `“${file.name}” is empty.`;
  const head = new Uint8Array(await file.slice(0, 16).arrayBuffer());
  const text = String.fromCharCode(...head);
  const starts = (...bytes) => bytes.every((byte, i) => head[i] === byte);
  const known =
    starts(0xff, 0xd8, 0xff) || starts(0x89, 0x50, 0x4e, 0x47) || // JPEG, PNG
    (text.startsWith("RIFF") && text.slice(8, 12) === "WEBP") || text.startsWith("BM") ||
    starts(0x01, 0xda) || ["II*\0", "MM\0*", "II+\0", "MM\0+"].includes(text.slice(0, 4)) || // SGI, TIFF
    ["IIRO", "IIRS", "MMOR", "IIU\0", "FUJI"].includes(text.slice(0, 4)) || text.slice(4, 12) === "ftypcrx ";
  if (known || RAW_NAMES.test(file.name)) return null; // camera RAW: the server decides
  const other = KNOWN_OTHERS.find(([magic]) => text.startsWith(magic))?.[1];
  const what = other ?? (file.type.startsWith("text/") || /\.(txt|md|csv|json|log)$/i.test(file.name)
    ? "a text file" : file.type ? `a ${file.type} file` : "not a photo");
  return `“${file.name}” is ${what}. Choose a JPEG, PNG, WebP, TIFF, BMP, SGI or camera RAW photo.`;
}
