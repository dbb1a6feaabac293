"""The columns of ``error_reports`` built from a decoded error report."""

from __future__ import annotations

from contracts.error_reports import ErrorReport

from telemetry.error_reports.scrub import scrub
from telemetry.ingest.batch import Batch, Columns, IngestTable, utc


def error_report_columns(report: ErrorReport, batch: Batch) -> Columns:
    """``error_reports`` columns for one report, its free text scrubbed of personal data."""
    return {
        **batch.common_with_country(1),
        "error_type": [report.error_type],
        "message": [scrub(report.message)],
        "stack": [scrub(report.stack or "")],
        "app_version": [report.app_version],
        "platform": [report.platform],
        "event_time": [utc(report.timestamp)],
    }


ERROR_REPORTS = IngestTable("error_reports", error_report_columns)
"""The table of client error reports."""
