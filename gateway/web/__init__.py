"""`lastword demo --web`: a browser chat, behind a small client-app backend, in front of
the gateway and the simulated upstream."""

from gateway.web.server import WebDemo, create_backend_app, main, web_demo

__all__ = ["WebDemo", "create_backend_app", "main", "web_demo"]
