"""`scripts/stack.py demo`: the demo integrations' DAGs through a running no-Docker compose stack (Celery
workers), driven through Airflow's REST API as ops would drive it from the UI:

1. waits for the DAG processor to have parsed the DAGs, and unpauses the demo integrations' DAGs;
2. backfills `<integration>__sales` over the demo week (one run at a time, in order) and waits;
3. triggers `<integration>__transfers` with the week's dates and waits;
4. enters a purchase in the Accurate sandbox and waits for its goods receipt in the POS (webhook → API
   server → accurate_demo__inbound on a worker);
5. runs one head office exchange cycle;
6. reports run states, which worker ran each sync task, the targets' document counts read through their
   APIs, and the sync ledger's counts (``--json FILE`` also writes them as JSON, for the tests).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from airflow_rest import AirflowAPI
from demo_targets import (
    accurate_document_counts,
    demo_week,
    goods_receipt_in_pos,
    jurnal_document_counts,
    ledger_counts,
    simulate_purchase,
)

INTEGRATIONS = ("jurnal_demo", "accurate_demo")
EXCHANGE_DAG = "ho_demo__exchange"
FINISHED = {"success", "failed"}
TIMEOUT_SECONDS = 20 * 60


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def connections_of(stack: Any, env_file: Path) -> dict[str, dict[str, Any]]:
    """The connections airflow-init wrote, as this machine reaches them (the compose file re-planned with the
    stack's own ports)."""
    from possync.deploy import connections_from_env
    from stack import plan

    processes = plan(env_file, stack.dir, {}, True, started_ports=stack.state()["ports"])
    init = next(p for p in processes if p.service == "airflow-init")
    return connections_from_env(init.env)


def use_connections(connections: dict[str, dict[str, Any]]) -> None:
    """Make the hooks in this process resolve the stack's connections (Airflow reads AIRFLOW_CONN_<ID>)."""
    for conn_id, connection in connections.items():
        os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(connection)


def wait(what: str, done, timeout: float = TIMEOUT_SECONDS, every: float = 5) -> float:
    started = time.monotonic()
    while not done():
        if time.monotonic() - started > timeout:
            raise SystemExit(f"stack demo: {what} did not happen within {timeout:.0f} s")
        time.sleep(every)
    return time.monotonic() - started


def run_demo(stack: Any, env_file: Path, *, json_file: Path | None = None) -> int:
    from dotenv import dotenv_values

    from possync.config import load_config
    from possync.db import sqlalchemy_url_for_conn

    state = stack.state()
    if not state["processes"]:
        raise SystemExit(f"stack demo: no stack runs from {stack.dir}; `scripts/stack.py up` first")
    os.environ["POSSYNC_CONFIG"] = str(Path(__file__).resolve().parents[1] / "include" / "config" / "integrations.yaml")
    settings = dotenv_values(env_file)
    api_url = f"http://127.0.0.1:{state['ports']['airflow-apiserver-1:8080']}"
    api = AirflowAPI(api_url, "admin", settings["AIRFLOW_ADMIN_PASSWORD"])
    use_connections(connections_of(stack, env_file))
    pos_url = sqlalchemy_url_for_conn("possync_pos").render_as_string(hide_password=False)
    ledger_url = sqlalchemy_url_for_conn("possync_ledger").render_as_string(hide_password=False)
    config = load_config()
    wall = time.monotonic()

    dag_ids = [f"{name}__{flow}" for name in INTEGRATIONS for flow in ("customers", "products", "sales", "transfers")]
    parsed = wait("the DAG processor parsing the DAGs", lambda: all(
        api.get("/dags", dag_id_pattern=d)["total_entries"] for d in [*dag_ids, EXCHANGE_DAG]), every=3)
    log(f"DAGs parsed ({parsed:.0f} s)")
    for dag in api.every("/dags", "dags", dag_id_pattern="%_demo__%"):
        if dag["dag_id"].split("__")[0] in INTEGRATIONS and dag["is_paused"]:
            api.patch(f"/dags/{dag['dag_id']}", {"is_paused": False})
    week_start, week_end, _ = demo_week()
    before = {"jurnal": jurnal_document_counts(),
              "accurate": accurate_document_counts()}

    backfills = {}
    for name in INTEGRATIONS:
        dag_id = f"{name}__sales"
        reply = api.post("/backfills", {"dag_id": dag_id, "from_date": week_start.isoformat(),
                                        "to_date": week_end.isoformat(), "reprocess_behavior": "completed",
                                        "max_active_runs": 1})
        backfills[dag_id] = reply["id"]
    log(f"backfills of the demo week: {', '.join(backfills)}")

    def backfill_runs(dag_id: str) -> list[dict]:
        return [r for r in api.runs(dag_id) if r["run_type"] == "backfill"
                and week_start <= datetime.fromisoformat(r["run_after"]) <= week_end]

    def sales_done() -> bool:
        runs = {d: backfill_runs(d) for d in backfills}
        states = Counter(r["state"] for rs in runs.values() for r in rs)
        log(f"  {time.monotonic() - wall:5.0f} s  sales backfill runs: {dict(states)}")
        return all(runs.values()) and set(states) <= FINISHED

    sales_seconds = wait("the sales backfills", sales_done, every=10)

    dates = {"from_date": f"{week_start:%Y-%m-%d}", "to_date": f"{week_end - timedelta(days=1):%Y-%m-%d}"}
    transfers = {f"{n}__transfers": api.trigger(f"{n}__transfers", dates, note="stack demo") for n in INTEGRATIONS}
    transfers_seconds = wait("the transfers runs", lambda: all(
        api.run_state(d, r) in FINISHED for d, r in transfers.items()))
    log(f"transfers runs done ({transfers_seconds:.0f} s)")

    accurate = next(i for i in config.integrations if i.name == "accurate_demo")
    data_url = f"http://127.0.0.1:{state['ports']['accurate-sandbox-1:8603']}"
    purchase = simulate_purchase(data_url, ledger_url, accurate.outlets["WH01"].warehouse)
    receipt_seconds = wait(f"goods receipt {purchase['number']} in the POS",
                           lambda: goods_receipt_in_pos(pos_url, purchase["number"]), timeout=300, every=2)
    log(f"purchase {purchase['number']} reached the POS in {receipt_seconds:.0f} s")

    api.patch(f"/dags/{EXCHANGE_DAG}", {"is_paused": False})
    exchange = api.trigger(EXCHANGE_DAG, {"stores": []}, note="stack demo")
    exchange_seconds = wait("the head office exchange", lambda: api.run_state(EXCHANGE_DAG, exchange) in FINISHED)
    # unpausing also schedules each DAG's latest slot, and the clock may cross a quarter hour meanwhile: the runs
    # are counted once every one of them has finished
    watched = [*dag_ids, "accurate_demo__inbound", EXCHANGE_DAG]
    wait("every run the demo started or scheduled", lambda: all(
        r["state"] in FINISHED for dag_id in watched for r in api.runs(dag_id)), timeout=600)

    outcome = {
        "seconds": {"sales": round(sales_seconds), "transfers": round(transfers_seconds),
                    "purchase": round(receipt_seconds), "exchange": round(exchange_seconds),
                    "total": round(time.monotonic() - wall)},
        "runs": {},
        "hosts": defaultdict(Counter),
        "documents_before": before,
        "documents": {"jurnal": jurnal_document_counts(),
                      "accurate": accurate_document_counts()},
        "ledger": ledger_counts(ledger_url),
        "purchase": purchase["number"],
    }
    for dag_id in watched:
        runs = api.runs(dag_id)
        outcome["runs"][dag_id] = dict(Counter(r["state"] for r in runs))
        for ti in api.task_instances(dag_id):
            if ti["hostname"]:
                outcome["hosts"][ti["task_id"]][ti["hostname"]] += 1
    outcome["hosts"] = {task: dict(hosts) for task, hosts in outcome["hosts"].items()}

    if json_file:
        json_file.write_text(json.dumps(outcome, indent=2, default=str))
    print(f"demo through the stack in {outcome['seconds']['total']} s: " + json.dumps(outcome["seconds"]))
    for dag_id, states in outcome["runs"].items():
        print(f"  {dag_id:<28} " + ", ".join(f"{n} {s}" for s, n in sorted(states.items())))
    print("which worker ran the sync tasks:")
    for task, hosts in sorted(outcome["hosts"].items()):
        if task.startswith("sync_"):
            print(f"  {task:<20} " + ", ".join(f"{h} {n}" for h, n in sorted(hosts.items())))
    for target, counts in outcome["documents"].items():
        print(f"{target}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0
