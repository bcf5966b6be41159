// The phone's camera as a scanner: getUserMedia frames through zxing-cpp's WebAssembly reader
// (vendored under vendor/zxing/, served by the sync server: no CDN, works offline).
// Calls onText(text) for every QR code read; the app's repeat window drops re-reads.

import { grey, texturedRegion } from "./roi.js";

let zxingReady = null;

/** Load the reader once (a classic script that defines ZXingWASM) and point it at our .wasm. */
export function loadReader() {
  if (!zxingReady) {
    zxingReady = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = "/staff/vendor/zxing/zxing_reader.js";
      script.onload = async () => {
        try {
          await globalThis.ZXingWASM.prepareZXingModule({
            overrides: { locateFile: (path, prefix) => (path.endsWith(".wasm") ? `/staff/vendor/zxing/${path}` : prefix + path) },
            fireImmediately: true,
          });
          resolve(globalThis.ZXingWASM);
        } catch (err) {
          reject(err);
        }
      };
      script.onerror = () => reject(new Error("cannot load the QR reader"));
      document.head.appendChild(script);
    });
  }
  return zxingReady;
}

export const READER_OPTIONS = {
  formats: ["QRCode"], tryHarder: true, tryRotate: true, tryInvert: true, maxNumberOfSymbols: 1,
};

const ROI_OPTIONS = { ...READER_OPTIONS, tryDownscale: false };
const ROI_MAX_SIDE = 800;
let roiCanvas = null;

/**
 * Decode one ImageData; returns the texts read (used by the camera loop and the benchmark).
 * A frame the plain pass cannot read gets a second pass on its most textured region (roi.js,
 * after the gate's zxing_roi stage: where a QR code, dense with edges, almost always is),
 * enlarged 2x by the canvas (at most 800 px a side).
 */
export async function decodeImage(imageData, { secondPass = true } = {}) {
  const zxing = await loadReader();
  const read = async (image, options) =>
    (await zxing.readBarcodes(image, options)).filter((r) => r.isValid && r.text).map((r) => r.text);
  const texts = await read(imageData, READER_OPTIONS);
  if (texts.length || !secondPass) return texts;
  const region = texturedRegion(grey(imageData), imageData.width, imageData.height);
  if (!region) return texts;
  const scale = Math.min(2, ROI_MAX_SIDE / Math.max(region.w, region.h));
  if (scale <= 1.05) return texts; // the region is the whole frame: nothing to gain
  const w = Math.round(region.w * scale), h = Math.round(region.h * scale);
  roiCanvas = roiCanvas || new OffscreenCanvas(w, h);
  roiCanvas.width = w;
  roiCanvas.height = h;
  const ctx = roiCanvas.getContext("2d", { willReadFrequently: true });
  ctx.imageSmoothingQuality = "high";
  const source = await createImageBitmap(imageData, region.x, region.y, region.w, region.h);
  ctx.drawImage(source, 0, 0, w, h);
  source.close();
  return read(ctx.getImageData(0, 0, w, h), ROI_OPTIONS);
}

export class Camera {
  constructor(video, onText) {
    this.video = video;
    this.onText = onText;
    this.stream = null;
    this.track = null;
    this.running = false;
    this.canvas = document.createElement("canvas");
    this.frames = 0;
    this.decoded = 0;
  }

  async start() {
    await loadReader();
    this.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    });
    this.track = this.stream.getVideoTracks()[0];
    this.video.srcObject = this.stream;
    await this.video.play();
    this.running = true;
    this.loop();
  }

  stop() {
    this.running = false;
    if (this.stream) for (const t of this.stream.getTracks()) t.stop();
    this.stream = null;
    this.track = null;
  }

  get torchSupported() {
    const caps = this.track && this.track.getCapabilities ? this.track.getCapabilities() : {};
    return Boolean(caps.torch);
  }

  async setTorch(on) {
    if (this.torchSupported) await this.track.applyConstraints({ advanced: [{ torch: on }] });
  }

  async loop() {
    const ctx = this.canvas.getContext("2d", { willReadFrequently: true });
    while (this.running) {
      const v = this.video;
      if (v.readyState >= 2 && v.videoWidth) {
        // Decode at most 960 px wide: enough for a ticket QR held at arm's length, and cheap.
        const scale = Math.min(1, 960 / v.videoWidth);
        const w = Math.round(v.videoWidth * scale), h = Math.round(v.videoHeight * scale);
        if (this.canvas.width !== w) { this.canvas.width = w; this.canvas.height = h; }
        ctx.drawImage(v, 0, 0, w, h);
        this.frames += 1;
        try {
          // the costly second pass on every other unread frame only: the next frame is 33-100 ms away
          const image = ctx.getImageData(0, 0, w, h);
          for (const text of await decodeImage(image, { secondPass: this.frames % 2 === 0 })) {
            this.decoded += 1;
            await this.onText(text, "camera");
          }
        } catch (err) {
          console.warn("decode failed", err);
        }
      }
      await new Promise((r) => (v.requestVideoFrameCallback ? v.requestVideoFrameCallback(() => r()) : setTimeout(r, 80)));
    }
  }
}
