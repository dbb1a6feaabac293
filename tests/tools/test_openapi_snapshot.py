"""The checked-in OpenAPI documents are exactly what the code generates (regenerate: `make openapi`)."""

from __future__ import annotations

import pytest

from tools.openapi import OPENAPI_DIR, generated_documents


@pytest.mark.parametrize(("service", "generated"), sorted(generated_documents().items()))
def test_checked_in_openapi_matches_the_code(service: str, generated: str) -> None:
    checked_in = (OPENAPI_DIR / f"{service}.json").read_text()
    assert checked_in == generated, f"contracts/openapi/{service}.json is stale: run `make openapi`"
