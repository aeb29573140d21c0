"""Alerts fire under the real scheduler, not only in ``dag.test``: the browser stack's ``airflow standalone``
(scheduler, LocalExecutor workers, DAG processor, API server) runs ``jurnal_demo__sales`` red, and every failed
task's worker e-mails the stack's SMTP receiver and posts to its chat receiver (``browser_stack``)."""

from __future__ import annotations

from support.net import listening

from .browser_stack import AirflowStack, tail, wait_until


def test_each_failed_task_of_a_scheduled_run_alerts_from_its_worker(airflow_stack: AirflowStack) -> None:
    stack = airflow_stack
    assert stack.smtp is not None and stack.chat is not None
    assert listening(stack.smtp.port)
    run_id = stack.first_run_id
    failed = sorted(task for task, state in stack.first_run_tasks.items() if state == "failed")
    assert {("sync_customers", -1), ("sync_products", -1), ("sync_sales", 0)} <= set(failed), stack.describe_run(run_id)

    def mails() -> list:  # the callback runs after the task's state is reported: give the last one a moment
        found = [m for m in stack.smtp.messages if f"Run:         {run_id}" in m.body]
        return found if len(found) >= len(failed) else []

    found = wait_until(f"an e-mail per failed task of {run_id}", mails, 90, on_timeout=lambda: tail(stack.log))
    subjects = sorted(m.subject for m in found)
    assert subjects == sorted(f"[possync] jurnal_demo: {task}{' [JKT01]' if index >= 0 else ''} failed in "
                              f"{stack.dag_id}" for task, index in failed)
    sales = next(m.body for m in found if "sync_sales [JKT01]" in m.subject)
    assert "invoice INV-JKT01-20261111-0017: " in sales and "has no SKU" in sales
    assert f"{stack.url}/dags/{stack.dag_id}/runs/" in sales, "links use the stack's [api] base_url"
    chats = wait_until("a chat post per failed task", lambda: [t for t in stack.chat.texts if run_id in t]
                       if len([t for t in stack.chat.texts if run_id in t]) >= len(failed) else [], 60)
    assert len(chats) == len(failed)
