"""The ``timeout-guard`` command: publish the Timeout Guard layer, attach it, detach it, audit it.

Separate from the layer (which stays standard-library only and never imports this package).
"""

__version__ = "0.1.0"
