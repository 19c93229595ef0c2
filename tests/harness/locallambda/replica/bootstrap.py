"""Replica of /var/runtime/bootstrap.py of Lambda's managed Python runtimes.

The only difference: the layers' folder is ``$LOCAL_LAMBDA_OPT_DIR`` (removed from the
environment at once, so the function never sees it) instead of the fixed ``/opt``.

Like the real one, it imports awslambdaric at module level, before ``sys.path`` is set up:
``__main__.awslambdaricmain`` is how some libraries find the runtime's bootstrap module
(Sentry's AWS Lambda integration, for one).
"""

import os
import site
import sys

import awslambdaric.__main__ as awslambdaricmain

OPT_DIR = os.environ.pop("LOCAL_LAMBDA_OPT_DIR", "/opt")


def is_pythonpath_set():
    return "PYTHONPATH" in os.environ


def get_opt_site_packages_directory():
    major, minor = sys.version_info[:2]
    return f"{OPT_DIR}/python/lib/python{major}.{minor}/site-packages"


def get_opt_python_directory():
    return f"{OPT_DIR}/python"


# Precedence: LAMBDA_TASK_ROOT -> /opt/python/lib/pythonN.N/site-packages -> /opt/python
def set_default_sys_path():
    if not is_pythonpath_set():
        sys.path.insert(0, get_opt_python_directory())
        sys.path.insert(0, get_opt_site_packages_directory())
    # The function's folder first, as a script's own folder would be.
    sys.path.insert(0, os.environ["LAMBDA_TASK_ROOT"])


def add_default_site_directories():
    # Site directories, so that .pth files of the function and of layers are processed.
    site.addsitedir(os.environ["LAMBDA_TASK_ROOT"])
    if not is_pythonpath_set():
        site.addsitedir(get_opt_site_packages_directory())
        site.addsitedir(get_opt_python_directory())


def set_default_pythonpath():
    if not is_pythonpath_set():
        # For child processes the function starts.
        os.environ["PYTHONPATH"] = os.environ["LAMBDA_RUNTIME_DIR"]


def main():
    set_default_sys_path()
    add_default_site_directories()
    set_default_pythonpath()
    awslambdaricmain.main([os.environ["LAMBDA_TASK_ROOT"], os.environ["_HANDLER"]])


if __name__ == "__main__":
    main()
