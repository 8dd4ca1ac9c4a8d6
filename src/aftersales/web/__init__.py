"""The ASGI service: webhook ingress, operations endpoints, signed customer links.

``web/`` only verifies, records and enqueues (DESIGN §2): it never calls a platform or sends
mail on a request. The entry point is :func:`aftersales.web.app.create_app`.
"""
