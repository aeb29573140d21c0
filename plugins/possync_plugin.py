"""The possync Airflow plugin: registers what Airflow only accepts from plugins.

Today that is the scheduled-hours timetable; the Sync Status pages and the webhook receiver join it later.
"""

from airflow.plugins_manager import AirflowPlugin

from possync.timetables import ScheduledHoursTimetable


class PossyncPlugin(AirflowPlugin):
    name = "possync"
    timetables = [ScheduledHoursTimetable]
