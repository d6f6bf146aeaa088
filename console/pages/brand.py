"""The brand (admin, marketer): the chain's look on every screen (``sync.protocol.brand``), or a region's or store's own
brand replacing it there: its display name and tagline in every language, its four colours, its logo and typeface
from the media library. Checked as you type with the devices' own check (every pair of colours the screens draw text
with at WCAG AA, the logo a picture, the font with every letter the screens need), with a live sample of the colours
as the screens draw them; kept as a draft in the central store until it is published (``central.signage_drafts``,
section brand). Saving and discarding are the signage page's handlers; every change is in the audit log
(``brand.ready``, ``brand.draft``, ``brand.discard``)."""

from __future__ import annotations

from typing import Annotated

from litestar import Request, get
from litestar.exceptions import NotFoundException
from litestar.params import QueryParameter
from litestar.response import Template

from .. import session, signage_form
from ..render import BRAND_ROLES
from .offers import _scopes
from .signage import _rows, _stores, _view

GUARDS = [session.allow(*BRAND_ROLES)]
NEW_ID = "brand"  # a chain's first brand; a region's or store's takes the chain's id, which replaces it there


@get("/brand", sync_to_thread=True, guards=GUARDS)
def brand_page(request: Request, where: Annotated[str, QueryParameter(name="scope", max_length=200)] = "chain"
               ) -> Template:
    """The brand of ``scope`` (its draft, else the live one), or a new one starting from the brand above it."""
    if where not in dict(_scopes(_stores(request))):
        raise NotFoundException(f"There is no scope {where!r}.")
    brands = {r.scope: r for r in _rows(request, "brand", error_out=[])}
    own = brands.get(where)
    if own is not None:
        return _view(request, signage_form.form_of("brand", where, own.body), new=False)
    above = brands.get("chain")
    start = {k: v for k, v in above.body.items() if k != "#removed"} if above else {"id": NEW_ID}
    return _view(request, signage_form.form_of("brand", where, start), new=True, problems=[])


ROUTES = [brand_page]
