"""Use cases: each function runs one business operation in one database transaction."""
