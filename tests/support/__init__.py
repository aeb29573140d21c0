"""What test modules share, one copy each (``tests/`` is on sys.path, so tests import ``support.<module>``):

- ``net``: free ports, and whether one is listening;
- ``live_server``: any ASGI app on a real uvicorn server in a thread;
- ``sandbox_admin``: ``SandboxAdmin``, the client of the admin API every sandbox shares (faults, limits, stats, reset);
- ``live_targets``: each target's sandbox running, and hooks connected to it (hook tests);
- ``worlds``, ``demo_week``: the end-to-end worlds (demo POS, ledger, sandbox, connections) and the demo week's facts;
- ``books``: what a target's books hold, read through its hook, the same shape for every target;
- ``pos_builder``: a POS database built record by record;
- ``airflow_api``: Airflow's API server in-process with tokens per role, and a REST client of a running Airflow.

``tests/postgres_cluster.py`` stays where it is: CI runs it as a script with the system Python.
"""
