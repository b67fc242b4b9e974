#!/bin/sh
# The fault campaign (tests/faults/campaign.py) at the size `make check` can afford: a few
# trials of every fault kind against the local and the s3 backend.  The large run (100+
# trials per kind and backend) is by hand; its figures are in RELIABILITY.md.
here=$(cd "$(dirname "$0")" && pwd)
py=${PYTHON3:-python3}
$py "$here/campaign.py" --backend local --trials "${CAMPAIGN_TRIALS:-3}" --releases 40
rc=$?
[ $rc -eq 0 ] || [ $rc -eq 77 ] || exit $rc
$py "$here/campaign.py" --backend s3 --trials "${CAMPAIGN_TRIALS_S3:-2}" --releases 30
rc2=$?
[ $rc2 -eq 77 ] && exit $rc
exit $rc2
