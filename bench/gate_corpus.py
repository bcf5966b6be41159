"""A corpus of gate camera frames: real ticket QR codes photographed badly, reproducibly.

    python bench/gate_corpus.py OUT_DIR [--frames 320] [--empty 40] [--seed 11] [--variant gate]

Writes OUT_DIR/NNNN.png (640x480 grey) and OUT_DIR/truth.jsonl (``{"file", "text", "tags",
"module_px", "blur_sigma", "motion_px", "noise"}``; ``text`` is null for frames with no code).

Variant ``gate`` (the benchmark target): each code is a real ``EN1:`` ticket signed as the box
office issues them (integer event and session ids, a 9-10 hour validity window), QR version 8
at ECC level M, the size budget of DESIGN.md. Variant ``research`` rebuilds the corpus of
/work/shared/research/gate_hardware.md section 2 (150-character ``HC1:`` Base45 text, QR
version 6-M, larger modules, no inverted codes) so our figures can be set beside its 78.5%.

Every parameter below is chosen for what a gate camera really sees; ``PARAMETERS`` says why.
"""

from __future__ import annotations

import argparse
import json
import math
import string
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ticket_format import SigningKey, TicketClaims, issue
from ticket_format.qr import make_qr

WIDTH, HEIGHT = 640, 480
SUPERSAMPLE = 2
"""The code is drawn at twice the frame's resolution and area-averaged down, so each pixel
integrates the light falling on it as a sensor pixel does (edges are grey, not aliased)."""


@dataclass(frozen=True, slots=True)
class Parameters:
    """The ranges one corpus variant draws from (uniform unless said otherwise)."""

    module_px: tuple[float, float]
    """Pixels per QR module. A fixed gate camera (60-70 degree lens, 640x480) sees a 4-5 cm phone
    or paper code held 8-15 cm from the lens (estimate: field ~1.2 x distance wide): a version 8
    symbol with its quiet zone (57 modules) is then ~150-300 px wide, 2.6-5.2 px a module. The
    research note's 150-330 px codes are the same physical sizes. Farther than ~15 cm the code
    is under 2.5 px a module, which a 640x480 camera cannot resolve once blurred."""
    perspective: float
    """Corner jitter as a fraction of the code side: a phone tilted by up to ~35 degrees."""
    contrast: tuple[float, float]
    """Scene contrast: a dimmed phone screen or a grey print under poor light reaches 0.4."""
    brightness: tuple[float, float]
    """Exposure offset in grey levels: auto-exposure fooled by a bright or dark background."""
    glare: float
    """Share of frames with 1-2 specular highlights (ceiling lights on a glossy screen or
    laminated print), up to saturation, 25-90 px wide."""
    blur_sigma: tuple[float, float]
    """Gaussian defocus in px: fixed-focus webcam lenses are soft at 8-15 cm (estimate: sigma up to
    ~2 px; the research note used the same range). Drawn independently of the module size."""
    motion: float
    """Share of frames with 3-8 px linear motion blur: a hand moving ~10 cm/s during a 1/60 s
    exposure at this scale (~33 px per cm)."""
    noise: tuple[float, float]
    """Sensor noise sigma in grey levels: ~0 in daylight, ~12 for a small sensor at high gain indoors
    at night (estimate)."""
    inverted: float
    """Share of codes shown light-on-dark (phone dark mode, some wallet apps)."""
    jpeg: float
    """Share of frames MJPEG-compressed (USB webcams at 640x480 often stream MJPEG)."""
    jpeg_quality: tuple[int, int]
    """JPEG quality range: 40 is a pessimistic floor for a webcam under USB bandwidth pressure."""


