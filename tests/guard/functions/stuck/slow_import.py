"""A module whose import never finishes (as one that connects somewhere at import time)."""

import time

time.sleep(60)
