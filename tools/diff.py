"""Diff two offline previews, per stack, as a Markdown report a reviewer can read.

    python -m tools.diff BASE HEAD [--out DIR] [--stack STACK ...] [--max-lines N]

BASE and HEAD are each a preview folder (`python -m tools.preview STACK --out DIR/STACK`,
one sub-folder per stack; or a single stack's folder) or a git ref: then the preview runs
in a temporary worktree of that ref (with --out for every stack) and the worktree is removed.

Writes DIR/<stack>.md (the full report per stack) and DIR/comment.md (every stack,
long diffs cut to --max-lines, for a pull-request comment), and prints the comment.
The report reads only the preview output, where secrets are already `[secret]`.

What it says, in Pulumi's terms: resources to create / delete / replace / update
(type, name, changed inputs, and which of them force a replacement as far as the
provider rules below know), changes of resource options (protect, retain_on_delete,
aliases, dependencies), unified diffs of manifests, Helm values and rendered chart
objects, dashboards (panels added, removed, queries changed), alerts (rules added,
removed, expression / threshold / `for` changed), the footprint and stack outputs.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tools.plan import ALL, KUBERNETES_IDENTITY, REPLACE_ON

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MAX_LINES = 60
COMMENT_LIMIT = 60_000  # GitHub refuses comments over 65,536 characters
MARKER = "<!-- llm-gateway offline preview diff -->"

# Inputs whose change makes the provider replace the resource (delete + create), by type:
# tools/plan.py's table (cloud and random resources, Helm releases) plus the Kubernetes
# fields the API server treats as immutable. A change at or under a path forces replacement.
K8S_IMMUTABLE: dict[str, tuple[str, ...]] = {
    "kubernetes:batch/v1:Job": ("spec.selector", "spec.template", "spec.completions"),
    "kubernetes:apps/v1:Deployment": ("spec.selector",),
    "kubernetes:apps/v1:DaemonSet": ("spec.selector",),
    "kubernetes:apps/v1:StatefulSet": (
        "spec.selector",
        "spec.serviceName",
        "spec.volumeClaimTemplates",
        "spec.podManagementPolicy",
    ),
    "kubernetes:core/v1:Service": ("spec.clusterIP",),
    "kubernetes:core/v1:Secret": ("type",),
    "kubernetes:core/v1:PersistentVolumeClaim": ("spec.accessModes", "spec.storageClassName", "spec.volumeName"),
    "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding": ("roleRef",),
    "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding": ("roleRef",),
}
_K8S_ALWAYS = (*KUBERNETES_IDENTITY, "apiVersion", "kind")


def replace_rules(type_: str) -> tuple[str, ...]:
    rules = [("" if p == ALL else p) for p in REPLACE_ON.get(type_, ())]
    rules += K8S_IMMUTABLE.get(type_, ())
    if type_.startswith("kubernetes:") and not type_.startswith("kubernetes:helm.sh/"):
        rules += _K8S_ALWAYS
    return tuple(rules)


# --- reading a preview folder ----------------------------------------------------


@dataclass
class Preview:
    root: Path
    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def read(cls, root: Path) -> Preview:
        preview = cls(root)
        resources_file = root / "resources.json"
        if resources_file.exists():
            for r in json.loads(resources_file.read_text()):
                preview.resources[(r["type"], r["name"])] = r
        outputs_file = root / "outputs.json"
        if outputs_file.exists():
            preview.outputs = json.loads(outputs_file.read_text())
        return preview

    def files(self, sub: str, pattern: str = "*") -> dict[str, str]:
        folder = self.root / sub
        if not folder.is_dir():
            return {}
        return {p.relative_to(folder).as_posix(): p.read_text() for p in sorted(folder.rglob(pattern)) if p.is_file()}


def stack_folders(root: Path) -> dict[str, Path]:
    """Stack name -> preview folder: `root` itself (a single stack) or its sub-folders."""
    if (root / "resources.json").exists():
        return {root.name: root}
    return {p.name: p for p in sorted(root.iterdir()) if (p / "resources.json").exists()} if root.is_dir() else {}


# --- value diffs ---------------------------------------------------------------------


def changed_paths(old: Any, new: Any, path: str = "") -> list[str]:
    """Dotted paths of every leaf that differs (lists compared by index)."""
    if isinstance(old, dict) and isinstance(new, dict):
        out: list[str] = []
        for key in sorted(set(old) | set(new), key=str):
            here = f"{path}.{key}" if path else str(key)
            if key not in old or key not in new:
                out.append(here)
            else:
                out += changed_paths(old[key], new[key], here)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new, strict=True)):
            out += changed_paths(a, b, f"{path}[{i}]")
        return out
    return [] if old == new else [path or "<root>"]


def _under(path: str, prefix: str) -> bool:
    if prefix == "":
        return True
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def replacement_causes(type_: str, paths: Sequence[str], options: dict[str, Any]) -> list[str]:
    rules = [*replace_rules(type_), *(p.removeprefix("*") for p in options.get("replace_on_changes") or [])]
    return [p for p in paths if any(_under(p, rule) for rule in rules)]


# --- the report --------------------------------------------------------------------


@dataclass
class ResourceChange:
    op: str  # create, delete, replace, update
    type: str
    name: str
    detail: str = ""


@dataclass
class StackDiff:
    stack: str
    resources: list[ResourceChange] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    dashboards: list[str] = field(default_factory=list)
    footprint: list[str] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    file_diffs: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)
    """Section -> (file, unified diff lines)."""

    @property
    def counts(self) -> dict[str, int]:
        out = {op: 0 for op in ("create", "update", "replace", "delete")}
        for change in self.resources:
            out[change.op] += 1
        return out

    @property
    def empty(self) -> bool:
        return not (self.resources or self.options or any(self.file_diffs.values()) or self.outputs or self.rendered)


def _short(paths: Sequence[str], limit: int = 6) -> str:
    shown = ", ".join(f"`{p}`" for p in paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def diff_resources(base: Preview, head: Preview) -> tuple[list[ResourceChange], list[str]]:
    changes: list[ResourceChange] = []
    options: list[str] = []
    renamed = _renames(base, head)
    for key in sorted((set(base.resources) | set(head.resources)) - set(renamed.values())):
        type_, name = key
        old, new = base.resources.get(renamed.get(key, key)), head.resources.get(key)
        if key in renamed:
            options.append(
                f"`{name}` ({type_}): renamed from `{renamed[key][1]}` (an alias keeps it the same resource)"
            )
        if old is None and new is not None:
            flags = [k for k in ("protect", "retain_on_delete") if (new.get("options") or {}).get(k)]
            changes.append(ResourceChange("create", type_, name, f"options: {', '.join(flags)}" if flags else ""))
            continue
        if new is None and old is not None:
            opts = old.get("options") or {}
            note = "**protected: Pulumi will refuse until unprotected**" if opts.get("protect") else ""
            if opts.get("retain_on_delete"):
                note = (note + "; " if note else "") + "retained in the cloud (retain_on_delete)"
            changes.append(ResourceChange("delete", type_, name, note))
            continue
        assert old is not None and new is not None
        paths = changed_paths(old.get("inputs"), new.get("inputs"))
        if old.get("parent") != new.get("parent"):
            options.append(f"`{name}` ({type_}): parent `{old.get('parent')}` → `{new.get('parent')}`")
        options += option_changes(type_, name, old.get("options") or {}, new.get("options") or {})
        if not paths:
            continue
        causes = replacement_causes(type_, paths, new.get("options") or {})
        if causes:
            protected = (old.get("options") or {}).get("protect")
            note = f"replaced because of {_short(causes)}" + (
                "; **protected: Pulumi will refuse**" if protected else ""
            )
            changes.append(ResourceChange("replace", type_, name, note))
        else:
            changes.append(ResourceChange("update", type_, name, _short(paths)))
    return changes, options


def _alias_names(resource: dict[str, Any]) -> set[str]:
    """Names in the recorded aliases (`name`, `name (type)`, `name (parent p)`); not type-only aliases."""
    names = {str(a).split(" (", 1)[0] for a in (resource.get("options") or {}).get("aliases") or []}
    return names - {"<same name>", resource["name"]}


def _renames(base: Preview, head: Preview) -> dict[tuple[str, str], tuple[str, str]]:
    """Head resource -> the base resource it aliases (present only in base, same type)."""
    out = {}
    for key, resource in head.resources.items():
        if key in base.resources:
            continue
        for alias in sorted(_alias_names(resource)):
            old_key = (key[0], alias)
            if old_key in base.resources and old_key not in head.resources:
                out[key] = old_key
                break
    return out


def option_changes(type_: str, name: str, old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """One line per resource whose options differ (nothing when a side did not record options)."""
    if not old or not new:
        return []
    parts = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if isinstance(a, list) or isinstance(b, list):
            added = sorted(set(b or []) - set(a or []))
            removed = sorted(set(a or []) - set(b or []))
            parts.append(f"{key} " + ", ".join([f"+`{x}`" for x in added] + [f"-`{x}`" for x in removed]))
        else:
            parts.append(f"{key} {json.dumps(a)} → {json.dumps(b)}")
    return [f"`{name}` ({type_}): {'; '.join(parts)}"] if parts else []


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
                    out.append(f"{title}: panel “{key}” changed {_short(rest, 4)}")
        rest = changed_paths(
            {k: v for k, v in old.items() if k != "panels"}, {k: v for k, v in new.items() if k != "panels"}
        )
        if rest:
            out.append(f"{title}: settings changed {_short(rest, 4)}")
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


def diff_outputs(base: dict[str, Any], head: dict[str, Any]) -> list[str]:
    a = {k: v for k, v in base.items() if k != "footprint"}
    b = {k: v for k, v in head.items() if k != "footprint"}
    return [f"`{p}`: {json.dumps(_get(a, p))} → {json.dumps(_get(b, p))}" for p in changed_paths(a, b)]


# --- assembling ---------------------------------------------------------------------------


SECTIONS = (
    ("manifests", "Kubernetes manifests", "manifests", "*.yaml"),
    ("helm", "Helm release inputs", "helm", "*"),
    ("rendered", "Rendered chart objects", "rendered", "*"),
)


def diff_stack(stack: str, base_dir: Path, head_dir: Path) -> StackDiff:
    base, head = Preview.read(base_dir), Preview.read(head_dir)
    result = StackDiff(stack)
    result.resources, result.options = diff_resources(base, head)
    result.alerts = diff_alerts(base.files("alerts", "*.yaml"), head.files("alerts", "*.yaml"))
    result.dashboards = diff_dashboards(base.files("dashboards", "*.json"), head.files("dashboards", "*.json"))
    result.footprint = diff_footprint(base.outputs, head.outputs)
    result.outputs = diff_outputs(base.outputs, head.outputs)
    for key, _title, sub, pattern in SECTIONS:
        files = diff_files(base.files(sub, pattern), head.files(sub, pattern))
        result.file_diffs[key] = [(name, body) for name, body in files if name != "index.json"]
    result.rendered = diff_rendered_objects(base.files("rendered", "*.yaml"), head.files("rendered", "*.yaml"))
    return result


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
            out.append(f"changed {_object_id(name, head[name])}: {_short(changed_paths(old, new), 4)}")
    return out


def _bullets(lines: Sequence[str]) -> list[str]:
    return [f"- {line}" for line in lines]


def render_markdown(d: StackDiff, max_lines: int | None) -> str:
    """One stack's report; `max_lines` cuts each file diff (None: everything)."""
    c = d.counts
    head = f"### Stack `{d.stack}`: " + (
        "no changes"
        if d.empty
        else f"{c['create']} to create, {c['update']} to update, {c['replace']} to replace, {c['delete']} to delete"
    )
    lines = [head, ""]
    if d.empty:
        return "\n".join(lines) + "\n"
    if d.resources:
        lines += ["| | type | name | details |", "|---|---|---|---|"]
        symbol = {"create": "+ create", "delete": "- delete", "replace": "+- replace", "update": "~ update"}
        for change in d.resources:
            lines.append(f"| {symbol[change.op]} | `{change.type}` | `{change.name}` | {change.detail} |")
        lines.append("")
    for title, items in (
        ("Resource options", d.options),
        ("Alerts", d.alerts),
        ("Dashboards", d.dashboards),
        ("Rendered chart objects", d.rendered),
        ("Footprint", d.footprint),
        ("Stack outputs", d.outputs),
    ):
        if items:
            lines += [f"**{title}**", "", *_bullets(items), ""]
    truncated = False
    for key, title, _sub, _pattern in SECTIONS:
        diffs = d.file_diffs.get(key) or []
        if not diffs:
            continue
        lines += [f"<details><summary>{title}: {len(diffs)} file(s) changed</summary>", ""]
        for name, body in diffs:
            shown = body if max_lines is None else body[:max_lines]
            lines += [f"`{name}`", "", "```diff", *shown]
            if len(shown) < len(body):
                lines.append(f"… {len(body) - len(shown)} more lines in the full report")
                truncated = True
            lines += ["```", ""]
        lines += ["</details>", ""]
    if truncated:
        lines += ["_Long diffs are cut here; the full report is attached to the workflow run._", ""]
    return "\n".join(lines)


