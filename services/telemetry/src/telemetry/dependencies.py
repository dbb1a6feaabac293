"""What the telemetry handlers receive by injection (Litestar ``Provide``, registered app-wide by
``create_app``) instead of reading the request and the app's state themselves: the verified caller
(``actor``), the ClickHouse store (``store``), the spool appender (``appender``), the edge's country
(``country``) and, for the beacon, the token verifier (``verifier``). Each is read from the app's state per
request (a test may swap the state's appender). None takes a parameter of its own, so the OpenAPI document
and the strict-request hook see none."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import SkipValidation
from service_common.auth.actor import caller_dependency

from telemetry.clickhouse.store import ClickHouseStore
from telemetry.identity import TelemetryActor, TelemetryVerifier, telemetry_actor
from telemetry.ingest.batch import edge_country
from telemetry.settings import Settings
from telemetry.spool.appender import SpoolAppender


def provide_store(state: State) -> ClickHouseStore:
    """The app's ClickHouse store."""
    store: ClickHouseStore = state.store
    return store


def provide_appender(state: State) -> SpoolAppender:
    """The app's appender to the spool."""
    appender: SpoolAppender = state.spool_appender
    return appender


def provide_verifier(state: State) -> TelemetryVerifier:
    """The app's telemetry token verifier, the bearer middleware's own (the beacon's token is in its body)."""
    verifier: TelemetryVerifier = state.token_verifier
    return verifier


def provide_country(request: Request[Any, Any, Any], state: State) -> str:
    """The client's country as the edge reports it in the configured header; '' when it does not."""
    settings: Settings = state.settings
    return edge_country(request.headers.get(settings.ingest.country_header, ""))


DEPENDENCIES = {
    "actor": caller_dependency(telemetry_actor),
    "store": Provide(provide_store, sync_to_thread=False),
    "appender": Provide(provide_appender, sync_to_thread=False),
    "country": Provide(provide_country, sync_to_thread=False),
    "verifier": Provide(provide_verifier, sync_to_thread=False),
}
"""Every dependency a telemetry handler may take, by name."""

# What a handler parameter is declared as to receive each: ``actor: CurrentActor`` and so on.
CurrentActor = NamedDependency[TelemetryActor]
# A protocol (server or embedded store), which Litestar's check of a dependency's type cannot test.
Store = NamedDependency[SkipValidation[ClickHouseStore]]
Appender = NamedDependency[SpoolAppender]
EdgeCountry = NamedDependency[str]
Verifier = NamedDependency[TelemetryVerifier]
