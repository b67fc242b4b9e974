#!/usr/bin/env python3
"""Runs tests/plugins/test_s3_creds (the s3 plugin's credential chain) against loopback STS,
ECS and IMDSv2 servers (tests/plugins/s3/credservers.py) started here."""
import os, subprocess, sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "s3"))
import credservers  # noqa: E402
from s3env import tool_path  # noqa: E402

srv = credservers.start()
env = dict(os.environ, CREDS_SERVER="http://127.0.0.1:%d" % srv.server_address[1])
# One job: the tests count requests to shared loopback servers (STS, IMDS), which a
# parallel test would disturb.
rc = subprocess.run([tool_path("test_s3_creds"), "--jobs=1"], env=env).returncode
srv.shutdown()
sys.exit(rc)
