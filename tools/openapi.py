"""``make openapi``: write each service's OpenAPI document, as Litestar generates it, under contracts/openapi.

``--check`` writes nothing and exits 1 when a checked-in document differs from what the code generates.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OPENAPI_DIR = ROOT / "contracts" / "openapi"


def generated_documents() -> dict[str, str]:
    """Service name → its OpenAPI document as stable, indented JSON text."""
    from core_api.app import create_app as create_core_api
    from telemetry.app import create_app as create_telemetry

    documents: dict[str, dict[str, Any]] = {
        "core-api": create_core_api().openapi_schema.to_schema(),
        "telemetry": create_telemetry().openapi_schema.to_schema(),
    }
    return {name: json.dumps(doc, indent=2, sort_keys=True) + "\n" for name, doc in documents.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when a checked-in document is stale")
    args = parser.parse_args()
    stale = []
    for name, text in generated_documents().items():
        path = OPENAPI_DIR / f"{name}.json"
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path.relative_to(ROOT)))
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        raise SystemExit(f"stale OpenAPI documents (run `make openapi`): {', '.join(stale)}")


if __name__ == "__main__":
    main()
