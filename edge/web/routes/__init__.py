"""The UI's routers, one module per area; every route name must appear in ``edge.web.auth.ROUTE_ROLES``."""

from edge.web.routes import announce, devices, evidence, overview, screen, session, users, zones

ROUTERS = [
    session.router, users.router, overview.router, zones.router, evidence.router, devices.router, screen.router,
    announce.router,
]
