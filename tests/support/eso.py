"""Which namespaces a ClusterSecretStore serves, by ESO's rule for `spec.conditions`.

No condition: every namespace. Otherwise a namespace is admitted when one condition
names it (`namespaces`), matches one of its regexes (`namespaceRegexes`, Go
`MatchString`: unanchored) or selects its labels (`namespaceSelector`; every
namespace carries `kubernetes.io/metadata.name`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


def _selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    if not selector.get("matchLabels") and not selector.get("matchExpressions"):
        return False
    if any(labels.get(k) != v for k, v in (selector.get("matchLabels") or {}).items()):
        return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr["key"], expr["operator"], expr.get("values") or []
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[op]
        if not ok:
            return False
    return True


def store_admits(store: Mapping[str, Any], namespace: str, labels: Mapping[str, str] | None = None) -> bool:
    conditions = (store.get("spec") or {}).get("conditions") or []
    if not conditions:
        return True
    ns_labels = {"kubernetes.io/metadata.name": namespace, **(labels or {})}
    for cond in conditions:
        if namespace in (cond.get("namespaces") or []):
            return True
        if any(re.search(rx, namespace) for rx in cond.get("namespaceRegexes") or []):
            return True
        if cond.get("namespaceSelector") and _selects(cond["namespaceSelector"], ns_labels):
            return True
    return False
