#!/usr/bin/env python3
"""WATCH and the metadata-only LIST (core/kube/watch.c, list.c) against the fake API server
and the real kubectl, through tests/kube/kube_watch_probe `follow` (LIST, then WATCH for
ever: resume from the last resourceVersion after a server timeout or a dropped
connection, re-LIST after 410).  Checks, in order, on one watcher:
  - the first LIST is metadata only (PartialObjectMetadataList, no data), paged, labelled
    objects only;
  - kubectl create / label / delete of labelled Secrets arrive as ADDED, MODIFIED, DELETED
    in order with the resourceVersions kubectl saw; an unlabelled Secret never shows;
  - BOOKMARKs arrive (fake server's bookmark interval shortened) and move the last
    resourceVersion on;
  - a server-side timeout ends the watch with OK and the next one resumes;
  - a connection cut mid-stream (fault drop-stream) ends it with NETWORK, and the next
    watch resumes without losing or repeating an event;
  - changes made while no watch runs, then a compaction: the resumed watch gets 410
    (GONE), the re-LIST shows the changed state, and later events arrive once;
  - an event over --max-event ends the watch with PROTOCOL and a clear message;
  - SIGTERM ends a blocked watch through its stop function (ABORTED, exit 0).
Prints TAP; exit 77 when the fake server or kubectl cannot run here."""

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time

TOP_SRC = os.environ.get("abs_top_srcdir") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOP_BUILD = os.environ.get("abs_top_builddir") or os.getcwd()
PROBE = os.path.join(TOP_BUILD, "tests", "kube", "kube_watch_probe")
sys.path.insert(0, os.path.join(TOP_SRC, "tests", "fakekube"))
import fakekube_util as fku  # noqa: E402

if not fku.openssl_available():
    print("1..0 # SKIP the fake API server needs the openssl command")
    sys.exit(77)
try:
    TOOLS = fku.find_tools()
except fku.ToolsUnavailable as e:
    print("1..0 # SKIP %s" % e)
    sys.exit(77)

results = []


def check(ok, name, detail=""):
    results.append(bool(ok))
    print("%s %d - %s" % ("ok" if ok else "not ok", len(results), name))
    if not ok and detail:
        for line in str(detail).splitlines()[:30]:
            print("#   " + line)
    sys.stdout.flush()


