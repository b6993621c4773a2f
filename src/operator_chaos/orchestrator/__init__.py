"""The only package that knows the order of the stages: load -> gate -> inject -> observe ->
evaluate -> report, with the revert guaranteed in between."""
