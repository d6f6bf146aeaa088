"""The console's pages, one module per area; each module's ``ROUTES`` lists its handlers."""

from . import audit_log, device, fleet, keys, offers, overrides, people, privacy, publishing, reports, signin, stores

ROUTES = [*signin.ROUTES, *people.ROUTES, *fleet.ROUTES, *device.ROUTES, *overrides.ROUTES, *audit_log.ROUTES,
          *stores.ROUTES, *keys.ROUTES, *privacy.ROUTES, *reports.ROUTES,
          *offers.ROUTES, *publishing.ROUTES]
