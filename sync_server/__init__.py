"""The venue's sync server: gate enrolment, snapshots and live deltas, scan reconciliation,
the organisers' live entry dashboard. See README.md."""

__version__ = "0.1.0"
