"""``python -m locallambda [3.11 ...]`` (``make runtimes``): provision the local Lambda runtimes.

Here rather than ``python -m locallambda.provision``, which the package's own import of
``provision`` makes runpy warn about (the module would run twice).
"""

import sys

from .provision import main

sys.exit(main(sys.argv[1:]))
