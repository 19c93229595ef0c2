"""Post-import hooks: run a function right after a given module is imported, never before.

The layer must not import awslambdaric or botocore itself (start-up cost, and the function's
own copy must be the one that loads). Each watched module is a package's module
(``awslambdaric.bootstrap``, ``botocore.session``): an entry first on ``sys.path_hooks`` makes,
for a folder named like one of those packages, the finder importlib would have made there, and
wraps the loader of a watched module's spec so that, once the module has executed, the hook
receives the module object. Each hook runs once and is guarded.

Why a path hook, not a finder on ``sys.meta_path``: importlib asks every meta-path finder about
every module it imports (about 6,000 instructions each: 2 M for an ``import boto3``, measured),
and calls the path hooks only once per new folder on an import path (a few dozen for boto3).

The same path hook makes the finder of the layer's own folder (``/opt/python``), where the
finder answers at once, from the folder's listing, for a name that nothing in the folder can
be. The layer's files put that folder on the function's ``sys.path`` (the runtime adds it when
it exists), ahead of the runtime's packages and the standard library, so every module the
function imports after the runtime's start-up is looked for there first: importlib's
``FileFinder`` spends about 10,000 instructions on each miss (a path join and a message per
file suffix before it looks at its listing): 3.4-3.8 M instructions for an ``import boto3``. The
answer is the same as ``FileFinder``'s: a module or package ``name`` can only be an entry
named ``name`` or ``name.<suffix>``; the listing is read again when the folder's time changes
(not looked at in a folder this process cannot write to, as Lambda's read-only ``/opt``) or
after ``importlib.invalidate_caches()``.
"""

from __future__ import annotations

import logging
import os
import sys

from .alarm import raised_in_the_function

TYPE_CHECKING = False  # no typing import at start-up; annotations only
if TYPE_CHECKING:
    from typing import Any, Callable, Optional

    Hook = Callable[[Any], None]


_log = logging.getLogger("timeout_guard")


def _run(name: str, hook: Hook, module: Any) -> None:
    try:
        hook(module)
    except Exception as error:  # a failing hook must never break the function's import ...
        if raised_in_the_function(error):
            raise  # ... but a SIGALRM handler's error, raised while it ran, is the function's
        _log.debug("post-import hook for %s failed: %s", name, type(error).__name__)


