"""A small reference head office: publishes signed bundles, answers lookups, stores events.

The tests and the demo use it as the other end of the protocol. It is the central service's own
worker (``central.worker``) on a SQLite store, plus publishing helpers; see docs/central.md for
the service itself.
"""

from .service import Responder

__all__ = ["Responder"]
