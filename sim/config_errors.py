"""One line for a pydantic validation error: the dotted field path, what is allowed, what came.

Pydantic's own report is several lines per error with links and internal type tags; a user of
the CLI needs ``scenario.calls.kinds.fight.share: must be a number in [0, 1], got 1.5``.
"""

from __future__ import annotations

import re
import types
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from sim.provenance import bounds, item_metadata

_NUMBER_TYPES = {"int_type", "int_parsing", "int_from_float", "float_type", "float_parsing",
                 "finite_number", "greater_than_equal", "greater_than", "less_than_equal",
                 "less_than"}


def _range_text(rng) -> str:
    lo, hi = rng

    def text(v, none):
        if v is None:
            return none
        return str(v) if isinstance(v, int) else f"{v:g}"

    return f"[{text(lo, '-inf')}, {text(hi, 'inf')}]"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _unwrap(tp: Any) -> tuple[Any, list]:
    """The type inside Optional/Annotated, with any constraint metadata met on the way."""
    meta: list = []
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            args = typing.get_args(tp)
            tp, meta = args[0], meta + list(args[1:])
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) != 1:
                return tp, meta
            tp = args[0]
        else:
            return tp, meta


class _Leaf:
    """What the schema says about the place an error points at."""

    def __init__(self, path: str, tp: Any, meta: list, parent: type[BaseModel] | None):
        self.path, self.tp, self.meta, self.parent = path, tp, meta, parent


def _walk(root: type[BaseModel], loc: tuple) -> _Leaf:
    path, tp, meta, parent = "", root, [], None
    for item in loc:
        tp, more = _unwrap(tp)
        meta = meta + more
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if isinstance(item, str) and item in tp.model_fields:
                parent = tp
                info = tp.model_fields[item]
                tp, meta = info.annotation, list(info.metadata)
                path = f"{path}.{item}" if path else item
            continue      # a union tag or an unknown key: reported by the caller
        origin = typing.get_origin(tp)
        if origin is dict and not isinstance(item, int):
            tp, meta = typing.get_args(tp)[1], []
            path = f"{path}.{item}"
        elif origin is list and isinstance(item, int):
            tp, meta = typing.get_args(tp)[0], []
            path = f"{path}[{item}]"
        elif isinstance(item, int):
            path = f"{path}[{item}]"
    tp, more = _unwrap(tp)
    return _Leaf(path, tp, meta + more, parent)


def _kind_text(tp: Any, meta: list) -> str:
    rng = bounds(meta)
    where = f" in {_range_text(rng)}" if rng else ""
    if tp is bool:
        return "must be true or false"
    if tp is int:
        return f"must be an integer{where}"
    if tp is float:
        return f"must be a number{where}"
    if tp is str:
        return "must be a string"
    if typing.get_origin(tp) is typing.Literal:
        return f"must be one of {', '.join(map(str, typing.get_args(tp)))}"
    origin = typing.get_origin(tp)
    if origin is list:
        item, item_meta = _unwrap(typing.get_args(tp)[0])
        return f"must be a list of {_kind_text(item, item_meta + item_metadata(tp))[8:]}"
    if origin is dict or (isinstance(tp, type) and issubclass(tp, BaseModel)):
        return "must be a mapping"
    if origin in (typing.Union, types.UnionType):
        names = [getattr(a, "__name__", str(a)) for a in typing.get_args(tp)]
        if set(names) <= {"float", "str"}:
            return "must be a number or a text"
    return "has the wrong type"


def explain_validation(exc: ValidationError, root: type[BaseModel]) -> str:
    """The first error of `exc` (validating `root`) as one line."""
    return short_path(_explain(exc, root))


def short_path(message: str) -> str:
    """`message` with any very long key in its leading path cut (a key can be any text)."""
    path, sep, rest = message.partition(": ")
    if len(path) <= 200:
        return message
    path = re.sub(r"[^.\[\]]{41,}",
                  lambda m: f"{m.group()[:20]}...({len(m.group()):,} characters)", path)
    return f"{path[:400]}{sep}{rest}"