class _HookedLoader:
    """Delegates to the real loader, then calls the hook with the executed module.

    The hook is used up only once a module has really executed: a ``find_spec`` probe, or an
    import that failed, leaves it in place for the real import. So does an error a ``SIGALRM``
    handler raised while the hook ran (the guard's): the import then fails with it, as if the
    signal had come a moment earlier (importlib forgets the module), and the next import runs
    the hook.
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
            try:
                _run(self._name, hook, module)
            except BaseException:
                self._hooks.setdefault(self._name, hook)
                raise

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._loader, attribute)


class PackageWatcher:
    """A ``sys.path_hooks`` entry that watches modules of packages by their folder's name.

    For a folder named like a watched module's package, it returns the finder the path hooks
    after it make (its type unchanged, so ``pkgutil`` still lists the folder), with a
    ``find_spec`` that hooks the watched modules' loaders; for a listed folder (the layer's
    own), that finder with a ``find_spec`` that answers misses from the folder's listing. For
    any other folder it declines, as a path hook does, with ``ImportError``: importlib then
    asks the next hook.
    """

    def __init__(self) -> None:
        self._hooks: dict[str, Hook] = {}
        self._folders: set[str] = set()  # the last part of the watched modules' packages
        self._listed: set[str] = set()  # folders whose finder answers misses from its listing

    def answer_misses_from_listing(self, folder: str) -> None:
        """Have the finder of ``folder`` (as it is written on ``sys.path``) answer misses from
        the folder's listing (see the module's docstring)."""
        self._listed.add(folder)
        sys.path_importer_cache.pop(folder, None)  # a finder made before this is made again

    def watch(self, name: str, hook: Hook) -> None:
        module = sys.modules.get(name)
        if module is not None:
            _run(name, hook, module)
            return
        package = name.rpartition(".")[0]
        if not package:
            raise ValueError(f"{name} is not a package's module: it cannot be watched")
        self._hooks[name] = hook
        self._folders.add(package.rpartition(".")[2])
        # Folders of a package imported before this watch got their finders without it.
        for folder in getattr(sys.modules.get(package), "__path__", None) or ():
            sys.path_importer_cache.pop(folder, None)

    def __call__(self, path: str) -> Any:
        if path in self._listed:
            return _answering_misses_from_listing(self._next_finder(path))
        try:
            watched = bool(self._hooks) and os.path.basename(path) in self._folders
        except Exception:  # not a path this watcher can read: not one of its folders
            watched = False
        if not watched:
            raise ImportError("not a watched package's folder")
        finder = self._next_finder(path)
        find_spec = finder.find_spec

        def find_and_hook(fullname: str, target: Any = None) -> Any:
            spec = find_spec(fullname, target)
            hooked = spec is not None and fullname in self._hooks
            if hooked and hasattr(spec.loader, "exec_module"):
                spec.loader = _HookedLoader(spec.loader, fullname, self._hooks)
            return spec

        try:
            finder.find_spec = find_and_hook
        except (AttributeError, TypeError):  # a finder that takes no attributes: unwatched
            pass
        return finder

    def _next_finder(self, path: str) -> Any:
        """The finder the path hooks after this one make for ``path``."""
        hooks = list(sys.path_hooks)
        after = hooks[hooks.index(self) + 1 :] if self in hooks else hooks
        for make in after:
            try:
                return make(path)
            except ImportError:
                continue
        raise ImportError(f"no path hook takes {path!r}")


_CASE_BLIND = ("win", "cygwin", "darwin")  # where importlib may match names regardless of case


def _answering_misses_from_listing(finder: Any) -> Any:
    """``finder`` (a ``FileFinder``: its type unchanged) with a ``find_spec`` that returns None
    at once for a name no entry of its folder can be, and asks the finder otherwise.

    The listing is read again when the folder's time changes, or after
    ``importlib.invalidate_caches()``, as the finder reads its own; except that a folder this
    process could not write to when it was listed is not looked at again until then: Lambda
    mounts ``/opt`` read-only (and runs every process of the sandbox as the function's user), so
    its listing cannot change, and a ``stat`` at each miss (a system call and about 6,000
    instructions: 0.7 M of an ``import boto3``) would tell nothing. Left as it is where importlib
    matches names to files without regard to case (Windows, macOS): an entry's name would not
    tell there. Any error reading the folder: the finder answers, as without this.
    """
    path = getattr(finder, "path", None)
    if not isinstance(path, str) or not path or sys.platform.startswith(_CASE_BLIND):
        return finder
    find_spec = finder.find_spec
    # The names the folder's entries can be, its time when listed, whether it can change.
    listing: tuple[frozenset[str], Optional[int], bool] = (frozenset(), None, True)

    def find_spec_or_miss(fullname: str, target: Any = None) -> Any:
        nonlocal listing
        try:
            if listing[2]:
                mtime = os.stat(path).st_mtime_ns
                if mtime != listing[1]:
                    can_change = os.access(path, os.W_OK)  # before the listing it applies to
                    names = frozenset(entry.partition(".")[0] for entry in os.listdir(path))
                    listing = (names, mtime, can_change)
            if fullname.rpartition(".")[2] not in listing[0]:
                return None
        except Exception:  # a folder that cannot be read: the finder answers
            pass
        return find_spec(fullname, target)

    invalidate = getattr(finder, "invalidate_caches", None)

    def invalidate_caches() -> None:
        nonlocal listing
        listing = (frozenset(), None, True)
        if invalidate is not None:
            invalidate()

    try:
        finder.find_spec = find_spec_or_miss
        finder.invalidate_caches = invalidate_caches
    except (AttributeError, TypeError):  # a finder that takes no attributes: left as it is
        pass
    return finder


_watcher: Optional[PackageWatcher] = None


def _the_watcher() -> PackageWatcher:
    global _watcher
    if _watcher is None:
        _watcher = PackageWatcher()
        sys.path_hooks.insert(0, _watcher)
    return _watcher


def when_imported(name: str, hook: Hook) -> None:
    """Call ``hook(module)`` once the package's module ``name`` is imported (at once if it
    already is)."""
    _the_watcher().watch(name, hook)


def answer_misses_from_listing(folder: str) -> None:
    """Have the finder of ``folder``, a folder on ``sys.path``, answer misses from its listing."""
    _the_watcher().answer_misses_from_listing(folder)
