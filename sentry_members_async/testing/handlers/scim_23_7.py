"""SCIM request validation as Sentry 23.7.1 words it (``Profile.scim_legacy_errors``):
src/sentry/scim/endpoints/members.py and teams.py.

Serializer errors reach the client as ``SCIMApiError(detail=json.dumps(errors))``:
the errors as compact JSON inside a SCIM error. Its DRF validates a list field's
items one by one and reports the first failing item's errors without an index
(``{"Operations": {"op": [...]}}``); the op's choice error has no full stop.
"""

from __future__ import annotations

import json
from typing import Any

from .common import EMAIL, Answer
from .scim import scim_error

__all__ = ["group_patch_ops_23_7", "invite_email_errors_23_7", "user_patch_ops_23_7"]


def _dumps(errors: dict[str, Any]) -> Answer:
    return scim_error(400, json.dumps(errors, separators=(",", ":")))


def _op_errors(op: Any, kinds: tuple[str, ...], value_required: bool) -> dict[str, list[str]]:
    """``SCIMPatchOperationSerializer`` / ``SCIMTeamPatchOperationSerializer``."""
    if not isinstance(op, dict):
        return {"non_field_errors": ["Invalid data. Expected a dictionary, but got str."]}
    errors: dict[str, list[str]] = {}
    kind = op.get("op")
    if kind is None:
        errors["op"] = ["This field is required."]
    elif str(kind).lower() not in kinds:
        errors["op"] = [f'"{str(kind).lower()}" is not a valid choice']
    if value_required:
        value = op.get("value")
        if "value" not in op:
            errors["value"] = ["This field is required."]
        elif not (
            isinstance(value, bool | dict)
            or (isinstance(value, str) and value.lower() in ("true", "false"))
        ):
            # ``OperationValue``: a boolean (or "true"/"false") or an object.
            errors["value"] = ["value must be a boolean or object"]
    return errors


def _operations(body: dict[str, Any], kinds: tuple[str, ...], value_required: bool) -> list[Any]:
    ops = body.get("Operations")
    if ops is None:
        raise _dumps({"Operations": ["This field is required."]})
    if not isinstance(ops, list):
        raise _dumps(
            {"Operations": [f'Expected a list of items but got type "{type(ops).__name__}".']}
        )
    for op in ops:
        if errors := _op_errors(op, kinds, value_required):
            raise _dumps({"Operations": errors})
    return ops


def user_patch_ops_23_7(body: dict[str, Any]) -> list[Any]:
    """``SCIMPatchRequestSerializer``: up to 100 ``replace`` operations with a value."""
    ops = body.get("Operations")
    if isinstance(ops, list) and len(ops) > 100:
        raise _dumps({"Operations": ["Ensure this field has no more than 100 elements."]})
    return _operations(body, ("replace",), value_required=True)


def group_patch_ops_23_7(body: dict[str, Any]) -> list[Any]:
    """``SCIMTeamPatchRequestSerializer``: ``schemas`` required; add, remove, replace."""
    if "schemas" not in body:
        raise _dumps({"schemas": ["This field is required."]})
    ops = _operations(body, ("add", "remove", "replace"), value_required=False)
    if len(ops) > 100:
        raise Answer(400, {"schemas": [SCIM_ERROR], "detail": TOO_MANY})
    return ops


def invite_email_errors_23_7(email: Any) -> None:
    """Users POST runs the invite serializer on ``userName``: its ``email`` errors."""
    if email is None:
        raise _dumps({"email": ["This field may not be null."]})
    if email == "":
        raise _dumps({"email": ["This field may not be blank."]})
    if not isinstance(email, str) or not EMAIL.match(email):
        raise _dumps({"email": ["Enter a valid email address."] * 2})
    if len(email) > 75:
        raise _dumps({"email": ["Ensure this field has no more than 75 characters."]})


SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
TOO_MANY = "Too many patch ops sent, limit is 100."