def comment(diffs: Sequence[StackDiff], max_lines: int, title: str = "Offline preview diff") -> str:
    parts = [MARKER, f"## {title}", ""]
    body = "\n".join(render_markdown(d, max_lines) for d in diffs)
    if len(body) > COMMENT_LIMIT:
        body = "\n".join(render_markdown(d, 0) for d in diffs)
    if len(body) > COMMENT_LIMIT:
        body = body[:COMMENT_LIMIT] + "\n\n… cut: see the full report attached to the workflow run.\n"
    parts.append(body)
    parts.append(
        "<sub>Offline: the real program under Pulumi's mock engine, charts rendered from pinned assets; "
        "no cloud credentials; secrets show as [secret]. `pulumi preview` against the real stack runs separately.</sub>"
    )
    return "\n".join(parts) + "\n"


# --- git refs ------------------------------------------------------------------------------


def preview_ref(ref: str, into: Path, stacks: Sequence[str] | None) -> Path:
    """Run the preview of every stack of `ref` in a temporary worktree; outputs under `into`."""
    into.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="llm-gateway-diff-") as tmp:
        worktree = Path(tmp) / "tree"
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(worktree), ref],
            check=True,
            capture_output=True,
            text=True,
        )
        try:
            names = stacks or sorted(p.name.split(".")[1] for p in worktree.glob("Pulumi.*.yaml"))
            from tools.assets import LOCK_FILE, cache_dir

            cache = cache_dir()
            ref_lock = worktree / LOCK_FILE.name
            env = dict(os.environ, PYTHONPATH=str(worktree))
            if ref_lock.exists() and ref_lock.read_bytes() != LOCK_FILE.read_bytes():
                # The ref pins other assets: give it its own cache (network or the mirror in the environment).
                cache = Path(tmp) / "assets"
                env["LLM_GATEWAY_ASSET_CACHE"] = str(cache)
                subprocess.run(
                    [sys.executable, "-m", "tools.assets", "fetch"],
                    cwd=worktree,
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                )
            env["LLM_GATEWAY_ASSET_CACHE"] = str(cache)
            for stack in names:
                subprocess.run(
                    [sys.executable, "-m", "tools.preview", stack, "--out", str(into / stack)],
                    cwd=worktree,
                    env=env,
                    check=True,
                    capture_output=True,
                    text=True,
                )
        finally:
            subprocess.run(
                ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)],
                check=False,
                capture_output=True,
            )
    return into


