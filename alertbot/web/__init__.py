"""The HTTP app: the Slack endpoints, one-click unsubscribe and confirmation pages,
the subscribers' account pages (sign-up, sign-in, ``/account`` and its live preview:
``routes.py`` lists them), ``/healthz`` and ``/metrics``.

``app.create_app`` composes the routes each module provides.
"""
