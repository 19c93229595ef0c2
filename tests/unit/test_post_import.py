"""Post-import hooks (``timeout_guard.post_import``), in process, with real packages on disk
imported by importlib."""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import pkgutil
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from locallambda.layers import make_read_only, make_writable, seal, unseal
from timeout_guard import LambdaTimeoutError
from timeout_guard.post_import import PackageWatcher


@pytest.fixture
def watcher(tmp_path: Path, monkeypatch: Any) -> Any:
    """A watcher first on a copy of ``sys.path_hooks``; ``tmp_path`` on ``sys.path``; the
    packages made here are forgotten afterwards."""
    made = PackageWatcher()
    monkeypatch.setattr(sys, "path_hooks", [made, *sys.path_hooks])
    monkeypatch.setattr(sys, "path_importer_cache", dict(sys.path_importer_cache))
    monkeypatch.syspath_prepend(str(tmp_path))
    before = set(sys.modules)
    yield made
    for name in set(sys.modules) - before:
        del sys.modules[name]


def package(root: Path, name: str, modules: dict[str, str]) -> Path:
    folder = root / name
    folder.mkdir()
    (folder / "__init__.py").write_text("")
    for module, source in modules.items():
        (folder / f"{module}.py").write_text(source)
    return folder


def test_the_hook_gets_the_executed_module_once_and_not_on_a_probe(
    watcher: Any, tmp_path: Path
) -> None:
    package(tmp_path, "watched_pkg", {"session": "VALUE = 1\n", "other": ""})
    seen: list[Any] = []
    watcher.watch("watched_pkg.session", seen.append)
    assert importlib.util.find_spec("watched_pkg.session") is not None  # a probe only
    other = importlib.util.find_spec("watched_pkg.other")
    assert other is not None and type(other.loader).__name__ == "SourceFileLoader"  # unhooked
    assert seen == []
    module = importlib.import_module("watched_pkg.session")
    assert seen == [module]
    assert module.VALUE == 1
    assert type(module.__loader__).__name__ == "SourceFileLoader"  # its real loader
    importlib.reload(module)
    assert seen == [module]  # once only


def test_a_failed_import_leaves_the_hook_for_the_next_one(watcher: Any, tmp_path: Path) -> None:
    folder = package(tmp_path, "failing_pkg", {"session": "raise ValueError('not yet')\n"})
    seen: list[Any] = []
    watcher.watch("failing_pkg.session", seen.append)
    with pytest.raises(ValueError, match="not yet"):
        importlib.import_module("failing_pkg.session")
    assert seen == []
    (folder / "session.py").write_text("VALUE = 2\n")
    importlib.invalidate_caches()
    assert seen == [importlib.import_module("failing_pkg.session")]


def test_the_watcher_is_asked_once_per_folder_not_for_every_import(
    watcher: Any, tmp_path: Path
) -> None:
    """Why a path hook and not a finder on ``sys.meta_path``: importlib asks a meta-path
    finder about every import, a path hook only about each new folder."""
    package(tmp_path, "big_pkg", {f"m{i}": "" for i in range(20)})
    package(tmp_path, "watched_two", {"session": ""})
    asked: list[str] = []
    original = PackageWatcher.__call__

    def spy(self: Any, path: str) -> Any:
        asked.append(Path(path).name)
        return original(self, path)

    watcher.watch("watched_two.session", lambda module: None)
    PackageWatcher.__call__ = spy  # type: ignore[method-assign]
    try:
        for i in range(20):
            importlib.import_module(f"big_pkg.m{i}")
        importlib.import_module("watched_two.session")
    finally:
        PackageWatcher.__call__ = original  # type: ignore[method-assign]
    assert asked == [tmp_path.name, "big_pkg", "watched_two"]  # sys.path's new folder too
    assert not any(isinstance(finder, PackageWatcher) for finder in sys.meta_path)


def test_a_package_imported_before_the_watch_still_gets_its_module_hooked(
    watcher: Any, tmp_path: Path
) -> None:
    package(tmp_path, "early_pkg", {"first": "", "session": ""})
    importlib.import_module("early_pkg.first")  # its folder's finder is made without the watch
    seen: list[Any] = []
    watcher.watch("early_pkg.session", seen.append)
    assert seen == [importlib.import_module("early_pkg.session")]


def test_a_module_imported_already_gets_the_hook_at_once(watcher: Any, tmp_path: Path) -> None:
    package(tmp_path, "done_pkg", {"session": ""})
    module = importlib.import_module("done_pkg.session")
    seen: list[Any] = []
    watcher.watch("done_pkg.session", seen.append)
    assert seen == [module]


