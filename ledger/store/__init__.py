"""Event store port and its adapters (SQLite, PostgreSQL)."""
