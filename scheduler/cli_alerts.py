"""`newsmon alerts`: the configured alerts, their delivery state, a test message, one delivery pass."""

from __future__ import annotations
