"""Placeholder: being written."""

HANDLERS: dict = {}
