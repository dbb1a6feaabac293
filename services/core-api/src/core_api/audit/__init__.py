"""The audit log's hash chain: verifying it (route, service) and the canonical form it hashes (chain)."""
