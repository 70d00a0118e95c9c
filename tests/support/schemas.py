"""Validate rendered Kubernetes objects against their real schemas.

Core kinds: kubernetes-validate (strict, the Kubernetes version offline/render.py renders for). Custom resources:
the upstream CRDs pinned in assets.lock.json (fetched into the asset cache), made strict the way the API server's
strict field validation behaves: an object schema that lists `properties` and
neither `additionalProperties` nor `x-kubernetes-preserve-unknown-fields` is
closed, so a misspelt field fails instead of being pruned in the cluster.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from offline.render import KUBE_VERSION
from tests.support.assets import names, require


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads a bare `=` (yaml `value` tag) as a plain string."""


_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))  # type: ignore[arg-type]


def _close(schema: Any) -> Any:
    if isinstance(schema, dict):
        out = {k: _close(v) for k, v in schema.items()}
        if (
            "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_close(v) for v in schema]
    return schema


@cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> strict JSON schema, for every served version."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for path in map(require, names("crd/")):
        for doc in yaml.load_all(path.read_text(), Loader=_Loader):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            group = doc["spec"]["group"]
            kind = doc["spec"]["names"]["kind"]
            for version in doc["spec"]["versions"]:
                if not version.get("served", False):
                    continue
                schema = copy.deepcopy(version["schema"]["openAPIV3Schema"])
                out[(f"{group}/{version['name']}", kind)] = _close(schema)
    return out


def validation_errors(obj: dict[str, Any]) -> list[str]:
    """Every schema violation of one Kubernetes object (empty when valid)."""
    key = (obj.get("apiVersion", ""), obj.get("kind", ""))
    schemas = crd_schemas()
    meta = obj.get("metadata") or {}
    errors = []
    if not isinstance(meta.get("name"), str) or not meta["name"]:
        errors.append("metadata.name missing")
    if key in schemas:
        validator = jsonschema.Draft7Validator(schemas[key])
        errors += [
            f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(obj)
        ]
        return errors
    try:
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        errors.append(f"{'.'.join(map(str, exc.path))}: {exc.message}")
    except kubernetes_validate.SchemaNotFoundError as exc:
        errors.append(f"no schema: {exc}")
    return errors
