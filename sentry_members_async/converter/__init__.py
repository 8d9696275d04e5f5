"""The one cattrs converter: Sentry's JSON in and out of the models.

``converter.structure(payload, Member)`` works for users and tests. Hooks are
generated once per class, in dependency order, with ``detailed_validation``
off on the hot path; when a payload does not decode, :func:`decode` re-runs it
through a detailed twin only to name the field path, and raises
:class:`DecodeError` naming the endpoint.

Renames live here, not in the models: snake_case fields map to camelCase
keys (or the key in a field's ``metadata["json"]``). Unknown keys are kept in
each model's ``extra`` mapping and written back on ``unstructure``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override
from cattrs.v import format_exception

from ..errors import SentryError
from ..models import (
    Flags,
    Member,
    MemberId,
    OrgRole,
    ScimEmail,
    ScimGroup,
    ScimGroupMember,
    ScimName,
    ScimUser,
    Team,
    TeamId,
    TeamMembership,
    TeamRole,
    TeamRoleAssignment,
    User,
    UserEmail,
    UserId,
)
from .generated import generated_structure_fn, json_key, slot_setter

__all__ = ["DecodeError", "SentryConverter", "converter", "decode", "decode_list", "make_converter"]

T = TypeVar("T")

#: Every model, leaves first (hooks of nested classes exist before their parents').
MODELS: tuple[type, ...] = (
    UserEmail,
    User,
    Flags,
    TeamRoleAssignment,
    OrgRole,
    TeamRole,
    Member,
    Team,
    TeamMembership,
    ScimEmail,
    ScimName,
    ScimUser,
    ScimGroupMember,
    ScimGroup,
)


#: JSON keys a payload must carry (beyond the fields without a default). A
#: member without an e-mail would decode with an empty one and be acted on as
#: such. Sentry's member serializers always send both (``OrganizationMemberResponse``
#: in src/sentry/api/serializers/models/organization_member/response.py). ``name``
#: is not among them: the docs' examples and older payloads may leave it out,
#: and ``Member.name`` is ``""`` then.
REQUIRED_KEYS: dict[type, tuple[str, ...]] = {
    Member: ("id", "email"),
}

#: ``(field, fallback field)``: a payload without the field's key takes the
#: fallback's value, and one with neither key (or a null fallback) does not
#: decode. A member's ``orgRole`` falls back to the deprecated ``role``, which
#: Sentry serializes beside it ("Deprecated, use orgRole instead", base.py of
#: src/sentry/api/serializers/models/organization_member/) and which older
#: releases and the public docs' examples send alone.
FALLBACK_FIELDS: dict[type, tuple[tuple[str, str], ...]] = {
    Member: (("org_role", "role"),),
}


def _is_invite(data: Mapping[str, Any]) -> bool:
    """Whether a member payload is an invite (Sentry's ``is_pending``: no user yet).

    ``pending`` true, or an ``inviteStatus`` other than ``approved`` (an invite
    or join request, which is pending too). A payload that says neither is an
    accepted member.
    """
    pending = data.get("pending")
    if pending is True or (isinstance(pending, str) and pending.lower() in ("true", "1")):
        return True
    status = data.get("inviteStatus")
    return isinstance(status, str) and status != "approved"


#: Optional nested objects that Sentry sends as ``{}`` to mean "none", with where
#: it does: a pending invite's details carry ``"user": {}``
#: (``users_by_id.get(str(item.user_id), {})`` in src/sentry/api/serializers/models/
#: organization_member/expand/roles.py, seen on 23.7.1 for GET and PUT
#: ``members/{id}/``). Only there: an accepted member (``pending`` false) with
#: ``"user": {}`` is not an invite, and stays a :class:`DecodeError` at
#: ``$.user.id``, as does a non-empty user without ``id``.
EMPTY_MEANS_NONE: dict[type, tuple[tuple[str, Callable[[Mapping[str, Any]], bool]], ...]] = {
    Member: (("user", _is_invite),),
}


class _MissingField(ValueError):
    """A required key is absent (its message is shown as is)."""


def _format_exception(exc: BaseException, kind: Any) -> str:
    if isinstance(exc, _MissingField):
        return str(exc)
    return format_exception(exc, kind)


class DecodeError(SentryError, ValueError):
    """A response did not match the model: names the endpoint and the field path."""

    def __init__(self, message: str, *, endpoint: str | None, path: str | None) -> None:
        super().__init__(message)
        self.endpoint = endpoint
        self.path = path


def _parse_datetime(value: Any, _: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 string, got {type(value).__name__}")
    text = value[:-1] + "+00:00" if value.endswith("Z") else value
    return dt.datetime.fromisoformat(text)  # Python 3.10 needs the Z spelled out


def _format_datetime(value: dt.datetime) -> str:
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _structure_bool(value: Any, _: Any) -> bool:
    # Sentry types ``expired`` as a string in places: "true"/"false" must not be truthy text.
    if value is True or value is False:
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", ""):
        return value.lower() in ("true", "1")
    raise TypeError(f"expected a boolean, got {value!r:.40}")


def _structure_str(value: Any, _: Any) -> str:
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _structure_int(value: Any, _: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _optional(hook: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """``X | None`` without cattrs' generic union dispatch (hot path)."""

    def structure(value: Any, kind: Any) -> Any:
        return None if value is None else hook(value, kind)

    return structure


def _id_hook(cls: type[str]) -> Callable[[Any, Any], Any]:
    def structure(value: Any, _: Any) -> Any:
        if isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool)):
            return cls(value)
        raise TypeError(f"expected an id, got {type(value).__name__}")

    return structure


