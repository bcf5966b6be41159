"""A corpus of gate camera frames: real ticket QR codes photographed badly, reproducibly.

    python bench/gate_corpus.py OUT_DIR [--frames 320] [--empty 40] [--seed 11]

Writes OUT_DIR/NNNN.png (640x480 grey) and OUT_DIR/truth.jsonl (``{"file", "text", "tags"}``;
``text`` is null for frames with no code). Each code is a real reserved-seat ``EN1:`` token
(QR version 8-M) rendered by segno, then placed with a random rotation and perspective, size
(module 2.6-5.2 px, the whole code inside the frame), blur (Gaussian and motion), sensor
noise, lighting gradient, glare spots, low contrast, JPEG artefacts, and inverted colours
(phone dark mode) on some frames.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import uuid
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ticket_format import SigningKey, TicketClaims, issue
from ticket_format.qr import make_qr

WIDTH, HEIGHT = 640, 480


def code_image(token: str) -> np.ndarray:
    """The QR symbol with its 4-module quiet zone, one pixel per module (255 white, 0 black)."""
    matrix = np.array([[0 if bit else 255 for bit in row] for row in make_qr(token).matrix], np.uint8)
    return cv2.copyMakeBorder(matrix, 4, 4, 4, 4, cv2.BORDER_CONSTANT, value=255)


def background(rng: np.random.Generator) -> np.ndarray:
    """A cluttered scene: a grey level, a few rectangles and lines (sleeves, hands, counters)."""
    frame = np.full((HEIGHT, WIDTH), rng.integers(60, 190), np.float32)
    for _ in range(rng.integers(2, 8)):
        x, y = int(rng.integers(0, WIDTH)), int(rng.integers(0, HEIGHT))
        w, h = int(rng.integers(20, 300)), int(rng.integers(20, 300))
        cv2.rectangle(frame, (x, y), (x + w, y + h), float(rng.integers(0, 255)), -1)
    for _ in range(rng.integers(0, 6)):
        p1 = (int(rng.integers(0, WIDTH)), int(rng.integers(0, HEIGHT)))
        p2 = (int(rng.integers(0, WIDTH)), int(rng.integers(0, HEIGHT)))
        cv2.line(frame, p1, p2, float(rng.integers(0, 255)), int(rng.integers(1, 5)))
    return frame


def place(frame: np.ndarray, code: np.ndarray, rng: np.random.Generator, tags: list[str]) -> None:
    """Warp the code into the frame: size, rotation, perspective, paper and ink levels."""
    modules = code.shape[0]
    module_px = float(rng.uniform(2.6, 5.2))
    side = modules * module_px
    if module_px < 3.5:
        tags.append("small")
    angle = float(rng.uniform(0, 2 * math.pi))
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float32) * side / 2
    jitter = rng.uniform(-0.15, 0.15, (4, 2)).astype(np.float32) * side
    if np.abs(jitter).max() > 0.08 * side:
        tags.append("perspective")
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]], np.float32)
    shape = (corners + jitter) @ rotation.T
    low, high = shape.min(axis=0), shape.max(axis=0)
    # Anywhere in the frame, but whole: a code cut by the frame edge is not a fair test.
    cx = float(rng.uniform(-low[0] + 4, max(-low[0] + 4, WIDTH - high[0] - 4)))
    cy = float(rng.uniform(-low[1] + 4, max(-low[1] + 4, HEIGHT - high[1] - 4)))
    target = shape + np.array([cx, cy], np.float32)
    source = np.array([[0, 0], [modules, 0], [modules, modules], [0, modules]], np.float32)
    matrix = cv2.getPerspectiveTransform(source, target.astype(np.float32))
    scale = 2  # draw at twice the size, then average down: edges look like a lens, not like pixels
    big = cv2.resize(code, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST).astype(np.float32)
    lift = np.diag([1 / scale, 1 / scale, 1]).astype(np.float32)
    warped = cv2.warpPerspective(big, matrix @ lift, (WIDTH, HEIGHT), flags=cv2.INTER_AREA, borderValue=-1)
    mask = cv2.warpPerspective(np.ones_like(big), matrix @ lift, (WIDTH, HEIGHT), flags=cv2.INTER_AREA)
    paper, ink = float(rng.uniform(190, 255)), float(rng.uniform(0, 50))
    inked = ink + (np.clip(warped, 0, 255) / 255.0) * (paper - ink)
    frame[:] = frame * (1 - mask) + inked * mask


def degrade(frame: np.ndarray, rng: np.random.Generator, tags: list[str]) -> np.ndarray:
    contrast = float(rng.uniform(0.4, 1.0))
    frame = (frame - 128) * contrast + 128 + float(rng.uniform(-30, 60))
    if contrast < 0.55:
        tags.append("low_contrast")
    gx = np.linspace(0, 1, WIDTH, dtype=np.float32)[None, :]
    frame = frame * (1 - float(rng.uniform(0, 0.4)) * gx)  # uneven lighting
    if rng.random() < 0.2:
        tags.append("glare")
        for _ in range(rng.integers(1, 3)):
            yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
            x0, y0, r = rng.uniform(0, WIDTH), rng.uniform(0, HEIGHT), rng.uniform(25, 90)
            frame = frame + 200 * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * r * r))
    sigma = float(rng.uniform(0, 2.0))
    if sigma > 0.3:
        frame = cv2.GaussianBlur(frame, (0, 0), sigma)
        if sigma >= 1.5:
            tags.append("blur")
    if rng.random() < 0.25:
        tags.append("motion")
        length = int(rng.integers(3, 9))
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1 / length
        rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), float(rng.uniform(0, 180)), 1)
        frame = cv2.filter2D(frame, -1, cv2.warpAffine(kernel, rot, (length, length)))
    noise = float(rng.uniform(0, 12))
    if noise > 8:
        tags.append("noise")
    frame = frame + rng.normal(0, noise, frame.shape)
    if rng.random() < 0.12:
        tags.append("inverted")
        frame = 255 - frame
    image = np.clip(frame, 0, 255).astype(np.uint8)
    if rng.random() < 0.4:
        tags.append("jpeg")
        _, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(40, 90))])
        image = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    return image


def generate(out: Path, frames: int = 320, empty: int = 40, seed: int = 11) -> list[dict[str, Any]]:
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    # A key derived from the seed: the same seed gives the very same tokens and frames.
    key = SigningKey(Ed25519PrivateKey.from_private_bytes(rng.bytes(32)))
    truth = []
    order = ["code"] * frames + ["empty"] * empty
    rng.shuffle(order)
    for index, kind in enumerate(order):
        tags: list[str] = []
        frame = background(rng)
        text = None
        if kind == "code":
            claims = TicketClaims(
                ticket_id=str(uuid.UUID(int=int(rng.integers(0, 2**62)), version=4)),
                event_id="evt-2026-0142",
                session_id="evening", zone="Block C", seat=f"R{rng.integers(1, 40)}-S{rng.integers(1, 60)}",
                ticket_type="standard", valid_from=1_790_000_000, valid_until=1_790_086_400,
            )  # fmt: skip
            text = issue(claims, key)
            place(frame, code_image(text), rng, tags)
        image = degrade(frame, rng, tags)
        name = f"{index:04d}.png"
        cv2.imwrite(str(out / name), image)
        truth.append({"file": name, "text": text, "tags": tags})
    with (out / "truth.jsonl").open("w") as handle:
        for item in truth:
            handle.write(json.dumps(item) + "\n")
    return truth


RAW = argparse.RawDescriptionHelpFormatter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=RAW)
    parser.add_argument("out", type=Path)
    parser.add_argument("--frames", type=int, default=320)
    parser.add_argument("--empty", type=int, default=40)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    truth = generate(args.out, args.frames, args.empty, args.seed)
    print(f"wrote {len(truth)} frames to {args.out}")


if __name__ == "__main__":
    main()
