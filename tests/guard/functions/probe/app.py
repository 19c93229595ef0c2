"""Reports what a function can observe of its start-up (compared with and without the layer)."""

import os
import subprocess
import sys


def handler(event, context):
    import jmespath  # the runtime bundles it; a function that ships its own must get that one

    if event.get("import_boto3"):
        import boto3  # noqa: F401  (lets the layer's SDK patch load)

    try:
        import from_other_layer_pth

        pth = from_other_layer_pth.VALUE
    except ImportError:
        pth = None
    try:  # another layer's module and package, beside the layer's in /opt/python
        import other_layer_module
        import other_layer_package

        other_layer = [other_layer_module.__file__, other_layer_package.__file__]
    except ImportError:
        other_layer = None
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys; print(os.environ.get('PYTHONPATH')); print(sys.path)",
        ],
        capture_output=True,
        text=True,
    ).stdout.splitlines()
    return {
        "sys_path": sys.path,
        "pythonpath": os.environ.get("PYTHONPATH", "<unset>"),
        "child_pythonpath": child[0],
        "child_sys_path": child[1],
        "handler": os.environ.get("_HANDLER"),
        "pth": pth,
        "other_layer": other_layer,
        "jmespath_file": jmespath.__file__,
        "sitecustomize_ran": os.environ.get("USER_SITECUSTOMIZE_RAN"),
        "botocore_loaded_at_start": event.get("botocore_before"),
        "botocore_loaded": "botocore" in sys.modules,
        "guard_loaded": "timeout_guard" in sys.modules,
        "finders_with_own_find_spec": sorted(  # how the layer's path hook made them
            path
            for path, finder in sys.path_importer_cache.items()
            if "find_spec" in getattr(finder, "__dict__", {})
        ),
        "environ": sorted(k for k in os.environ if not k.startswith("_X_AMZN")),
    }
