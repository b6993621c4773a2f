"""Operator knowledge models: what an operator manages, and how it should recover."""
