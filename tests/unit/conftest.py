"""Fast in-process tests of the layer's own logic: each module driven directly, no runtime.

The layer's ``layer/`` folder goes on ``sys.path`` as the bootstrap puts ``/opt/python`` there.
The end-to-end tests in the local runtime stay the proof; these pin the rules down quickly.
"""

from __future__ import annotations

import sys
from pathlib import Path

LAYER = Path(__file__).resolve().parents[2] / "layer"
if str(LAYER) not in sys.path:
    sys.path.insert(0, str(LAYER))
