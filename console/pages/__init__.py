"""The console's pages, one module per area; each module's ``ROUTES`` lists its handlers."""

from . import audit_log, device, fleet, people, signin

ROUTES = [*signin.ROUTES, *people.ROUTES, *fleet.ROUTES, *device.ROUTES, *audit_log.ROUTES]
