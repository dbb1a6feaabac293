"""``make cluster-check``: the multi-server setups of issue #22 started on loopback, each half a module."""
