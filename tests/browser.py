"""How every browser test and benchmark starts Chromium: Debian's own build, headless.

The flags keep Chromium off the network it cannot reach here (background updates, sync,
component downloads would otherwise be refused many times a second) and run it as root in a
container (no sandbox, no GPU). Playwright is only the driver: no browser is downloaded.
"""

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
