"""Validating what files declare before anything is built from it.

Every parser of a user file (model metadata, model settings, trajectories, latents,
sessions, clip recipes) describes the JSON it accepts as a pydantic model with bounds, and
calls :func:`validate`: a value of the wrong type, out of range or an unknown field becomes
one line naming the file and the field, never a traceback.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from explorer.errors import ExplorerError

Schema = TypeVar("Schema", bound=BaseModel)

MAX_JSON_BYTES = 8 << 20
"""The largest JSON document (metadata, settings, session state, clip recipe) any file may
hold. A clip recipe lists its probe keyframes' latents: about 330 KB each for a 512 px
Stable Diffusion VAE, so this allows some twenty of them."""

MAX_JSON_DEPTH = 32
"""The deepest nesting of lists and tables any of the app's JSON documents needs."""


class Strict(BaseModel):
    """A closed record: unknown fields are refused, nothing is coerced, values are frozen."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Open(BaseModel):
    """A record that keeps fields it does not know (written by newer or other tools)."""

    model_config = ConfigDict(extra="allow", strict=True, frozen=True)


def validate(
    schema: type[Schema],
    data: Any,
    source: str | os.PathLike[str],
    error: type[ExplorerError] = ExplorerError,
    what: str = "",
) -> Schema:
    """``data`` as ``schema``, or ``error`` with one line: ``SOURCE: WHAT.FIELD: problem``."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        message = describe_validation(exc, what)
        first = exc.errors(include_url=False)[0]
        if first["type"] == "extra_forbidden" and len(first["loc"]) == 1:
            message += f" (the fields are {', '.join(schema.model_fields)})"
        raise error(f"{os.fspath(source)}: {message}") from None


def describe_validation(exc: ValidationError, prefix: str = "") -> str:
    """The first problem of a pydantic error, as ``field.path: message``."""
    first = exc.errors(include_url=False)[0]
    location = ".".join(str(part) for part in (prefix, *first["loc"]) if part != "")
    message = first["msg"].removeprefix("Value error, ")
    if first["type"] == "extra_forbidden":
        message = "unknown field"
    return f"{location}: {message}" if location else message


def parse_json(
    text: str | bytes, source: str, error: type[ExplorerError] = ExplorerError
) -> Any:
    """Parse a JSON document of at most :data:`MAX_JSON_BYTES` and :data:`MAX_JSON_DEPTH`
    levels; anything else is ``error`` with one line starting with ``source``."""
    if len(text) > MAX_JSON_BYTES:
        raise error(f"{source}: JSON document larger than {MAX_JSON_BYTES:,} bytes")
    try:
        document = json.loads(text)
    except RecursionError:
        raise error(f"{source}: JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise error(f"{source}: not readable JSON ({exc})") from None
    if _depth(document) > MAX_JSON_DEPTH:
        raise error(f"{source}: JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return document


def _depth(document: Any) -> int:
    """Nesting depth of lists and tables, walked without recursion."""
    deepest, pending = 0, [(document, 1)]
    while pending:
        value, level = pending.pop()
        children = value.values() if isinstance(value, dict) else value
        if isinstance(value, (dict, list)):
            deepest = max(deepest, level)
            pending.extend((child, level + 1) for child in children)
    return deepest


# Bounded building blocks for schemas: no field can hold megabytes or overflow a float.
Text = Annotated[str, Field(max_length=4096)]
"""A path, a name, an identity or a message."""
Name = Annotated[str, Field(min_length=1, max_length=64)]
"""A key or a choice (``"slerp"``, ``"pca"``)."""
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]
BoundedInt = Annotated[int, Field(ge=-(2**53), le=2**53)]
"""An integer a float64 (and so Qt and numpy) holds exactly."""
Scalar = bool | BoundedInt | FiniteFloat | Text | None
Settings = Annotated[dict[Name, Scalar], Field(max_length=64)]
"""A flat table of settings (interpolation, export): at most 64 scalar values."""
