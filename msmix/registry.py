"""A name -> class registry: what ``msmix.models.create`` and ``msmix.mixing.create`` look names up in."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T", bound=type)


class Registry(Generic[T]):
    """Classes by name, filled by the ``register(name)`` class decorator.

    Example:
        >>> things = Registry("thing")
        >>> @things.register("a")
        ... class A: ...
        >>> things.get("a") is A, things.available()
        (True, ['a'])
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._classes: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        """Class decorator: file the class under ``name`` and set its ``name`` attribute."""

        def add(cls: T) -> T:
            if name in self._classes:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            cls.name = name
            self._classes[name] = cls
            return cls

        return add

    def unregister(self, name: str) -> None:
        """Remove a name (tests register throw-away classes)."""
        self._classes.pop(name, None)

    def available(self) -> list[str]:
        """The registered names, sorted."""
        return sorted(self._classes)

    def get(self, name: str) -> T:
        """The class registered as ``name``; a KeyError listing the known names otherwise."""
        if name not in self._classes:
            raise KeyError(f"unknown {self.kind} {name!r}; available: {', '.join(self.available())}")
        return self._classes[name]

    def __contains__(self, name: object) -> bool:
        return name in self._classes