def test_the_watched_folder_keeps_its_finder_type(watcher: Any, tmp_path: Path) -> None:
    """``pkgutil`` lists a package's modules through its folder's finder's type."""
    package(tmp_path, "listed_pkg", {"session": "", "other": ""})
    watcher.watch("listed_pkg.session", lambda module: None)
    listed = importlib.import_module("listed_pkg")
    finder = pkgutil.get_importer(listed.__path__[0])
    assert type(finder).__name__ == "FileFinder"
    assert sorted(info.name for info in pkgutil.iter_modules(listed.__path__)) == [
        "other",
        "session",
    ]


def test_a_package_in_a_zip_archive_is_watched_too(watcher: Any, tmp_path: Path) -> None:
    archive = tmp_path / "packages.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("zipped_pkg/__init__.py", "")
        zipped.writestr("zipped_pkg/session.py", "VALUE = 4\n")
    sys.path.insert(0, str(archive))
    try:
        seen: list[Any] = []
        watcher.watch("zipped_pkg.session", seen.append)
        module = importlib.import_module("zipped_pkg.session")
        assert seen == [module]
        assert module.VALUE == 4
    finally:
        sys.path.remove(str(archive))


def test_a_failing_hook_does_not_break_the_import(watcher: Any, tmp_path: Path) -> None:
    package(tmp_path, "hooked_pkg", {"session": "VALUE = 3\n"})

    def broken(module: Any) -> None:
        raise RuntimeError("the hook's own bug")

    watcher.watch("hooked_pkg.session", broken)
    assert importlib.import_module("hooked_pkg.session").VALUE == 3


def test_the_guards_error_while_a_hook_runs_fails_the_import_and_the_hook_runs_again(
    watcher: Any, tmp_path: Path
) -> None:
    """The guard's alarm came while the hook ran (the function's import of botocore): its error
    is the function's, not the hook's failure; importlib forgets the module, as if the alarm had
    come a moment earlier, and the next import runs the hook."""
    package(tmp_path, "hooked_pkg", {"session": "VALUE = 5\n"})
    runs: list[Any] = []

    def interrupted_once(module: Any) -> None:
        runs.append(module)
        if len(runs) == 1:
            raise LambdaTimeoutError("the guard's alarm came here")

    watcher.watch("hooked_pkg.session", interrupted_once)
    with pytest.raises(LambdaTimeoutError):
        importlib.import_module("hooked_pkg.session")
    assert "hooked_pkg.session" not in sys.modules
    module = importlib.import_module("hooked_pkg.session")
    assert module.VALUE == 5
    assert len(runs) == 2 and runs[1] is module


def test_only_a_packages_module_can_be_watched(watcher: Any) -> None:
    with pytest.raises(ValueError, match="not a package's module"):
        watcher.watch("top_level_only", lambda module: None)


def _found(finder: Any, name: str) -> Any:
    spec = finder.find_spec(name)
    if spec is None:
        return None
    return spec.origin, spec.submodule_search_locations, type(spec.loader).__name__


def layers_folder(root: Path) -> Path:
    """A folder like /opt/python where several layers put their packages."""
    folder = root / "opt-python"
    package(folder.parent, folder.name, {})
    (folder / "__init__.py").unlink()
    (folder / "plain.py").write_text("")
    package(folder, "regular", {"inner": ""})
    (folder / "spread").mkdir()  # a namespace package's part
    (folder / "spread" / "piece.py").write_text("")
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]  # ".cpython-311-x86_64-linux-gnu.so"
    (folder / f"native{suffix}").write_bytes(b"")
    (folder / "native_abi3.abi3.so").write_bytes(b"")
    (folder / "sourceless.pyc").write_bytes(b"")
    (folder / "notes.txt").write_text("")
    (folder / "other_layer-1.0.dist-info").mkdir()
    return folder


def test_the_listed_folder_finds_what_importlib_finds(watcher: Any, tmp_path: Path) -> None:
    folder = layers_folder(tmp_path)
    plain = sys.path_hooks[-1](str(folder))  # importlib's own FileFinder for it
    watcher.answer_misses_from_listing(str(folder))
    listed = watcher(str(folder))
    assert type(listed) is type(plain)  # pkgutil still lists it
    names = [
        "plain",
        "regular",
        "spread",
        "native",
        "native_abi3",
        "sourceless",
        "notes",
        "other_layer",
        "missing",
        "plain_more",
        "regula",
        "regular.inner",
    ]
    assert [_found(listed, name) for name in names] == [_found(plain, name) for name in names]
    assert [_found(listed, name) is not None for name in names[:6]] == [True] * 6
    assert sorted(pkgutil.iter_importer_modules(listed)) == sorted(
        pkgutil.iter_importer_modules(plain)
    )


