"""The HTTP API (FastAPI): routes only, which validate input and call the use cases."""
