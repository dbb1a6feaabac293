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

from tools import deploy_policy, deploy_rules

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


@cache
def _crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """The ``openAPIV3Schema`` of every served version of the vendored upstream CRDs, by (apiVersion, kind)."""
    schemas: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(CRD_SCHEMAS.glob("*/*.yaml")):
        for crd in yaml.safe_load_all(path.read_text()):
            if not crd or crd.get("kind") != "CustomResourceDefinition":
                continue
            spec = crd["spec"]
            for version in spec["versions"]:
                if version.get("served"):
                    key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
                    schemas[key] = version["schema"]["openAPIV3Schema"]
    return schemas


def _strict(schema: Any) -> Any:
    """``schema`` as the API server applies it with strict field validation: an object with listed
    properties and no ``x-kubernetes-preserve-unknown-fields`` refuses other fields, ``nullable`` admits null."""
    if not isinstance(schema, dict):
        return schema
    strict = dict(schema)
    if "properties" in schema:
        strict["properties"] = {name: _strict(sub) for name, sub in schema["properties"].items()}
        if "additionalProperties" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
            strict["additionalProperties"] = False
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            strict[key] = _strict(schema[key])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            strict[key] = [_strict(sub) for sub in schema[key]]
    if schema.get("nullable") and "type" in schema:
        strict["type"] = [schema["type"], "null"]
    return strict


@cache
def _crd_validator(api_version: str, kind: str) -> Any:
    schema = _crd_schemas().get((api_version, kind))
    if schema is None:
        return None
    # OpenAPI v3 schemas are JSON Schema draft 4 (boolean exclusiveMinimum) plus Kubernetes extensions.
    # Not checked against the draft's metaschema: some upstream patterns are RE2 that Python's re refuses
    # (a `(?i)` after `^`), on fields the manifests do not set.
    strict = _strict(schema)
    # metadata is the API server's to check (ObjectMeta), not the CRD's.
    strict["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft4Validator(strict)


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
    """Problems of every object ``overlay`` renders and of the deployment they describe
    (tools/deploy_rules.py), the number of objects and of custom resources."""
    problems: list[str] = []
    custom = 0
    docs = render(overlay)
    problems += deploy_rules.problems(docs, overlay.name)
    for doc in docs:
        errors, is_custom = validate(doc)
        custom += is_custom
        problems += errors
        if doc.get("kind") != "Namespace" and not doc.get("metadata", {}).get("namespace"):
            problems.append(f"{doc.get('kind')}/{doc.get('metadata', {}).get('name')}: no namespace")
    return problems, len(docs), custom


def _report(label: str, problems: list[str], success: str) -> bool:
    """Print ``problems`` (stderr) or ``success``; whether there were problems."""
    if problems:
        print(f"{label}: {len(problems)} problem(s)", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return True
    print(f"{label}: {success}")
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("overlay", nargs="*", type=Path, help="overlay directories (default: all)")
    parser.add_argument(
        "--release",
        action="store_true",
        help=f"also refuse images still on the placeholder digest {deploy_rules.IMAGE_PLACEHOLDER_DIGEST}",
    )
    args = parser.parse_args(argv)
    failed = False
    try:
        chosen = [path.resolve() for path in args.overlay] or overlays()
        for overlay in chosen:
            problems, objects, custom = check(overlay)
            if args.release:
                problems += [
                    f"placeholder digest: {image}" for image in deploy_rules.unreleased_images(render(overlay))
                ]
            failed |= _report(
                str(overlay.relative_to(ROOT)),
                problems,
                f"{objects} objects valid (Kubernetes {KUBERNETES_VERSION} strict; {custom} custom resources "
                f"against the upstream CRDs in deploy/k8s/crd-schemas; {len(deploy_rules.RULES)} deployment rules)",
            )
        failed |= _report(
            "checkov",
            deploy_policy.problems({overlay.name: render(overlay) for overlay in chosen}),
            "every failed check is in deploy/checkov/accepted.yaml",
        )
    except (DeployCheckError, deploy_policy.PolicyCheckError) as exc:
        print(f"deploy-check: {exc}", file=sys.stderr)
        return 1
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
