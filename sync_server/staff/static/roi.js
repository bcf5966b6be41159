// The second pass of the app's QR decoding, after gate_agent/inputs/decoders.py's zxing_roi:
// when a whole frame reads nothing, find the most textured region (where a QR code, dense with
// edges, almost always is); scanner.js enlarges it 2x so small blurred modules get pixels to
// resolve into, for the cost of the crop only. Pure functions on grey pixel arrays.

/** Grey (0..255) of an RGBA ImageData, as a Uint8ClampedArray. */
export function grey(image) {
  const { data, width, height } = image;
  const out = new Uint8ClampedArray(width * height);
  for (let i = 0, j = 0; j < out.length; i += 4, j++) out[j] = (306 * data[i] + 601 * data[i + 1] + 117 * data[i + 2] + 512) >> 10;
  return out;
}

/**
 * The crop {x, y, w, h} around the densest patch of edges, found on a 1/`step` size copy:
 * morphological gradient (3x3 max - min), a 9x9 box mean, the connected area above half its
 * peak, plus a margin. Null for a frame too small or with no edges at all.
 */
export function texturedRegion(pixels, width, height, step = 4, margin = 0.15) {
  const sw = Math.floor(width / step), sh = Math.floor(height / step);
  if (sw < 16 || sh < 16) return null;
  const small = new Float32Array(sw * sh);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      let sum = 0;
      for (let dy = 0; dy < step; dy++) {
        const row = (y * step + dy) * width + x * step;
        for (let dx = 0; dx < step; dx++) sum += pixels[row + dx];
      }
      small[y * sw + x] = sum / (step * step);
    }
  }
  const edges = new Float32Array(sw * sh);
  for (let y = 0; y < sh; y++) {
    for (let x = 0; x < sw; x++) {
      let lo = 255, hi = 0;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = Math.min(sh - 1, Math.max(0, y + dy));
        for (let dx = -1; dx <= 1; dx++) {
          const v = small[yy * sw + Math.min(sw - 1, Math.max(0, x + dx))];
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
      }
      edges[y * sw + x] = hi - lo;
    }
  }
  // 9x9 box mean through an integral image
  const integral = new Float64Array((sw + 1) * (sh + 1));
  for (let y = 0; y < sh; y++) {
    let row = 0;
    for (let x = 0; x < sw; x++) {
      row += edges[y * sw + x];
      integral[(y + 1) * (sw + 1) + x + 1] = integral[y * (sw + 1) + x + 1] + row;
    }
  }
  const density = new Float32Array(sw * sh);
  let peak = 0, peakAt = 0;
  for (let y = 0; y < sh; y++) {
    const y0 = Math.max(0, y - 4), y1 = Math.min(sh, y + 5);
    for (let x = 0; x < sw; x++) {
      const x0 = Math.max(0, x - 4), x1 = Math.min(sw, x + 5);
      const s = integral[y1 * (sw + 1) + x1] - integral[y0 * (sw + 1) + x1] - integral[y1 * (sw + 1) + x0] + integral[y0 * (sw + 1) + x0];
      const d = s / ((y1 - y0) * (x1 - x0));
      density[y * sw + x] = d;
      if (d > peak) { peak = d; peakAt = y * sw + x; }
    }
  }
  if (peak <= 0) return null;
  // the connected area above half the peak, grown from the peak
  const seen = new Uint8Array(sw * sh);
  const stack = [peakAt];
  seen[peakAt] = 1;
  let minX = sw, minY = sh, maxX = 0, maxY = 0;
  while (stack.length) {
    const i = stack.pop();
    const x = i % sw, y = (i - x) / sw;
    if (x < minX) minX = x;
    if (x > maxX) maxX = x;
    if (y < minY) minY = y;
    if (y > maxY) maxY = y;
    for (const [nx, ny] of [[x - 1, y], [x + 1, y], [x, y - 1], [x, y + 1]]) {
      if (nx < 0 || ny < 0 || nx >= sw || ny >= sh) continue;
      const j = ny * sw + nx;
      if (!seen[j] && density[j] >= 0.5 * peak) { seen[j] = 1; stack.push(j); }
    }
  }
  const w = maxX - minX + 1, h = maxY - minY + 1;
  const pad = Math.max(w, h) * margin + 2;
  const x0 = Math.max(0, Math.floor((minX - pad) * step)), y0 = Math.max(0, Math.floor((minY - pad) * step));
  const x1 = Math.min(width, Math.ceil((maxX + 1 + pad) * step)), y1 = Math.min(height, Math.ceil((maxY + 1 + pad) * step));
  return { x: x0, y: y0, w: x1 - x0, h: y1 - y0 };
}
