"""The edge sync agent: one I/O thread owns the MQTT client."""

from .agent import LookupResult, SyncAgent

__all__ = ["LookupResult", "SyncAgent"]
