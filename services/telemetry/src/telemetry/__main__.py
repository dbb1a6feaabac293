"""``python -m telemetry``: serve telemetry (settings in the environment; see the README)."""

from service_common.serve import serve

# The write-ahead spool folder belongs to one process (it holds a lock on it): scale with more processes,
# each with its own SPOOL_DIR, or with replicas (a StatefulSet, one volume each).
serve(
    "telemetry.app:create_app",
    one_process_only="telemetry's spool folder belongs to one process; run more processes, each with its "
    "own SPOOL_DIR, or more replicas",
)
