"""other-py's sitecustomize: what an auto-instrumentation's start-up hook would be."""

import os

OWNER = "other-py"
RAN_IN_PID = os.getpid()
os.environ["OTHER_PY_STARTED"] = "yes"
