"""``make deploy-check``: render every kustomize overlay and validate every object offline.

Each directory under ``deploy/k8s/overlays`` is rendered with ``kubectl kustomize`` (kustomize is built
into kubectl; set KUBECTL to use another binary). Built-in kinds are validated with kubernetes-validate
against the schemas of Kubernetes KUBERNETES_VERSION in strict mode (unknown fields are errors). Custom
resources (CloudNativePG, Altinity ClickHouse, External Secrets) are validated against the schemas
vendored under ``deploy/k8s/crd-schemas`` (see its README), and the Kubernetes types they embed (pod and
volume claim templates, resource requirements) against the Kubernetes schemas. A kind with no schema is
an error, not a skip. Exit status 1 with every problem listed, 0 when all overlays are valid.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

# Neither ships type information; their calls stay in this module.
import jsonschema  # type: ignore[import-untyped]
import kubernetes_validate  # type: ignore[import-untyped]
import yaml

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
OVERLAYS = K8S / "overlays"
CRD_SCHEMAS = K8S / "crd-schemas"
# The cluster version the manifests target (and kubectl's client version on the machine image).
KUBERNETES_VERSION = "1.32.0"


class DeployCheckError(RuntimeError):
    """The manifests cannot be rendered (kubectl missing, kustomize error)."""


def kubectl() -> str:
    """The kubectl binary: KUBECTL, else the one on PATH; a clear error when there is none."""
    binary = shutil.which(os.environ.get("KUBECTL") or "kubectl")
    if not binary:
        raise DeployCheckError(
            "kubectl not found: `make deploy-check` renders the overlays with `kubectl kustomize`. Install "
            f"kubectl {KUBERNETES_VERSION.rsplit('.', 1)[0]} (kustomize is built in) or set KUBECTL to its path."
        )
    return binary


def overlays() -> list[Path]:
    """Every overlay directory, sorted by name."""
    return sorted(path for path in OVERLAYS.iterdir() if (path / "kustomization.yaml").is_file())


@cache
def render(overlay: Path) -> list[dict[str, Any]]:
    """The objects ``kubectl kustomize overlay`` renders, in order."""
    result = subprocess.run(
        [kubectl(), "kustomize", str(overlay)], capture_output=True, text=True, check=False, timeout=120
    )
    if result.returncode != 0:
        raise DeployCheckError(f"kubectl kustomize {overlay.relative_to(ROOT)} failed:\n{result.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def _schema_file(api_version: str, kind: str) -> Path:
    return CRD_SCHEMAS / f"{api_version.replace('/', '_')}_{kind}.yaml"


@cache
def _crd_validator(api_version: str, kind: str) -> Any:
    path = _schema_file(api_version, kind)
    if not path.is_file():
        return None
    schema = yaml.safe_load(path.read_text())
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    validator_class.check_schema(schema)
    return validator_class(schema)


def _kubernetes_errors(obj: dict[str, Any], where: str) -> list[str]:
    try:
        kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        path = ".".join(str(part) for part in exc.path)
        return [f"{where}: {path}: {exc.message}"]
    return []


def _embedded(doc: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The Kubernetes objects a custom resource embeds, wrapped so the Kubernetes schemas apply."""
    spec = doc.get("spec", {})
    templates = spec.get("templates", {}) if doc["apiVersion"].startswith("clickhouse") else {}
    for template in templates.get("podTemplates", []):
        yield (
            f"podTemplates[{template['name']}].spec",
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": template["name"]}, "spec": template["spec"]},
        )
    for template in templates.get("volumeClaimTemplates", []):
        yield (
            f"volumeClaimTemplates[{template['name']}].spec",
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": template["name"]},
                "spec": template["spec"],
            },
        )
    if doc["apiVersion"].startswith("postgresql.cnpg.io/") and "resources" in spec:
        container = {"name": "postgres", "image": "postgres", "resources": spec["resources"]}
        yield (
            "resources",
            {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "x"}, "spec": {"containers": [container]}},
        )


def validate(doc: dict[str, Any]) -> tuple[list[str], bool]:
    """The problems with one rendered object, and whether it is a custom resource."""
    api_version, kind = doc.get("apiVersion", ""), doc.get("kind", "")
    name = doc.get("metadata", {}).get("name", "?")
    where = f"{kind}/{name}"
    crd = _crd_validator(api_version, kind)
    if crd is None:
        try:
            return _kubernetes_errors(doc, where), False
        except kubernetes_validate.SchemaNotFoundError:
            return [f"{where}: no schema for {api_version} {kind} (add one under deploy/k8s/crd-schemas)"], True
    errors = [
        f"{where}: {'.'.join(str(part) for part in error.absolute_path)}: {error.message}"
        for error in crd.iter_errors(doc)
    ]
    for location, embedded in _embedded(doc):
        errors += _kubernetes_errors(embedded, f"{where} {location}")
    return errors, True


def check(overlay: Path) -> tuple[list[str], int, int]:
    """Problems of every object ``overlay`` renders, the number of objects and of custom resources."""
    problems: list[str] = []
    custom = 0
    docs = render(overlay)
    for doc in docs:
        errors, is_custom = validate(doc)
        custom += is_custom
        problems += errors
        if doc.get("kind") != "Namespace" and not doc.get("metadata", {}).get("namespace"):
            problems.append(f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}: no namespace")
    return problems, len(docs), custom


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("overlay", nargs="*", type=Path, help="overlay directories (default: all)")
    args = parser.parse_args(argv)
    failed = False
    try:
        for overlay in [path.resolve() for path in args.overlay] or overlays():
            problems, objects, custom = check(overlay)
            label = overlay.relative_to(ROOT)
            if problems:
                failed = True
                print(f"{label}: {len(problems)} problem(s) in {objects} objects", file=sys.stderr)
                for problem in problems:
                    print(f"  {problem}", file=sys.stderr)
            else:
                print(
                    f"{label}: {objects} objects valid (Kubernetes {KUBERNETES_VERSION} strict; "
                    f"{custom} custom resources against deploy/k8s/crd-schemas)"
                )
    except DeployCheckError as exc:
        print(f"deploy-check: {exc}", file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