def _structure_mapping(value: Any, _: Any) -> Mapping[str, Any]:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"expected an object, got {type(value).__name__}")


def _register_model(
    c: cattrs.Converter, cls: type, generated: dict[type, Callable[[Any, Any], Any]]
) -> None:
    fields = attrs.fields(cls)
    extra_name = next((f.name for f in fields if f.metadata.get("extra")), None)
    overrides = {
        f.name: override(omit=True) if f.name == extra_name else override(rename=json_key(f))
        for f in fields
    }
    structure: Callable[[Any, Any], Any]
    if c.detailed_validation:
        structure = _cattrs_structure_fn(c, cls, extra_name, overrides)
    else:
        structure = generated_structure_fn(c, cls, extra_name, generated)
    structure = _with_payload_rules(cls, structure)

    unstructure_base: Callable[[Any], dict[str, Any]] = make_dict_unstructure_fn(
        cls,
        c,
        **overrides,  # type: ignore[arg-type]
    )

    def unstructure(obj: Any) -> dict[str, Any]:
        data: dict[str, Any] = unstructure_base(obj)
        if extra_name is not None:
            for key, value in getattr(obj, extra_name).items():
                data.setdefault(key, value)
        return data

    c.register_structure_hook(cls, structure)
    c.register_unstructure_hook(cls, unstructure)


def _cattrs_structure_fn(
    c: cattrs.Converter, cls: type, extra_name: str | None, overrides: dict[str, Any]
) -> Callable[[Any, Any], Any]:
    """cattrs' own structure function (the detailed twin uses it to name field paths)."""
    fields = attrs.fields(cls)
    base: Callable[[Any, Any], Any] = make_dict_structure_fn(
        cls,
        c,
        _cattrs_forbid_extra_keys=False,
        _cattrs_detailed_validation=c.detailed_validation,
        **overrides,
    )
    known = frozenset(json_key(f) for f in fields if f.name != extra_name)

    def structure(data: Any, _: Any) -> Any:
        if not isinstance(data, Mapping):
            raise TypeError(f"expected an object for {cls.__name__}, got {type(data).__name__}")
        obj = base(data, cls)
        if extra_name is not None:
            unknown = data.keys() - known
            if unknown:
                object.__setattr__(obj, extra_name, {k: data[k] for k in unknown})
        return obj

    return structure


def _with_payload_rules(
    cls: type, structure: Callable[[Any, Any], Any]
) -> Callable[[Any, Any], Any]:
    """``structure`` with ``cls``'s entries of :data:`REQUIRED_KEYS`,
    :data:`FALLBACK_FIELDS` and :data:`EMPTY_MEANS_NONE` applied (both converters
    use it, so the fast path and the detailed twin decide alike)."""
    required = REQUIRED_KEYS.get(cls, ())
    empty = EMPTY_MEANS_NONE.get(cls, ())
    by_name = {f.name: f for f in attrs.fields(cls)}
    fallbacks = [
        (json_key(by_name[own]), json_key(by_name[other]), other, slot_setter(cls, own))
        for own, other in FALLBACK_FIELDS.get(cls, ())
    ]
    if not (required or empty or fallbacks):
        return structure

    def checked(data: Any, kind: Any) -> Any:
        for key, applies in empty:
            value = data.get(key) if isinstance(data, Mapping) else None
            if isinstance(value, Mapping) and not value and applies(data):
                data = {**data, key: None}
        obj = structure(data, kind)  # a bad field inside is reported first, with its path
        for key in required:
            if key not in data:
                raise _MissingField(f"{cls.__name__} lacks the required field {key!r}")
        for key, other_key, other, set_field in fallbacks:
            if key not in data:
                value = getattr(obj, other)
                if value is None:
                    raise _MissingField(
                        f"{cls.__name__} lacks the required field {key!r} "
                        f"(nor has its deprecated {other_key!r})"
                    )
                set_field(obj, value)
        return obj

    return checked


