"""Time: the injected clock, due dates across time zones and DST, schedule strings, and the
APScheduler wiring of the service's jobs.

``clock``, ``due`` and ``triggers`` are pure and low in the layers (the dispatcher asks
``due`` which digests are due); ``jobs`` sits on top of the pipeline and the delivery
worker and is imported only by the service. Nothing is re-exported here, so importing
``alertbot.schedule.due`` never pulls in the jobs.
"""
