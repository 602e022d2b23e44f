"""A small JSON Schema (2020-12) validator for the keywords OpenAPI documents use.

The venv has no `jsonschema`; this checks real answers against the served OpenAPI document. It refuses
any keyword it does not know, so that a schema it cannot judge fails loudly instead of passing.
"""

import datetime as dt
import re
import uuid
from decimal import Decimal
from typing import Any

# Keywords that only describe: nothing to check.
_ANNOTATIONS = frozenset(
    {
        "title",
        "description",
        "examples",
        "example",
        "default",
        "$comment",
        "deprecated",
        "readOnly",
        "writeOnly",
        "contentMediaType",
        "contentEncoding",
        "$schema",
        "$id",
        "$defs",
        "discriminator",
        "externalDocs",
        "xml",
    }
)
_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,),
    "array": (list,),
    "string": (str,),
    "integer": (int,),
    "number": (int, float, Decimal),
    "boolean": (bool,),
    "null": (type(None),),
}


def _parses(parse: Any, value: str) -> bool:
    try:
        parse(value)
    except ValueError:
        return False
    return True


_FORMATS = {
    "uuid": lambda v: _parses(uuid.UUID, v),
    "date": lambda v: re.fullmatch(r"\d{4}-\d{2}-\d{2}", v) is not None and _parses(dt.date.fromisoformat, v),
    "date-time": lambda v: "T" in v.upper() and _parses(dt.datetime.fromisoformat, v.replace("Z", "+00:00")),
}


class SchemaError(AssertionError):
    """The value does not conform (or the schema uses a keyword this validator does not know)."""


