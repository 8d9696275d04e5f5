"""Structure functions written once per model, at import: the decode hot path.

Same outcome as cattrs' generated functions plus the ``extra`` step, with the
common cases inlined (a ``str`` field holding a ``str``, ``None`` for an
optional field, nested models called directly) and each object built without
``__init__``, every slot set once. Anything else goes through the hook cattrs
would have used, looked up once. :mod:`sentry_members_async.converter` wires
these into its converter; the detailed twin that names a bad field's path
still runs cattrs' own functions.
"""

from __future__ import annotations

import datetime as dt
import sys
import types
import typing
from collections.abc import Callable, Mapping
from typing import Any

import attrs
import cattrs

__all__ = ["camel", "generated_structure_fn", "json_key", "slot_setter"]


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def json_key(field: attrs.Attribute[Any]) -> str:
    key = field.metadata.get("json")
    return key if isinstance(key, str) else camel(field.name)


_MISSING = object()


def _not_a_mapping(cls: type, data: Any) -> TypeError:
    return TypeError(f"expected an object for {cls.__name__}, got {type(data).__name__}")


def generated_structure_fn(
    c: cattrs.Converter,
    cls: type,
    extra_name: str | None,
    generated: dict[type, Callable[[Any, Any], Any]],
) -> Callable[[Any, Any], Any]:
    """A structure function written for ``cls`` once, at import (the hot path).

    Same outcome as cattrs' generated function plus the ``extra`` step (the
    detailed twin still runs cattrs', to name the field path), but with the
    common cases inlined: a ``str`` field holding a ``str``, a ``bool`` holding
    a bool, ``None`` for an optional field, nested models called directly.
    Anything else goes through the hook cattrs would have used, looked up once
    here. The object is built without ``__init__`` (the models are frozen,
    slotted, without validators), every field set once.
    """
    fields = attrs.fields(attrs.resolve_types(cls))
    if any(f.validator or f.converter for f in fields) or hasattr(cls, "__attrs_post_init__"):
        raise TypeError(f"{cls.__name__}: validators and converters are not supported here")
    names: dict[str, Any] = {
        "_cls": cls,
        "_MISSING": _MISSING,
        "_Mapping": Mapping,
        "_not_a_mapping": _not_a_mapping,
        "_new": object.__new__,
        "_set": object.__setattr__,
    }
    lines = [
        "def structure(o, _=None):",
        "    if type(o) is not dict and not isinstance(o, _Mapping):",
        "        raise _not_a_mapping(_cls, o)",
        "    get = o.get",
        "    obj = _new(_cls)",
    ]
    known: list[str] = []
    for i, f in enumerate(fields):
        if f.name != extra_name:
            known.append(json_key(f))
            lines += _field_lines(c, cls, i, f, names, generated)
    if extra_name is not None:
        names["_known"] = frozenset(known)
        names["_set_extra"] = slot_setter(cls, extra_name)
        lines += [
            "    unknown = o.keys() - _known",
            "    _set_extra(obj, {k: o[k] for k in unknown} if unknown else {})",
        ]
    lines.append("    return obj")
    code = "\n".join(lines)
    exec(compile(code, f"<structure {cls.__name__}>", "exec"), names)  # noqa: S102
    function: Callable[[Any, Any], Any] = names["structure"]
    generated[cls] = function
    return function


def _field_lines(
    c: cattrs.Converter,
    cls: type,
    i: int,
    f: attrs.Attribute[Any],
    names: dict[str, Any],
    generated: dict[type, Callable[[Any, Any], Any]],
) -> list[str]:
    """The statements reading field number ``i`` from ``o`` and setting it on ``obj``."""
    key = json_key(f)
    kind = f.type
    names[f"_t{i}"] = kind
    names[f"_h{i}"] = c.get_structure_hook(kind)
    names[f"_s{i}"] = slot_setter(cls, f.name)
    fast = _fast_expression(kind, i, names, generated)
    if f.default is attrs.NOTHING:
        lines = [f"v = o[{key!r}]", *fast]
    elif _passes_fast_path(kind, f.default):
        # The default goes through the fast path unchanged: one lookup, no branch.
        names[f"_d{i}"] = f.default
        lines = [f"v = get({key!r}, _d{i})", *fast]
    else:
        lines = [
            f"v = get({key!r}, _MISSING)",
            "if v is _MISSING:",
            f"    {_default_expression(cls, i, f, names)}",
            "else:",
            *(f"    {line}" for line in fast),
        ]
    return [f"    {line}" for line in [*lines, f"_s{i}(obj, v)"]]


