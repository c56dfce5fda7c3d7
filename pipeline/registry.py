"""An explicit registry of engines, configured by dotted paths and loaded lazily.

Engines are expensive to build (PaddleOCR loads three networks), so each dotted
path is instantiated once per process and kept; `reset` is for tests.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._instances: dict[str, T] = {}
        self._lock = threading.Lock()

    def get(self, dotted_path: str, **options: Any) -> T:
        """The process-wide instance for "package.module.ClassName".

        Raises ImportError naming the path when it does not lead to a class.
        """
        with self._lock:
            instance = self._instances.get(dotted_path)
            if instance is None:
                instance = self._import(dotted_path)(**options)
                self._instances[dotted_path] = instance
            return instance

    def loaded(self) -> tuple[str, ...]:
        return tuple(self._instances)

    def reset(self) -> None:
        with self._lock:
            self._instances.clear()

    def _import(self, dotted_path: str) -> type[T]:
        module_path, _, class_name = dotted_path.rpartition(".")
        if not module_path:
            raise ImportError(f"{self.kind} {dotted_path!r} is not a dotted path")
        module = importlib.import_module(module_path)
        try:
            found: type[T] = getattr(module, class_name)
        except AttributeError:
            raise ImportError(
                f"{self.kind} {dotted_path!r}: {module_path} has no {class_name}"
            ) from None
        return found
