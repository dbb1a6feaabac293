"""Client error reports (``POST /v1/errors/report``): the body and its decoder."""

from typing import Annotated

import msgspec
from msgspec import Meta

from contracts.decoding import BodyDecoder
from contracts.media_event_data import Platform
from contracts.media_events import check_timestamp
from contracts.types import (
    Timestamp,
)

# Error reports ------------------------------------------------------------------------------------------


class ErrorReport(msgspec.Struct, frozen=True, kw_only=True):
    """A client-side error, the only telemetry allowed at consent level 1.

    ``message`` and ``stack`` are free text from the client; the service scrubs them before storing.
    """

    error_type: Annotated[
        Annotated[str, Meta(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:$-]+$")],
        Meta(description="The error's class or code (`TypeError`, `MediaError:3`)."),
    ]
    message: Annotated[
        Annotated[str, Meta(min_length=1, max_length=2000)],
        Meta(
            description=(
                "The error message; scrubbed of e-mails, tokens, IP addresses, query strings and "
                "long digit runs before storing."
            )
        ),
    ]
    timestamp: Annotated[
        Timestamp,
        Meta(
            description=(
                "When the error happened on the device, with a UTC offset; from 2000-01-01 to before 2100-01-01."
            )
        ),
    ]
    app_version: Annotated[
        Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z.+_-]+$")],
        Meta(description="Version of the app that failed (`2.4.1`)."),
    ]
    platform: Annotated[
        Platform,
        Meta(description="Where the app runs: `web`, `ios`, `android`, `desktop` or `other`."),
    ]
    stack: Annotated[
        Annotated[str, Meta(max_length=20_000)] | None,
        Meta(description="The stack trace, scrubbed like `message`; null when there is none."),
    ] = None

    def __post_init__(self) -> None:
        check_timestamp(self.timestamp)


# The request body as documented (the spec has no sample of an error report).
ErrorReportBody = Annotated[
    ErrorReport,
    Meta(
        examples=[
            {
                "error_type": "MediaError:3",
                "message": "The video could not be decoded.",
                "timestamp": "2026-02-16T09:05:12Z",
                "app_version": "2.4.1",
                "platform": "web",
                "stack": "at VideoPlayer.onError (player.js:120:15)",
            }
        ]
    ),
]


error_report_decoder: BodyDecoder[ErrorReport] = BodyDecoder(ErrorReport)
