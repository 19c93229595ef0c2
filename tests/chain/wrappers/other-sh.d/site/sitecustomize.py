"""other-sh's sitecustomize: what an auto-instrumentation's start-up hook would be.

It records that it ran (and in which process) where the probe function can read it.
"""

import os

OWNER = "other-sh"
RAN_IN_PID = os.getpid()
os.environ["OTHER_SH_STARTED"] = "yes"
