"""Fault injection rules and the request log (control API under /_fake/)."""

import itertools
import re
import threading
import time

from .errors import REASONS, status_obj
from .store import EXPIRED_CONTINUE, encode_continue

DEFAULT_MESSAGES = {
    401: "Unauthorized",
    403: "forbidden: injected fault",
    404: "the server could not find the requested resource",
    409: "Operation cannot be fulfilled: injected fault",
    410: "too old resource version",
    429: "Too many requests, please try again later.",
    500: "Internal error occurred: injected fault",
    502: "Bad Gateway",
    503: "the server is currently unable to handle the request",
    504: "Timeout: request did not complete within the allowed duration",
}


class Fault:
    """One rule.  Fields (all optional):
      method   regex matched against the HTTP method (default: any)
      path     regex searched in the URL path (default: any)
      query    regex searched in the raw query string
      verb     get|list|watch|create|update|patch|delete|deletecollection
      count    how many times it fires (default 1; -1 = until removed)
      skip     let this many matching requests through first
      action   status (default) | drop | truncate | delay | expire-continue | drop-stream
      afterEvents  action=drop-stream: a WATCH is served for real, and its connection is
                   closed without ending the stream after this many events (default 1)
      status   HTTP code for action=status (default 500)
      reason, message   of the Status body (defaults per code)
      retryAfter        seconds: Retry-After header and details.retryAfterSeconds
      delay    seconds to wait (action=delay, or before any other action)
    Scripted answers (the Kubernetes client's unit tests say exactly what it must cope
    with; see --scripted in README.md):
      queryLacks  regex: the rule does not match when it is found in the raw query
      acceptHas   text the Accept header must contain
      auth        the exact Authorization header; another one gets 401 and the rule
                  stays unused
      clientCN    the client certificate's CN; another one (or none) gets 401 likewise
      action=respond: status (default 200), headers, json (an object) or body (text),
                  gzip (compress when the client accepts gzip),
                  stream ([{"line": "...", "delay": seconds}, ...], chunked, for WATCH)
    """

    _ids = itertools.count(1)

    def __init__(self, spec):
        self.id = next(self._ids)
        self.spec = dict(spec)
        self.method = re.compile(spec.get("method") or ".*", re.I)
        self.path = re.compile(spec.get("path") or "")
        self.query = re.compile(spec["query"]) if spec.get("query") else None
        self.query_lacks = re.compile(spec["queryLacks"]) if spec.get("queryLacks") else None
        self.accept_has = spec.get("acceptHas")
        self.verb = spec.get("verb")
        self.count = int(spec.get("count", 1))
        self.skip = int(spec.get("skip", 0))
        self.action = spec.get("action", "status")
        if self.action == "status" and "status" not in spec and spec.get("code"):
            spec["status"] = spec["code"]
        default = 200 if self.action == "respond" else 500
        self.code = int(spec.get("status", spec.get("code", default)) or default)
        self.fired = 0
        self.seen = 0

    def matches(self, method, path, query, verb, has_continue, accept=""):
        if not self.method.fullmatch(method):
            return False
        if not self.path.search(path):
            return False
        if self.query is not None and not self.query.search(query or ""):
            return False
        if self.query_lacks is not None and self.query_lacks.search(query or ""):
            return False
        if self.accept_has and self.accept_has not in (accept or ""):
            return False
        if self.verb and self.verb != verb:
            return False
        if self.action == "expire-continue" and not has_continue:
            return False
        return True

    def describe(self):
        d = dict(self.spec)
        d.update({"id": self.id, "fired": self.fired, "remaining": self.count - self.fired
                  if self.count >= 0 else -1})
        return d

    def response(self, query_continue=None):
        """(code, headers, body dict) of an injected Status."""
        if self.action == "expire-continue":
            st = status_obj(410, "Expired", EXPIRED_CONTINUE)
            st["metadata"] = {"continue": encode_continue(-1, "", "\x00")}
            return 410, {}, st
        code = self.code
        reason = self.spec.get("reason") or REASONS.get(code, "")
        msg = self.spec.get("message") or DEFAULT_MESSAGES.get(code, "injected fault")
        details = None
        headers = {}
        ra = self.spec.get("retryAfter")
        if ra is not None:
            headers["Retry-After"] = str(int(ra))
            details = {"retryAfterSeconds": int(ra)}
        elif code == 429:
            headers["Retry-After"] = "1"
            details = {"retryAfterSeconds": 1}
        if self.spec.get("details"):
            details = dict(details or {}, **self.spec["details"])
        return code, headers, status_obj(code, reason, msg, details)


UNAUTHORIZED = "unauthorized"


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.rules = []

    def add(self, spec):
        f = Fault(spec)
        with self.lock:
            self.rules.append(f)
        return f

    def clear(self, fid=None):
        with self.lock:
            if fid is None:
                self.rules = []
            else:
                self.rules = [r for r in self.rules if r.id != fid]

    def list(self):
        with self.lock:
            return [r.describe() for r in self.rules]

    def pick(self, method, path, query, verb, has_continue, accept="", auth=None, client_cn=None):
        """The first rule that fires for this request, None, or UNAUTHORIZED when that rule
        wants other credentials (auth, clientCN): then it does not fire."""
        with self.lock:
            for r in self.rules:
                if r.count >= 0 and r.fired >= r.count:
                    continue
                if not r.matches(method, path, query, verb, has_continue, accept):
                    continue
                if ((r.spec.get("auth") and r.spec["auth"] != auth)
                        or (r.spec.get("clientCN") and r.spec["clientCN"] != client_cn)):
                    return UNAUTHORIZED
                r.seen += 1
                if r.seen <= r.skip:
                    continue
                r.fired += 1
                if r.count >= 0 and r.fired >= r.count and not r.spec.get("keep"):
                    pass
                return r
        return None


class RequestLog:
    def __init__(self, limit=500000):
        self.lock = threading.Lock()
        self.entries = []
        self.seq = 0
        self.limit = limit

    def add(self, entry):
        with self.lock:
            self.seq += 1
            entry["seq"] = self.seq
            entry.setdefault("time", time.time())
            self.entries.append(entry)
            if len(self.entries) > self.limit:
                del self.entries[: len(self.entries) - self.limit]
            return entry

    def reset(self):
        with self.lock:
            self.entries = []

    def since(self, seq=0):
        with self.lock:
            return [e for e in self.entries if e["seq"] > seq]
