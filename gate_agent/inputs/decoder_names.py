"""The camera decoder stages by name, and the default chain: no OpenCV import, so that the config
loader can validate ``[decoders] order`` without loading the camera stack.

The stages themselves live in :mod:`gate_agent.inputs.decoders`; the default order is the one
``bench/gate_camera.py`` measured best (see bench/RESULTS.md, "Gate camera decoding").
"""

from __future__ import annotations

DECODER_NAMES = (
    "zxing",
    "zxing_denoise",
    "zxing_sharp",
    "zxing_roi",
    "zxing_deblur",
    "zxing_sharp_up",
    "zxing_up",
    "pyzbar",
)
"""Every stage a chain may use (config ``[decoders] order``, profile ``decoders``, ``--decoders``)."""

DEFAULT_ORDER = ("zxing_denoise", "zxing_roi", "zxing_deblur")
"""zxing-cpp on a lightly denoised frame; if nothing, on the most textured region enlarged twice
and sharpened; if still nothing, on that region deblurred (Wiener) and enlarged. The order that
bench/gate_camera.py's search ranks first (most codes within its time budget); see
bench/RESULTS.md, "Gate camera decoding"."""
