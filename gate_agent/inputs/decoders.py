"""QR decoder stages for the camera chain: a pre-processing step, then zxing-cpp (or pyzbar).

Each stage is a function ``frame -> [text, ...]`` and costs about one zxing-cpp call. The chain in
:mod:`gate_agent.inputs.camera` tries them in order and stops at the first that reads a code, so
the costly stages run only on frames the cheap ones could not read. Why these steps (all
measured in bench/gate_camera.py on 640x480 frames of version 8 ticket codes):

- Camera noise breaks zxing-cpp's local binarizer into speckles that look like finder-pattern
  fragments: a light Gaussian (3x3) makes the first pass read as many codes in half the time.
- Defocus and motion blur are what make codes unreadable, since a version 8 code has small
  modules (2.6-5 px here). Denoise first, then an unsharp mask restores module edges; without
  the denoise step the sharpening amplifies the noise and reads fewer codes.
- Enlarging helps small blurred modules but costs 2-4 times a full frame; doing it only on the
  most textured region (where a QR code, dense with edges, almost always is) keeps it cheap.

Stages are built by factories so that each keeps its own zxing-cpp format set and kernels.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import cv2
import numpy as np

from gate_agent.inputs.decoder_names import DECODER_NAMES

Decoder = Callable[[np.ndarray], list[str]]


def gray(frame: np.ndarray) -> np.ndarray:
    """A single-channel view of a camera frame (BGR from cameras, grey from image files)."""
    if frame.ndim == 3:
        return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    return frame


def denoise(image: np.ndarray, sigma: float = 0.0) -> np.ndarray:
    """A light Gaussian: sigma 0 means OpenCV's 3x3 kernel (sigma 0.8)."""
    if sigma:
        return cv2.GaussianBlur(image, (0, 0), sigma)
    return cv2.GaussianBlur(image, (3, 3), 0)


def unsharp(image: np.ndarray, sigma: float, amount: float) -> np.ndarray:
    """``image + amount * (image - blurred)``, saturated to 0..255: steepens blurred module edges."""
    blurred = cv2.GaussianBlur(image, (0, 0), sigma)
    return cv2.addWeighted(image, 1 + amount, blurred, -amount, 0)


def textured_region(image: np.ndarray, step: int = 4, margin: float = 0.15) -> np.ndarray:
    """The crop around the densest patch of edges, found on a 1/``step`` size copy (~0.1 ms).

    A QR code is a square of alternating modules, so the local mean of the morphological
    gradient peaks on it; the connected area above half that peak, plus a margin, is the crop.
    """
    height, width = image.shape[:2]
    if min(height, width) < 16 * step:  # too small to have a region worth cropping
        return image
    small = cv2.resize(image, (width // step, height // step), interpolation=cv2.INTER_AREA)
    edges = cv2.morphologyEx(small, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8)).astype(np.float32)
    density = cv2.boxFilter(edges, -1, (9, 9))
    _, peak, _, (px, py) = cv2.minMaxLoc(density)
    if peak <= 0:
        return image
    _, mask = cv2.threshold(density, 0.5 * peak, 255, cv2.THRESH_BINARY)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8))
    x, y, w, h, _ = (int(v) for v in stats[labels[py, px]])
    pad = max(w, h) * margin + 2
    x0, y0 = int(max(0, (x - pad) * step)), int(max(0, (y - pad) * step))
    x1, y1 = int(min(width, (x + w + pad) * step)), int(min(height, (y + h + pad) * step))
    return image[y0:y1, x0:x1]


@functools.lru_cache(maxsize=16)
def _wiener_gain(side: int, sigma: float, noise: float) -> np.ndarray:
    """``H / (H^2 + noise)`` for a Gaussian blur of ``sigma`` px over a ``side`` x ``side`` spectrum.

    Computing it costs more than the two transforms, so it is cached; crops are padded to one of
    about ten square sizes (see :func:`_padded`), so after warm-up every call hits (~6 MB at most).
    """
    freq = np.fft.fftfreq(side)
    line = np.exp(-2 * np.pi**2 * sigma**2 * freq**2)
    blur = np.outer(line, line)  # a Gaussian's spectrum is separable
    gain: np.ndarray = (blur / (blur * blur + noise)).astype(np.float32)[..., None]
    return gain


