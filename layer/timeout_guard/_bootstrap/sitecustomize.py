"""Timeout Guard's bootstrap: the first code to run in the Lambda runtime's Python process.

The exec wrapper put this folder first on ``PYTHONPATH`` so that ``site`` imports this module.
It then leaves no trace the function could see:

1. restores ``PYTHONPATH`` exactly as it was (unset stays unset, so the runtime's
   ``bootstrap.py`` still adds the layers' ``/opt/python`` folders and processes their ``.pth``
   files) and removes this folder from ``sys.path``;
2. imports the ``timeout_guard`` package from the layer and lets it install its post-import
   hooks (the handler wrapper when ``awslambdaric.bootstrap`` loads, the SDK settings when
   ``botocore.session`` loads); nothing heavy is imported here. Where the build shipped a
   bytecode bundle for this interpreter, the package's modules come from it (:class:`Bundle`:
   one file, its groups of modules read as needed, instead of a path search, an open and a
   read per module, which was most of what the layer's modules cost a cold start); else from
   the layer's folder;
3. runs the ``sitecustomize`` this module shadows, if there is one, as ``site`` would have.

Steps 1 and 2 never raise: whatever fails, the function starts as without the layer.
"""

import _frozen_importlib  # importlib's own machinery, loaded in every process: no import cost
import _frozen_importlib_external
import _imp
import marshal
import os
import sys

_ModuleType = type(sys)  # types.ModuleType, without importing types


def _restore_environment():
    """Undo what the wrapper did to PYTHONPATH and sys.path; return the bootstrap folder."""
    boot_dir = os.environ.pop("TIMEOUT_GUARD_BOOTSTRAP_DIR", None) or os.path.dirname(
        os.path.abspath(__file__)
    )
    os.environ.pop("TIMEOUT_GUARD_LAST_STAGE", None)  # the wrapper's mark of a chain
    original = os.environ.pop("TIMEOUT_GUARD_ORIGINAL_PYTHONPATH", None)
    if original is not None:
        state, _, value = original.partition(":")
        if state == "set":
            os.environ["PYTHONPATH"] = value
        else:
            os.environ.pop("PYTHONPATH", None)
    target = os.path.abspath(boot_dir)
    for index, entry in enumerate(sys.path):
        if os.path.abspath(entry or ".") == target:
            del sys.path[index]
            sys.path_importer_cache.pop(entry, None)
            break
    return target


