"""checkov, the policy checker, over the rendered overlays (part of ``make deploy-check``).

checkov runs from its own environment, ``.tools/checkov`` (``deploy/checkov/pyproject.toml`` and its
``uv.lock``; the Makefile installs it), offline (``--skip-download``: no guidelines fetched from its
vendor). Every failed check must be listed in ``deploy/checkov/accepted.yaml`` with why; a finding not
listed is a problem, and so is a listed one checkov no longer reports.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
ACCEPTED = ROOT / "deploy" / "checkov" / "accepted.yaml"
CHECKOV = ROOT / ".tools" / "checkov" / "bin" / "checkov"


class PolicyCheckError(RuntimeError):
    """checkov is missing or did not produce a report."""


def checkov() -> str:
    """The checkov binary: CHECKOV, else the project's own environment's."""
    binary = Path(os.environ.get("CHECKOV") or CHECKOV)
    if not binary.is_file():
        raise PolicyCheckError(f"checkov not found at {binary}: `make install` installs it (deploy/checkov).")
    return str(binary)


def findings(rendered: dict[str, list[dict[str, Any]]]) -> set[tuple[str, str]]:
    """(check id, resource id) of every check checkov fails on the rendered overlays, one run for all."""
    with tempfile.TemporaryDirectory(prefix="deploy-policy-") as folder:
        files: list[str] = []
        for overlay, docs in rendered.items():
            path = Path(folder) / f"{overlay}.yaml"
            path.write_text(yaml.safe_dump_all(docs, sort_keys=False))
            files += ["-f", str(path)]
        result = subprocess.run(
            [checkov(), *files, "--framework", "kubernetes", "--compact", "--quiet", "--skip-download", "-o", "json"],
            capture_output=True,
            text=True,
            check=False,
            timeout=300,
            env=os.environ | {"BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"},
        )
    # Exit status 1 means "some check failed"; only a missing report is an error.
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        raise PolicyCheckError(f"checkov gave no report (exit {result.returncode}):\n{result.stderr[-2000:]}") from exc
    reports = report if isinstance(report, list) else [report]
    return {
        (check["check_id"], check["resource"])
        for one in reports
        if isinstance(one, dict) and "results" in one
        for check in one["results"]["failed_checks"]
    }


def accepted(namespaces: list[str]) -> dict[tuple[str, str], str]:
    """The accepted (check id, resource id) pairs with why, ``{namespace}`` expanded per overlay."""
    pairs: dict[tuple[str, str], str] = {}
    for entry in yaml.safe_load(ACCEPTED.read_text()):
        for resource in entry["resources"]:
            for namespace in namespaces if "{namespace}" in resource else [None]:
                pairs[(entry["check"], resource.format(namespace=namespace))] = entry["why"]
    return pairs


def problems(rendered: dict[str, list[dict[str, Any]]]) -> list[str]:
    """Findings not accepted, and accepted findings of these overlays that checkov no longer reports."""
    namespaces = [doc["metadata"]["name"] for docs in rendered.values() for doc in docs if doc["kind"] == "Namespace"]
    found, allowed = findings(rendered), accepted(namespaces)
    stale = {pair for pair in set(allowed) - found if pair[1].split(".")[1] in namespaces}
    return [
        f"checkov {check} fails on {resource} (not in deploy/checkov/accepted.yaml)"
        for check, resource in sorted(found - set(allowed))
    ] + [
        f"deploy/checkov/accepted.yaml: {check} on {resource} no longer fails; remove it"
        for check, resource in sorted(stale)
    ]
