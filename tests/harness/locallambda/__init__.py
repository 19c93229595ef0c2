"""The local Lambda runtime: used by the tests, the demo and the benchmarks.

A faithful stand-in for Lambda's managed Python runtime, so functions run here exactly as they
run in AWS: the replica bootstrap scripts start the real ``awslambdaric`` (through
``AWS_LAMBDA_EXEC_WRAPPER`` when set) against a local Runtime API that kills at the deadline.
Loopback only, ephemeral ports. See ``README.md`` beside this file.
"""

from .function import Invocation, LocalLambda
from .layers import LAYER_ZIP, unpack_layer
from .processes import kill_group
from .provision import Runtime, available_versions, find_interpreter, provision, runtime_modes

__all__ = [
    "LAYER_ZIP",
    "Invocation",
    "LocalLambda",
    "Runtime",
    "available_versions",
    "find_interpreter",
    "kill_group",
    "provision",
    "runtime_modes",
    "unpack_layer",
]
