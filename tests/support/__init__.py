"""Shared test helpers (servers on loopback)."""
