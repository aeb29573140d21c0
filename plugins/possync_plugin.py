"""The possync Airflow plugin: registers what Airflow only accepts from plugins.

- the scheduled-hours timetable (``possync.timetables.ScheduledHoursTimetable``);
- the webhook receiver (``possync.webhooks_app``), a FastAPI app mounted on the API server at ``/possync``:
  ``POST /possync/webhooks/accurate/<integration>?token=<webhook_secret>``. It authenticates callers with the
  per-integration secret of the integration's connection, not with Airflow's JWT (Accurate has none), see
  the module's docstring. The Sync Status pages join it later, behind Airflow's own auth.

Plugins are loaded once: restart the API server after changing this file or the app.
"""

from airflow.plugins_manager import AirflowPlugin

from possync.timetables import ScheduledHoursTimetable
from possync.webhooks_app import app as webhooks_app


class PossyncPlugin(AirflowPlugin):
    name = "possync"
    timetables = [ScheduledHoursTimetable]
    fastapi_apps = [{"app": webhooks_app, "url_prefix": "/possync", "name": "possync webhooks"}]
