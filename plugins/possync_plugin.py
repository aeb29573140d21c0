"""The possync Airflow plugin: registers what Airflow only accepts from plugins.

- the scheduled-hours timetable (``possync.timetables.ScheduledHoursTimetable``);
- the webhook receiver (``possync.webhooks_app``), a FastAPI app mounted on the API server at ``/possync``:
  ``POST /possync/webhooks/<target>/<integration>?token=<webhook_secret>`` for targets with webhooks. It
  authenticates callers with the per-integration secret of the integration's connection, not with Airflow's
  JWT (targets have none), see
  the module's docstring;
- the Sync Status pages (``possync.status_app``), mounted at ``/sync-status`` behind Airflow's own auth, and
  linked from the navigation as "Sync Status" (Browse menu); a DAG run's "Dry-run preview" tab opens the preview
  of a run triggered with ``dry_run`` on.

Plugins are loaded once: restart the API server after changing this file or the apps.
"""

from airflow.plugins_manager import AirflowPlugin

from possync.status_app import app as status_app
from possync.timetables import ScheduledHoursTimetable
from possync.webhooks_app import app as webhooks_app


class PossyncPlugin(AirflowPlugin):
    name = "possync"
    timetables = [ScheduledHoursTimetable]
    fastapi_apps = [
        {"app": webhooks_app, "url_prefix": "/possync", "name": "possync webhooks"},
        {"app": status_app, "url_prefix": "/sync-status", "name": "possync sync status"},
    ]
    # No url_route: Airflow would render the page in an iframe sandboxed without top navigation, where the
    # links to task logs could not open Airflow's own pages. It opens as a page of its own.
    external_views = [
        {"name": "Sync Status", "href": "/sync-status/", "destination": "nav", "category": "browse"},
        # a run's dry-run preview (a run triggered with dry_run on; other runs' page says there is none)
        {"name": "Dry-run preview", "href": "/sync-status/preview?dag_id={DAG_ID}&run_id={RUN_ID}",
         "destination": "dag_run"},
    ]
