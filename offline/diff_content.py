"""What `python -m tools.diff` says about the files of a preview: alerts, dashboards, rendered chart
objects, the footprint and the stack outputs, and unified diffs of any text file."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Iterator
from typing import Any

import yaml

from offline.diff_resources import changed_paths, short


def unified(name: str, old: str | None, new: str | None) -> list[str]:
    return list(
        difflib.unified_diff(
            (old or "").splitlines(),
            (new or "").splitlines(),
            fromfile=f"a/{name}" if old is not None else "/dev/null",
            tofile=f"b/{name}" if new is not None else "/dev/null",
            lineterm="",
            n=3,
        )
    )


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings as `|` blocks, so a changed line of an embedded file diffs as one line."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_BlockDumper.add_representer(str, _str)


def readable(name: str, text: str | None) -> str | None:
    """A YAML file re-dumped with block strings (comment lines kept on top); anything else as is."""
    if text is None or not name.endswith(".yaml"):
        return text
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError:
        return text
    comments = [line for line in text.splitlines() if line.startswith("#")][:1]
    body = yaml.dump_all(docs, Dumper=_BlockDumper, sort_keys=False, default_flow_style=False, width=120)
    return "\n".join([*comments, body])


def diff_files(base: dict[str, str], head: dict[str, str]) -> list[tuple[str, list[str]]]:
    return [
        (name, unified(name, readable(name, base.get(name)), readable(name, head.get(name))))
        for name in sorted(set(base) | set(head))
        if base.get(name) != head.get(name)
    ]


# --- alerts ---------------------------------------------------------------------------

_THRESHOLD = re.compile(r"(?:[<>]=?|==|!=)\s*(?:bool\s+)?(-?\d+(?:\.\d+)?(?:e-?\d+)?)")


def _rules(text: str) -> dict[str, dict[str, Any]]:
    doc = yaml.safe_load(text) or {}
    out = {}
    for group in doc.get("groups") or []:
        for rule in group.get("rules") or []:
            name = rule.get("alert") or rule.get("record")
            kind = "alert" if rule.get("alert") else "record"
            out[f"{kind} {name} (group {group.get('name')})"] = rule
    return out


def diff_alerts(base: dict[str, str], head: dict[str, str]) -> list[str]:
    old: dict[str, dict[str, Any]] = {}
    new: dict[str, dict[str, Any]] = {}
    for text in base.values():
        old.update(_rules(text))
    for text in head.values():
        new.update(_rules(text))
    out = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a is None and b is not None:
            extra = f", for {b['for']}" if b.get("for") else ""
            severity = (b.get("labels") or {}).get("severity")
            out.append(f"added {key}: `{b.get('expr')}`{extra}" + (f", severity {severity}" if severity else ""))
        elif b is None:
            out.append(f"removed {key}")
        elif a is not None and a != b:
            out += [f"changed {key}: {part}" for part in _rule_changes(a, b)]
    return out


def _rule_changes(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    parts = []
    ea, eb = str(a.get("expr", "")), str(b.get("expr", ""))
    if ea != eb:
        ta, tb = _THRESHOLD.findall(ea), _THRESHOLD.findall(eb)
        if ta != tb and _THRESHOLD.sub("", ea) == _THRESHOLD.sub("", eb):
            parts.append(f"threshold {', '.join(ta)} → {', '.join(tb)}")
        else:
            parts.append(f"expr `{ea}` → `{eb}`")
    if a.get("for") != b.get("for"):
        parts.append(f"for {a.get('for') or '(none)'} → {b.get('for') or '(none)'}")
    for key in ("labels", "annotations"):
        for path in changed_paths(a.get(key) or {}, b.get(key) or {}):
            va, vb = (a.get(key) or {}).get(path), (b.get(key) or {}).get(path)
            parts.append(f"{key[:-1]} {path}: {json.dumps(va)} → {json.dumps(vb)}")
    return parts


# --- dashboards -------------------------------------------------------------------------


def _panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard.get("panels") or []:
        yield panel
        yield from panel.get("panels") or []


def _queries(panel: dict[str, Any]) -> dict[str, str]:
    out = {}
    for i, target in enumerate(panel.get("targets") or []):
        ref = str(target.get("refId") or i)
        query = target.get("expr") or target.get("rawSql") or target.get("query") or ""
        out[ref] = str(query)
    return out


def _panel_key(panel: dict[str, Any]) -> str:
    return f"{panel.get('title') or '(untitled)'}" + (f" [{panel['id']}]" if "id" in panel else "")


def diff_dashboards(base: dict[str, str], head: dict[str, str]) -> list[str]:
    out = []
    for name in sorted(set(base) | set(head)):
        if base.get(name) == head.get(name):
            continue
        if name not in base:
            out.append(f"added dashboard `{name}`")
            continue
        if name not in head:
            out.append(f"removed dashboard `{name}`")
            continue
        old, new = json.loads(base[name]), json.loads(head[name])
        title = new.get("title") or name
        before = len(out)
        pa = {_panel_title(p): p for p in _panels(old)}
        pb = {_panel_title(p): p for p in _panels(new)}
        for key in sorted(set(pa) | set(pb)):
            if key not in pa:
                out.append(f"{title}: panel added “{_panel_key(pb[key])}”")
            elif key not in pb:
                out.append(f"{title}: panel removed “{_panel_key(pa[key])}”")
            else:
                qa, qb = _queries(pa[key]), _queries(pb[key])
                for ref in sorted(set(qa) | set(qb)):
                    if qa.get(ref) != qb.get(ref):
                        out.append(
                            f"{title}: panel “{key}” query {ref}: `{qa.get(ref, '(none)')}` → `{qb.get(ref, '(none)')}`"
                        )
                rest = changed_paths(
                    {k: v for k, v in pa[key].items() if k not in ("targets", "panels")},
                    {k: v for k, v in pb[key].items() if k not in ("targets", "panels")},
                )
                if rest:
                    out.append(f"{title}: panel “{key}” changed {short(rest, 4)}")
        rest = changed_paths(
            {k: v for k, v in old.items() if k != "panels"}, {k: v for k, v in new.items() if k != "panels"}
        )
        if rest:
            out.append(f"{title}: settings changed {short(rest, 4)}")
        if len(out) == before:
            out.append(f"{title}: panel order changed")
    return out


def _panel_title(panel: dict[str, Any]) -> str:
    return str(panel.get("title") or f"panel {panel.get('id')}")


# --- footprint and outputs -------------------------------------------------------------


def diff_footprint(base: dict[str, Any], head: dict[str, Any]) -> list[str]:
    old, new = base.get("footprint") or {}, head.get("footprint") or {}
    out = []
    for part in ("requests", "limits", "capacity"):
        for resource in ("cpu", "memory"):
            a, b = (old.get(part) or {}).get(resource), (new.get(part) or {}).get(resource)
            if a != b:
                out.append(f"total {part} {resource}: {a} → {b}")
    wa = {w["component"]: w for w in old.get("workloads") or []}
    wb = {w["component"]: w for w in new.get("workloads") or []}
    for component in sorted(set(wa) | set(wb)):
        a, b = wa.get(component), wb.get(component)
        if a == b:
            continue
        if a is None or b is None:
            out.append(f"{component}: {'added' if a is None else 'removed'}")
            continue
        fields = [
            f"{p} {json.dumps(_get(a, p))} → {json.dumps(_get(b, p))}" for p in changed_paths(a, b) if p != "component"
        ]
        out.append(f"{component}: {', '.join(fields)}")
    return out


def _get(data: Any, path: str) -> Any:
    for part in path.split("."):
        data = data.get(part) if isinstance(data, dict) else None
    return data


TABLED_OUTPUTS = ("footprint", "tenants")
"""Outputs the preview prints, and the diff compares, as tables of their own, not as JSON values."""


def diff_outputs(base: dict[str, Any], head: dict[str, Any]) -> list[str]:
    a = {k: v for k, v in base.items() if k not in TABLED_OUTPUTS}
    b = {k: v for k, v in head.items() if k not in TABLED_OUTPUTS}
    return [f"`{p}`: {json.dumps(_get(a, p))} → {json.dumps(_get(b, p))}" for p in changed_paths(a, b)]


def _object_id(name: str, text: str) -> str:
    doc = yaml.safe_load(text) or {}
    release = name.split("/", 1)[0]
    return f"{release}: {doc.get('kind')}/{(doc.get('metadata') or {}).get('name')}"


def diff_rendered_objects(base: dict[str, str], head: dict[str, str]) -> list[str]:
    """One line per rendered chart object added, removed or changed."""
    out = []
    for name in sorted(set(base) | set(head)):
        if name not in base:
            out.append(f"added {_object_id(name, head[name])}")
        elif name not in head:
            out.append(f"removed {_object_id(name, base[name])}")
        elif base[name] != head[name]:
            old, new = yaml.safe_load(base[name]), yaml.safe_load(head[name])
            out.append(f"changed {_object_id(name, head[name])}: {short(changed_paths(old, new), 4)}")
    return out
