"""Errors the domain raises when a farmer's request cannot be carried out.

A :class:`Refusal` carries a message key of ``templates_sms`` and its
parameters, so every channel can answer the farmer in their own language.
"""
from __future__ import annotations


class Refusal(Exception):
    """A request refused for a reason the farmer should be told.

    ``key``: template key in ``templates_sms`` (e.g. ``"err.pg_unknown"``);
    ``params``: values for the template's placeholders.
    """

    def __init__(self, key: str, **params):
        super().__init__(key)
        self.key = key
        self.params = params
