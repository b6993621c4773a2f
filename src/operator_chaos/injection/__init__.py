"""Faults: one small module per injection type, behind one protocol and one registry."""
