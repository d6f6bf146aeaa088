"""The wire protocol between store devices and head office, shared by both ends.

Everything that both the edge agent and the central side must agree on lives here:
topic names, the bundle manifest and its signature, the event envelope and the
lookup request/response payloads. See docs/protocol.md.
"""
