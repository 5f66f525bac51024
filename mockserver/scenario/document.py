"""A parsed scenario document: the YAML data and the position of every key and value.

Problems found in it are placed by JSON pointer and reported as
``file:line:column: /json/pointer: message``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..errors import ScenarioError

__all__ = ["Document", "Problem", "compose", "escape", "pointer_of"]


@dataclass(frozen=True)
class Problem:
    line: int
    column: int
    pointer: str
    message: str

    def format(self, source: str) -> str:
        return (
            f"{source}:{self.line}:{self.column}: {self.pointer or '/'}: {self.message}"
        )


@dataclass
class Document:
    """Parsed YAML plus the position of every value and key, by JSON pointer."""

    data: Any
    values: dict[str, yaml.Mark] = field(default_factory=dict)
    keys: dict[str, yaml.Mark] = field(default_factory=dict)
    duplicates: list[Problem] = field(default_factory=list)

    def problem(self, pointer: str, message: str, *, at_key: bool = False) -> Problem:
        """Build a problem placed at the key or value ``pointer`` names."""
        mark = self.keys.get(pointer) if at_key else None
        probe = pointer
        while mark is None:
            mark = self.values.get(probe)
            if probe == "":
                break
            probe = probe.rsplit("/", 1)[0]
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        return Problem(line, column, pointer, message)


def compose(text: str, source: str) -> Document:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        raise ScenarioError([_yaml_error_line(exc, source)]) from exc
    finally:
        loader.dispose()
    document = Document(data)
    if node is not None:
        _index(node, "", document)
    return document


def _yaml_error_line(exc: yaml.MarkedYAMLError, source: str) -> str:
    mark = exc.problem_mark or exc.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    what = exc.problem or "invalid YAML"
    context = ""
    if exc.context and exc.problem:
        start = exc.context_mark
        where = f" at {start.line + 1}:{start.column + 1}" if start else ""
        context = f" ({exc.context}{where})"
    return f"{source}:{line}:{column}: YAML syntax error: {what}{context}"


def _index(node: yaml.Node, pointer: str, document: Document) -> None:
    document.values[pointer] = node.start_mark
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            child = f"{pointer}/{escape(key)}"
            if key in seen:
                document.duplicates.append(
                    Problem(
                        key_node.start_mark.line + 1,
                        key_node.start_mark.column + 1,
                        child,
                        f"duplicate key {key!r}; each key may appear once",
                    )
                )
            seen.add(key)
            document.keys[child] = key_node.start_mark
            _index(value_node, child, document)
    elif isinstance(node, yaml.SequenceNode):
        for position, item in enumerate(node.value):
            _index(item, f"{pointer}/{position}", document)


def escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")


def pointer_of(parts: Iterable[Any]) -> str:
    return "".join(f"/{escape(str(part))}" for part in parts)
