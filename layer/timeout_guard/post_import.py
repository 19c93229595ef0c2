"""Post-import hooks: run a function right after a given module is imported, never before.

The layer must not import awslambdaric or botocore itself (start-up cost, and the function's
own copy must be the one that loads). A finder placed first on ``sys.meta_path`` lets the
normal finders locate the module and wraps the loader so that, once the module has executed,
the hook receives the module object. Each hook runs once and is guarded.
"""

from __future__ import annotations

import logging
import sys

TYPE_CHECKING = False  # no typing import at start-up; annotations only
if TYPE_CHECKING:
    from typing import Any, Callable, Optional

    Hook = Callable[[Any], None]


_log = logging.getLogger("timeout_guard")


def _run(name: str, hook: Hook, module: Any) -> None:
    try:
        hook(module)
    except Exception as error:  # a failing hook must never break the function's import
        _log.debug("post-import hook for %s failed: %s", name, type(error).__name__)


class _HookedLoader:
    """Delegates to the real loader, then calls the hook with the executed module.

    The hook is used up only once a module has really executed: a ``find_spec`` probe, or an
    import that failed, leaves it in place for the real import.
    """

    def __init__(self, loader: Any, name: str, hooks: dict[str, Hook]) -> None:
        self._loader = loader
        self._name = name
        self._hooks = hooks

    def create_module(self, spec: Any) -> Any:
        create = getattr(self._loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: Any) -> None:
        module.__loader__ = self._loader  # the module sees its real loader
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self._loader.exec_module(module)
        hook = self._hooks.pop(self._name, None)
        if hook is not None:
            _run(self._name, hook, module)

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._loader, attribute)


class PostImportFinder:
    """A ``sys.meta_path`` finder that only ever intercepts the watched module names."""

    def __init__(self) -> None:
        self._hooks: dict[str, Hook] = {}
        self._searching: set[str] = set()

    def watch(self, name: str, hook: Hook) -> None:
        module = sys.modules.get(name)
        if module is not None:
            _run(name, hook, module)
        else:
            self._hooks[name] = hook

    def find_spec(self, fullname: str, path: Optional[Any] = None, target: Any = None) -> Any:
        hook = self._hooks.get(fullname)
        if hook is None or fullname in self._searching:
            return None
        self._searching.add(fullname)
        try:
            for finder in sys.meta_path:
                if finder is self:
                    continue
                find = getattr(finder, "find_spec", None)
                spec = find(fullname, path, target) if find is not None else None
                if spec is not None:
                    break
            else:
                return None
        finally:
            self._searching.discard(fullname)
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _HookedLoader(spec.loader, fullname, self._hooks)
        return spec


_finder: Optional[PostImportFinder] = None


def when_imported(name: str, hook: Hook) -> None:
    """Call ``hook(module)`` once ``name`` is imported (at once if it already is)."""
    global _finder
    if _finder is None:
        _finder = PostImportFinder()
        sys.meta_path.insert(0, _finder)
    _finder.watch(name, hook)