def _default_expression(cls: type, i: int, f: attrs.Attribute[Any], names: dict[str, Any]) -> str:
    """The statement giving ``v`` field ``i``'s default (a factory is called each time)."""
    default: Any = f.default
    if isinstance(default, attrs.Factory):  # type: ignore[arg-type]
        if default.takes_self:
            raise TypeError(f"{cls.__name__}.{f.name}: takes_self factories unsupported")
        names[f"_d{i}"] = default.factory
        return f"v = _d{i}()"
    names[f"_d{i}"] = default
    return f"v = _d{i}"


def slot_setter(cls: type, name: str) -> Callable[[Any, Any], None]:
    """The slot's own setter (a frozen class's ``__setattr__`` refuses; ``__init__`` uses this)."""
    for klass in cls.__mro__:
        descriptor = klass.__dict__.get(name)
        if descriptor is not None and hasattr(descriptor, "__set__"):
            setter: Callable[[Any, Any], None] = descriptor.__set__
            return setter

    def setter_(obj: Any, value: Any) -> None:
        object.__setattr__(obj, name, value)

    return setter_


def _passes_fast_path(kind: Any, default: Any) -> bool:
    """Whether :func:`_fast_expression`'s code leaves ``default`` as it is."""
    args = typing.get_args(kind)
    optional = typing.get_origin(kind) in (types.UnionType, typing.Union) and type(None) in args
    inner = next((a for a in args if a is not type(None)), None) if optional else kind
    if optional and len(args) == 2 and default is None:
        return True
    if inner is str:
        return type(default) is str
    if inner is bool:
        return default is True or default is False
    return False


def _fast_expression(
    kind: Any, i: int, names: dict[str, Any], generated: dict[type, Callable[[Any, Any], Any]]
) -> list[str]:
    """Statements turning ``v`` (present) into the field's value, fast cases first."""
    slow = f"v = _h{i}(v, _t{i})"
    args = typing.get_args(kind)
    optional = typing.get_origin(kind) in (types.UnionType, typing.Union) and type(None) in args
    inner = next((a for a in args if a is not type(None)), None) if optional else kind
    if optional and len(args) != 2:
        return [slow]
    if optional and not (inner in (str, bool, dt.datetime) or _is_id_type(inner)):
        # ``None`` stays ``None`` (as in cattrs' optional hook); anything else as ``inner``.
        return ["if v is not None:"] + [
            f"    {line}" for line in _fast_expression(inner, i, names, generated)
        ]
    none = "v is None or " if optional else ""
    otherwise = "elif v is not None:" if optional else "else:"
    if inner is str:
        return [f"if not ({none}type(v) is str):", f"    {slow}"]
    if inner is bool:
        return [f"if not ({none}v is True or v is False):", f"    {slow}"]
    if _is_id_type(inner):
        names[f"_c{i}"] = inner
        return ["if type(v) is str:", f"    v = _c{i}(v)", otherwise, f"    {slow}"]
    if inner is dt.datetime and sys.version_info >= (3, 11):
        # 3.11's fromisoformat reads the "Z" that the hook spells out for 3.10.
        names["_fromiso"] = dt.datetime.fromisoformat
        return ["if type(v) is str:", "    v = _fromiso(v)", otherwise, f"    {slow}"]
    if inner in generated:
        names[f"_g{i}"] = generated[inner]
        return [f"v = _g{i}(v)"]
    if typing.get_origin(kind) is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = args[0]
        if item in generated:
            names[f"_g{i}"] = generated[item]
            return [
                "if type(v) is list:",
                f"    v = tuple([_g{i}(e) for e in v])",
                "else:",
                f"    {slow}",
            ]
        return ["if type(v) is list and not v:", "    v = ()", "else:", f"    {slow}"]
    return [slow]


def _is_id_type(kind: Any) -> bool:
    """An id type of the models (``MemberId``, ``UserId``, ``TeamId``: ``str`` subclasses)."""
    return isinstance(kind, type) and issubclass(kind, str) and kind is not str
