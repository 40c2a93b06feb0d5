"""What every frozen settings object checks of the config section it is built from (the
``of`` class methods of each stage package's ``settings.py``)."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable, Mapping


def field_names(cls: type) -> list[str]:
    """The field names of a dataclass, in order (a settings object's config keys)."""
    return [field.name for field in dataclasses.fields(cls)]


@functools.cache
def schema_section_keys(path: str | None) -> frozenset[str]:
    """The keys the configuration schema names directly under the dotted ``path``
    (``"sky"``, ``"baseline.cold"``, ``"models.*"``); none for None."""
    if path is None:
        return frozenset()
    from blendphot.config import schema_keys

    depth = path.count(".") + 1
    return frozenset(
        key.rsplit(".", 1)[-1]
        for key in schema_keys()
        if key.startswith(f"{path}.") and key.count(".") == depth
    )


def check_section_keys(
    what: str,
    section: Mapping,
    required: Iterable[str],
    allowed: Iterable[str] | None = None,
    schema_path: str | None = None,
) -> None:
    """ValueError ``"<what>: lacks a, b; has unknown c"`` naming the ``required`` keys that
    ``section`` lacks and the keys it holds beyond ``allowed`` (None: anything goes) that the
    schema does not name at ``schema_path`` either: a key the schema gains (a new version's,
    with its default) is never refused by a settings object that does not read it."""
    missing = [name for name in required if name not in section]
    known = schema_section_keys(schema_path)
    unknown = [] if allowed is None else sorted(set(section) - set(allowed) - known)
    if missing or unknown:
        problems = [f"lacks {', '.join(missing)}"] if missing else []
        problems += [f"has unknown {', '.join(unknown)}"] if unknown else []
        raise ValueError(f"{what}: {'; '.join(problems)}")
