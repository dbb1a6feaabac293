"""``python -m telemetry``: serve telemetry (settings in the environment; see the README).

Each worker process (SERVER_WORKERS) appends to a spool folder of its own. With a ClickHouse server the
flusher runs in ``python -m telemetry.flusher`` (SPOOL_FLUSHER=process) or inside each worker (``inline``);
the embedded engine's data folder belongs to one process, so there it is one worker with its flusher inline.
"""

from service_common.serve import serve

from telemetry.settings import load_settings

serve(
    "telemetry.app:create_app",
    one_process_only=""
    if load_settings().clickhouse.url
    else "the embedded ClickHouse engine (CLICKHOUSE_URL unset) keeps its data folder for one process",
)
