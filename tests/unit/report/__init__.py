"""Tests of the report renderers (``operator_chaos.report``)."""
