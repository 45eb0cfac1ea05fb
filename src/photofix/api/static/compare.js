// The "before" of the before / after slider: the input cut and warped the way the server cut
// and warped it (from the task's meta), so that both halves show the same region at the same
// scale. Coordinates follow the API: input pixels after EXIF orientation, pixel centres at
// integers, a picture's outer edges at -0.5 and size - 0.5.

const DOCUMENT_TYPES = new Set([0, 2]);
const PRODUCT_TYPES = new Set([3, 4]);
const MAX_SIDE = 1600; // the before is drawn at most this big: it is only looked at

/** The 3 x 3 map (row-major, 9 numbers) from output pixels to input pixels. */
export function outputToInput(meta, type, input, output) {
  const [width, height] = output;
  if (DOCUMENT_TYPES.has(type)) return pageMap(meta, input, output);
  if (PRODUCT_TYPES.has(type)) {
    const quad = meta.crop_corners ?? boxQuad(meta.crop_box ?? meta.bbox) ?? frame(...input);
    return homography(frame(width, height), quad);
  }
  return homography(frame(width, height), frame(...input)); // type 1: the whole photo
}

/** Types 0, 2: the page quad flattened, turned upright (its corners are given in that
 * order), then turned `deskew` degrees clockwise on a canvas grown to hold it. */
function pageMap(meta, input, [width, height]) {
  const corners = meta.document?.found ? meta.document.corners : turned(frame(...input), meta.rotation);
  const angle = ((meta.deskew ?? 0) * Math.PI) / 180;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const [c, s] = [Math.abs(cos), Math.abs(sin)];
  // The page before the deskew: width * c + height * s = W, width * s + height * c = H.
  const det = c * c - s * s;
  const pageWidth = s ? (width * c - height * s) / det : width;
  const pageHeight = s ? (height * c - width * s) / det : height;
  const toInput = homography(frame(pageWidth, pageHeight), corners);
  // Output pixel -> page pixel: the deskew undone about the two centres.
  const [ox, oy, px, py] = [(width - 1) / 2, (height - 1) / 2, (pageWidth - 1) / 2, (pageHeight - 1) / 2];
  const unturn = [cos, sin, px - cos * ox - sin * oy, -sin, cos, py + sin * ox - cos * oy, 0, 0, 1];
  return multiply(toInput, unturn);
}

/** Draw the input through `map` into a canvas of the output's aspect. */
export function drawSameRegion(image, map, [width, height]) {
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(width * scale));
  canvas.height = Math.max(1, Math.round(height * scale));
  const source = pixels(image);
  const target = canvas.getContext("2d").createImageData(canvas.width, canvas.height);
  const [sx, sy] = [width / canvas.width, height / canvas.height];
  const [a, b, c, d, e, f, g, h, k] = map;
  let at = 0;
  for (let ty = 0; ty < canvas.height; ty++) {
    const y = (ty + 0.5) * sy - 0.5;
    for (let tx = 0; tx < canvas.width; tx++, at += 4) {
      const x = (tx + 0.5) * sx - 0.5;
      const w = g * x + h * y + k;
      sample(source, (a * x + b * y + c) / w, (d * x + e * y + f) / w, target.data, at);
    }
  }
  canvas.getContext("2d").putImageData(target, 0, 0);
  return canvas;
}

function pixels(image) {
  const canvas = document.createElement("canvas");
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(image, 0, 0); // upright: the browser applies EXIF orientation, as the API
  return context.getImageData(0, 0, canvas.width, canvas.height);
}

/** Bilinear sample at (x, y) into out[at..at+3]; outside the photo stays transparent. */
function sample({ data, width, height }, x, y, out, at) {
  if (!(x > -0.5 && y > -0.5 && x < width - 0.5 && y < height - 0.5)) return;
  const x0 = Math.max(0, Math.floor(x));
  const y0 = Math.max(0, Math.floor(y));
  const x1 = Math.min(width - 1, x0 + 1);
  const y1 = Math.min(height - 1, y0 + 1);
  const fx = Math.min(Math.max(x - x0, 0), 1);
  const fy = Math.min(Math.max(y - y0, 0), 1);
  const [p, q, r, s] = [(y0 * width + x0) * 4, (y0 * width + x1) * 4, (y1 * width + x0) * 4, (y1 * width + x1) * 4];
  for (let i = 0; i < 4; i++) {
    const top = data[p + i] + (data[q + i] - data[p + i]) * fx;
    const bottom = data[r + i] + (data[s + i] - data[r + i]) * fx;
    out[at + i] = top + (bottom - top) * fy;
  }
}

function frame(width, height) {
  return [[-0.5, -0.5], [width - 0.5, -0.5], [width - 0.5, height - 0.5], [-0.5, height - 0.5]];
}

function boxQuad(box) {
  if (!box) return null;
  const [x0, y0, x1, y1] = box;
  return [[x0 - 0.5, y0 - 0.5], [x1 - 0.5, y0 - 0.5], [x1 - 0.5, y1 - 0.5], [x0 - 0.5, y1 - 0.5]];
}

/** The frame's corners re-labelled after a clockwise turn (geometry.corners_for_rotation). */
function turned(corners, degrees = 0) {
  const turns = (((degrees / 90) % 4) + 4) % 4;
  return corners.map((_, i) => corners[(i - turns + 4) % 4]);
}

/** The 3 x 3 homography taking the 4 points `from` onto the 4 points `to`. */
export function homography(from, to) {
  const rows = [];
  from.forEach(([x, y], i) => {
    const [u, v] = to[i];
    rows.push([x, y, 1, 0, 0, 0, -u * x, -u * y, u]);
    rows.push([0, 0, 0, x, y, 1, -v * x, -v * y, v]);
  });
  return [...solve(rows), 1];
}

/** Gaussian elimination with partial pivoting on an n x (n + 1) augmented matrix. */
function solve(rows) {
  const n = rows.length;
  for (let col = 0; col < n; col++) {
    let pivot = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(rows[r][col]) > Math.abs(rows[pivot][col])) pivot = r;
    [rows[col], rows[pivot]] = [rows[pivot], rows[col]];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const factor = rows[r][col] / rows[col][col];
      for (let c = col; c <= n; c++) rows[r][c] -= factor * rows[col][c];
    }
  }
  return rows.map((row, i) => row[n] / row[i]);
}

function multiply(m, n) {
  const out = [];
  for (let r = 0; r < 3; r++) {
    for (let c = 0; c < 3; c++) out.push(m[r * 3] * n[c] + m[r * 3 + 1] * n[3 + c] + m[r * 3 + 2] * n[6 + c]);
  }
  return out;
}
