"""Ledgerbook as a possync target."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from possync.targets.base.target import Logger, Target


class LedgerbookTarget(Target):
    name = "ledgerbook"
    label = "Ledgerbook"
    connection_type = {
        "connection-type": "ledgerbook",
        "hook-class-name": "fake_target.hook.LedgerbookHook",
        "hook-name": "Ledgerbook",
    }

    def hook_class(self) -> type:
        from fake_target.hook import LedgerbookHook

        return LedgerbookHook

    def sender_classes(self) -> Iterable[type]:
        from fake_target.senders import all_senders

        return all_senders()

    def prepare(self, hook: Any, integration: Any, logger: Logger) -> None:
        self.prepared = sorted(integration.outlets)


TARGET = LedgerbookTarget()
