"""The till's door into the store device: redeem coupons, report sales.

``pos.desk`` holds the rules (it asks ``decisions.coupons`` and writes through ``sync.cache``);
``pos.http`` is the small local HTTP endpoint; the sync agent carries the same requests over
MQTT. See docs/pos.md.
"""
