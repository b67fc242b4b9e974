"""Loopback servers that speak the AWS credential protocols, for tests/plugins/test_s3_creds:
STS AssumeRoleWithWebIdentity (POST /sts), the ECS container endpoint (GET /ecs) and EC2
IMDSv2 (PUT /latest/api/token, GET /latest/meta-data/iam/security-credentials/[ROLE]).
GET /count/NAME returns how often NAME was served, so tests can see refreshes."""
import datetime, http.server, json, threading, urllib.parse

WEB_TOKEN = "eyJ.web-identity-token.sig"
ECS_TOKEN = "Bearer ecs-secret-token"
IMDS_TOKEN = "imds-session-token-1"


def _iso(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Handler(http.server.BaseHTTPRequestHandler):
    counts = {}
    lock = threading.Lock()

    def log_message(self, *a):
        pass

    def _count(self, name):
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + 1

    def _send(self, status, body, ctype="application/json"):
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        form = urllib.parse.parse_qs(self.rfile.read(n).decode(), keep_blank_values=True)
        if self.path != "/sts" or form.get("Action") != ["AssumeRoleWithWebIdentity"]:
            return self._send(400, "bad request", "text/plain")
        self._count("sts")
        if form.get("WebIdentityToken") != [WEB_TOKEN] or form.get("Version") != ["2011-06-15"]:
            return self._send(400, "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">"
                              "<Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
                              "<Message>Couldn't retrieve verification key from your identity provider"
                              "</Message></Error><RequestId>r-1</RequestId></ErrorResponse>", "text/xml")
        role = form.get("RoleArn", [""])[0]
        life = 300 if "short" in role else 3600
        self._send(200, """<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:ns:sa</SubjectFromWebIdentityToken>
    <AssumedRoleUser><Arn>%s/%s</Arn><AssumedRoleId>AROA:x</AssumedRoleId></AssumedRoleUser>
    <Credentials>
      <SessionToken>wi-session-token</SessionToken>
      <SecretAccessKey>wi-secret</SecretAccessKey>
      <Expiration>%s</Expiration>
      <AccessKeyId>ASIAWEBIDENTITY</AccessKeyId>
    </Credentials>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>""" % (role, form.get("RoleSessionName", [""])[0], _iso(life)), "text/xml")

    def do_PUT(self):
        if self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
            self._count("imds-token")
            return self._send(200, IMDS_TOKEN, "text/plain")
        self._send(400, "", "text/plain")

    def do_GET(self):
        if self.path.startswith("/count/"):
            return self._send(200, str(self.counts.get(self.path[7:], 0)), "text/plain")
        if self.path == "/ecs":
            if self.headers.get("Authorization") != ECS_TOKEN:
                return self._send(401, "{}")
            self._count("ecs")
            return self._send(200, json.dumps({"AccessKeyId": "ASIAECS", "SecretAccessKey": "ecs-secret",
                                               "Token": "ecs-session", "Expiration": _iso(3600)}))
        if self.path.startswith("/latest/meta-data/iam/security-credentials/"):
            if self.headers.get("X-aws-ec2-metadata-token") != IMDS_TOKEN:
                return self._send(401, "", "text/plain")
            role = self.path[len("/latest/meta-data/iam/security-credentials/"):]
            if role == "":
                return self._send(200, "test-role", "text/plain")
            if role != "test-role":
                return self._send(404, "", "text/plain")
            self._count("imds")
            return self._send(200, json.dumps({"Code": "Success", "Type": "AWS-HMAC",
                                               "AccessKeyId": "ASIAIMDS", "SecretAccessKey": "imds-secret",
                                               "Token": "imds-session", "Expiration": _iso(3600),
                                               "LastUpdated": _iso(0)}))
        self._send(404, "", "text/plain")


def start():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv
