"""YAML from users, bounded: what a small file may expand to, how deep it may nest, what it may hold.

PyYAML composes aliases as shared references, so a "billion laughs" file loads in
milliseconds; the blow-up comes later, when something walks the data as a tree
(validation, an error message's repr, a JSON dump). Here the composed node graph
is measured before anything is constructed: every alias counts as a copy of what
it points to, and a document that would expand to more than :data:`MAX_NODES`
values, or holds a recursive alias, is refused in one line naming the key path
where the budget ran out. Deep nesting, lone surrogates (from ``\\ud800``
escapes: no file can hold them) and numbers too long to convert are refused the
same way. Errors are :class:`~harness.errors.ConfigError` naming the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from harness.errors import ConfigError
from harness.userfiles import read_text

MAX_NODES = 200_000  # values a document may expand to, aliases counted as copies


def load_yaml_file(path: str | Path, what: str, *, kind: str) -> Any:
    """Read (bounded, see :mod:`harness.userfiles`) and parse a user's YAML file."""
    from harness.errors import DataError

    try:
        text = read_text(path, what, kind=kind)
    except DataError as exc:
        raise ConfigError(exc.message, path=path) from None
    return load_yaml(text, path=path)


def load_yaml(text: str, *, path: str | Path) -> Any:
    """Parse one YAML document from ``text``, bounded as the module docstring says."""
    try:
        loader = yaml.SafeLoader(text)  # the reader refuses control characters here already
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}".splitlines()[0], path=path) from None
    try:
        node = loader.get_single_node()  # composed only: aliases are still references
        if node is None:
            return None
        _check_nodes(node, path)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise ConfigError(f"not valid YAML: {problem}", path=path, key=where) from None
    except RecursionError:
        raise ConfigError("not valid YAML: nested too deeply", path=path) from None
    except (ValueError, OverflowError) as exc:  # e.g. an integer of more digits than Python converts
        raise ConfigError(f"not valid YAML: {str(exc).splitlines()[0]}", path=path) from None
    finally:
        loader.dispose()


def _children(node: Node) -> list[tuple[str | int, Node]]:
    """(key, child) pairs in document order; a mapping's key nodes count as values too."""
    if isinstance(node, SequenceNode):
        return list(enumerate(node.value))
    if isinstance(node, MappingNode):
        out: list[tuple[str | int, Node]] = []
        for k, v in node.value:
            label = str(k.value) if isinstance(k, ScalarNode) else "?"
            out += [(label, k), (label, v)]
        return out
    return []


def _sizes(root: Node, path: str | Path) -> dict[int, int]:
    """Each node's expanded size (capped just above the budget), without recursion; a cycle is refused."""
    sizes: dict[int, int] = {}
    on_stack: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_stack.discard(key)
            total = 1 + sum(sizes[id(c)] for _, c in _children(node))
            sizes[key] = min(total, MAX_NODES + 1)
            continue
        if key in sizes:
            continue
        if key in on_stack:
            mark = node.start_mark
            raise ConfigError(f"a recursive YAML alias (line {mark.line + 1}) would expand forever",
                              path=path)
        on_stack.add(key)
        stack.append((node, True))
        stack.extend((c, False) for _, c in reversed(_children(node)) if id(c) not in sizes)
    return sizes


def _check_nodes(root: Node, path: str | Path) -> None:
    """Walk the document in order, counting an alias as a copy of its target; refuse past the budget."""
    sizes = _sizes(root, path)
    seen: set[int] = set()
    count = 0
    stack: list[tuple[Node, str]] = [(root, "")]
    while stack:
        node, where = stack.pop()
        if id(node) in seen:  # an alias: the same node again, expanded as a copy
            count += sizes[id(node)]
        else:
            seen.add(id(node))
            count += 1
            if isinstance(node, ScalarNode):
                _check_scalar(node, where, path)
            stack.extend((c, _join(where, k)) for k, c in reversed(_children(node)))
        if count > MAX_NODES:
            mark = node.start_mark
            raise ConfigError(
                f"YAML aliases expand to more than {MAX_NODES} values (line {mark.line + 1})",
                path=path, key=where or None,
                hint="a small file must not fill memory: write the values out or use fewer aliases")


def _check_scalar(node: ScalarNode, where: str, path: str | Path) -> None:
    bad = next((ch for ch in node.value if 0xD800 <= ord(ch) <= 0xDFFF), None)
    if bad is not None:
        # The surrogate may be in a key on the path itself: shown as an escape.
        key = where.encode("utf-8", "backslashreplace").decode("utf-8") if where else None
        raise ConfigError(f"holds a lone surrogate U+{ord(bad):04X} (from an escape), which no file can "
                          "hold", path=path, key=key or f"line {node.start_mark.line + 1}")


def _join(where: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{where}[{key}]"
    return f"{where}.{key}" if where else key


__all__ = ["MAX_NODES", "load_yaml", "load_yaml_file"]
