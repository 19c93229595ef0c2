"""A function-shipped copy of wrapt (a stand-in): the function must import this one."""

FUNCTION_COPY = True
