"""The functions a Go chat template can call: text/template's builtins and Ollama's additions.

Builtins (``text/template`` ``funcs.go``): ``and``, ``or`` (short-circuit, returning
an argument as Go does), ``not``, ``len``, ``index``, ``slice``, ``print``,
``printf``, ``println``, ``eq`` (one or more right-hand sides), ``ne``, ``lt``,
``le``, ``gt``, ``ge``, ``html``, ``urlquery``. Ollama's (``template/template.go``):
``json`` and ``currentDate``. Strings are measured and sliced in UTF-8 bytes, as in Go.
"""

from __future__ import annotations

import datetime
import json
import re
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any

from harness.templates.gotmpl_lex import GoTemplateError
from harness.templates.gotmpl_values import NO_VALUE, Struct, go_str, is_true, kind, type_name

Builtin = Callable[[Sequence[Any], int], Any]
LAZY = frozenset({"and", "or"})  # evaluated argument by argument by the executor


def _need(name: str, args: Sequence[Any], n: int, line: int) -> Sequence[Any]:
    """``args`` when there are ``n`` of them."""
    if len(args) != n:
        raise GoTemplateError(f"wrong number of args for {name}: want {n} got {len(args)}", line)
    return args


def _eq(args: Sequence[Any], line: int) -> bool:
    if len(args) < 2:
        raise GoTemplateError("error calling eq: missing argument for comparison", line)
    first = args[0]
    for other in args[1:]:
        k1, k2 = kind(first), kind(other)
        if k1 != k2:
            if "invalid" not in (k1, k2) and {k1, k2} != {"int", "float"}:
                raise GoTemplateError("error calling eq: incompatible types for comparison", line)
            if {k1, k2} == {"int", "float"} and first == other:
                return True
            continue
        if k1 == "other":
            raise GoTemplateError(f"error calling eq: non-comparable type {type_name(first)}", line)
        if first == other or k1 == "invalid":
            return True
    return False


def _ordered(name: str, op: Callable[[Any, Any], bool]) -> Builtin:
    def compare(args: Sequence[Any], line: int) -> bool:
        _need(name, args, 2, line)
        a, b = args
        ka, kb = kind(a), kind(b)
        if ka not in ("int", "float", "string") or kb not in ("int", "float", "string"):
            raise GoTemplateError(f"error calling {name}: invalid type for comparison", line)
        if (ka == "string") != (kb == "string"):
            raise GoTemplateError(f"error calling {name}: incompatible types for comparison", line)
        return bool(op(a, b))

    return compare


def _len(args: Sequence[Any], line: int) -> int:
    _need("len", args, 1, line)
    value = args[0]
    if isinstance(value, str):
        return len(value.encode("utf-8"))
    if isinstance(value, (list, tuple, dict)):
        return len(value)
    raise GoTemplateError(f"error calling len: len of type {type_name(value)}", line)


def _int_arg(value: Any, name: str, line: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise GoTemplateError(f"error calling {name}: cannot index slice/array with type "
                              f"{type_name(value)}", line)
    return value


def _index(args: Sequence[Any], line: int) -> Any:
    if not args:
        raise GoTemplateError("wrong number of args for index: want at least 1 got 0", line)
    value = args[0]
    for key in args[1:]:
        if isinstance(value, dict):
            value = value.get(key, None)
        elif isinstance(value, (list, tuple, str)):
            i = _int_arg(key, "index", line)
            size = len(value.encode("utf-8")) if isinstance(value, str) else len(value)
            if not 0 <= i < size:
                raise GoTemplateError(f"error calling index: index out of range: {i}", line)
            value = value.encode("utf-8")[i] if isinstance(value, str) else value[i]
        elif value is None or value is NO_VALUE:
            raise GoTemplateError("error calling index: index of untyped nil", line)
        else:
            raise GoTemplateError(f"error calling index: can't index item of type {type_name(value)}", line)
    return value


def _slice(args: Sequence[Any], line: int) -> Any:
    if not args:
        raise GoTemplateError("wrong number of args for slice: want at least 1 got 0", line)
    value, bounds = args[0], [_int_arg(b, "slice", line) for b in args[1:]]
    if len(bounds) > 3 or (len(bounds) == 3 and isinstance(value, str)):
        raise GoTemplateError(f"error calling slice: too many slice indexes: {len(bounds)}", line)
    if isinstance(value, str):
        data: Any = value.encode("utf-8")
    elif isinstance(value, (list, tuple)):
        data = list(value)
    else:
        raise GoTemplateError(f"error calling slice: can't slice item of type {type_name(value)}", line)
    lo = bounds[0] if bounds else 0
    hi = bounds[1] if len(bounds) > 1 else len(data)
    if not 0 <= lo <= hi <= len(data):
        raise GoTemplateError(f"error calling slice: index out of range: {hi if hi > len(data) else lo}",
                              line)
    part = data[lo:hi]
    return part.decode("utf-8", errors="replace") if isinstance(value, str) else part


def sprint(args: Sequence[Any]) -> str:
    """``fmt.Sprint``: a space between operands when neither is a string."""
    out: list[str] = []
    for k, arg in enumerate(args):
        if k and not isinstance(arg, str) and not isinstance(args[k - 1], str):
            out.append(" ")
        out.append(go_str(arg))
    return "".join(out)


_VERB = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+|\*))?([a-zA-Z%])")


