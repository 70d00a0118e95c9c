"""What `pulumi preview` would do, from two runs of the program under the mock engine (the tests' plan;
the replacement rules are the ones `tools.diff` uses, `offline/diff_resources.py`).

There is no Pulumi CLI or state here. A change (a config setting, a code edit) is
judged by running the real program before and after it (`offline.run`) and
comparing the two recordings, the way the engine compares its state with the new
registrations:

- a resource is the same resource in both runs when its type, its parents' types
  and its name match (Pulumi's URN), or when the new one carries an `Alias` with
  the old name;
- only in the old run: **delete**; only in the new run: **create**;
- in both, inputs equal: **same**; inputs differ: **update**, or **replace** when
  a changed input is one the provider cannot update in place (`REPLACE_ON`).

Pulumi refuses to delete or replace a protected resource. `Plan.refused` lists
those steps (protected in either run: the engine checks the state it holds, and
a program that just dropped `protect` has not yet written that to the state).
A `retain_on_delete` resource's delete or replacement only drops it from the state:
`Plan.destroyed` lists the deletes and replacements that remove a cloud object.

Approximation: an input computed from another resource's output changes only if
the mock's output changes. The mock derives generated values (random passwords
and bytes) from their inputs, so a replaced random value flows on into the
`SecretVersion` that stores it, as it does in the cloud.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from offline.diff_resources import ALL, KUBERNETES_IDENTITY, REPLACE_ON
from offline.run import ProgramRun, Recorded

Op = Literal["create", "update", "replace", "delete", "same"]


@dataclass(frozen=True)
class Step:
    op: Op
    type: str
    name: str
    protected: bool
    changed: tuple[str, ...] = ()
    """Top-level input keys (and `metadata.*` keys of Kubernetes objects) that differ."""
    retained: bool = False
    """`retain_on_delete` in the state (the old run): a delete or replacement leaves the cloud object."""


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]

    def names(self, op: Op) -> set[str]:
        return {s.name for s in self.steps if s.op == op}

    @property
    def changes(self) -> dict[str, set[str]]:
        """Resource names per operation, without `same`."""
        return {op: self.names(op) for op in ("create", "update", "replace", "delete") if self.names(op)}

    @property
    def refused(self) -> set[str]:
        """Deletes and replacements of protected resources: `pulumi up` stops on these."""
        return {s.name for s in self.steps if s.op in ("delete", "replace") and s.protected}

    @property
    def destroyed(self) -> set[str]:
        """Deletes and replacements that delete the cloud object (not `retain_on_delete`)."""
        return {s.name for s in self.steps if s.op in ("delete", "replace") and not s.retained}


def urn_key(run: ProgramRun, r: Recorded) -> tuple[str, str]:
    """(qualified type, name) as Pulumi's URN spells it: parents' types, then the resource's.

    A run records a parent by name, and a component may share its name with a custom resource (the
    database's `...-server-ca` is a certificate and the ManagedSecret holding it): the parent is the
    component, whatever order the registrations came in (they come from threads)."""
    by_name: dict[str, Recorded] = {}
    for x in run.resources:
        if x.name not in by_name or by_name[x.name].custom:
            by_name[x.name] = x
    types = [r.type]
    parent = r.parent
    while parent is not None and parent in by_name:
        types.append(by_name[parent].type)
        parent = by_name[parent].parent
    return "$".join(reversed(types)), r.name


def _changed(old: Any, new: Any) -> tuple[str, ...]:
    keys = sorted(set(old) | set(new))
    out = []
    for k in keys:
        if k == "metadata" and isinstance(old.get(k), dict) and isinstance(new.get(k), dict):
            out += [f"metadata.{m}" for m in _changed(old[k], new[k])]
        elif old.get(k) != new.get(k):
            out.append(k)
    return tuple(out)


def forces_replacement(type_: str, changed: Iterable[str]) -> bool:
    changed = set(changed)
    if not changed:
        return False
    rule = REPLACE_ON.get(type_, ())
    if ALL in rule:
        return True
    if type_.startswith("kubernetes:") and not type_.startswith("kubernetes:helm.sh/"):
        rule = rule + KUBERNETES_IDENTITY
    return bool(changed & set(rule))


def plan(before: ProgramRun, after: ProgramRun) -> Plan:
    old = {urn_key(before, r): r for r in before.resources}
    steps: list[Step] = []
    matched: set[tuple[str, str]] = set()
    for r in after.resources:
        qualified, name = urn_key(after, r)
        candidates = [(qualified, name), *((qualified, a) for a in r.aliases)]
        key = next((c for c in candidates if c in old and c not in matched), None)
        if key is None:
            steps.append(Step("create", r.type, r.name, r.protect))
            continue
        matched.add(key)
        prev = old[key]
        changed = _changed(prev.plain_inputs, r.plain_inputs)
        if not changed:
            op: Op = "same"
        elif forces_replacement(r.type, changed):
            op = "replace"
        else:
            op = "update"
        steps.append(Step(op, r.type, r.name, prev.protect or r.protect, changed, prev.retain_on_delete))
    for key, prev in old.items():
        if key not in matched:
            steps.append(Step("delete", prev.type, prev.name, prev.protect, retained=prev.retain_on_delete))
    return Plan(tuple(steps))