PARAMETERS = {
    "gate": Parameters(
        module_px=(2.6, 5.2), perspective=0.15, contrast=(0.4, 1.0), brightness=(-30, 60), glare=0.2,
        blur_sigma=(0.0, 2.0), motion=0.25, noise=(0.0, 12.0), inverted=0.12, jpeg=0.4, jpeg_quality=(40, 90),
    ),
    # The research note's method (section 2): v6 codes, modules 2.9-6.7 px, no inverted codes.
    "research": Parameters(
        module_px=(2.9, 6.7), perspective=0.15, contrast=(0.35, 1.0), brightness=(-30, 80), glare=0.2,
        blur_sigma=(0.0, 2.0), motion=0.3, noise=(0.0, 12.0), inverted=0.0, jpeg=0.5, jpeg_quality=(40, 96),
    ),
}  # fmt: skip


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


def place(
    frame: np.ndarray, code: np.ndarray, rng: np.random.Generator, p: Parameters, tags: list[str]
) -> float:
    """Warp the code into the frame (size, rotation, perspective, paper and ink); its module size."""
    modules = code.shape[0]
    module_px = float(rng.uniform(*p.module_px))
    side = modules * module_px
    if module_px < 3.5:
        tags.append("small")
    angle = float(rng.uniform(0, 2 * math.pi))
    corners = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float32) * side / 2
    jitter = rng.uniform(-p.perspective, p.perspective, (4, 2)).astype(np.float32) * side
    if np.abs(jitter).max() > 0.08 * side:
        tags.append("perspective")
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]], np.float32)
    shape = (corners + jitter) @ rotation.T
    low, high = shape.min(axis=0), shape.max(axis=0)
    # Anywhere in the frame, but whole: a code cut by the frame edge is not a fair test.
    cx = float(rng.uniform(-low[0] + 4, max(-low[0] + 4, WIDTH - high[0] - 4)))
    cy = float(rng.uniform(-low[1] + 4, max(-low[1] + 4, HEIGHT - high[1] - 4)))
    target = (shape + np.array([cx, cy], np.float32)) * SUPERSAMPLE
    source = np.array([[0, 0], [modules, 0], [modules, modules], [0, modules]], np.float32)
    matrix = cv2.getPerspectiveTransform(source, target.astype(np.float32))
    size = (WIDTH * SUPERSAMPLE, HEIGHT * SUPERSAMPLE)
    # Nearest-neighbour warp at 2x (sharp module edges, as printed), then an area average to 1x.
    warped = cv2.warpPerspective(code.astype(np.float32), matrix, size, flags=cv2.INTER_NEAREST)
    mask = cv2.warpPerspective(np.ones_like(code, np.float32), matrix, size, flags=cv2.INTER_NEAREST)
    warped = cv2.resize(warped, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    mask = cv2.resize(mask, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
    paper, ink = float(rng.uniform(190, 255)), float(rng.uniform(0, 50))
    if rng.random() < p.inverted:
        tags.append("inverted")  # dark mode: light modules on a dark screen; the scene is not inverted
        paper, ink = 255 - paper, 255 - ink
    inked = ink + (warped / 255.0) * (paper - ink)
    frame[:] = frame * (1 - mask) + inked * mask
    return module_px


def degrade(
    frame: np.ndarray, rng: np.random.Generator, p: Parameters, tags: list[str], info: dict[str, float]
) -> np.ndarray:
    """Optics first (exposure, lighting, glare, defocus, motion), then the sensor and its codec;
    ``info`` gets the blur and noise drawn, for the benchmark's breakdown."""
    contrast = float(rng.uniform(*p.contrast))
    frame = (frame - 128) * contrast + 128 + float(rng.uniform(*p.brightness))
    if contrast < 0.55:
        tags.append("low_contrast")
    gx = np.linspace(0, 1, WIDTH, dtype=np.float32)[None, :]
    frame = frame * (1 - float(rng.uniform(0, 0.4)) * gx)  # uneven lighting
    if rng.random() < p.glare:
        tags.append("glare")
        for _ in range(rng.integers(1, 3)):
            yy, xx = np.mgrid[0:HEIGHT, 0:WIDTH]
            x0, y0, r = rng.uniform(0, WIDTH), rng.uniform(0, HEIGHT), rng.uniform(25, 90)
            frame = frame + 200 * np.exp(-((xx - x0) ** 2 + (yy - y0) ** 2) / (2 * r * r))
    sigma = float(rng.uniform(*p.blur_sigma))
    info["blur_sigma"] = round(sigma, 3)
    if sigma > 0.3:
        frame = cv2.GaussianBlur(frame, (0, 0), sigma)
        if sigma >= 1.5:
            tags.append("blur")
    if rng.random() < p.motion:
        tags.append("motion")
        length = int(rng.integers(3, 9))
        info["motion_px"] = length
        kernel = np.zeros((length, length), np.float32)
        kernel[length // 2, :] = 1 / length
        rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), float(rng.uniform(0, 180)), 1)
        frame = cv2.filter2D(frame, -1, cv2.warpAffine(kernel, rot, (length, length)))
    noise = float(rng.uniform(*p.noise))
    info["noise"] = round(noise, 2)
    if noise > 8:
        tags.append("noise")
    frame = frame + rng.normal(0, noise, frame.shape)
    image = np.clip(frame, 0, 255).astype(np.uint8)
    if rng.random() < p.jpeg:
        tags.append("jpeg")
        quality = int(rng.integers(*p.jpeg_quality))
        _, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
        image = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
    return image


ZONES = ("A", "B", "C", "Floor", "VIP-A", "Stalls")
ROWS = "ABCDEFGHJK"


def gate_token(rng: np.random.Generator, key: SigningKey) -> str:
    """A reserved-seat ticket as the box office signs it, re-drawn until it needs QR 8-M exactly
    (the budget's worst case; long zone names can push a ticket to version 9, short ones to 7)."""
    while True:
        starts = 1_790_000_000 + int(rng.integers(0, 30_000_000))
        claims = TicketClaims(
            ticket_id=str(uuid.UUID(int=int(rng.integers(0, 2**62)), version=4)),
            event_id=int(rng.integers(1, 5000)), session_id=int(rng.integers(1, 20000)),
            zone=str(rng.choice(ZONES)),
            seat=f"{rng.choice(list(ROWS))}-{rng.integers(1, 40)}-{rng.integers(1, 60):02d}",
            ticket_type=str(rng.choice(["adult", "child", "standard"])),
            # box_office.core.orders.ticket_window: doors 4 h before a 2-4 h show, until 2 h after
            valid_from=starts - 4 * 3600, valid_until=starts + int(rng.integers(2, 5)) * 3600 + 2 * 3600,
            version=int(rng.integers(1, 4)),
        )  # fmt: skip
        token = issue(claims, key)
        if make_qr(token).version == 8:
            return token


BASE45 = string.digits + string.ascii_uppercase + " $%*+-./:"


def research_token(rng: np.random.Generator) -> str:
    """The research note's payload: ``HC1:`` and 146 random Base45 characters (QR 6-M)."""
    return "HC1:" + "".join(BASE45[i] for i in rng.integers(0, len(BASE45), 146))


def generate(
    out: Path, frames: int = 320, empty: int = 40, seed: int = 11, variant: str = "gate"
) -> list[dict[str, Any]]:
    params = PARAMETERS[variant]
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
        text, module_px = None, None
        if kind == "code":
            text = gate_token(rng, key) if variant == "gate" else research_token(rng)
            module_px = place(frame, code_image(text), rng, params, tags)
        info: dict[str, float] = {"motion_px": 0}
        image = degrade(frame, rng, params, tags, info)
        name = f"{index:04d}.png"
        cv2.imwrite(str(out / name), image)
        truth.append({"file": name, "text": text, "tags": tags, "module_px": module_px, **info})
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
    parser.add_argument("--variant", choices=sorted(PARAMETERS), default="gate")
    args = parser.parse_args()
    truth = generate(args.out, args.frames, args.empty, args.seed, args.variant)
    print(f"wrote {len(truth)} frames to {args.out}")


if __name__ == "__main__":
    main()
