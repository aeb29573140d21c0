"""Local, faithful emulators of the accounting APIs possync talks to.

Each sub-package (``jurnal``, later ``accurate``) is written from the public API documentation alone and
imports nothing from possync: a misreading of the protocol in a hook or a mapping must not be able to hide
behind the same misreading here. They share nothing with the rest of the project but the wire.
"""
