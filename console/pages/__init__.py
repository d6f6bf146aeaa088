"""The console's pages, one module per area; each module's ``ROUTES`` lists its handlers."""

from . import audit_log, fleet, overrides, people, signin

ROUTES = [*signin.ROUTES, *people.ROUTES, *fleet.ROUTES, *overrides.ROUTES, *audit_log.ROUTES]
