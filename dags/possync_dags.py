"""possync Airflow DAGs: one DAG per integration and flow, built from include/config/integrations.yaml.

Edit the YAML, not this file. A mistake in one integration (or head office) replaces that one's DAGs with
``<name>__config_error``, whose doc and failing task name the field at fault; the others keep theirs. A mistake
in the file as a whole (not YAML, no integrations) shows up as this file's import error.
"""

from possync.config import load_config_for_dags
from possync.dagfactory import build_dags

globals().update(build_dags(*load_config_for_dags()))
