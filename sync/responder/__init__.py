"""A small reference head office: publishes signed bundles, answers lookups, stores events.

The tests and the demo use it as the other end of the protocol. The full central service
(issue 6) builds on the same ``sync.protocol`` code.
"""

from .service import Responder

__all__ = ["Responder"]
