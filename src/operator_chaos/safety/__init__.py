"""Nothing changes the cluster until this package says yes, and nothing it allows outlives
the tool: the safety gate, the per-target lease and the on-cluster rollback ledger."""
