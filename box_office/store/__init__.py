"""Database adapter: SQLAlchemy models, engines and transactions (SQLite or PostgreSQL)."""
