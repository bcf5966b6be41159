// The seat map drawn to scale on a canvas, with zoom, pan, hit testing and keyboard movement.
//
// Why a canvas and not SVG: a 50,000-seat stadium as 50,000 DOM nodes takes seconds to lay out
// and every status change restyles the tree; on a canvas a frame is one pass over typed arrays,
// batched into one path per colour, and only seats in view are drawn.

export const STATUS = { available: 0, held: 1, sold: 2, reserved: 3, blocked: 4 };
export const ZONE_COLOURS = [
  "#c9184a", "#f77f00", "#2a9d8f", "#3a86ff", "#8338ec", "#e9c46a", "#06d6a0", "#ef476f", "#118ab2", "#6a994e",
];
export const STATE_COLOURS = {
  held: "#c3c7ce",
  sold: "#5f656e",
  reserved: "#9aa3ad",
  blocked: "#e3e5e9",
  selected: "#111827",
  mine: "#0a8754",
};

export class SeatRenderer {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{n:number,x:Float64Array,y:Float64Array,zone:Uint8Array,status:Uint8Array,row:Int32Array,
   *          position:Int32Array,accessible:Uint8Array,box:Int32Array}} seats
   * @param {(i:number)=>number} styleOf index into `this.styles` for seat i
   * @param {string[]} styles fill colours
   */
  constructor(canvas, seats, styleOf, styles, stage, stageLabel) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { alpha: false });
    this.seats = seats;
    this.styleOf = styleOf;
    this.styles = styles;
    this.stage = stage;
    this.stageLabel = stageLabel;
    this.outlined = new Set(); // seats drawn with a ring (selected, held for me)
    this.focus = -1;
    this.scale = 1;
    this.tx = 0;
    this.ty = 0;
    this.pending = false;
    this.frameTimes = [];
    this.touched = [];
    this.stale = true;
    this.onDraw = null;
    this._bounds();
    this._spacing();
    this._grid();
    this._sections();
  }

  _bounds() {
    const { n, x, y } = this.seats;
    let minX = Infinity, minY = Infinity, maxX = -Infinity, maxY = -Infinity;
    for (let i = 0; i < n; i++) {
      if (x[i] < minX) minX = x[i];
      if (x[i] > maxX) maxX = x[i];
      if (y[i] < minY) minY = y[i];
      if (y[i] > maxY) maxY = y[i];
    }
    if (this.stage) {
      minX = Math.min(minX, this.stage.x);
      maxX = Math.max(maxX, this.stage.x);
      minY = Math.min(minY, this.stage.y);
      maxY = Math.max(maxY, this.stage.y);
    }
    if (!Number.isFinite(minX)) [minX, minY, maxX, maxY] = [0, 0, 1, 1];
    this.bounds = { minX, minY, maxX, maxY };
  }

  /** Typical distance between neighbouring seats of a row: the seat size on the map. */
  _spacing() {
    const { n, x, y, row, position } = this.seats;
    const gaps = [];
    for (let i = 1; i < n && gaps.length < 4000; i += Math.max(1, Math.floor(n / 4000))) {
      if (row[i] === row[i - 1] && position[i] === position[i - 1] + 1) {
        const d = Math.hypot(x[i] - x[i - 1], y[i] - y[i - 1]);
        if (d > 0) gaps.push(d);
      }
    }
    gaps.sort((a, b) => a - b);
    const { minX, minY, maxX, maxY } = this.bounds;
    this.spacing = gaps.length ? gaps[gaps.length >> 1] : Math.max(maxX - minX, maxY - minY, 1) / 20;
    this.radius = this.spacing * 0.42;
  }

  /** A uniform grid of seat indices (counting sort), for hit testing and culling in O(seats in view). */
  _grid() {
    const { n, x, y } = this.seats;
    const { minX, minY, maxX, maxY } = this.bounds;
    let cell = this.spacing * 4;
    const area = (maxX - minX + cell) * (maxY - minY + cell);
    if (area / (cell * cell) > 250000) cell = Math.sqrt(area / 250000);
    const gw = Math.max(1, Math.ceil((maxX - minX) / cell) + 1);
    const gh = Math.max(1, Math.ceil((maxY - minY) / cell) + 1);
    const start = new Int32Array(gw * gh + 1);
    const cellOf = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const c = Math.floor((y[i] - minY) / cell) * gw + Math.floor((x[i] - minX) / cell);
      cellOf[i] = c;
      start[c + 1]++;
    }
    for (let c = 0; c < gw * gh; c++) start[c + 1] += start[c];
    const fill = start.slice(0, gw * gh);
    const items = new Int32Array(n);
    for (let i = 0; i < n; i++) items[fill[cellOf[i]]++] = i;
    this.grid = { cell, gw, gh, start, items };
  }

  _sections() {
    // centre of each section (first part of the row key) for labels when zoomed out
    const sums = new Map();
    const { n, x, y, row } = this.seats;
    for (let i = 0; i < n; i++) {
      const name = this.seats.rowSection[row[i]];
      let s = sums.get(name);
      if (!s) sums.set(name, (s = { x: 0, y: 0, n: 0, top: Infinity }));
      s.x += x[i];
      s.y += y[i];
      s.top = Math.min(s.top, y[i]);
      s.n++;
    }
    // above the section's first row, not on its seats (the fit leaves two seat pitches there)
    this.sectionLabels = [...sums].map(([name, s]) => ({ name, x: s.x / s.n, y: s.top - this.spacing * 1.3 }));
  }

  /** Seats whose cell overlaps the world rectangle, visited once each. */
  forEachIn(x0, y0, x1, y1, visit) {
    const { cell, gw, gh, start, items } = this.grid;
    const { minX, minY } = this.bounds;
    const cx0 = Math.max(0, Math.floor((x0 - minX) / cell));
    const cy0 = Math.max(0, Math.floor((y0 - minY) / cell));
    const cx1 = Math.min(gw - 1, Math.floor((x1 - minX) / cell));
    const cy1 = Math.min(gh - 1, Math.floor((y1 - minY) / cell));
    for (let cy = cy0; cy <= cy1; cy++) {
      for (let c = cy * gw + cx0, end = cy * gw + cx1; c <= end; c++) {
        for (let k = start[c]; k < start[c + 1]; k++) visit(items[k]);
      }
    }
  }

  resize() {
    const dpr = window.devicePixelRatio || 1;
    const w = this.canvas.clientWidth, h = this.canvas.clientHeight;
    this.dpr = dpr;
    this.width = w;
    this.height = h;
    this.canvas.width = Math.max(1, Math.round(w * dpr));
    this.canvas.height = Math.max(1, Math.round(h * dpr));
  }

  fit() {
    const { minX, minY, maxX, maxY } = this.bounds;
    const pad = this.spacing * 2;
    const w = maxX - minX + 2 * pad, h = maxY - minY + 2 * pad;
    this.scale = Math.min(this.width / w, this.height / h);
    this.fitScale = this.scale;
    this.minScale = this.scale * 0.5;
    // On a phone a whole large hall makes seats too small to tap: start close enough for a
    // seat pitch of 9 px (at most 3x the overview), centred; "Fit" and pinching zoom out.
    const readable = this.width < 500 ? Math.min(9 / this.spacing, this.scale * 3) : 0;
    if (readable > this.scale) {
      this.scale = readable;
      this.tx = (this.width - (maxX + minX) * this.scale) / 2;
      this.ty = (this.height - (maxY + minY) * this.scale) / 2;
      this.requestDraw();
      return;
    }
    this.maxScale = Math.max(this.scale * 4, 60 / this.spacing);
    this.tx = (this.width - (maxX + minX) * this.scale) / 2;
    this.ty = (this.height - (maxY + minY) * this.scale) / 2;
    this.requestDraw(); // the overview is drawn for this fit scale
  }

  toWorld(sx, sy) {
    return [(sx - this.tx) / this.scale, (sy - this.ty) / this.scale];
  }

  zoomAt(factor, sx, sy) {
    const next = Math.min(this.maxScale, Math.max(this.minScale, this.scale * factor));
    const [wx, wy] = this.toWorld(sx, sy);
    this.scale = next;
    this.tx = sx - wx * next;
    this.ty = sy - wy * next;
    this._schedule();
  }

  panBy(dx, dy) {
    this.tx += dx;
    this.ty += dy;
    this._schedule();
  }

  /** The seat under a screen point (within a seat's reach), or -1. */
  seatAt(sx, sy) {
    const [wx, wy] = this.toWorld(sx, sy);
    const reach = Math.max(this.spacing * 0.6, 10 / this.scale);
    let best = -1, bestD = reach * reach;
    const { x, y } = this.seats;
    this.forEachIn(wx - reach, wy - reach, wx + reach, wy + reach, (i) => {
      const d = (x[i] - wx) ** 2 + (y[i] - wy) ** 2;
      if (d <= bestD) [best, bestD] = [i, d];
    });
    return best;
  }

  /** Keep seat i on screen (keyboard focus), zooming in far enough to tell seats apart. */
  ensureVisible(i) {
    if (this.scale * this.spacing < 14) {
      this.scale = Math.min(this.maxScale, 22 / this.spacing);
    }
    const sx = this.seats.x[i] * this.scale + this.tx, sy = this.seats.y[i] * this.scale + this.ty;
    const m = 40;
    if (sx < m || sx > this.width - m || sy < m || sy > this.height - m) {
      this.tx = this.width / 2 - this.seats.x[i] * this.scale;
      this.ty = this.height / 2 - this.seats.y[i] * this.scale;
    }
    this._schedule();
  }

  /** Redraw soon because what is drawn changed (statuses, choices): the cached picture is stale. */
  requestDraw() {
    this.stale = true;
    this._schedule();
  }

  /** Seat i looks different now (status or choice): repaint just it on the cached overview. */
  touch(i) {
    if (this.overview && !this.stale) this.touched.push(i);
  }

  /** Draw the touched seats at the next frame. */
  flush() {
    this._schedule();
  }

  /** Redraw soon because the view moved: the cached picture of the whole map can be reused. */
  _schedule() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.draw();
    });
  }

  draw() {
    const t0 = performance.now();
    const ctx = this.ctx;
    ctx.setTransform(this.dpr, 0, 0, this.dpr, 0, 0);
    ctx.fillStyle = "#f7f7f9";
    ctx.fillRect(0, 0, this.width, this.height);
    const px = this.radius * this.scale; // seat radius on screen
    const cache = this._overview();
    if (cache && this.scale * this.dpr <= cache.scale) {
      // zoomed out: one scaled copy of the whole map instead of tens of thousands of seats
      const k = this.scale * this.dpr / cache.scale;
      ctx.setTransform(k, 0, 0, k, this.dpr * this.tx + cache.minX * this.scale * this.dpr, this.dpr * this.ty + cache.minY * this.scale * this.dpr);
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(cache.canvas, 0, 0);
      ctx.setTransform(this.dpr * this.scale, 0, 0, this.dpr * this.scale, this.dpr * this.tx, this.dpr * this.ty);
    } else {
      ctx.setTransform(this.dpr * this.scale, 0, 0, this.dpr * this.scale, this.dpr * this.tx, this.dpr * this.ty);
      this._drawStage(ctx);
      const [x0, y0] = this.toWorld(0, 0);
      const [x1, y1] = this.toWorld(this.width, this.height);
      this._drawSeats(ctx, x0, y0, x1, y1, px);
    }
    this._drawRings(ctx);
    if (px < 5) this._drawSectionLabels(ctx);
    const took = performance.now() - t0;
    this.frameTimes.push(took);
    if (this.frameTimes.length > 600) this.frameTimes.shift();
    if (this.onDraw) this.onDraw(took);
  }

  /** The whole map drawn once at twice the "fit" scale, kept until something on it changes. */
  _overview() {
    if (!this.fitScale || this.seats.n < 2000) return null; // small halls: always draw seats directly
    if (this.overview && !this.stale) {
      if (this.touched.length) this._repaint(this.touched.splice(0));
      return this.overview;
    }
    this.touched = [];
    const { minX, minY, maxX, maxY } = this.bounds;
    const pad = this.spacing * 2;
    let scale = this.fitScale * this.dpr * 2;
    const w = (maxX - minX + 2 * pad) * scale, h = (maxY - minY + 2 * pad) * scale;
    const shrink = Math.min(1, 4096 / Math.max(w, h));
    scale *= shrink;
    const canvas = this.overview?.canvas || document.createElement("canvas");
    canvas.width = Math.ceil((maxX - minX + 2 * pad) * scale);
    canvas.height = Math.ceil((maxY - minY + 2 * pad) * scale);
    const ctx = canvas.getContext("2d");
    ctx.setTransform(scale, 0, 0, scale, -(minX - pad) * scale, -(minY - pad) * scale);
    ctx.fillStyle = "#f7f7f9";
    ctx.fillRect(minX - pad, minY - pad, maxX - minX + 2 * pad, maxY - minY + 2 * pad);
    this._drawStage(ctx);
    this._drawSeats(ctx, -Infinity, -Infinity, Infinity, Infinity, this.radius * scale);
    this.overview = { canvas, scale, minX: minX - pad, minY: minY - pad };
    this.stale = false;
    return this.overview;
  }

  _repaint(indices) {
    const { canvas, scale, minX, minY } = this.overview;
    const ctx = canvas.getContext("2d");
    ctx.setTransform(scale, 0, 0, scale, -minX * scale, -minY * scale);
    const { x, y } = this.seats;
    const r = this.radius, clear = r * 1.08, px = r * scale;
    for (const i of indices) {
      ctx.fillStyle = "#f7f7f9";
      ctx.fillRect(x[i] - clear, y[i] - clear, 2 * clear, 2 * clear);
      ctx.fillStyle = this.styles[this.styleOf(i)];
      ctx.beginPath();
      if (px >= 3) ctx.arc(x[i], y[i], r, 0, 2 * Math.PI);
      else ctx.rect(x[i] - r, y[i] - r, 2 * r, 2 * r);
      ctx.fill();
    }
    this._drawMarks(ctx, px >= 1.5 ? indices : [], px);
  }

  _drawSeats(ctx, x0, y0, x1, y1, px) {
    const { x, y } = this.seats;
    const r = this.radius;
    const paths = this.styles.map(() => new Path2D());
    const round = px >= 3;
    const visible = [];
    const visit = (i) => {
      const p = paths[this.styleOf(i)];
      if (round) {
        p.moveTo(x[i] + r, y[i]);
        p.arc(x[i], y[i], r, 0, 2 * Math.PI);
      } else {
        p.rect(x[i] - r, y[i] - r, 2 * r, 2 * r);
      }
      if (px >= 1.5) visible.push(i);
    };
    if (x0 === -Infinity) for (let i = 0; i < this.seats.n; i++) visit(i);
    else this.forEachIn(x0 - r, y0 - r, x1 + r, y1 + r, visit);
    for (let s = 0; s < paths.length; s++) {
      ctx.fillStyle = this.styles[s];
      ctx.fill(paths[s]);
    }
    this._drawMarks(ctx, visible, px);
  }

  _drawStage(ctx) {
    if (!this.stage) return;
    const { minX, maxX } = this.bounds;
    const w = Math.max((maxX - minX) * 0.3, this.spacing * 6), h = Math.max(w * 0.18, this.spacing * 2);
    ctx.fillStyle = "#1f2937";
    ctx.fillRect(this.stage.x - w / 2, this.stage.y - h / 2, w, h);
    ctx.fillStyle = "#ffffff";
    ctx.font = `${h * 0.5}px system-ui, sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(this.stageLabel, this.stage.x, this.stage.y);
  }

  _drawMarks(ctx, visible, px) {
    // accessible seats: a wheelchair sign when seats are big enough, else a white dot
    const { accessible, x, y } = this.seats;
    const r = this.radius;
    ctx.fillStyle = "#ffffff";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    const sign = px >= 9;
    if (sign) ctx.font = `bold ${r * 1.3}px system-ui, sans-serif`;
    for (const i of visible) {
      if (!accessible[i]) continue;
      if (sign) ctx.fillText("♿", x[i], y[i] + r * 0.05);
      else ctx.fillRect(x[i] - r * 0.3, y[i] - r * 0.3, r * 0.6, r * 0.6);
    }
  }

  _drawRings(ctx) {
    const { x, y } = this.seats;
    const r = this.radius;
    ctx.lineWidth = Math.max(r * 0.28, 1.5 / this.scale);
    ctx.strokeStyle = "#111827";
    for (const i of this.outlined) {
      ctx.beginPath();
      ctx.arc(x[i], y[i], r * 1.12, 0, 2 * Math.PI);
      ctx.stroke();
    }
    if (this.focus >= 0) {
      ctx.strokeStyle = "#2563eb";
      ctx.lineWidth = Math.max(r * 0.3, 2.5 / this.scale);
      ctx.beginPath();
      ctx.arc(x[this.focus], y[this.focus], r * 1.5, 0, 2 * Math.PI);
      ctx.stroke();
    }
  }

  _drawSectionLabels(ctx) {
    ctx.fillStyle = "rgba(17,24,39,0.75)";
    ctx.font = `bold ${14 / this.scale}px system-ui, sans-serif`;
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.lineWidth = 3 / this.scale;
    ctx.strokeStyle = "rgba(255,255,255,0.9)";
    for (const s of this.sectionLabels) {
      ctx.strokeText(s.name, s.x, s.y);
      ctx.fillText(s.name, s.x, s.y);
    }
  }

  /** The seat next to i in a direction: left/right along the row, up/down to the nearest row. */
  neighbour(i, dir) {
    const { n, x, y, row } = this.seats;
    if (dir === "left" || dir === "right") {
      const j = dir === "left" ? i - 1 : i + 1;
      if (j >= 0 && j < n && row[j] === row[i]) return j;
    }
    const [dx, dy] = { left: [-1, 0], right: [1, 0], up: [0, -1], down: [0, 1] }[dir];
    let best = -1, bestScore = Infinity;
    for (let j = 0; j < n; j++) {
      if (j === i) continue;
      const ox = x[j] - x[i], oy = y[j] - y[i];
      const along = ox * dx + oy * dy;
      if (along <= this.spacing * 0.3) continue;
      const across = Math.abs(ox * dy - oy * dx);
      const score = along + across * 3;
      if (score < bestScore) [best, bestScore] = [j, score];
    }
    return best;
  }
}
