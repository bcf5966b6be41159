"""Prometheus metrics and JSON logs with request ids for the box office."""
