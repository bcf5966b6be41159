"""The gate agent's sync client: enrolment (``gate-agent enrol``), snapshot download, deltas,
the live push channel and journal upload. Talks to ``sync_server`` over HTTP only, in the
messages of :mod:`wire.sync_api`."""