def _padded(rows: int, cols: int) -> int:
    """The square FFT size for a crop: the longer side rounded up to 64, then to a fast size."""
    return int(cv2.getOptimalDFTSize(-(-max(rows, cols) // 64) * 64))


def wiener_deblur(image: np.ndarray, sigma: float, noise: float) -> np.ndarray:
    """Undo a Gaussian blur of ``sigma`` px by Wiener deconvolution (``noise`` is the noise-to-signal
    ratio that keeps it from amplifying noise). Unlike an unsharp mask it restores the contrast of
    the finest module pattern, which is what a code blurred by half a module has lost."""
    rows, cols = image.shape
    side = _padded(rows, cols)
    mean = float(image.mean())
    centred = image.astype(np.float32) - mean
    padded = cv2.copyMakeBorder(centred, 0, side - rows, 0, side - cols, cv2.BORDER_CONSTANT, value=0)
    spectrum = cv2.dft(padded, flags=cv2.DFT_COMPLEX_OUTPUT)
    spectrum *= _wiener_gain(side, sigma, noise)
    restored = np.asarray(cv2.idft(spectrum, flags=cv2.DFT_SCALE | cv2.DFT_REAL_OUTPUT))
    result: np.ndarray = np.clip(restored[:rows, :cols] + mean, 0, 255).astype(np.uint8)
    return result


def zxing_reader(*, try_downscale: bool = True, try_invert: bool = True) -> Decoder:
    """zxing-cpp restricted to QR Model 2 (what segno writes; Micro QR off: it misread noise).

    ``try_invert`` reads light-on-dark (dark-mode) codes; ``try_downscale`` also scans a
    half-size copy, which only pays on the full frame.
    """
    import zxingcpp

    formats = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCodeModel2)

    def read(image: np.ndarray) -> list[str]:
        found = zxingcpp.read_barcodes(
            image, formats=formats, try_downscale=try_downscale, try_invert=try_invert
        )
        return [code.text for code in found if code.valid]

    return read


def zxing_decoder() -> Decoder:
    """zxing-cpp on the frame as it is."""
    read = zxing_reader()
    return lambda frame: read(gray(frame))


def zxing_denoise_decoder() -> Decoder:
    """zxing-cpp after a 3x3 Gaussian: as many codes as the plain frame, about half the time."""
    read = zxing_reader()
    return lambda frame: read(denoise(gray(frame)))


def zxing_sharp_decoder() -> Decoder:
    """Denoise (sigma 0.7), then unsharp mask (sigma 1.5, amount 3): reads defocused codes."""
    read = zxing_reader(try_downscale=False)
    return lambda frame: read(unsharp(denoise(gray(frame), 0.7), 1.5, 3.0))


def zxing_roi_decoder() -> Decoder:
    """The textured region, denoised (sigma 0.8), enlarged 2x and sharpened (sigma 3, amount 2):
    small blurred modules get pixels to resolve into, for the cost of the crop only."""
    read = zxing_reader(try_downscale=False)

    def decode(frame: np.ndarray) -> list[str]:
        crop = denoise(textured_region(gray(frame)), 0.8)
        big = cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_LINEAR)
        return read(unsharp(big, 3.0, 2.0))

    return decode


def zxing_deblur_decoder() -> Decoder:
    """The textured region, Wiener-deconvolved for a 1.9 px Gaussian blur, enlarged 1.5x: reads
    codes blurred by about half a module, which sharpening cannot. The crop keeps the FFTs small."""
    read = zxing_reader(try_downscale=False)

    def decode(frame: np.ndarray) -> list[str]:
        restored = wiener_deblur(textured_region(gray(frame)), 1.9, 0.02)
        return read(cv2.resize(restored, None, fx=1.5, fy=1.5, interpolation=cv2.INTER_LINEAR))

    return decode


def zxing_sharp_up_decoder() -> Decoder:
    """The whole frame denoised, enlarged 1.5x and sharpened: like ``zxing_roi`` without the
    crop, so it also finds codes the region guess missed, at about 3 ms."""
    read = zxing_reader(try_downscale=False)

    def decode(frame: np.ndarray) -> list[str]:
        big = cv2.resize(denoise(gray(frame)), None, fx=1.5, fy=1.5, interpolation=cv2.INTER_LINEAR)
        return read(unsharp(big, 2.25, 2.0))

    return decode


def zxing_upscaled_decoder() -> Decoder:
    """zxing-cpp on a 1.5x (bilinear) enlargement of the whole frame (the previous default's
    second stage; kept for configurations that name it)."""
    read = zxing_reader()
    return lambda frame: read(cv2.resize(gray(frame), None, fx=1.5, fy=1.5, interpolation=cv2.INTER_LINEAR))


def pyzbar_decoder() -> Decoder:
    """zbar through pyzbar: slower than zxing-cpp and reads fewer codes, kept as an option."""
    from pyzbar import pyzbar

    symbols = [pyzbar.ZBarSymbol.QRCODE]

    def decode(frame: np.ndarray) -> list[str]:
        found = pyzbar.decode(gray(frame), symbols=symbols)
        return [code.data.decode("utf-8", errors="replace") for code in found]

    return decode


DECODERS: dict[str, Callable[[], Decoder]] = {
    "zxing": zxing_decoder,
    "zxing_denoise": zxing_denoise_decoder,
    "zxing_sharp": zxing_sharp_decoder,
    "zxing_roi": zxing_roi_decoder,
    "zxing_deblur": zxing_deblur_decoder,
    "zxing_sharp_up": zxing_sharp_up_decoder,
    "zxing_up": zxing_upscaled_decoder,
    "pyzbar": pyzbar_decoder,
}
if tuple(DECODERS) != DECODER_NAMES:  # the config loader validates names against that list
    raise ImportError("gate_agent.inputs.decoder_names.DECODER_NAMES must list every decoder stage")
