"""Clean answers to bad input, shared by every command-line tool; and the one shape of the
commands that keep a generated file true (`generated_files_cli`).

A tool that is handed something it cannot use (a malformed YAML file, a bad
`--set`, an `--out` that would overwrite someone else's files) prints one
message naming the input and the problem, and exits 2; never a traceback.

YAML is read strictly: syntax errors name file, line and column; duplicate
keys are refused (PyYAML would keep the last one silently); keys must be
strings; and alias expansion is bounded, so a "billion laughs" document is
refused instead of filling the memory.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

EXIT_BAD_INPUT = 2
# Nodes a document may expand to through aliases; real stack files have a few hundred.
MAX_YAML_NODES = 100_000
_MERGE_TAG = "tag:yaml.org,2002:merge"


class InputError(Exception):
    """A bad input; str() is the whole message shown to the user."""


def _where(source: str, node: Node) -> str:
    mark = node.start_mark
    return f"{source}, line {mark.line + 1}, column {mark.column + 1}"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate and non-string keys."""

    source = "<input>"

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[str, Node] = {}
        for key_node, _value in node.value:
            if key_node.tag == _MERGE_TAG:
                continue
            if not isinstance(key_node, ScalarNode):
                raise InputError(f"{_where(self.source, key_node)}: a key must be a string, found a {key_node.id}")
            key = self.construct_object(key_node)
            if not isinstance(key, str):
                raise InputError(
                    f"{_where(self.source, key_node)}: a key must be a string, found {type(key).__name__} "
                    f"{key_node.value!r} (quote it)"
                )
            if key in seen:
                first = seen[key].start_mark.line + 1
                raise InputError(f"{_where(self.source, key_node)}: duplicate key {key!r} (first on line {first})")
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


class _FastStrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader), _StrictLoader):  # type: ignore[misc]
    """The same checks over libyaml's parser (about ten times faster on a large tenants section); on any
    problem `load_yaml` parses again with `_StrictLoader`, whose messages and positions are the reference."""


def _expanded_size(node: Node, budget: int) -> int:
    """Count nodes as the constructor would expand them (aliases included), up to `budget`."""
    count = 0
    stack = [node]
    while stack:
        current = stack.pop()
        count += 1
        if count > budget:
            return count
        if isinstance(current, SequenceNode):
            stack.extend(current.value)
        elif isinstance(current, MappingNode):
            for key, value in current.value:
                stack.extend((key, value))
    return count


def load_yaml(text: str, source: str) -> Any:
    """Parse one YAML document strictly; InputError (with file:line:column) on any problem. libyaml first;
    a document it refuses is parsed again in pure Python, so an error reads the same with or without it."""
    try:
        return _load(_FastStrictLoader, text, source)
    except InputError:
        return _load(_StrictLoader, text, source)


def _load(kind: type[_StrictLoader], text: str, source: str) -> Any:
    loader = kind(text)
    loader.source = source
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if _expanded_size(node, MAX_YAML_NODES) > MAX_YAML_NODES:
            raise InputError(
                f"{source}: the document expands to more than {MAX_YAML_NODES} nodes through aliases; refused"
            )
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}, line {mark.line + 1}, column {mark.column + 1}" if mark else source
        parts = [p for p in (exc.context, exc.problem) if p]
        problem = ", ".join(parts) if parts else "not YAML"
        raise InputError(f"{where}: invalid YAML: {problem}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: invalid YAML: {exc}") from None
    except RecursionError:
        raise InputError(f"{source}: invalid YAML: nested too deeply") from None
    finally:
        loader.dispose()


def read_text(path: Path) -> str:
    """A text file's content, or InputError naming the file and why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file") from None
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None


def read_yaml_mapping(path: Path, source: str | None = None) -> dict[str, Any]:
    """A YAML file whose document must be a mapping (an empty file is an empty mapping)."""
    name = source or str(path)
    doc = load_yaml(read_text(path), name)
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise InputError(f"{name}: the document must be a mapping (key: value), found a {_kind(doc)}")
    return doc


def _kind(value: Any) -> str:
    return {list: "list", str: "string", int: "number", float: "number", bool: "boolean"}.get(
        type(value), type(value).__name__
    )


def prepare_out_dir(out: Path, marker: str, what: str) -> None:
    """Make `out` an empty folder for this tool's files.

    A folder this tool wrote before (it holds `marker`) is replaced whole, so no
    file of an earlier run is left behind; anything else that exists is refused.
    """
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise InputError(f"--out {out}: exists and is not a folder; choose a new or empty folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / marker).is_file():
            raise InputError(
                f"--out {out}: folder is not empty and was not written by {what} "
                f"(no {marker} file in it); choose a new or empty folder"
            )
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / marker).write_text(f"written by {what}; the next run replaces this folder whole\n", encoding="utf-8")


@dataclass(frozen=True)
class Generated:
    """A file a command generates: where, its name as printed, its content."""

    path: Path
    name: str
    text: str


def generated_files_cli(
    argv: Sequence[str] | None, *, prog: str, doc: str, what: str, fix: str, generate: Callable[[], Iterator[Generated]]
) -> int:
    """The command of generated files: compare each with what `generate` makes now, or rewrite it (--write).

    Prints `NAME: up to date`, `NAME: out of date (FIX)` or `NAME: written` per file; exits 1
    if one is out of date, 2 (one message) for bad input, which `generate` raises as InputError.
    """

    def command(argv: Sequence[str] | None) -> int:
        parser = argparse.ArgumentParser(prog=prog, description=doc.split("\n")[0])
        parser.add_argument("--write", action="store_true", help=f"rewrite {what} instead of comparing")
        write = parser.parse_args(argv).write
        stale = 0
        for file in generate():
            if write:
                file.path.parent.mkdir(parents=True, exist_ok=True)
                file.path.write_text(file.text, encoding="utf-8")
                print(f"{file.name}: written")
            elif file.path.is_file() and file.path.read_text(encoding="utf-8") == file.text:
                print(f"{file.name}: up to date")
            else:
                print(f"{file.name}: out of date ({fix})")
                stale += 1
        return 1 if stale else 0

    return run_cli(command, argv)


def run_cli(main: Callable[[Sequence[str] | None], int], argv: Sequence[str] | None = None) -> int:
    """Run a tool's main; a bad input becomes one message on stderr and exit 2."""
    try:
        return main(argv)
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def exit_cli(code: int) -> NoReturn:
    """End a command-line tool's process with `code`, every object frozen first.

    At exit the interpreter runs its cyclic collector over everything still alive, several
    times; after a program run that took ~1 s of CPU on this machine, more than writing the
    whole preview. Frozen objects are skipped; the process's end frees the memory anyway.
    """
    gc.freeze()
    sys.exit(code)
