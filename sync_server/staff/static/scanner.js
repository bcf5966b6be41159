// The phone's camera as a scanner: getUserMedia frames through zxing-cpp's WebAssembly reader
// (vendored under vendor/zxing/, served by the sync server: no CDN, works offline).
// Calls onText(text) for every QR code read; the app's repeat window drops re-reads.

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

/** Decode one ImageData; returns the texts read (used by the camera loop and the benchmark). */
export async function decodeImage(imageData) {
  const zxing = await loadReader();
  const results = await zxing.readBarcodes(imageData, READER_OPTIONS);
  return results.filter((r) => r.isValid && r.text).map((r) => r.text);
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
          for (const text of await decodeImage(ctx.getImageData(0, 0, w, h))) {
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
