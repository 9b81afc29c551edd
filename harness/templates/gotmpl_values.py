"""Go values as text/template sees them: truthiness, printing (``fmt`` ``%v``), structs, missing keys.

Python stands in for Go's types: ``str``, ``bool``, ``int``, ``float``, ``None``
(nil), ``list`` (slices), ``dict`` (maps with string keys), :class:`Struct` (a
struct or pointer to one: a missing field is an error, not a missing key) and
:data:`NO_VALUE` (what a missing map key gives: printed ``<no value>``, false).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from harness.templates.gotmpl_lex import GoTemplateError


class _NoValue:
    """A missing map key (Go's invalid ``reflect.Value``): false, printed ``<no value>``."""

    _instance: _NoValue | None = None

    def __new__(cls) -> _NoValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "<no value>"


NO_VALUE = _NoValue()


@dataclass(frozen=True)
class Struct:
    """A Go struct value (``type_name`` for error messages); fields keep their declaration order."""

    type_name: str
    fields: Mapping[str, Any]
    pointer: bool = True  # printed &{...} like the *api.Message values Ollama passes


def is_true(value: Any) -> bool:
    """Go's ``isTrue``: false, 0, nil, no value and empty strings/slices/maps are false."""
    if value is None or value is NO_VALUE:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value != 0
    if isinstance(value, (str, list, tuple, dict)):
        return len(value) > 0
    return True  # structs (and pointers to them)


def kind(value: Any) -> str:
    """Go's ``basicKind`` for comparisons: bool, int, float, string, invalid (nil/no value) or other."""
    if value is None or value is NO_VALUE:
        return "invalid"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "other"


def type_name(value: Any) -> str:
    if isinstance(value, Struct):
        return ("*" if value.pointer else "") + value.type_name
    names = {bool: "bool", int: "int", float: "float64", str: "string", list: "[]interface {}",
             tuple: "[]interface {}", dict: "map[string]interface {}"}
    return names.get(type(value), "<nil>" if value is None or value is NO_VALUE else type(value).__name__)


def go_str(value: Any) -> str:
    """``fmt.Sprint`` of one value (what an action writes)."""
    if value is NO_VALUE:
        return "<no value>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, (int, str)):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[" + " ".join(go_str(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{go_str(k)}:{go_str(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, Struct):
        inner = " ".join(go_str(v) for v in value.fields.values())
        return ("&" if value.pointer else "") + "{" + inner + "}"
    return str(value)


def format_float(value: float) -> str:
    """Go's ``%v`` for a float64 (strconv 'g', shortest): exponent form when exp < -4 or exp >= 6."""
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if value == 0:
        return "0"
    exact = Decimal(repr(value))
    exp = exact.adjusted()
    if -4 <= exp < 6:
        text = format(exact, "f")
        return text.rstrip("0").rstrip(".") if "." in text else text
    digits = exact.as_tuple().digits
    mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])).rstrip("0") if len(digits) > 1 else "")
    mantissa = mantissa.rstrip(".")
    return f"{'-' if value < 0 else ''}{mantissa}e{'-' if exp < 0 else '+'}{abs(exp):02d}"


def field_of(value: Any, name: str, line: int) -> Any:
    """``value.Name`` with Go's rules: maps give NO_VALUE when the key is missing, structs error."""
    if isinstance(value, dict):
        return value.get(name, NO_VALUE)
    if isinstance(value, Struct):
        if name not in value.fields:
            raise GoTemplateError(f"can't evaluate field {name} in type {type_name(value)}", line)
        return value.fields[name]
    if value is None or value is NO_VALUE:
        raise GoTemplateError(f"nil pointer evaluating interface {{}}.{name}", line)
    raise GoTemplateError(f"can't evaluate field {name} in type {type_name(value)}", line)
