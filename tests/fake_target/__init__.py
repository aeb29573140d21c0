"""Ledgerbook: a small accounting target that lives entirely in the test tree, to prove that a target is one
folder. It is shaped like a real one (``api`` plays the vendor, ``hook``, ``senders``, ``target``) and
``registry.register(TARGET)`` is all it takes for possync to build its DAGs, sync to it and show it."""

from fake_target.target import TARGET as TARGET
