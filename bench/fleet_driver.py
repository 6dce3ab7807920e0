#!/usr/bin/env python3
"""fleet_driver.py — the measuring side of bench/fleet_etcd.sh.

Runs inside an etcd member's network namespace (it talks to etcd's JSON
gateway there) and watches the kernel of every sgd host with
`ip netns exec HOST nft monitor`.

  latency N ENDPOINT NS...     N puts (then N deletes), one at a time:
                               from the put to the element being in the
                               kernel set on every host; prints p50 p99 max
  put N ENDPOINT BASE          N keys under one new lease (addresses
                               10.BASE.0.0 onwards); prints the lease
  revoke ENDPOINT LEASE        revoke it
  revoke_timed ENDPOINT LEASE BASE N NS...
                               revoke the lease of `put N ... BASE` and time
                               it by nft monitor timestamps on every host:
                               the revoke call, then per host the first and
                               the last of the N deletions seen in its
                               kernel (no polling); prints
                               "call MS" and "HOST FIRST_MS LAST_MS" lines
"""
import base64, json, subprocess, sys, threading, time, urllib.request

def post(ep, path, body):
    req = urllib.request.Request(ep + path, data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=60))

def b64(s):
    return base64.b64encode(s.encode()).decode()

def bulk_put(ep, n, base):
    lease = post(ep, "/v3/lease/grant", {"TTL": "3600"})["ID"]
    ops = []
    for i in range(n):
        k = "/sgd/members/web/bulk%d/10.%d.%d.%d/32" % (i, base + i // 65536, (i // 256) % 256,
                                                        i % 256)
        ops.append({"request_put": {"key": b64(k), "value": b64("x"), "lease": lease}})
        if len(ops) == 128 or i == n - 1:
            post(ep, "/v3/kv/txn", {"success": ops})
            ops = []
    return lease

class Monitor:
    """Timestamps of `add element` / `delete element` lines per host."""
    def __init__(self, hosts):
        self.cv = threading.Condition()
        self.seen = {}          # (host, verb, addr) -> ns
        self.procs = []
        for h in hosts:
            p = subprocess.Popen(["ip", "netns", "exec", h, "nft", "monitor"],
                                 stdout=subprocess.PIPE, text=True, bufsize=1)
            self.procs.append(p)
            threading.Thread(target=self.read, args=(h, p), daemon=True).start()

    def read(self, h, p):
        for line in p.stdout:
            t = time.time_ns()
            words = line.split()
            if len(words) < 2 or words[1] != "element":
                continue
            verb = words[0]
            body = line[line.find("{") + 1:line.rfind("}")]
            with self.cv:
                for a in body.split(","):
                    self.seen[(h, verb, a.strip())] = t
                self.cv.notify_all()

    def wait(self, hosts, verb, addr, timeout):
        end = time.time() + timeout
        with self.cv:
            while True:
                ts = [self.seen.get((h, verb, addr)) for h in hosts]
                if all(ts):
                    return max(ts)
                left = end - time.time()
                if left <= 0:
                    return None
                self.cv.wait(left)

    def stop(self):
        for p in self.procs:
            p.kill()

def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))]

def latency(n, ep, hosts):
    mon = Monitor(hosts)
    time.sleep(1)
    res = {"put": [], "delete": []}
    for i in range(n):
        addr = "10.91.%d.%d" % (i // 256, i % 256)
        key = "/sgd/members/web/lat%d/%s/32" % (i, addr)
        for verb, body, path in (("add", {"key": b64(key), "value": b64("x")}, "/v3/kv/put"),
                                 ("delete", {"key": b64(key)}, "/v3/kv/deleterange")):
            t0 = time.time_ns()
            post(ep, path, body)
            t = mon.wait(hosts, verb, addr, 60)
            if t is None:
                print("timeout: %s %s" % (verb, addr), file=sys.stderr)
                mon.stop()
                sys.exit(1)
            res["put" if verb == "add" else "delete"].append((t - t0) / 1e6)
    mon.stop()
    for k, v in res.items():
        print("%s %.2f %.2f %.2f" % (k, pct(v, 0.5), pct(v, 0.99), max(v)))

def revoke_timed(ep, lease, base, n, hosts):
    mon = Monitor(hosts)
    time.sleep(1)
    t0 = time.time_ns()
    post(ep, "/v3/lease/revoke", {"ID": lease})
    t_call = time.time_ns()
    addrs = ["10.%d.%d.%d" % (base + i // 65536, (i // 256) % 256, i % 256) for i in range(n)]
    # the last address is not necessarily deleted last: wait for all
    end = time.time() + 600
    with mon.cv:
        while True:
            if all((h, "delete", a) in mon.seen for h in hosts for a in addrs):
                break
            left = end - time.time()
            if left <= 0:
                mon.stop()
                sys.exit("timeout: the revoke was not absorbed in 600 s")
            mon.cv.wait(min(left, 1.0))
        seen = {h: [mon.seen[(h, "delete", a)] for a in addrs] for h in hosts}
    mon.stop()
    print("call %.1f" % ((t_call - t0) / 1e6))
    for h in hosts:
        print("%s %.1f %.1f" % (h, (min(seen[h]) - t0) / 1e6, (max(seen[h]) - t0) / 1e6))

if __name__ == "__main__":
    what = sys.argv[1]
    if what == "latency":
        latency(int(sys.argv[2]), sys.argv[3], sys.argv[4:])
    elif what == "put":
        print(bulk_put(sys.argv[3], int(sys.argv[2]), int(sys.argv[4])))
    elif what == "revoke_timed":
        revoke_timed(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6:])
    elif what == "revoke":
        post(sys.argv[2], "/v3/lease/revoke", {"ID": sys.argv[3]})
    else:
        sys.exit("usage: see the docstring")
