"""The targets possync knows, by name.

Every package under ``possync.targets`` whose ``__init__`` defines ``TARGET`` is a target; so is every
``Target`` published by another distribution under the ``possync.targets`` entry point group. Tests and
plugins may also ``register`` one directly. Nothing outside a target's own folder names a target: it asks
here.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from possync.targets.base.target import Target

ENTRY_POINT_GROUP = "possync.targets"
_registered: dict[str, Target] = {}


class UnknownTarget(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"unknown target {name!r} (known targets: {', '.join(target_names()) or 'none'})")


@cache
def _discovered() -> dict[str, Target]:
    import possync.targets

    found: dict[str, Target] = {}
    for module in pkgutil.iter_modules(possync.targets.__path__, prefix="possync.targets."):
        if not module.ispkg or module.name.endswith(".base"):
            continue
        target = getattr(importlib.import_module(module.name), "TARGET", None)
        if isinstance(target, Target):
            found[target.name] = target
    from importlib.metadata import entry_points

    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        target = entry_point.load()
        found[target.name] = target() if isinstance(target, type) else target
    return found


def register(target: Target) -> Target:
    """Make ``target`` known by its name (a target outside ``possync.targets``, e.g. in a test)."""
    if not target.name:
        raise ValueError(f"{type(target).__name__} has no name")
    _registered[target.name] = target
    return target


def unregister(name: str) -> None:
    _registered.pop(name, None)


def targets() -> dict[str, Target]:
    return {**_discovered(), **_registered}


def target_names() -> list[str]:
    return sorted(targets())


def get_target(name: str) -> Target:
    try:
        return targets()[name]
    except KeyError:
        raise UnknownTarget(name) from None
