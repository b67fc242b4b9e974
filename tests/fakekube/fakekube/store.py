"""Object storage: serialized records per group resource, one global resourceVersion
counter, LIST with limit/continue, and the event log WATCH streams from.

Objects are kept as their compact JSON bytes (plus parsed metadata for selectors), so a LIST
is a join of stored bytes, and 2500 Secrets of 200 KiB cost one copy each in memory."""

import base64
import bisect
import json
import threading
import time

from .errors import ApiError
from .selectors import field_values


class Rec:
    """One stored object version.  Immutable: a write makes a new Rec."""
    __slots__ = ("skey", "ns", "name", "raw", "meta", "fields", "applied", "rv", "prefix",
                 "_meta_raw", "_gz")

    def __init__(self, skey, obj, rv, applied=None):
        meta = obj["metadata"]
        self.skey = skey
        self.ns = meta.get("namespace", "") or ""
        self.name = meta["name"]
        self.rv = rv
        self.meta = meta
        self.fields = field_values(skey, obj)
        self.applied = applied or {}
        # kind and apiVersion first, like kube-apiserver's encoder
        head = {"kind": obj.get("kind"), "apiVersion": obj.get("apiVersion")}
        self.prefix = json.dumps(head, separators=(",", ":"))[:-1].encode()
        body = {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}
        rest = json.dumps(body, separators=(",", ":")).encode()
        self.raw = self.prefix + (b"," + rest[1:] if len(rest) > 2 else b"}")
        self._meta_raw = None
        self._gz = None

    @property
    def key(self):
        return (self.ns, self.name)

    @property
    def uid(self):
        return self.meta.get("uid")

    @property
    def labels(self):
        return self.meta.get("labels")

    def obj(self):
        return json.loads(self.raw)

    def head_as(self, api_version, kind):
        """The '{"kind":..,"apiVersion":..' head for a version; tail() is the rest."""
        head = json.dumps({"kind": kind, "apiVersion": api_version}, separators=(",", ":"))[:-1].encode()
        return head

    def tail(self):
        return memoryview(self.raw)[len(self.prefix):]

    def gz_tail(self):
        g = self._gz
        if g is None:
            from .gz import deflate_piece
            g = self._gz = deflate_piece(self.tail())
        return g

    def raw_as(self, api_version, kind):
        """The bytes with apiVersion rewritten (all versions of a resource share storage)."""
        head = json.dumps({"kind": kind, "apiVersion": api_version}, separators=(",", ":"))[:-1].encode()
        if head == self.prefix:
            return self.raw
        return head + self.raw[len(self.prefix):]

    def meta_raw(self):
        m = self._meta_raw
        if m is None:
            m = self._meta_raw = json.dumps(self.meta, separators=(",", ":"), ensure_ascii=False).encode()
        return m


class Event:
    __slots__ = ("rv", "skey", "etype", "rec", "prev")

    def __init__(self, rv, skey, etype, rec, prev):
        self.rv = rv
        self.skey = skey
        self.etype = etype
        self.rec = rec
        self.prev = prev


EXPIRED_CONTINUE = ("The provided continue parameter is too old to display a consistent list "
                    "result. You can start a new list without the continue parameter, or use the "
                    "continue token in this response to retrieve the remainder of the results. "
                    "Continuing with the provided token results in an inconsistent list - objects "
                    "that were created, modified, or deleted between the time the first chunk was "
                    "returned and now may show up in the list.")


def encode_continue(rv, ns, name):
    start = (ns + "/" + name if ns else name) + "\x00"
    doc = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start}, separators=(",", ":"))
    return base64.urlsafe_b64encode(doc.encode()).decode().rstrip("=")


def decode_continue(tok):
    try:
        pad = "=" * (-len(tok) % 4)
        doc = json.loads(base64.urlsafe_b64decode(tok + pad))
        if doc.get("v") != "meta.k8s.io/v1":
            raise ValueError("bad version")
        start = doc["start"].rstrip("\x00")
        ns, _, name = start.rpartition("/")
        return int(doc["rv"]), (ns, name)
    except Exception as e:
        raise ApiError(400, "continue key is not valid: %s" % e, "BadRequest")


