"""Builder output checked like a deployment, without a program run: a chart rendered from the
values a builder computed (offline/render.py), gathered with the builder's own objects into the
`Deployed` view of tests/support/rendered.py, so its checks (references, selection, restricted)
apply to one component's builders alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from components.kit import HelmChart, helm_release_args
from offline.render import KUBE_VERSION, Release, RenderedObject, render_release
from tests.support.assets import require
from tests.support.rendered import Deployed, Obj, chart_objects, gathered
from tests.support.schemas import _close as strict


def render(release: str, namespace: str, chart: HelmChart, values: dict[str, Any]) -> list[RenderedObject]:
    """`chart` rendered with `values` as release `release` in `namespace`: the locked tree the
    release's arguments name (`helm_release_args`)."""
    args = helm_release_args(release, namespace, chart, values)
    return render_release(Release(release, namespace, args["chart"], args["version"], values, args["description"]))


def deployed(program: Iterable[dict[str, Any]], rendered: Iterable[RenderedObject] = ()) -> Deployed:
    """The builders' objects (origin `program`) and one release's rendered objects, with their pods."""
    return gathered([*(Obj(body, "program") for body in program), *chart_objects(rendered)])


def one(objects: Iterable[RenderedObject], kind: str) -> dict[str, Any]:
    """The body of the one rendered object of `kind` (fails the test otherwise)."""
    found = [o.body for o in objects if o.body["kind"] == kind]
    assert len(found) == 1, f"{len(found)} rendered {kind} objects"
    return found[0]


class _Loader(yaml.CSafeLoader):
    """The C loader (a CRD file is large) reading a bare `=` (yaml `value` tag) as a plain string."""


_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))  # type: ignore[arg-type]


@cache
def _crd_schemas(asset: str) -> dict[tuple[str, str], dict[str, Any]]:
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for doc in yaml.load_all(require(asset).read_text(), Loader=_Loader):
        if doc and doc.get("kind") == "CustomResourceDefinition":
            group, kind = doc["spec"]["group"], doc["spec"]["names"]["kind"]
            for version in doc["spec"]["versions"]:
                if version.get("served", False):
                    out[(f"{group}/{version['name']}", kind)] = strict(version["schema"]["openAPIV3Schema"])
    return out


def crd_errors(obj: dict[str, Any], asset: str) -> list[str]:
    """Every violation of one custom resource against the one pinned CRD asset that defines it
    (the same strict rule as tests/support/schemas.py, without loading every CRD)."""
    schema = _crd_schemas(asset).get((obj.get("apiVersion", ""), obj.get("kind", "")))
    if schema is None:
        return [f"{asset} does not serve {obj.get('apiVersion')} {obj.get('kind')}"]
    validator = jsonschema.Draft7Validator(schema)
    return [f"{'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}" for e in validator.iter_errors(obj)]


def core_errors(obj: dict[str, Any]) -> list[str]:
    """Every violation of one built-in Kubernetes object (kubernetes-validate, strict, the rendered
    Kubernetes version), without loading the CRDs tests/support/schemas.py loads first."""
    try:
        kubernetes_validate.validate(obj, KUBE_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{'.'.join(map(str, exc.path))}: {exc.message}"]
    return []
