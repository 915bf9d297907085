"""Request bodies of /api/v1, checked against the request schema of their operation in
minutes/openapi.json before a view reads a field: the file that documents the API is the
one that checks it, so the two cannot drift apart.

Only what the file uses is understood: `type` (object, string, integer, boolean), `nullable`,
`enum`, `required`, `properties`, `minimum` / `maximum`, `oneOf` of such, and `$ref` to
components. Fields the schema does not name are ignored. The first problem found is the
answer: 422 with a message naming the field (`BodyError.field`).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from flask_babel import gettext as _

from core import errors

OPENAPI = Path(__file__).with_name("openapi.json")


class BodyError(errors.Invalid):
    """str(error) is the message, `field` the field it is about."""


@cache
def _spec() -> dict:
    return json.loads(OPENAPI.read_text(encoding="utf-8"))


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        node = _spec()
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    return schema


def request_schema(path: str, method: str) -> dict | None:
    """The JSON request schema of an operation (`/api/v1/items/{item_id}`, "patch")."""
    operation = _spec()["paths"].get(path, {}).get(method.lower(), {})
    content = operation.get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    return None if schema is None else _resolve(schema)


def check(data: dict, schema: dict) -> dict:
    """`data` (a JSON object) if it fits `schema`; else BodyError for the first misfit."""
    for name in schema.get("required", ()):
        if name not in data:
            raise BodyError(_("%(field)s is required.", field=name), name)
    for name, field in schema.get("properties", {}).items():
        if name in data:
            _check_value(data[name], _resolve(field), name)
    return data


def _fits(value, schema: dict) -> bool:
    kind = schema.get("type")
    if kind == "string":
        return isinstance(value, str)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    return True


def _type_message(schema: dict, name: str) -> str:
    kind = schema.get("type")
    if kind == "integer":
        return _("%(field)s must be a whole number.", field=name)
    if kind == "boolean":
        return _("%(field)s must be true or false.", field=name)
    if kind == "object":
        return _("%(field)s must be a JSON object.", field=name)
    return _("%(field)s must be text.", field=name)


def _check_value(value, schema: dict, name: str) -> None:
    if value is None:
        if not schema.get("nullable"):
            raise BodyError(_("%(field)s must not be null.", field=name), name)
        return
    if "oneOf" in schema:
        options = [_resolve(s) for s in schema["oneOf"]]
        fitting = next((s for s in options if _fits(value, s)), None)
        if fitting is None:
            raise BodyError(_type_message(options[0], name), name)
        schema = fitting
    elif not _fits(value, schema):
        raise BodyError(_type_message(schema, name), name)
    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(str(c) for c in schema["enum"])
        raise BodyError(
            _("%(field)s must be one of: %(choices)s.", field=name, choices=choices), name
        )
    low, high = schema.get("minimum"), schema.get("maximum")
    if (low is not None and value < low) or (high is not None and value > high):
        raise BodyError(
            _(
                "%(field)s must be a number from %(low)s to %(high)s.",
                field=name,
                low=low,
                high=high,
            ),
            name,
        )
    if schema.get("type") == "object":
        check(value, schema)