class SentryConverter(cattrs.Converter):
    """The package's converter: :meth:`structure` raises :class:`DecodeError` with the path."""

    def structure(self, obj: Any, cl: Any) -> Any:
        try:
            return super().structure(obj, cl)
        except DecodeError:
            raise
        except RecursionError:
            raise _too_deep(cl, None) from None
        except Exception as exc:
            raise _explain(obj, cl, None, exc) from None


def make_converter(
    *, detailed_validation: bool = False, cls: type[cattrs.Converter] = cattrs.Converter
) -> cattrs.Converter:
    """A converter configured for the SDK's models (the package uses one of each kind)."""
    c = cls(detailed_validation=detailed_validation, forbid_extra_keys=False)
    c.register_structure_hook(dt.datetime, _parse_datetime)
    c.register_unstructure_hook(dt.datetime, _format_datetime)
    c.register_structure_hook(bool, _structure_bool)
    c.register_structure_hook(str, _structure_str)
    c.register_structure_hook(int, _structure_int)
    for kind, hook in (
        (str, _structure_str),
        (bool, _structure_bool),
        (int, _structure_int),
        (dt.datetime, _parse_datetime),
    ):
        c.register_structure_hook(kind | None, _optional(hook))  # type: ignore[arg-type, unused-ignore]
    for id_cls in (MemberId, UserId, TeamId):
        c.register_structure_hook(id_cls, _id_hook(id_cls))
        c.register_unstructure_hook(id_cls, str)
    mappings = (Mapping[str, Any], Mapping[str, bool], Mapping[str, Any] | None)
    c.register_structure_hook_func(lambda t: t in mappings[:2], _structure_mapping)
    generated: dict[type, Callable[[Any, Any], Any]] = {}
    for model in MODELS:
        _register_model(c, model, generated)
    return c


#: The converter of the package: ``converter.structure(payload, Member)``; a
#: payload that does not fit raises :class:`DecodeError` naming the field path.
converter = make_converter(cls=SentryConverter)
_explainer = make_converter(detailed_validation=True)


def _explain(data: Any, cls: Any, endpoint: str | None, exc: BaseException) -> DecodeError:
    name = getattr(cls, "__name__", None) or str(cls)
    where = f" from {endpoint}" if endpoint else ""
    try:
        _explainer.structure(data, cls)
    except Exception as detailed:  # the detailed twin names the path
        if isinstance(detailed, cattrs.BaseValidationError):
            messages = cattrs.transform_error(detailed, format_exception=_format_exception)
        else:
            messages = [f"{detailed} @ $"]
        first = messages[0] if messages else str(detailed)
        path = first.rsplit(" @ ", 1)[1] if " @ " in first else None
        return DecodeError(f"could not decode {name}{where}: {first}", endpoint=endpoint, path=path)
    return DecodeError(f"could not decode {name}{where}: {exc}", endpoint=endpoint, path=None)


def decode(data: Any, cls: type[T], *, endpoint: str | None = None) -> T:
    """``converter.structure(data, cls)``, raising :class:`DecodeError` on mismatch."""
    try:
        return converter.get_structure_hook(cls)(data, cls)  # type: ignore[no-any-return]
    except RecursionError:
        raise _too_deep(cls, endpoint) from None
    except Exception as exc:
        raise _explain(data, cls, endpoint, exc) from None


def _too_deep(cls: Any, endpoint: str | None) -> DecodeError:
    name = getattr(cls, "__name__", None) or str(cls)
    where = f" from {endpoint}" if endpoint else ""
    return DecodeError(
        f"could not decode {name}{where}: nested too deeply", endpoint=endpoint, path="$"
    )


def decode_list(data: Any, cls: type[T], *, endpoint: str | None = None) -> list[T]:
    """A JSON array of ``cls``, raising :class:`DecodeError` naming the item's index."""
    if not isinstance(data, list):
        raise DecodeError(
            f"could not decode a list of {cls.__name__}"
            + (f" from {endpoint}" if endpoint else "")
            + f": expected an array, got {type(data).__name__}",
            endpoint=endpoint,
            path="$",
        )
    structure = converter.get_structure_hook(cls)
    try:
        return [structure(item, cls) for item in data]
    except RecursionError:
        raise _too_deep(list[cls], endpoint) from None  # type: ignore[valid-type]
    except Exception as exc:
        raise _explain(data, list[cls], endpoint, exc) from None  # type: ignore[valid-type]
