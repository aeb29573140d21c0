"""Accurate Online: ``hook`` (host discovery, API-token signing, envelopes), ``mapping`` (documents → request
bodies), ``senders`` (per record type, lost-reply recovery), ``inbound`` (webhook events → POS goods
receipts), ``target`` (what the rest of possync sees, registered as ``TARGET``)."""

from possync.targets.accurate.target import TARGET as TARGET
