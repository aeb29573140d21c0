"""Local, faithful emulators of the accounting APIs possync talks to (part of the devkit, never of production).

Each sub-package (``jurnal``, ``accurate``) is written from the public API documentation alone and imports
nothing from possync: a misreading of the protocol in a hook or a mapping must not be able to hide behind the
same misreading here. They share nothing with the rest of the project but the wire.

What no vendor documents and every sandbox needs is in ``harness``: fault injection, the request counters and
the admin routes under ``/_sandbox`` (health, faults, limits, stats, stats reset, reset with flags), so both
sandboxes answer the same admin API. Each sandbox keeps its vendor's auth, envelopes, rate-limit semantics and
(Accurate) webhooks, and may add admin routes of its own.
"""
