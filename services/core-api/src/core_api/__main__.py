"""``python -m core_api``: serve core-api (settings in the environment; see the README)."""

from service_common.serve import serve

serve("core_api.app:create_app")
