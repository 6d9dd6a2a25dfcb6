"""Parsers: pure functions, text in, typed object out."""
