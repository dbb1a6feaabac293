"""``POST /v1/errors/report``: one client-side error, scrubbed of personal data and stored in
``error_reports`` (the route as :mod:`telemetry.ingest.route` builds it)."""

from __future__ import annotations

from contracts.error_reports import ErrorReport, error_report_decoder

from telemetry.error_reports.columns import ERROR_REPORTS
from telemetry.identity import ERRORS_ONLY
from telemetry.ingest.route import IngestRoute, ingest_handler, json_body, whole

report_client_error = ingest_handler(
    IngestRoute(
        path="/v1/errors/report",
        operation_id="ReportClientError",
        description="Store a client-side error report, scrubbed of personal data (consent level 1+).",
        body=json_body(ErrorReport, "One client-side error.", whole(error_report_decoder.decode)),
        table=ERROR_REPORTS,
        consent=ERRORS_ONLY,
    )
)
