# Fault campaign (issue 11): SIGKILL, backend faults through tests/plugins/faulty,
# ENOSPC on a tmpfs, API faults and concurrent writers; after each trial the committed
# snapshot must verify and the next export must succeed.  Small here, large by hand
# (RELIABILITY.md).
TESTS += tests/faults/test_campaign.sh
EXTRA_DIST += tests/faults/test_campaign.sh tests/faults/campaign.py
# Import kill campaign (issue 18): SIGKILLed imports finished by running them again.
TESTS += tests/faults/test_import_campaign.sh
EXTRA_DIST += tests/faults/test_import_campaign.sh tests/faults/import_campaign.py
