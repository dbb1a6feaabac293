"""The app on its default settings, built once for the tests that read its route table, handlers or OpenAPI
document without serving a request (building one costs about half a second)."""

from __future__ import annotations

from core_api.app import create_app

APP = create_app()
