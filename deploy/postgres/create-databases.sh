#!/usr/bin/env bash
# Run once by the postgres image on an empty data directory (/docker-entrypoint-initdb.d): creates the
# databases named in POSSYNC_DATABASES besides POSTGRES_DB, owned by POSTGRES_USER. scripts/stack.py runs the
# same file against its local cluster.
set -euo pipefail
for database in ${POSSYNC_DATABASES:-}; do
  echo "creating database ${database}"
  psql -v ON_ERROR_STOP=1 --username "${POSTGRES_USER}" --dbname "${POSTGRES_DB}" \
    -c "CREATE DATABASE \"${database}\" OWNER \"${POSTGRES_USER}\""
done