def test_a_miss_in_the_listed_folder_does_not_reach_importlibs_finder(
    watcher: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    folder = layers_folder(tmp_path)
    asked: list[str] = []
    real = importlib.machinery.FileFinder.find_spec

    def counted(self: Any, fullname: str, target: Any = None) -> Any:
        if self.path == str(folder):
            asked.append(fullname)
        return real(self, fullname, target)

    monkeypatch.setattr(importlib.machinery.FileFinder, "find_spec", counted)
    watcher.answer_misses_from_listing(str(folder))
    monkeypatch.syspath_prepend(str(folder))
    assert importlib.util.find_spec("json") is not None  # found further down sys.path
    assert importlib.util.find_spec("no_such_module_here") is None
    assert importlib.import_module("plain").__file__ == str(folder / "plain.py")
    assert asked == ["plain"]  # the two misses were answered from the listing


def test_the_listed_folder_is_read_again_when_it_changes(watcher: Any, tmp_path: Path) -> None:
    folder = layers_folder(tmp_path)
    watcher.answer_misses_from_listing(str(folder))
    listed = watcher(str(folder))
    assert listed.find_spec("late") is None
    (folder / "late.py").write_text("")
    later = folder.stat().st_mtime_ns + 1_000_000_000  # a clock that did not move is no excuse
    os.utime(folder, ns=(later, later))
    assert _found(listed, "late") == (str(folder / "late.py"), None, "SourceFileLoader")


def test_invalidate_caches_has_the_listed_folder_read_again(
    watcher: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """As importlib's own finder: a file added within the folder's time resolution is found
    after ``importlib.invalidate_caches()``."""
    folder = layers_folder(tmp_path)
    watcher.answer_misses_from_listing(str(folder))
    monkeypatch.syspath_prepend(str(folder))
    assert importlib.util.find_spec("added_late") is None
    before = folder.stat()
    (folder / "added_late.py").write_text("")
    os.utime(folder, ns=(before.st_atime_ns, before.st_mtime_ns))  # the folder's time unmoved
    importlib.invalidate_caches()
    spec = importlib.util.find_spec("added_late")
    assert spec is not None and spec.origin == str(folder / "added_late.py")


def test_a_folder_this_process_cannot_change_is_listed_once(
    watcher: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    """As Lambda's read-only /opt: no ``stat`` of the folder at each miss, its listing kept until
    ``importlib.invalidate_caches()``."""
    folder = layers_folder(tmp_path)
    watcher.answer_misses_from_listing(str(folder))
    listed = watcher(str(folder))
    looked: list[str] = []
    real_stat = os.stat

    def stat(path: Any, *args: Any, **kwargs: Any) -> Any:
        looked.append(str(path))
        return real_stat(path, *args, **kwargs)

    make_read_only(folder)
    try:
        if not seal(folder):
            pytest.skip("chattr +i refused: this root process can write to any folder")
        monkeypatch.setattr(os, "stat", stat)  # the finder's own calls only (importlib has its own)
        assert [listed.find_spec(name) for name in ("missing", "absent", "gone")] == [None] * 3
        assert _found(listed, "plain") == (str(folder / "plain.py"), None, "SourceFileLoader")
        assert looked.count(str(folder)) == 1  # when it was listed
    finally:
        unseal(folder)
        make_writable(folder)
    (folder / "late.py").write_text("")  # writable again, unknown to the finder until ...
    assert listed.find_spec("late") is None
    listed.invalidate_caches()  # ... importlib.invalidate_caches()
    assert _found(listed, "late") == (str(folder / "late.py"), None, "SourceFileLoader")


def test_an_unreadable_listed_folder_is_searched_as_without(
    watcher: Any, tmp_path: Path, monkeypatch: Any
) -> None:
    folder = layers_folder(tmp_path)
    watcher.answer_misses_from_listing(str(folder))
    listed = watcher(str(folder))

    def refused(path: Any) -> Any:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(os, "listdir", refused)
    assert _found(listed, "plain") == (str(folder / "plain.py"), None, "SourceFileLoader")
    assert listed.find_spec("missing") is None
