#!/usr/bin/env bash
# The demo profile's one-shot seeding (docker-compose.yaml; scripts/stack.py runs it too): the demo POS and
# the demo head office's first publications, once (a POS that already holds data is kept), and the Accurate
# sandbox's RECEIVE_ITEM webhook pointed at the plugin's receiver on the API server. The seeding is the
# devkit's (possync_devkit), which the Dockerfile's demo stage adds and the production image lacks.
set -euo pipefail

seeded=$(python -m possync_devkit demo seed --pos-url "${POS_URL:?}" --keep-existing)
echo "$seeded"
if [[ $seeded == seeded* ]]; then
  # shellcheck disable=SC2086  # HO_STORES is a list
  python -m possync_devkit headoffice seed-demo --ho-url "${HO_URL:?}" --pos-url "$POS_URL" \
    $(printf -- '--store %s ' ${HO_STORES:?})
fi

curl --silent --show-error --fail -X POST "${ACCURATE_SANDBOX_URL:?}/_sandbox/webhooks" \
  -H 'Content-Type: application/json' \
  -d "{\"url\": \"${ACCURATE_WEBHOOK_URL:?}\", \"types\": [\"RECEIVE_ITEM\"]}" > /dev/null
echo "demo-seed: Accurate sandbox webhook posts to ${ACCURATE_WEBHOOK_URL%%\?*}"
