// Draggable page corners over the original photo, in the image's natural pixels: the same frame
// as the API's meta.document.corners and its `corners` field (after EXIF orientation, which
// the browser applies to the <img> too).
const SVG = "http://www.w3.org/2000/svg";
const NAMES = ["Top-left", "Top-right", "Bottom-right", "Bottom-left"];
const DOT_RADIUS = 9; // screen pixels: what is seen
const HANDLE_RADIUS = 24; // screen pixels: what a finger can hit (48 px across, over 44)

export class CornerEditor {
  constructor(svg, image, { onChange } = {}) {
    this.svg = svg;
    this.image = image;
    this.onChange = onChange;
    this.corners = null;
    this.dragging = -1;
    this.quad = this.#element("polygon", { class: "quad" });
    this.line = this.#element("polygon", { class: "quad-line" });
    this.dots = NAMES.map(() => this.#element("circle", { class: "dot", "aria-hidden": "true" }));
    this.handles = NAMES.map((name, index) => {
      const handle = this.#element("circle", {
        class: "handle", tabindex: "0", role: "button",
        "aria-label": `${name} corner: drag it, or move it with the arrow keys`,
        "data-index": String(index),
      });
      handle.addEventListener("pointerdown", (event) => this.#grab(event, index));
      handle.addEventListener("keydown", (event) => this.#nudge(event, index));
      return handle;
    });
    svg.addEventListener("pointermove", (event) => this.#drag(event));
    svg.addEventListener("pointerup", () => this.#release());
    svg.addEventListener("pointercancel", () => this.#release());
    // Handles keep their on-screen size whatever the image's scale.
    new ResizeObserver(() => this.#draw()).observe(image);
  }

  /** Show these corners ([[x, y] x4], TL TR BR BL), or hide the overlay with null. */
  set(corners) {
    this.corners = corners ? corners.map(([x, y]) => [x, y]) : null;
    this.svg.toggleAttribute("hidden", !this.corners); // SVG elements have no .hidden
    this.#draw();
  }

  /** The `corners` form value: 8 numbers, TL TR BR BL, in input pixels. */
  value() {
    return this.corners.flat().map((n) => Math.round(n * 10) / 10).join(",");
  }

  #element(name, attributes) {
    const element = document.createElementNS(SVG, name);
    for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
    this.svg.append(element);
    return element;
  }

  #size() {
    return [this.image.naturalWidth, this.image.naturalHeight];
  }

  #draw() {
    const [width, height] = this.#size();
    if (!this.corners || !width || !height) return;
    this.svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
    this.svg.setAttribute("preserveAspectRatio", "none");
    const shown = this.image.getBoundingClientRect().width || width;
    const points = this.corners.map(([x, y]) => `${x},${y}`).join(" ");
    this.quad.setAttribute("points", points);
    this.line.setAttribute("points", points);
    this.handles.forEach((handle, index) => {
      const [x, y] = this.corners[index];
      handle.setAttribute("cx", String(x));
      handle.setAttribute("cy", String(y));
      handle.setAttribute("r", String((HANDLE_RADIUS * width) / shown));
      const dot = this.dots[index];
      dot.setAttribute("cx", String(x));
      dot.setAttribute("cy", String(y));
      dot.setAttribute("r", String((DOT_RADIUS * width) / shown));
      dot.classList.toggle("dragging", index === this.dragging);
    });
  }

  #toNatural(event) {
    const box = this.svg.getBoundingClientRect();
    const [width, height] = this.#size();
    const x = ((event.clientX - box.left) * width) / box.width;
    const y = ((event.clientY - box.top) * height) / box.height;
    return [Math.min(Math.max(x, 0), width), Math.min(Math.max(y, 0), height)];
  }

  #grab(event, index) {
    event.preventDefault();
    this.dragging = index;
    this.handles[index].classList.add("dragging");
    this.#draw();
    this.svg.setPointerCapture(event.pointerId);
  }

  #drag(event) {
    if (this.dragging < 0) return;
    this.corners[this.dragging] = this.#toNatural(event);
    this.#draw();
  }

  #release() {
    if (this.dragging < 0) return;
    this.handles[this.dragging].classList.remove("dragging");
    this.dragging = -1;
    this.#draw();
    this.onChange?.();
  }

  #nudge(event, index) {
    const steps = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
    const step = steps[event.key];
    if (!step) return;
    event.preventDefault();
    const [width, height] = this.#size();
    const distance = (event.shiftKey ? 20 : 2) * (width / (this.image.getBoundingClientRect().width || width));
    const [x, y] = this.corners[index];
    this.corners[index] = [
      Math.min(Math.max(x + step[0] * distance, 0), width),
      Math.min(Math.max(y + step[1] * distance, 0), height),
    ];
    this.#draw();
    this.onChange?.();
  }
}
