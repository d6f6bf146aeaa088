"""The decision engine: identity, consent, offers, menus and recommendations.

Pure functions over data read from the local cache. The clock and the context come in as
arguments; nothing here imports Kivy or MQTT, opens a socket, or writes to the cache.
"""
