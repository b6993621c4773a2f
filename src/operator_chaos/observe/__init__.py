"""Watch-driven facts about the cluster, stamped with the monotonic time they were read."""
