"""The HTTP API (FastAPI): thin routes that validate input and call ``box_office.services``."""
