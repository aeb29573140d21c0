"""possync Airflow DAGs: one DAG per integration and flow, built from include/config/integrations.yaml.

Edit the YAML, not this file. A mistake in the YAML shows up as this file's import error, naming the
field at fault.
"""

from possync.config import load_config
from possync.dagfactory import build_dags

globals().update(build_dags(load_config()))
