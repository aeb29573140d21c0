"""The head office target: a store ↔ head office exchange over SQL (a database HO and the stores share).

``schema`` is the HO database, ``hook`` owns its connection (test, version), ``exchange`` receives what HO
published for a store and sends the store's business events, ``operators`` are the thin Airflow operators,
and HO itself is played for tests and the demo by ``possync_devkit.headoffice_simulator`` (not shipped here).
"""
