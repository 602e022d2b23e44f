"""Tables of fields: checking a JSON object against one, and describing it in JSON Schema."""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from order_intake.domain.catalogue import ITEMS_EMPTY, ITEMS_TOO_MANY, MAX_ITEMS, blank, invalid
from order_intake.domain.fields import FAILED, Errors, Kind, fail

__all__ = ["Field", "check_fields", "is_blank", "items_kind", "object_kind", "object_schema"]


@dataclass(frozen=True, slots=True)
class Field:
    """One row of the reference page's table: a field's name, kind and requirement."""

    name: str
    kind: Kind
    required: bool = False
    description: str = ""


def is_blank(value: object) -> bool:
    """Missing, null, or a string that is empty or only whitespace."""
    return value is None or (isinstance(value, str) and not value.strip())


def check_fields(body: dict[Any, Any], prefix: str, fields: tuple[Field, ...], errors: Errors) -> dict[str, Any]:
    """Check `body`'s fields in table order; answer the normalised values of the valid ones."""
    values: dict[str, Any] = {}
    for field in fields:
        name = field.name
        value = body.get(name)
        if isinstance(value, str):
            value = value.strip()
            if not value:
                value = None
            elif "\x00" in value:  # PostgreSQL cannot store it; both backends must answer alike
                errors.append(invalid(prefix + name))
                continue
        if value is None:
            if field.required:
                errors.append(blank(prefix + name))
            continue
        value = field.kind.check(value, prefix + name, errors)
        if value is not FAILED:
            values[name] = value
    return values


def object_kind(fields: tuple[Field, ...], build: Callable[..., object]) -> Kind:
    """Make the kind of an object checked against `fields` and built into `build(**values)`."""

    def check(value: object, path: str, errors: Errors) -> object:
        if not isinstance(value, dict):
            return fail(errors, invalid(path))
        count = errors.count
        values = check_fields(value, path + ".", fields, errors)
        return build(**values) if errors.count == count else FAILED

    return Kind(check, object_schema(fields))


def items_kind(item: Kind) -> Kind:
    """Make the kind of the order_items array: 1 to MAX_ITEMS elements, each of kind `item`."""

    def check(value: object, path: str, errors: Errors) -> object:
        if not isinstance(value, list):
            return fail(errors, invalid(path))
        if not value:
            return fail(errors, ITEMS_EMPTY)
        if len(value) > MAX_ITEMS:  # the elements are not looked at: the answer would be huge
            return fail(errors, ITEMS_TOO_MANY)
        count = errors.count
        items = tuple([item.check(element, f"{path}[{index}]", errors) for index, element in enumerate(value)])
        return items if errors.count == count else FAILED

    return Kind(check, {"type": "array", "minItems": 1, "maxItems": MAX_ITEMS, "items": item.schema})


# Surrounding whitespace is stripped before any check; ECMA-262's \s is close enough to str.strip.
_NOT_BLANK: Final = r"\S"
_BLANK: Final = r"^\s*$"


def _field_schema(field: Field) -> dict[str, Any]:
    schema = dict(field.kind.schema)
    types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    # An optional field may be null or blank: it is then treated as absent.
    if field.kind.pattern is not None:
        schema["pattern"] = rf"^\s*(?:{field.kind.pattern}){'' if field.required else '?'}\s*$"
    elif field.required and "string" in types:
        schema["pattern"] = _NOT_BLANK
    elif not field.required and "string" not in types:
        schema["pattern"] = _BLANK
        types = [*types, "string"]
    if not field.required:
        schema["type"] = [*types, "null"]
    if field.description:
        schema["description"] = field.description
    return schema


def object_schema(fields: tuple[Field, ...]) -> dict[str, Any]:
    """Describe an object with these fields in JSON Schema; unknown fields are accepted (and ignored)."""
    return {
        "type": "object",
        "properties": {field.name: _field_schema(field) for field in fields},
        "required": [field.name for field in fields if field.required],
    }
