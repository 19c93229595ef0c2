"""The local Lambda runtime: test support, not tests.

A faithful stand-in for Lambda's managed Python runtime, so functions run here exactly as they
run in AWS: the replica bootstrap scripts start the real ``awslambdaric`` (through
``AWS_LAMBDA_EXEC_WRAPPER`` when set) against a local Runtime API that kills at the deadline.
Loopback only, ephemeral ports. See ``README.md`` beside this file.
"""

from .function import Invocation, LocalLambda
from .provision import Runtime, available_versions, find_interpreter, provision

__all__ = [
    "Invocation",
    "LocalLambda",
    "Runtime",
    "available_versions",
    "find_interpreter",
    "provision",
]
