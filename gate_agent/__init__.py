"""The gate agent: decides every scan offline, journals it durably, drives lights and turnstile.

Layout (pure core first, adapters after):
- ``verdicts``, ``rules``: the decision as plain functions (no I/O).
- ``config``, ``profiles``: TOML configuration and device profiles, validated on load.
- ``store``: the local SQLite store (snapshot, ticket use, scan journal).
- ``pipeline``: text in -> verify -> rules -> journalled decision.
- ``inputs/``: scanners (evdev, serial), cameras, ID readers; each yields :class:`ScanEvent`.
- ``feedback``, ``display/``: GPIO outputs and the staff display page.
- ``agent``, ``cli``, ``notify``: the running service under systemd.
- ``sync/``: the sync client (written separately) plugs into ``agent``.
"""
