"""`newsmon feed` and `newsmon serve`: the Atom feeds and the read-only web app (web/) from the command line."""

from __future__ import annotations
