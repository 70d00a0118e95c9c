"""Diff two offline previews, per stack, as a Markdown report a reviewer can read.

    python -m tools.diff BASE HEAD [--out DIR] [--stack STACK ...] [--max-lines N]

BASE and HEAD are each a preview folder (`python -m tools.preview STACK --out DIR/STACK`,
one sub-folder per stack; or a single stack's folder) or a git ref: then the preview runs
in a temporary worktree of that ref (with --out for every stack; --no-render: without
rendering the charts, so without the asset cache) and the worktree is removed.

Writes DIR/<stack>.md (the full report per stack) and DIR/comment.md (every stack,
long diffs cut to --max-lines, for a pull-request comment; DIR defaults to preview-diff/),
prints the comment, and says on stderr which files it wrote. Rendered chart objects are
compared when both sides rendered them.
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
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from components.tenants.view import RotationError, tenant_changes
from offline.diff_content import (
    diff_alerts,
    diff_dashboards,
    diff_files,
    diff_footprint,
    diff_outputs,
    diff_rendered_objects,
)
from offline.diff_resources import ResourceChange, diff_resources
from offline.diff_sources import Preview, resolve, stack_folders

DEFAULT_MAX_LINES = 60
DEFAULT_OUT = Path("preview-diff")  # git-ignored (.gitignore)
COMMENT_LIMIT = 60_000  # GitHub refuses comments over 65,536 characters
MARKER = "<!-- llm-gateway offline preview diff -->"


@dataclass
class StackDiff:
    stack: str
    resources: list[ResourceChange] = field(default_factory=list)
    options: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)
    dashboards: list[str] = field(default_factory=list)
    footprint: list[str] = field(default_factory=list)
    tenants: list[str] = field(default_factory=list)
    rendered: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    file_diffs: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)
    """Section -> (file, unified diff lines)."""
    charts_rendered: bool = True
    """Both sides hold the rendered charts (neither was previewed with --no-render)."""

    @property
    def counts(self) -> dict[str, int]:
        out = {op: 0 for op in ("create", "update", "replace", "delete")}
        for change in self.resources:
            out[change.op] += 1
        return out

    @property
    def empty(self) -> bool:
        return not (self.resources or self.options or any(self.file_diffs.values()) or self.outputs or self.rendered)


SECTIONS = (
    ("manifests", "Kubernetes manifests", "manifests", "*.yaml"),
    ("helm", "Helm release inputs", "helm", "*"),
    ("rendered", "Rendered chart objects", "rendered", "*"),
)


def diff_stack(stack: str, base_dir: Path, head_dir: Path) -> StackDiff:
    base, head = Preview.read(base_dir), Preview.read(head_dir)
    result = StackDiff(stack, charts_rendered=all((d / "rendered").is_dir() for d in (base_dir, head_dir)))
    result.resources, result.options = diff_resources(base, head)
    result.alerts = diff_alerts(base.files("alerts", "*.yaml"), head.files("alerts", "*.yaml"))
    result.dashboards = diff_dashboards(base.files("dashboards", "*.json"), head.files("dashboards", "*.json"))
    result.footprint = diff_footprint(base.outputs, head.outputs)
    result.outputs = diff_outputs(base.outputs, head.outputs)
    result.tenants = tenant_changes(base.outputs.get("tenants"), head.outputs.get("tenants"))  # a change: resources too
    for key, _title, sub, pattern in SECTIONS:
        if key == "rendered" and not result.charts_rendered:
            continue
        files = diff_files(base.files(sub, pattern), head.files(sub, pattern))
        result.file_diffs[key] = [(name, body) for name, body in files if name != "index.json"]
    if result.charts_rendered:
        result.rendered = diff_rendered_objects(base.files("rendered", "*.yaml"), head.files("rendered", "*.yaml"))
    return result


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
        ("Tenants", d.tenants),
        ("Footprint", d.footprint),
        ("Stack outputs", d.outputs),
    ):
        if items:
            lines += [f"**{title}**", "", *(f"- {item}" for item in items), ""]
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
    charts = (
        "charts rendered from pinned assets"
        if all(d.charts_rendered for d in diffs)
        else "charts not rendered (--no-render), so rendered chart objects are not compared"
    )
    parts.append(
        f"<sub>Offline: the real program under Pulumi's mock engine, {charts}; no cloud credentials; "
        "secrets show as [secret]. `pulumi preview` against the real stack runs separately.</sub>"
    )
    return "\n".join(parts) + "\n"


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
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"report folder (default {DEFAULT_OUT})")
    parser.add_argument("--stack", dest="stacks", action="append", help="only this stack (repeatable)")
    parser.add_argument("--max-lines", type=int, default=DEFAULT_MAX_LINES, help="per file diff, in the comment")
    parser.add_argument(
        "--no-render", action="store_true", help="preview git refs without rendering the charts (no assets needed)"
    )
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="llm-gateway-previews-") as scratch:
            base = resolve(args.base, Path(scratch), "base", args.stacks, not args.no_render)
            head = resolve(args.head, Path(scratch), "head", args.stacks, not args.no_render)
            diffs = run(base, head, args.out, args.stacks, args.max_lines)
    except subprocess.CalledProcessError as exc:  # a preview that failed
        detail = (exc.stderr or "").strip().splitlines()
        print(f"error: {' '.join(map(str, exc.cmd[:4]))}…: {detail[-1] if detail else exc}", file=sys.stderr)
        return 2
    except RotationError as exc:  # a lowered key rotation
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print((args.out / "comment.md").read_text(), end="")
    reports = ", ".join(f"{d.stack}.md" for d in diffs)
    print(f"wrote {args.out}/: comment.md (the comment above) and {reports} (the full reports)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
