#!/usr/bin/env bash
# `make stop`: stops what `make demo` started in the background (airflow standalone with its scheduler,
# DAG processor, API server, triggerer and task workers; the Jurnal sandbox). Each was started in its own
# process group, whose id is in var/run/<name>.pid. The group's leader gets SIGINT first (standalone then
# stops and reaps its components itself, as on Ctrl-C), then what is left of the group SIGTERM, then
# SIGKILL. Safe to run twice, or when nothing runs. Data in var/ is kept (`make clean` removes it).
set -uo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob

# Live (not zombie) members of a process group.
alive() { ps -e -o pgid=,stat= | awk -v group="$1" '$1 == group && $2 !~ /^Z/' | grep -q .; }

stopped=0
for pidfile in var/run/airflow-standalone.pid var/run/*.pid; do
  [[ -f "$pidfile" ]] || continue
  name=$(basename "$pidfile" .pid)
  group=$(tr -dc '0-9' < "$pidfile")
  if [[ -n "$group" ]] && alive "$group"; then
    for signal in INT TERM KILL; do
      if [[ $signal == INT ]]; then kill -INT "$group" 2>/dev/null; else kill "-$signal" -- "-$group" 2>/dev/null; fi
      for _ in $(seq 40); do alive "$group" || break 2; sleep 0.5; done
    done
    echo "stopped $name (process group $group)"
    stopped=1
  fi
  rm -f "$pidfile"
done
((stopped)) || echo "nothing from \`make demo\` is running"