def sprintf(template: str, args: Sequence[Any]) -> str:
    """``fmt.Sprintf`` for the verbs templates use: %s %v %d %q %t %f %g %e %x %X %c %%."""
    queue = list(args)
    used = 0

    def one(m: re.Match[str]) -> str:
        nonlocal used
        flags, width, prec, verb = m.group(1), m.group(2), m.group(3), m.group(4)
        if verb == "%":
            return "%"
        if used >= len(queue):
            return f"%!{verb}(MISSING)"
        value = queue[used]
        used += 1
        text = _verb(verb, value, prec)
        size = int(width) if width and width != "*" else 0
        if "-" in flags:
            return text.ljust(size)
        return text.rjust(size, "0" if "0" in flags and verb in "dfxXeg" else " ")

    out = _VERB.sub(one, template)
    if used < len(queue):
        extra = ", ".join(f"{type_name(v)}={go_str(v)}" for v in queue[used:])
        out += f"%!(EXTRA {extra})"
    return out


def _verb(verb: str, value: Any, prec: str | None) -> str:
    if verb in "sv":
        text = go_str(value)
        return text[: int(prec)] if prec and prec != "*" and verb == "s" else text
    if verb == "q":
        return json.dumps(go_str(value) if not isinstance(value, str) else value, ensure_ascii=False)
    if verb == "t" and isinstance(value, bool):
        return go_str(value)
    if verb == "d" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if verb in "feg" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return format(float(value), f".{prec or 6}{verb}")
    if verb in "xX" and isinstance(value, (int, str)) and not isinstance(value, bool):
        text = format(value, "x") if isinstance(value, int) else value.encode("utf-8").hex()
        return text.upper() if verb == "X" else text
    if verb == "c" and isinstance(value, int) and not isinstance(value, bool):
        return chr(value)
    return f"%!{verb}({type_name(value)}={go_str(value)})"


def _printf(args: Sequence[Any], line: int) -> str:
    if not args or not isinstance(args[0], str):
        raise GoTemplateError("error calling printf: the format must be a string", line)
    return sprintf(args[0], args[1:])


def _html(args: Sequence[Any], line: int) -> str:
    text = sprint(args)
    for a, b in (("&", "&amp;"), ("'", "&#39;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&#34;"),
                 ("\0", "\ufffd")):
        text = text.replace(a, b)
    return text


def to_json(value: Any) -> Any:
    """A value as ``encoding/json`` sees it (structs become objects of their fields)."""
    if isinstance(value, Struct):
        return {k: to_json(v) for k, v in value.fields.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return None if value is NO_VALUE else value


def _json(args: Sequence[Any], line: int) -> str:
    _need("json", args, 1, line)
    text = json.dumps(to_json(args[0]), ensure_ascii=False, separators=(",", ":"))
    # encoding/json escapes HTML-significant characters by default.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


BUILTINS: dict[str, Builtin] = {
    "not": lambda a, line: not is_true(_need("not", a, 1, line)[0]),
    "len": _len,
    "index": _index,
    "slice": _slice,
    "print": lambda a, line: sprint(a),
    "println": lambda a, line: " ".join(go_str(v) for v in a) + "\n",
    "printf": _printf,
    "eq": _eq,
    "ne": lambda a, line: not _eq(_need("ne", a, 2, line), line),
    "lt": _ordered("lt", lambda x, y: x < y),
    "le": _ordered("le", lambda x, y: x <= y),
    "gt": _ordered("gt", lambda x, y: x > y),
    "ge": _ordered("ge", lambda x, y: x >= y),
    "html": _html,
    "urlquery": lambda a, line: urllib.parse.quote_plus(sprint(a)),
    "json": _json,
    "currentDate": lambda a, line: datetime.date.today().isoformat(),
}
FUNCTIONS = frozenset(BUILTINS) | LAZY