class Bundle:
    """A path-entry finder and loader of the package's modules from the bytecode bundle
    the build wrote for this interpreter (``tools/build_layer.py``): ``MAGIC_NUMBER``, the
    index's length (4 bytes, little-endian), the marshalled index ``{module name: (path in the
    package, is a package, offset, length, the package's modules it imports at its top)}``,
    then groups of modules (a folder's, say), each a marshalled ``{module name: code}`` at the
    offset its modules share. Start-up reads the header and the index only; a group is read and
    unmarshalled when the first of its modules is imported, and its bytes freed then (reading
    the whole file at start-up cost about 35 page faults, 0.1 ms, for groups an empty function
    never loads).

    Before a module runs, the modules of the package it imports at its top are loaded here
    (theirs first), without importlib's machinery: its locks, its walk of ``sys.meta_path``,
    its spec search and ``from`` handling cost about 0.2 M instructions per module in a fresh
    process (loading them here, and the package and ``_startup`` at start-up, cut what the
    layer adds to an empty function's start-up on python3.12 from 2.43 M to 1.61 M
    instructions, the garbage collector's passes aside). The
    module's own ``import`` statements then find them in ``sys.modules``, as they would have
    after importlib loaded them; anything not loaded here (its source gone, say) is left to
    those statements. No module lock is taken: only the layer imports its own modules, from its
    start-up and its post-import hooks, each under the lock of the module it was called for.

    A module is served only if its source file is there, as importlib serves a ``.pyc`` only
    beside its source: a layer missing a module behaves the same with or without the bundle
    (each folder's listing is read once, when the first of its modules is looked for: the layer
    is read-only in Lambda; one ``listdir`` instead of a ``stat`` a module). The code names the
    source file where it really is (importlib does the same for a ``.pyc``), so tracebacks and
    the guard's own-file checks see the real files.
    """

    def __init__(self, package_dir, path, index, groups_start):
        self._package_dir = package_dir
        self._path = path
        self._index = index
        self._groups_start = groups_start  # where the groups begin in the file
        self._folders = {}  # offset -> {module name: code}, each folder unmarshalled once
        self._listings = {}  # folder -> (its entries, the start of its modules' cached paths)

    @classmethod
    def open(cls, package_dir):
        """The bundle for this interpreter, or None (none shipped, another magic number, or
        damaged: the modules then come from the package's folder)."""
        tag = sys.implementation.cache_tag
        if tag is None:
            return None
        path = os.path.join(package_dir, "__pycache__", f"bytecode.{tag}.bundle")
        magic = _frozen_importlib_external.MAGIC_NUMBER
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            head = os.pread(fd, len(magic) + 4, 0)
            if head[: len(magic)] != magic:
                return None
            size = int.from_bytes(head[len(magic) :], "little")
            index = marshal.loads(os.pread(fd, size, len(head)))
        except (OSError, EOFError, ValueError, TypeError):
            return None
        finally:
            os.close(fd)
        return cls(package_dir, path, index, len(head) + size) if isinstance(index, dict) else None

    def serve(self, python_dir):
        """Be the path-entry finder of the package's folders, and of ``python_dir`` while the
        package itself is imported from it: importlib's ``PathFinder`` asks the finder cached in
        ``sys.path_importer_cache`` for each entry of the path it searches. Not a finder on
        ``sys.meta_path``, where importlib would call it for every import of the function (about
        6,000 instructions each: 2 M for an ``import boto3``)."""
        sys.path_importer_cache[python_dir] = self
        for relative, is_package, *_ in self._index.values():
            if is_package:
                folder = os.path.dirname(os.path.join(self._package_dir, relative))
                sys.path_importer_cache[folder] = self

    def find_spec(self, fullname, target=None):
        entry = self._index.get(fullname)
        if entry is None:
            return None
        relative, is_package = entry[:2]
        origin = os.path.join(self._package_dir, relative)
        folder, _, file_name = origin.rpartition(os.sep)
        listing = self._listings.get(folder) or self._list(folder)
        if file_name not in listing[0]:
            return None
        spec = _frozen_importlib.ModuleSpec(fullname, self, origin=origin, is_package=is_package)
        spec.has_location = True  # __file__ is the source file
        spec.cached = listing[1] + file_name[: -len(".py")] + listing[2]  # as importlib's
        if is_package:
            spec.submodule_search_locations = [os.path.dirname(origin)]
        return spec

    def _list(self, folder):
        """The entries of one of the package's folders (read once: /opt is read-only), and how
        importlib names its modules' cached bytecode: ``cache_from_source`` of any module there
        is the same head and tail around the module's name (one call per folder, not one per
        module: about 2 µs each)."""
        try:
            entries = frozenset(os.listdir(folder))
        except OSError:
            entries = frozenset()
        probe = _frozen_importlib_external.cache_from_source(os.path.join(folder, "_.py"))
        head, _, tail = probe.rpartition(os.sep + "_")
        listing = self._listings[folder] = (entries, head + os.sep, tail)
        return listing

    def create_module(self, spec):
        return None  # the default module

    def exec_module(self, module):
        offset, length, first = self._index[module.__name__][2:]
        self.load(first)
        folder = self._folders.get(offset)
        if folder is None:
            fd = os.open(self._path, os.O_RDONLY)
            try:
                data = os.pread(fd, length, self._groups_start + offset)
            finally:
                os.close(fd)
            folder = self._folders[offset] = marshal.loads(data)
        code = folder[module.__name__]
        _imp._fix_co_filename(code, module.__spec__.origin)
        exec(code, module.__dict__)

    def load(self, names):
        """Load the package's modules ``names`` that are not loaded yet, as importlib would:
        in ``sys.modules`` while they run (so a cycle finds its module there) and their spec
        marked ``_initializing`` then, removed if one fails (the failure propagates, as from
        the import statement), bound on its parent package once loaded."""
        for name in names:
            if name in sys.modules:
                continue
            spec = self.find_spec(name)
            if spec is None:
                continue
            module = self._new_module(spec)
            spec._initializing = True
            sys.modules[name] = module
            try:
                self.exec_module(module)
            except BaseException:
                sys.modules.pop(name, None)
                raise
            finally:
                spec._initializing = False
            parent, _, child = name.rpartition(".")
            if parent in sys.modules:
                setattr(sys.modules[parent], child, module)

    def _new_module(self, spec):
        """The module ``module_from_spec`` makes of one of the bundle's specs: the same
        attributes, set in the same order, without its probes of the new module's missing
        attributes (on python3.11 each probe raises and clears an ``AttributeError`` or two:
        about 8 µs a module, 0.4 M instructions of an empty function's cold start)."""
        module = _ModuleType(spec.name)
        module.__loader__ = self
        module.__package__ = spec.parent
        module.__spec__ = spec
        if spec.submodule_search_locations is not None:
            module.__path__ = spec.submodule_search_locations
        module.__file__ = spec.origin
        cached = spec.cached  # a property: computed once, then kept on the spec
        if cached is not None:
            module.__cached__ = cached
        return module


def _start_layer(boot_dir):
    """Import timeout_guard from the layer's python folder (on sys.path only for this import):
    from its bytecode bundle if there is one for this interpreter, else from its sources."""
    package_dir = os.path.dirname(boot_dir)
    python_dir = os.path.dirname(package_dir)
    bundle = Bundle.open(package_dir)
    if bundle is not None:
        bundle.serve(python_dir)
    sys.path.insert(0, python_dir)
    try:
        if bundle is not None:  # and its import statement below finds them loaded
            bundle.load(("timeout_guard", "timeout_guard._startup"))
        from timeout_guard import _startup
    finally:
        sys.path.remove(python_dir)
        sys.path_importer_cache.pop(python_dir, None)
    _startup.start()


def _run_shadowed_sitecustomize():
    """Run the next ``sitecustomize`` on sys.path, as ``site`` would have without the layer.

    Its exceptions propagate to ``site``, which reports them exactly as it would have.
    """
    spec = _frozen_importlib_external.PathFinder.find_spec("sitecustomize", sys.path)
    if spec is None or spec.loader is None:
        return
    module = _frozen_importlib.module_from_spec(spec)
    sys.modules["sitecustomize"] = module
    spec.loader.exec_module(module)


try:
    _boot_dir = _restore_environment()
    _start_layer(_boot_dir)
except Exception as _error:  # fail open: the function starts as without the layer
    try:
        sys.stderr.write(
            f"[WARNING] timeout_guard: not active, start-up failed: "
            f"{type(_error).__name__}: {_error}\n"
        )
    except Exception:
        pass

_run_shadowed_sitecustomize()
