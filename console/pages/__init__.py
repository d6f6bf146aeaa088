"""The console's pages, one module per area; each module's ``ROUTES`` lists its handlers."""

from . import audit_log, fleet, people, reports, signin

ROUTES = [*signin.ROUTES, *people.ROUTES, *fleet.ROUTES, *audit_log.ROUTES, *reports.ROUTES]
