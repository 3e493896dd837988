"""Damaged copies of signed tokens, for tests that they are refused."""

from __future__ import annotations


def _swap(char: str) -> str:
    return "B" if char == "A" else "A"


def alter_signature(token: str) -> str:
    """The token with its signature's first character changed.

    Not the last character: its low bits are base64 padding and do not reach the decoded
    signature, so changing it can leave the token valid (a test that did so passed or
    failed with the token's timestamp).
    """
    payload, signature = token.rsplit(".", 1)
    return f"{payload}.{_swap(signature[0])}{signature[1:]}"


def alter_payload(token: str) -> str:
    """The token with its payload's first character changed."""
    return _swap(token[0]) + token[1:]
