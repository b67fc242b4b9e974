#!/bin/sh
# The import kill campaign (tests/faults/import_campaign.py) at the size `make check` can
# afford: a few SIGKILLed imports of a small store, each finished by running it again.
# The large run (a few hundred releases, 50+ trials) is by hand; its figures are in
# RELIABILITY.md.
here=$(cd "$(dirname "$0")" && pwd)
exec ${PYTHON3:-python3} "$here/import_campaign.py" --trials "${IMPORT_CAMPAIGN_TRIALS:-4}" \
  --releases 30
