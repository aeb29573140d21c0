#!/usr/bin/env bash
# The Debian packages a make target needs beyond Python's: installed with apt-get when this runs as root on a
# machine that has it, otherwise named with the command that installs them (exit 1).
#
#   scripts/system_packages.sh test|stack-test|demo
#
#   test        python3-venv (the .venv), postgresql (the tests' throwaway cluster; as root it runs as the
#               postgres user through util-linux's runuser), mariadb-server (the tests' throwaway MariaDB, a POS
#               database; as root it drops to the mysql user itself), chromium (the browser test, driven by Playwright),
#               docker-compose (only its parser: tests/test_deploy.py validates docker-compose.yaml) and
#               redis-server (what CI's `make stack-test` runs next; the README's prerequisites name it)
#   stack-test  python3-venv, postgresql, util-linux, redis-server, docker-compose (scripts/stack.py)
#   demo        python3-venv (the demo runs on SQLite and the sandboxes; no server package)
#
# POSSYNC_SYSTEM_ROOT (tests only) prefixes the paths looked at for the PostgreSQL and MariaDB servers.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

target=${1:?usage: system_packages.sh test|stack-test|demo}
case "$target" in
  test) wanted=(venv postgresql runuser mariadb-server chromium redis-server docker-compose) ;;
  stack-test) wanted=(venv postgresql runuser redis-server docker-compose) ;;
  demo) wanted=(venv) ;;
  *) echo "system_packages.sh: unknown target '$target' (test, stack-test or demo)" >&2; exit 2 ;;
esac

root=${POSSYNC_SYSTEM_ROOT:-}
is_root=false
[[ "$(id -u)" == 0 ]] && is_root=true

missing=()
for need in "${wanted[@]}"; do
  case "$need" in
    venv)
      # a .venv already made needs nothing; otherwise Debian's python3 needs python3-venv for `-m venv`
      [[ -x .venv/bin/python ]] || "${PYTHON:-python3}" -c "import venv, ensurepip" 2>/dev/null \
        || missing+=(python3-venv) ;;
    postgresql)
      command -v initdb >/dev/null || compgen -G "$root/usr/lib/postgresql/*/bin/initdb" >/dev/null \
        || missing+=(postgresql) ;;
    runuser)
      # only root needs it: PostgreSQL refuses to run as root, so the server runs as the postgres user
      if $is_root; then command -v runuser >/dev/null || missing+=(util-linux); fi ;;
    mariadb-server)
      # mariadbd lives in /usr/sbin, which a non-root PATH often lacks
      command -v mariadbd >/dev/null || [[ -x "$root/usr/sbin/mariadbd" ]] || missing+=(mariadb-server) ;;
    chromium) command -v chromium >/dev/null || missing+=(chromium) ;;
    redis-server) command -v redis-server >/dev/null || missing+=(redis-server) ;;
    docker-compose) command -v docker-compose >/dev/null || missing+=(docker-compose) ;;
  esac
done

((${#missing[@]})) || exit 0

if $is_root && command -v apt-get >/dev/null; then
  echo "make $target: installing ${missing[*]} (apt-get)"
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}"
  exit 0
fi
echo "make $target needs: ${missing[*]}; install them with: sudo apt-get install -y ${missing[*]}" >&2
exit 1
