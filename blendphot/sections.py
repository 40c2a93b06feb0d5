"""What every frozen settings object checks of the config section it is built from (the
``of`` class methods of each stage package's ``settings.py``)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping


def field_names(cls: type) -> list[str]:
    """The field names of a dataclass, in order (a settings object's config keys)."""
    return [field.name for field in dataclasses.fields(cls)]


def check_section_keys(
    what: str, section: Mapping, required: Iterable[str], allowed: Iterable[str] | None = None
) -> None:
    """ValueError ``"<what>: lacks a, b; has unknown c"`` naming the ``required`` keys that
    ``section`` lacks and the keys it holds beyond ``allowed`` (None: anything goes)."""
    missing = [name for name in required if name not in section]
    unknown = [] if allowed is None else sorted(set(section) - set(allowed))
    if missing or unknown:
        problems = [f"lacks {', '.join(missing)}"] if missing else []
        problems += [f"has unknown {', '.join(unknown)}"] if unknown else []
        raise ValueError(f"{what}: {'; '.join(problems)}")
