"""Bytes to validated experiments: YAML positions, validation, sources, overrides, schema."""
