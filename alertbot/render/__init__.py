"""Rendering: a digest in, the messages out (email subject/text/HTML, Slack Block Kit).

Pure given the templates: ``templates.py`` finds them and sets up Jinja2, ``parts.py``
holds how one paper is presented on every channel (links, byline, highlights, trimmed
text), ``email.py`` and ``slack.py`` build each channel's message.
"""

from alertbot.render.email import RenderedEmail, Renderer, SlackMessage
from alertbot.render.parts import DigestLinks
from alertbot.render.templates import environment, find_templates

__all__ = [
    "DigestLinks",
    "RenderedEmail",
    "Renderer",
    "SlackMessage",
    "environment",
    "find_templates",
]