class Store:
    def __init__(self, max_events=4000):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.rv = 100
        self.tables = {}        # skey -> {(ns, name): Rec}
        self.keys = {}          # skey -> sorted [(ns, name)]
        self.events = []        # [Event], rv ascending
        self.compacted = 0      # watches / continue tokens older than this are expired
        self.max_events = max_events
        self.owners = {}        # owner uid -> set of (skey, ns, name)
        self.closed = False
        self.accepted = None    # [dict] of each committed write when the accept log is on

    # ---- basic access (callers hold self.lock for read-modify-write) ---------------------

    def next_rv(self):
        self.rv += 1
        return self.rv

    def get(self, skey, ns, name):
        t = self.tables.get(skey)
        return t.get((ns or "", name)) if t else None

    def count(self, skey):
        return len(self.tables.get(skey, ()))

    def put(self, skey, rec, prev, emit=True):
        t = self.tables.setdefault(skey, {})
        k = rec.key
        if k not in t:
            bisect.insort(self.keys.setdefault(skey, []), k)
        t[k] = rec
        self._index_owners(skey, prev, rec)
        if emit:
            self._emit(Event(rec.rv, skey, "ADDED" if prev is None else "MODIFIED", rec, prev))

    def remove(self, skey, rec, final_rec):
        """Delete rec; final_rec is the object as the DELETED event carries it (new rv)."""
        t = self.tables.get(skey, {})
        k = rec.key
        if k in t:
            del t[k]
            ks = self.keys[skey]
            i = bisect.bisect_left(ks, k)
            if i < len(ks) and ks[i] == k:
                del ks[i]
        self._index_owners(skey, rec, None)
        self._emit(Event(final_rec.rv, skey, "DELETED", final_rec, rec))

    def _index_owners(self, skey, old, new):
        def uids(r):
            return {o.get("uid") for o in (r.meta.get("ownerReferences") or [])
                    if isinstance(o, dict) and o.get("uid")} if r is not None else set()
        ou, nu = uids(old), uids(new)
        if not ou and not nu:
            return
        ident = (skey,) + (old or new).key
        for u in ou - nu:
            s = self.owners.get(u)
            if s:
                s.discard(ident)
                if not s:
                    del self.owners[u]
        for u in nu:
            self.owners.setdefault(u, set()).add(ident)

    def dependents(self, uid):
        return list(self.owners.get(uid, ()))

    def _emit(self, ev):
        if self.accepted is not None:
            # Called under self.lock as the write commits: the time it is accepted.
            self.accepted.append({"seq": len(self.accepted) + 1, "time": time.time(),
                                  "type": ev.etype, "resource": "/".join(
                                      str(x) for x in ev.skey if x) if isinstance(
                                      ev.skey, tuple) else str(ev.skey),
                                  "namespace": ev.rec.ns, "name": ev.rec.name,
                                  "resourceVersion": str(ev.rv)})
        self.events.append(ev)
        n = len(self.events)
        if n > self.max_events + self.max_events // 4:
            cut = n - self.max_events
            self.compacted = self.events[cut - 1].rv
            del self.events[:cut]
        self.cond.notify_all()

    def compact(self):
        """Forget all history: older watches and continue tokens get 410 Expired."""
        with self.lock:
            self.compacted = self.next_rv()
            self.events = []
            self.cond.notify_all()

    def namespaced_keys(self, ns):
        """(skey, ns, name) of every object in a namespace."""
        out = []
        with self.lock:
            for skey, ks in self.keys.items():
                lo = bisect.bisect_left(ks, (ns, ""))
                hi = bisect.bisect_left(ks, (ns + "\x00",))
                out.extend((skey,) + k for k in ks[lo:hi])
        return out

    # ---- LIST ------------------------------------------------------------------------------

    def list(self, skey, ns, lsel, fsel, limit=0, cont=None):
        """Returns (list_rv, [Rec], continue_token, remaining_count_or_None)."""
        with self.lock:
            if cont:
                list_rv, start = decode_continue(cont)
                if list_rv == -1:
                    list_rv = self.rv
                elif list_rv < self.compacted:
                    raise ApiError(410, EXPIRED_CONTINUE, "Expired",
                                   meta={"continue": encode_continue(-1, start[0], start[1])})
            else:
                list_rv, start = self.rv, None
            table = self.tables.get(skey, {})
            ks = self.keys.get(skey, [])
            name = fsel.name_eq() if fsel else None
            if name is not None and ns is not None:
                r = table.get((ns, name))
                cand = [r] if r is not None and (start is None or r.key > start) else []
                lo, hi, it = 0, 0, None
            else:
                cand = None
                if ns is not None:
                    lo = bisect.bisect_left(ks, (ns, ""))
                    hi = bisect.bisect_left(ks, (ns + "\x00",))
                else:
                    lo, hi = 0, len(ks)
                if start is not None:
                    lo = max(lo, bisect.bisect_right(ks, start))
            items = []
            token = None
            remaining = None
            filtered = not (lsel.empty() and (fsel is None or fsel.empty()))
            if cand is not None:
                items = [r for r in cand if lsel.matches(r.labels) and
                         (fsel is None or fsel.matches(r.ns, r.name, r.fields))]
                return list_rv, items, None, None
            i = lo
            while i < hi:
                r = table[ks[i]]
                i += 1
                if filtered and not (lsel.matches(r.meta.get("labels")) and
                                     (fsel is None or fsel.matches(r.ns, r.name, r.fields))):
                    continue
                if limit and len(items) == limit:
                    # one more match exists: hand out a continue token
                    last = items[-1]
                    token = encode_continue(list_rv, last.ns, last.name)
                    if not filtered:
                        remaining = hi - i + 1
                    break
                items.append(r)
            return list_rv, items, token, remaining

    # ---- WATCH -----------------------------------------------------------------------------

    def events_after(self, rv, timeout, skey=None):
        """Block until there are events newer than rv (or timeout); returns (events, expired)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                if rv < self.compacted:
                    return [], True
                i = bisect.bisect_right(self.events, rv, key=lambda e: e.rv)
                if i < len(self.events):
                    return self.events[i:], False
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    return [], False
                self.cond.wait(min(left, 1.0))

    def close(self):
        with self.cond:
            self.closed = True
            self.cond.notify_all()