class Validator:
    """Validates JSON values against schemas whose `$ref`s point into one document."""

    def __init__(self, document: dict[str, Any]) -> None:
        self._document = document

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        """Follow a `$ref` chain to the schema it names."""
        while "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/"):
                raise SchemaError(f"unsupported $ref {ref}")
            target: Any = self._document
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            extra = {k: v for k, v in schema.items() if k != "$ref" and k not in _ANNOTATIONS}
            schema = {**target, **extra} if extra else target
        return schema

    def validate(self, value: Any, schema: dict[str, Any] | bool, path: str = "$") -> None:
        """Raise SchemaError naming the first place where `value` does not conform."""
        if schema is True:
            return
        if schema is False:
            raise SchemaError(f"{path}: no value is allowed here")
        schema = self.resolve(schema)
        for keyword, rule in schema.items():
            if keyword in _ANNOTATIONS or (keyword == "format" and rule not in _FORMATS):
                continue
            check = getattr(self, "_" + keyword.replace("$", ""), None)
            if check is None:
                raise SchemaError(f"{path}: this validator does not know the keyword {keyword!r}")
            check(value, rule, schema, path)

    def _fail(self, path: str, what: str, value: Any) -> None:
        raise SchemaError(f"{path}: {what} (got {value!r:.200})")

    def _type(self, value: Any, rule: str | list[str], _: dict[str, Any], path: str) -> None:
        names = [rule] if isinstance(rule, str) else rule
        for name in names:
            if isinstance(value, _TYPES[name]) and not (isinstance(value, bool) and name in {"integer", "number"}):
                return
            if name in {"integer", "number"} and isinstance(value, Decimal) and value == value.to_integral_value():
                return
        self._fail(path, f"not of type {rule}", value)

    def _enum(self, value: Any, rule: list[Any], _: dict[str, Any], path: str) -> None:
        if not any(value == option and type(value) is type(option) for option in rule):
            self._fail(path, f"not one of {rule}", value)

    def _const(self, value: Any, rule: Any, schema: dict[str, Any], path: str) -> None:
        self._enum(value, [rule], schema, path)

    def _format(self, value: Any, rule: str, _: dict[str, Any], path: str) -> None:
        if isinstance(value, str) and not _FORMATS[rule](value):
            self._fail(path, f"not a {rule}", value)

    def _properties(self, value: Any, rule: dict[str, Any], _: dict[str, Any], path: str) -> None:
        if isinstance(value, dict):
            for name, sub in rule.items():
                if name in value:
                    self.validate(value[name], sub, f"{path}.{name}")

    def _required(self, value: Any, rule: list[str], _: dict[str, Any], path: str) -> None:
        if isinstance(value, dict):
            missing = [name for name in rule if name not in value]
            if missing:
                self._fail(path, f"missing required {missing}", value)

    def _additionalProperties(self, value: Any, rule: Any, schema: dict[str, Any], path: str) -> None:  # noqa: N802
        if isinstance(value, dict):
            known = set(schema.get("properties", {}))
            patterns = [re.compile(p) for p in schema.get("patternProperties", {})]
            for name, item in value.items():
                if name not in known and not any(p.search(name) for p in patterns):
                    self.validate(item, rule, f"{path}.{name}")

    def _patternProperties(self, value: Any, rule: dict[str, Any], _: dict[str, Any], path: str) -> None:  # noqa: N802
        if isinstance(value, dict):
            for pattern, sub in rule.items():
                for name, item in value.items():
                    if re.search(pattern, name):
                        self.validate(item, sub, f"{path}.{name}")

    def _propertyNames(self, value: Any, rule: dict[str, Any], _: dict[str, Any], path: str) -> None:  # noqa: N802
        if isinstance(value, dict):
            for name in value:
                self.validate(name, rule, f"{path}.<key {name}>")

    def _maxProperties(self, value: Any, rule: int, _: dict[str, Any], path: str) -> None:  # noqa: N802
        if isinstance(value, dict) and len(value) > rule:
            self._fail(path, f"more than {rule} properties", value)

    def _minProperties(self, value: Any, rule: int, _: dict[str, Any], path: str) -> None:  # noqa: N802
        if isinstance(value, dict) and len(value) < rule:
            self._fail(path, f"fewer than {rule} properties", value)

    def _items(self, value: Any, rule: dict[str, Any] | bool, schema: dict[str, Any], path: str) -> None:
        if isinstance(value, list):
            start = len(schema.get("prefixItems", []))
            for index, item in enumerate(value[start:], start):
                self.validate(item, rule, f"{path}[{index}]")

    def _prefixItems(self, value: Any, rule: list[Any], _: dict[str, Any], path: str) -> None:  # noqa: N802
        if isinstance(value, list):
            for index, (item, sub) in enumerate(zip(value, rule, strict=False)):
                self.validate(item, sub, f"{path}[{index}]")

    def _minItems(self, value: Any, rule: int, _: dict[str, Any], path: str) -> None:  # noqa: N802
        if isinstance(value, list) and len(value) < rule:
            self._fail(path, f"fewer than {rule} items", value)

    def _maxItems(self, value: Any, rule: int, _: dict[str, Any], path: str) -> None:  # noqa: N802
        if isinstance(value, list) and len(value) > rule:
            self._fail(path, f"more than {rule} items", value)

    def _minLength(self, value: Any, rule: int, _: dict[str, Any], path: str) -> None:  # noqa: N802
        if isinstance(value, str) and len(value) < rule:
            self._fail(path, f"shorter than {rule}", value)

    def _maxLength(self, value: Any, rule: int, _: dict[str, Any], path: str) -> None:  # noqa: N802
        if isinstance(value, str) and len(value) > rule:
            self._fail(path, f"longer than {rule}", value)

    def _pattern(self, value: Any, rule: str, _: dict[str, Any], path: str) -> None:
        if isinstance(value, str) and not re.search(rule, value):
            self._fail(path, f"does not match {rule}", value)

    def _minimum(self, value: Any, rule: float, _: dict[str, Any], path: str) -> None:
        if _is_number(value) and value < rule:
            self._fail(path, f"less than {rule}", value)

    def _maximum(self, value: Any, rule: float, _: dict[str, Any], path: str) -> None:
        if _is_number(value) and value > rule:
            self._fail(path, f"more than {rule}", value)

    def _exclusiveMinimum(self, value: Any, rule: float, _: dict[str, Any], path: str) -> None:  # noqa: N802
        if _is_number(value) and value <= rule:
            self._fail(path, f"not more than {rule}", value)

    def _exclusiveMaximum(self, value: Any, rule: float, _: dict[str, Any], path: str) -> None:  # noqa: N802
        if _is_number(value) and value >= rule:
            self._fail(path, f"not less than {rule}", value)

    def _anyOf(self, value: Any, rule: list[Any], _: dict[str, Any], path: str) -> None:  # noqa: N802
        if not any(self._conforms(value, sub, path) for sub in rule):
            self._fail(path, "matches none of anyOf", value)

    def _oneOf(self, value: Any, rule: list[Any], _: dict[str, Any], path: str) -> None:  # noqa: N802
        if sum(self._conforms(value, sub, path) for sub in rule) != 1:
            self._fail(path, "does not match exactly one of oneOf", value)

    def _allOf(self, value: Any, rule: list[Any], _: dict[str, Any], path: str) -> None:  # noqa: N802
        for sub in rule:
            self.validate(value, sub, path)

    def _not(self, value: Any, rule: Any, _: dict[str, Any], path: str) -> None:
        if self._conforms(value, rule, path):
            self._fail(path, "matches a schema it must not", value)

    def _conforms(self, value: Any, schema: Any, path: str) -> bool:
        try:
            self.validate(value, schema, path)
        except SchemaError as exc:
            if "does not know the keyword" in str(exc):
                raise
            return False
        return True


def _is_number(value: object) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)
