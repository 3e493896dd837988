"""The HTTP app: the Slack endpoints, one-click unsubscribe and confirmation pages,
subscriber pages, ``/healthz`` and ``/metrics``.

``app.create_app`` composes the routes each module provides.
"""
