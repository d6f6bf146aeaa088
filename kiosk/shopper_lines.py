"""The one short line a shopper reads under an offer, made from the engine's reasons. No Kivy here.

The engine's reasons ("RFM tier: champions", "in stock: Tikvenik (3)", "recent purchases weigh 0.5")
are for staff, events and a technician; a shopper reads at most one friendly line, or none when no
reason makes one. Lines are ``Reason``s, said in the screen's language by ``StoreApp.say``; product
names come from the catalog in that language, so a redrawn card never keeps another language's name.
"""

from __future__ import annotations

from collections.abc import Callable

from decisions.offers import OfferChoice
from decisions.reasons import Reason

# engine template -> what the shopper reads, best first: their own habits, then the day
DAYPART_LINES = {
    "morning": "A good start to your morning",
    "lunch": "Just right for lunch",
    "afternoon": "A treat for the afternoon",
    "evening": "Something for your evening",
}
BAND_LINES = {"cold": "Something warm for a cold day", "hot": "Something cool for a hot day"}
GREY_SKIES = {"rainy", "snowing", "stormy"}


def short_name(name: str) -> str:
    """A product's name without its explanation in brackets: 'Tikvenik (pumpkin pastry)' -> 'Tikvenik'."""
    return name.split(" (", 1)[0]


def shopper_line(choice: OfferChoice, name_of: Callable[[str], str]) -> Reason | None:
    """The friendliest line the offer's reasons allow, or None. ``name_of(sku)`` names a product in the
    screen's language."""
    by_template = {getattr(r, "template", r): r for r in choice.reasons}
    if "buys {item} often (recent purchases weigh {weight:.1f})" in by_template and choice.sku:
        return Reason("Because you often pick up {item}", item=short_name(name_of(choice.sku)))
    band = by_template.get("{temperature:.0f} °C outside ({band})")
    if band is not None and band.params["band"] in BAND_LINES:
        return Reason(BAND_LINES[band.params["band"]])
    sky = by_template.get("{sky} and {temperature:.0f} °C")
    if sky is not None and sky.params["sky"] in GREY_SKIES:
        return Reason("A warm-up for a grey day")
    daypart = by_template.get("{daypart} ({time})")
    if daypart is not None and daypart.params["daypart"] in DAYPART_LINES:
        return Reason(DAYPART_LINES[daypart.params["daypart"]])
    if "trending in this store ({share:.0%} of the top item)" in by_template:
        return Reason("Popular in this store today")
    if "RFM tier: {tier}" in by_template:
        return Reason("A thank-you for being a regular")
    return None