def resolve(arg: str, scratch: Path, label: str, stacks: Sequence[str] | None) -> Path:
    path = Path(arg)
    if path.is_dir():
        return path
    return preview_ref(arg, scratch / label, stacks)


def run(base: Path, head: Path, out: Path, stacks: Sequence[str] | None, max_lines: int) -> list[StackDiff]:
    base_stacks, head_stacks = stack_folders(base), stack_folders(head)
    if len(base_stacks) == 1 and len(head_stacks) == 1 and not stacks:
        # Two single-stack folders: compare them under the head's name.
        (_, b_dir), (h_name, h_dir) = next(iter(base_stacks.items())), next(iter(head_stacks.items()))
        pairs = {h_name: (b_dir, h_dir)}
    else:
        names = sorted(set(stacks or []) or (set(base_stacks) | set(head_stacks)))
        pairs = {n: (base_stacks.get(n, base / n), head_stacks.get(n, head / n)) for n in names}
    diffs = [diff_stack(name, b, h) for name, (b, h) in sorted(pairs.items())]
    out.mkdir(parents=True, exist_ok=True)
    for d in diffs:
        (out / f"{d.stack}.md").write_text(f"{MARKER}\n## Offline preview diff\n\n" + render_markdown(d, None))
    (out / "comment.md").write_text(comment(diffs, max_lines))
    return diffs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.diff", description=__doc__.split("\n")[0])
    parser.add_argument("base", help="preview folder or git ref")
    parser.add_argument("head", help="preview folder or git ref")
    parser.add_argument("--out", type=Path, default=Path("preview-diff"), help="report folder (default preview-diff)")
    parser.add_argument("--stack", dest="stacks", action="append", help="only this stack (repeatable)")
    parser.add_argument("--max-lines", type=int, default=DEFAULT_MAX_LINES, help="per file diff, in the comment")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="llm-gateway-previews-") as scratch:
            base = resolve(args.base, Path(scratch), "base", args.stacks)
            head = resolve(args.head, Path(scratch), "head", args.stacks)
            run(base, head, args.out, args.stacks, args.max_lines)
    except subprocess.CalledProcessError as exc:
        detail = (exc.stderr or "").strip().splitlines()
        print(f"error: {' '.join(map(str, exc.cmd[:4]))}…: {detail[-1] if detail else exc}", file=sys.stderr)
        return 2
    print((args.out / "comment.md").read_text(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
