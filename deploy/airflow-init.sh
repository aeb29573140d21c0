#!/usr/bin/env bash
# The stack's one-shot airflow-init (docker-compose.yaml; scripts/stack.py runs it too):
#   1. migrate Airflow's metadata database;
#   2. write the admin's password for the simple auth manager (from AIRFLOW_ADMIN_PASSWORD);
#   3. create or resize the target pools, one per target, sized from integrations.yaml;
#   4. write every POSSYNC_CONN_<ID> variable (Airflow's JSON connection format) into Airflow as connection
#      <id>, encrypted with the Fernet key; existing connections of those ids are replaced, so .env stays
#      the source of truth for them.
# Safe to run at every `up`.
set -euo pipefail

airflow db migrate

passwords_file="${AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE:?}"
mkdir -p "$(dirname "$passwords_file")"
python - "$passwords_file" <<'PY'
import json, os, sys
from pathlib import Path

path = Path(sys.argv[1])
passwords = json.loads(path.read_text()) if path.exists() else {}
passwords["admin"] = os.environ["AIRFLOW_ADMIN_PASSWORD"]
path.write_text(json.dumps(passwords))
path.chmod(0o600)
print(f"admin password set in {path}")
PY

workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
possync deploy pools > "$workdir/pools.json"
airflow pools import "$workdir/pools.json"
(umask 077 && possync deploy connections > "$workdir/connections.json")
airflow connections import --overwrite "$workdir/connections.json"
echo "airflow-init: done"
