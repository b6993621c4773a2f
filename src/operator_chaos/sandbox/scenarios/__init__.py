"""Shipped scenarios: one directory per scenario, ``<name>/scenario.yaml`` plus its manifests.

See :mod:`operator_chaos.sandbox.scenario` for the format and ``docs/sandbox.md`` for users.
"""
