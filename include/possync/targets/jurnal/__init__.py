"""Mekari Jurnal: ``hook`` (HMAC auth, API calls), ``mapping`` (documents → request bodies), ``senders`` (per
record type, lost-reply recovery), ``target`` (what the rest of possync sees, registered as ``TARGET``)."""

from possync.targets.jurnal.target import TARGET as TARGET
