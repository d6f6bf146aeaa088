"""The console's pages, one module per area; each module's ``ROUTES`` lists its handlers."""

from . import (
    audit_log,
    brand,
    catalog,
    device,
    fleet,
    keys,
    media,
    offers,
    overrides,
    people,
    preview,
    privacy,
    publishing,
    reports,
    signage,
    signin,
    stores,
)

ROUTES = [*signin.ROUTES, *people.ROUTES, *fleet.ROUTES, *device.ROUTES, *overrides.ROUTES, *audit_log.ROUTES,
          *stores.ROUTES, *keys.ROUTES, *privacy.ROUTES, *reports.ROUTES,
          *offers.ROUTES, *media.ROUTES, *signage.ROUTES, *catalog.ROUTES, *brand.ROUTES, *preview.ROUTES,
          *publishing.ROUTES]
