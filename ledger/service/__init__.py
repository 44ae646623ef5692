"""Use cases: the only way state changes. No HTTP, no SQL: a store port and the aggregates."""
