"""The init errors a handler can have, as awslambdaric 4.2.2 reports them (README, "Errors").

Each case: the function's files, ``_HANDLER``, the errorType and the errorMessage.
"""

INIT_ERRORS = {
    "import_error": (
        {"app.py": "import not_a_module_anywhere\ndef handler(e, c): pass\n"},
        "app.handler",
        "Runtime.ImportModuleError",
        "Unable to import module 'app': No module named 'not_a_module_anywhere'",
    ),
    "nested_missing": (
        {"app.py": "def handler(e, c): pass\n"},
        "pkg/sub/mod.handler",
        "Runtime.ImportModuleError",
        "Unable to import module 'pkg/sub/mod': No module named 'pkg'",
    ),
    "syntax_error": (
        {"app.py": "def handler(e, c)\n    pass\n"},
        "app.handler",
        "Runtime.UserCodeSyntaxError",
        "Syntax error in module 'app': expected ':' (app.py, line 1)",
    ),
    "handler_missing": (
        {"app.py": "def other(e, c): pass\n"},
        "app.handler",
        "Runtime.HandlerNotFound",
        "Handler 'handler' missing on module 'app'",
    ),
    "no_dot": (
        {"app.py": "def handler(e, c): pass\n"},
        "handler",
        "Runtime.MalformedHandlerName",
        "Bad handler 'handler': not enough values to unpack (expected 2, got 1)",
    ),
    "builtin_conflict": (
        {"app.py": "def handler(e, c): pass\n"},
        "sys.handler",
        "Runtime.BuiltInModuleConflict",
        "Cannot use built-in module sys as a handler module",
    ),
    "top_level_raises": (
        {"app.py": "class ConfigError(Exception):\n    pass\nraise ConfigError('no table')\n"},
        "app.handler",
        "ConfigError",
        "no table",
    ),
}
