"""``python -m telemetry``: serve telemetry (settings in the environment; see the README)."""

from service_common.serve import serve

serve("telemetry.app:create_app")
