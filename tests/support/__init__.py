"""Shared test helpers: start and stop server processes, talk raw RESP."""
