"""Helpers shared by several test modules (imported from here, never from a test module)."""