def _explain(exc: ValidationError, root: type[BaseModel]) -> str:
    err = exc.errors(include_url=False)[0]
    loc, kind, value = tuple(err["loc"]), err["type"], err.get("input")
    leaf = _walk(root, loc)
    error = (err.get("ctx") or {}).get("error")
    if kind == "value_error" and error is not None and hasattr(error, "field"):
        path = f"{leaf.path}.{error.field}" if leaf.path else error.field
        return f"{path}: {error.message}"
    if kind == "value_error":
        return f"{leaf.path}: {str(error or err['msg']).removeprefix('Value error, ')}"
    if kind == "extra_forbidden":
        key = loc[-1]
        path = f"{leaf.path}.{key}" if leaf.path else str(key)
        allowed = ", ".join(leaf.tp.model_fields) if isinstance(leaf.tp, type) and issubclass(
            leaf.tp, BaseModel) else ""
        return f"{path}: unknown key; allowed keys here: {allowed}"
    if kind == "missing":
        return f"{leaf.path}: required"
    if kind in ("string_too_long", "string_too_short"):
        limit = dict(err.get("ctx") or {})
        for m in leaf.meta:     # the error gives only the bound it broke; say both
            for name in ("min_length", "max_length"):
                if getattr(m, name, None) is not None:
                    limit.setdefault(name, getattr(m, name))
        return (f"{leaf.path}: must be a text of {limit.get('min_length', 0)} to "
                f"{limit.get('max_length', '...')} characters, got {len(str(value))}")
    if kind in _NUMBER_TYPES or kind.endswith("_type") or kind == "literal_error":
        text = _kind_text(leaf.tp, leaf.meta)
        if kind == "finite_number":     # NaN or inf where a number goes
            text = text.replace("must be a number", "must be a finite number", 1)
        return f"{leaf.path}: {text}, got {_show(value)}"
    return f"{leaf.path}: {err['msg']}, got {_show(value)}"


MAX_DEPTH = 12   # the schema's deepest leaf is 5 levels down; a timeline event's list is 6


def plain_values(value: Any, root: type[BaseModel] | None = None) -> Any:
    """A copy of a plain config (dicts, lists, numbers, text) that pydantic or OmegaConf can
    take, or ``ConfigError`` naming the first value that cannot be.

    numpy scalars and arrays become the Python numbers and lists they hold (exactly); tuples
    become lists; keys must be text; anything else (Decimal, sets, objects, ...) is refused,
    as is nesting deeper than ``MAX_DEPTH`` (which also catches a dict that contains itself).
    """
    return _plain(value, (), root)


def _dotted(loc: tuple) -> str:
    out = ""
    for item in loc:
        out += f"[{item}]" if isinstance(item, int) else (f".{item}" if out else str(item))
    return out or "config"


def _plain(value: Any, loc: tuple, root: type[BaseModel] | None) -> Any:
    from sim.config import ConfigError

    if len(loc) > MAX_DEPTH:
        raise ConfigError(short_path(f"{_dotted(loc[:MAX_DEPTH + 1])}: nested too deeply (a "
                                     f"config is at most {MAX_DEPTH} levels deep)"))
    if value is None or isinstance(value, (bool, int, float, str)):
        # numpy's float64 is a float subclass that OmegaConf refuses: hand on a real float.
        return value if type(value) in (bool, int, float, str) or value is None else \
            _builtin(value)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConfigError(short_path(f"{_dotted(loc)}: keys must be text, got "
                                             f"{_show(key)} ({type(key).__name__})"))
            out[key] = _plain(item, (*loc, key), root)
        return out
    if isinstance(value, (list, tuple)):
        return [_plain(item, (*loc, i), root) for i, item in enumerate(value)]
    numpy = _numpy_value(value)
    if numpy is not _NOT_NUMPY:
        return _plain(numpy, loc, root)
    raise ConfigError(short_path(f"{_dotted(loc)}: {_expected(loc, root)}, got "
                                 f"{_show(value)} ({type(value).__name__})"))


_NOT_NUMPY = object()


def _numpy_value(value: Any) -> Any:
    """The Python value a numpy scalar or array holds (``.item()``, ``.tolist()``)."""
    module = type(value).__module__ or ""
    if module.split(".")[0] != "numpy":
        return _NOT_NUMPY
    if hasattr(value, "tolist") and getattr(value, "ndim", 0) > 0:
        return value.tolist()
    return value.item() if hasattr(value, "item") else _NOT_NUMPY


def _builtin(value: Any) -> Any:
    for tp in (bool, int, float, str):
        if isinstance(value, tp):
            return tp(value)
    return value


def _expected(loc: tuple, root: type[BaseModel] | None) -> str:
    """What the schema wants at `loc` ("must be a number in [0, 1]"), or a generic hint."""
    if root is not None:
        leaf = _walk(root, loc)
        if leaf.path == _dotted(loc):
            text = _kind_text(leaf.tp, leaf.meta)
            if text != "has the wrong type":
                return text
    return "must be a number, text, true/false, a list or a mapping"