class Probe:
    """The probe as a child process; its JSON lines arrive on a queue."""

    def __init__(self, kube, *args):
        self.p = subprocess.Popen([PROBE, "--kubeconfig", kube.kubeconfig] + list(args),
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        self.q = queue.Queue()
        self.seen = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            if line.strip():
                self.q.put(json.loads(line))
        self.q.put(None)

    def next(self, pred=lambda o: True, what="a line", skip_bookmarks=True):
        """The next line matching pred; lines skipped on the way are kept in self.seen.
        The 60 s bound only keeps a broken test from hanging; it is no assertion."""
        while True:
            try:
                o = self.q.get(timeout=60)
            except queue.Empty:
                raise AssertionError("no %s from the probe; seen: %s" % (what, self.seen[-10:]))
            if o is None:
                raise AssertionError("the probe ended before %s: %s" % (what, self.p.stderr.read()))
            self.seen.append(o)
            if skip_bookmarks and o.get("type") == "BOOKMARK":
                continue
            if pred(o):
                return o

    def go(self):
        self.p.stdin.write("go\n")
        self.p.stdin.flush()


def secret_yaml(name, labels):
    lab = "".join("\n    %s: \"%s\"" % kv for kv in labels.items())
    return ("apiVersion: v1\nkind: Secret\nmetadata:\n  name: %s\n  namespace: w\n"
            "  labels:%s\ndata:\n  release: eHl6\n" % (name, lab or " {}"))


def rv_of(kube, name):
    return kube.kubectl("get", "secret", name, "-n", "w", "-o",
                        "jsonpath={.metadata.resourceVersion}").stdout.strip()


def main():
    with fku.FakeKube(tools=TOOLS) as kube:
        kube.kubectl("create", "namespace", "w")
        for n in ("pre1", "pre2", "pre3"):
            kube.kubectl("create", "-f", "-", input=secret_yaml(n, {"owner": "helm", "name": n}))
        kube.kubectl("create", "-f", "-", input=secret_yaml("other", {"app": "x"}))

        pr = Probe(kube, "follow", "/api/v1/namespaces/w/secrets", "--label", "owner=helm",
                   "--bookmarks", "--timeout", "30", "--max-event", "20000", "--step")
        try:
            run(kube, pr)
        finally:
            if pr.p.poll() is None:
                pr.p.kill()
            pr.p.wait()
        timeout_ends(kube)
    print("1..%d" % len(results))
    return 0 if all(results) else 1


def run(kube, pr):
    lst = pr.next(lambda o: "list" in o, "the first LIST")
    names = sorted(i[1] for i in lst["items"])
    check(names == ["pre1", "pre2", "pre3"] and lst["metadata_only"] and lst["pages"] == 2
          and not any(i[5] for i in lst["items"])
          and all(i[2] and i[3] and i[4] == "helm" for i in lst["items"]),
          "metadata-only LIST: labelled objects only, no data, uid/rv/labels, paged", lst)

    # create, update, delete with the real kubectl: each event in order, with kubectl's rvs
    kube.kubectl("create", "-f", "-", input=secret_yaml("s1", {"owner": "helm", "status": "deployed"}))
    rv1 = rv_of(kube, "s1")
    kube.kubectl("create", "-f", "-", input=secret_yaml("plain", {"app": "y"}))
    kube.kubectl("label", "secret", "s1", "-n", "w", "status=superseded", "--overwrite")
    rv2 = rv_of(kube, "s1")
    kube.kubectl("delete", "secret", "s1", "-n", "w")
    evs = [pr.next(lambda o: "type" in o, "event %d" % i) for i in range(3)]
    got = [(e["type"], e["name"], e["rv"]) for e in evs]
    check(got[:2] == [("ADDED", "s1", rv1), ("MODIFIED", "s1", rv2)]
          and got[2][:2] == ("DELETED", "s1") and int(got[2][2]) > int(rv2)
          and evs[0]["uid"] == evs[2]["uid"] != "",
          "kubectl create/label/delete: ADDED, MODIFIED, DELETED in order with their rvs", got)
    last_event_rv = int(got[2][2])

    # bookmarks
    kube.settings(bookmarkInterval=0.3)
    bm = pr.next(lambda o: o.get("type") == "BOOKMARK", "a BOOKMARK", skip_bookmarks=False)
    check(int(bm["rv"]) >= last_event_rv and bm["name"] == "",
          "BOOKMARK with a resourceVersion at or after the last event", bm)
    kube.settings(bookmarkInterval=60)

    # the next WATCH request loses its connection after one event (the running one is
    # not affected: end it with a compaction, which also tests 410)
    kube.add_fault(verb="watch", action="drop-stream", afterEvents=1, count=1)
    kube.compact()
    end = pr.next(lambda o: "end" in o, "the end of the watch (410)")
    check(end["end"] == "GONE" and "too old resource version" in end["message"],
          "compaction: the running watch ends with 410 Gone", end)
    pr.go()
    lst = pr.next(lambda o: "list" in o, "the LIST after 410")
    check(sorted(i[1] for i in lst["items"]) == ["pre1", "pre2", "pre3"],
          "re-LIST after 410 shows the current state", lst)
    # the new watch hits the drop-stream fault: one event, then the connection is cut
    kube.kubectl("create", "-f", "-", input=secret_yaml("d1", {"owner": "helm"}))
    kube.kubectl("create", "-f", "-", input=secret_yaml("d2", {"owner": "helm"}))
    e1 = pr.next(lambda o: "type" in o or "end" in o, "d1")
    end = pr.next(lambda o: "end" in o, "the cut")
    check(e1.get("name") == "d1" and end["end"] == "NETWORK" and end["last_rv"] == e1["rv"],
          "a connection cut mid-stream ends the watch with NETWORK at the last event's rv",
          [e1, end])
    pr.go()
    e2 = pr.next(lambda o: "type" in o or "end" in o, "d2 after resuming")
    check(e2.get("type") == "ADDED" and e2.get("name") == "d2",
          "the resumed watch sends d2 once and not d1 again", e2)

    # changes while no watch runs, then compaction: the resumed watch gets 410, the
    # re-LIST has them, and events after it arrive once
    # the server timeout is 30 s: end the running watch with a compaction again
    kube.compact()
    end = pr.next(lambda o: "end" in o, "the end (410)")
    check(end["end"] == "GONE", "second compaction: 410", end)
    # the probe waits for "go": change things now, while no watch runs
    kube.kubectl("delete", "secret", "pre1", "-n", "w")
    kube.kubectl("label", "secret", "pre2", "-n", "w", "owner-", "owner2=helm")
    kube.kubectl("create", "-f", "-", input=secret_yaml("while", {"owner": "helm"}))
    pr.go()
    lst = pr.next(lambda o: "list" in o, "the LIST after the second 410")
    check(sorted(i[1] for i in lst["items"]) == ["d1", "d2", "pre3", "while"],
          "re-LIST sees what changed while no watch ran", lst)
    kube.kubectl("create", "-f", "-", input=secret_yaml("after", {"owner": "helm"}))
    e = pr.next(lambda o: "type" in o or "end" in o, "after")
    check(e.get("type") == "ADDED" and e.get("name") == "after" and int(e["rv"]) > int(lst["list"]),
          "the event after the re-LIST arrives once, newer than the list", e)

    # an oversized event (limit 20000 bytes): PROTOCOL with the sizes in the message
    big = "A" * 30000
    kube.kubectl("create", "-f", "-", input=secret_yaml("big", {"owner": "helm"}).replace("eHl6", big))
    end = pr.next(lambda o: "end" in o or o.get("name") == "big", "the oversized event")
    check(end.get("end") == "PROTOCOL" and "over the limit of 20000 bytes" in end["message"],
          "an event over the size limit ends the watch with a clear error", end)
    # the caller re-LISTs (the event would come again from the same rv); the new watch
    # blocks with nothing to send, and SIGTERM ends it through its stop function
    pr.go()
    lst = pr.next(lambda o: "list" in o, "the LIST after the oversized event")
    check("big" in [i[1] for i in lst["items"]], "the re-LIST has the big object's metadata", lst)
    pr.p.send_signal(signal.SIGTERM)
    end = pr.next(lambda o: "end" in o, "ABORTED")
    rc = pr.p.wait(timeout=60)
    check(end["end"] == "ABORTED" and rc == 0, "SIGTERM stops a blocked watch (ABORTED, exit 0)",
          [end, rc])

    # every event seen had a fresh resourceVersion: none repeated, all increasing
    rvs = [int(o["rv"]) for o in pr.seen if o.get("type") in ("ADDED", "MODIFIED", "DELETED")]
    check(rvs == sorted(set(rvs)), "no event delivered twice; resourceVersions increase", rvs)


def timeout_ends(kube):
    """timeoutSeconds=3: a bookmark 2 s before the deadline (as kube-apiserver), then the
    server ends the stream: OK at the bookmark's rv, and the next watch starts there."""
    kube.reset_log()
    pr = Probe(kube, "follow", "/api/v1/secrets", "--label", "owner=helm", "--bookmarks",
               "--timeout", "3", "--step")
    try:
        lst = pr.next(lambda o: "list" in o, "the LIST")
        bm = pr.next(lambda o: o.get("type") == "BOOKMARK", "the BOOKMARK", skip_bookmarks=False)
        end = pr.next(lambda o: "end" in o, "the server timeout")
        check(end["end"] == "OK" and end["last_rv"] == bm["rv"] and int(bm["rv"]) >= int(lst["list"]),
              "server timeout: the watch ends OK at the last bookmark's resourceVersion", [bm, end])
        pr.go()
        pr.next(lambda o: "end" in o, "the second server timeout")
        # (the first probe's last watch is logged when it ends: keep ours; a WATCH is
        # logged once its stream is over, which may be just after the probe saw the end)
        for _ in range(300):
            watches = [e for e in kube.requests() if e["verb"] == "watch"
                       and "timeoutSeconds=3&" in e["query"]]
            if len(watches) >= 2:
                break
            time.sleep(0.1)
        q = [e["query"] for e in watches]
        check(len(q) == 2 and "resourceVersion=%s" % lst["list"] in q[0]
              and "resourceVersion=%s" % end["last_rv"] in q[1]
              and all("allowWatchBookmarks=true" in x and "timeoutSeconds=3" in x
                      and "labelSelector=owner%3Dhelm" in x for x in q),
              "each WATCH asks for bookmarks, the timeout and the label from the right rv", q)
    finally:
        pr.p.kill()
        pr.p.wait()


if __name__ == "__main__":
    sys.exit(main())
