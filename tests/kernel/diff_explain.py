#!/usr/bin/env python3
"""diff_explain.py -- the kernel and `sgctl explain` agree on every probe.

Driven by diff_explain.sh, which builds the namespaces and starts sgd.

    diff_explain.py run      (environment: see main)
    diff_explain.py prober   (inside a namespace: probes on stdin, JSON lines)

Each round writes a random configuration (CIDRs, port ranges that
partially overlap, so that the compiler makes layer sets; protocol
"all"; peer groups with awkward names: dots, dashes, underscores, names
that are another's name plus ".1"; groups attached to the interface),
reloads sgd, then sends real packets: TCP SYNs (accepted = the peer's
SYN-ACK or RST came back, dropped = nothing did) and UDP datagrams
(accepted = the ICMP port unreachable came back), in and out, IPv4 and
IPv6.  For every probe `sgctl --json explain` must give the kernel's
answer.  Then the members of a peer group change at run time (sgctl
members add/del) and the probes run again.  Everything is drawn from one
seed, printed first and again on failure: DIFF_SEED=<seed> reproduces
the configurations and probes.
"""
import errno
import json
import os
import random
import select
import socket
import subprocess
import sys
import time

V4 = "10.200.0."
V6 = "fd00:200::"
CLIENTS4 = [V4 + str(i) for i in range(2, 11)]
CLIENTS6 = [V6 + str(i) for i in range(2, 11)]
SERVER4, SERVER6 = V4 + "1", V6 + "1"

# names chosen to collide under a careless encoding: a group and its
# name plus ".1" (a layer suffix), "_v4"/"_hosts" (peer set suffixes),
# "in"/"pg" (chain and set prefixes)
NAMES = ["a", "a.1", "a.1.1", "a-1", "a_v4", "a_v4_hosts", "b.2", "b",
         "x.y-z_1", "pg.a", "in", "1a", "web.1"]
CIDRS4 = ["10.200.0.2/32", "10.200.0.3/32", "10.200.0.4/30", "10.200.0.0/29",
          "10.200.0.8/31", "10.200.0.6/31", "10.200.0.0/24", "0.0.0.0/0",
          "192.0.2.0/24", "10.200.0.9/32", "10.200.0.0/28"]
CIDRS6 = ["fd00:200::2/128", "fd00:200::3/128", "fd00:200::4/126",
          "fd00:200::/125", "fd00:200::8/127", "fd00:200::/64", "::/0",
          "2001:db8::/32", "fd00:200::9/128"]
PORT_BASE = 2000
T0 = time.monotonic()


def prober():
    """Probes from stdin, one JSON request per line:
    {"wait": seconds, "probes": [[id, proto, src, dst, port], ...]};
    answers {"id": "pass"|"drop", ...} on one line."""
    for line in sys.stdin:
        req = json.loads(line)
        socks, res = {}, {}
        for pid, proto, src, dst, port in req["probes"]:
            fam = socket.AF_INET6 if ":" in dst else socket.AF_INET
            if proto == "tcp":
                s = socket.socket(fam, socket.SOCK_STREAM)
                s.bind((src, 0))
                s.setblocking(False)
                err = s.connect_ex((dst, port))
            else:
                s = socket.socket(fam, socket.SOCK_DGRAM)
                s.bind((src, 0))
                s.connect((dst, port))
                s.setblocking(False)
                try:
                    s.send(b"probe")
                    err = 0
                except OSError as e:
                    err = e.errno
            if err == errno.EPERM:
                # dropped by the local output hook (an egress probe)
                res[pid] = "drop"
                s.close()
                continue
            socks[s] = (pid, proto)
        t0 = time.monotonic()
        end = t0 + req["wait"]
        slowest = 0.0
        while socks:
            left = end - time.monotonic()
            if left <= 0:
                break
            tcp = [s for s, (_, p) in socks.items() if p == "tcp"]
            udp = [s for s, (_, p) in socks.items() if p == "udp"]
            r, w, _ = select.select(udp, tcp, [], left)
            for s in set(r) | set(w):
                pid, proto = socks.pop(s)
                err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                # tcp: connected, or refused by the peer's RST; udp: the
                # ICMP port unreachable: in every case the probe passed
                # and its answer came back
                res[pid] = "pass" if proto == "tcp" or err else "drop"
                slowest = max(slowest, time.monotonic() - t0)
                s.close()
        for s, (pid, _) in socks.items():
            res[pid] = "drop"
            s.close()
        res["slowest"] = slowest
        print(json.dumps(res), flush=True)


class Run:
    def __init__(self):
        env = os.environ
        self.seed = int(env.get("DIFF_SEED") or int.from_bytes(os.urandom(4), "big"))
        self.rng = random.Random(self.seed)
        self.rounds = int(env.get("DIFF_ROUNDS", "8"))
        self.sgctl = [env["SGCTL"], "-s", env["SOCK"]]
        self.conf = env["CONF"]
        self.iface = env["IFACE"]
        self.env = {k: v for k, v in env.items() if k != "SSH_CONNECTION"}
        self.probers = {
            d: subprocess.Popen(["ip", "netns", "exec", env[ns], sys.executable,
                                 os.path.abspath(__file__), "prober"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                text=True)
            for d, ns in (("in", "CL_NS"), ("out", "SRV_NS"))}
        # how long a probe's answer may take before it counts as dropped:
        # 1 s at first, then 20 times the slowest answer seen (at least
        # 0.3 s); a disagreement is asked again with 5 s or more, so a
        # late answer costs time, never a false failure
        self.wait = 1.0
        self.slowest = 0.0
        self.runtime = {}	# group -> members added with sgctl members add
        self.failures = 0
        self.checked = 0
        self.log = []

    def say(self, text):
        if os.environ.get("DIFF_TIMES"):
            text = "[%6.2f] %s" % (time.monotonic() - T0, text)
        print(text, flush=True)
        self.log.append(text)

    # ---- configurations ----
    def peers(self, groups, fam_only=None):
        out = []
        for _ in range(self.rng.choice([1, 1, 2, 3])):
            k = self.rng.random()
            if k < 0.35 and groups:
                out.append(self.rng.choice(groups))
            elif k < 0.7 and fam_only != 6:
                out.append(self.rng.choice(CIDRS4))
            else:
                out.append(self.rng.choice(CIDRS6))
        return sorted(set(out), key=out.index)

    def rule(self, groups, direction):
        rng = self.rng
        proto = rng.choice(["tcp", "tcp", "tcp", "udp", "udp", "all"])
        r = {"protocol": proto}
        if proto != "all":
            lo = PORT_BASE + rng.choice([0, 5, 10, 15, 20, 30])
            hi = lo + rng.choice([0, 0, 3, 5, 10, 20])
            r["ports"] = str(lo) if lo == hi else "%d-%d" % (lo, hi)
        r["to" if direction == "out" else "from"] = self.peers(groups)
        return r

    def config(self):
        rng = self.rng
        names = rng.sample(NAMES, rng.randint(2, 5))
        # often a group and its ".1": the collision of issue 18
        if "a" in names and "a.1" not in names and rng.random() < 0.7:
            names.append("a.1")
        groups = {}
        members = {}
        for n in names:
            m = rng.sample(CLIENTS4, rng.randint(0, 3)) + rng.sample(CLIENTS6, rng.randint(0, 2))
            if rng.random() < 0.3:
                m.append(rng.choice(["10.200.0.4/30", "fd00:200::8/127", "10.200.0.8/31"]))
            members[n] = m
        attached = ["web"] + [n for n in names if rng.random() < 0.25]
        on_iface = [n for n in names if n not in attached and rng.random() < 0.2]
        for g in ["web"] + names:
            ing = [self.rule(names + ["web"], "in") for _ in range(rng.randint(0, 6))]
            # the same peer twice with partially overlapping ports: a
            # second layer set for that peer
            if ing and rng.random() < 0.5:
                r = dict(ing[0])
                if r["protocol"] != "all":
                    lo = int(r["ports"].split("-")[0])
                    r["ports"] = "%d-%d" % (lo + 2, lo + 12)
                    ing.append(r)
            g_rules = {"ingress": ing}
            k = rng.random()
            if k < 0.4:
                g_rules["egress"] = [self.rule(names + ["web"], "out")
                                     for _ in range(rng.randint(1, 4))]
            elif k < 0.55:
                g_rules["egress"] = []
            groups[g] = g_rules
        members["web"] = rng.sample(CLIENTS4, rng.randint(0, 2))
        return {"groups": groups, "members": members, "attach": attached,
                "iface": on_iface}

    def write(self, c):
        gd = os.path.join(self.conf, "groups.d")
        for f in os.listdir(gd):
            os.unlink(os.path.join(gd, f))
        with open(os.path.join(self.conf, "sgd.yaml"), "w") as f:
            f.write("table: sgd\nattach: %s\n" % json.dumps(c["attach"]))
            if c["iface"]:
                f.write("interfaces:\n  %s: %s\n" % (self.iface, json.dumps(c["iface"])))
        for i, (name, g) in enumerate(sorted(c["groups"].items())):
            doc = {"name": name, "ingress": g["ingress"],
                   "members": c["members"].get(name, [])}
            if "egress" in g:
                doc["egress"] = g["egress"]
            with open(os.path.join(gd, "g%d.yaml" % i), "w") as f:
                json.dump(doc, f)	# JSON is YAML
                f.write("\n")

    # ---- probes ----
    def probes(self, c, n_in, n_out):
        rng = self.rng
        ports = set([PORT_BASE - 1, PORT_BASE + 50])
        for g in c["groups"].values():
            for r in g["ingress"] + g.get("egress", []):
                if "ports" in r:
                    a, _, b = r["ports"].partition("-")
                    b = b or a
                    ports.update([int(a) - 1, int(a), int(b), int(b) + 1])
        ports = sorted(ports)
        out = []
        for d, n in (("in", n_in), ("out", n_out)):
            for _ in range(n):
                v6 = rng.random() < 0.4
                peer = rng.choice(CLIENTS6 if v6 else CLIENTS4)
                local = SERVER6 if v6 else SERVER4
                proto = "udp" if rng.random() < 0.25 else "tcp"
                port = rng.choice(ports)
                src, dst = (peer, local) if d == "in" else (local, peer)
                out.append([d, proto, src, dst, port, peer])
        # one probe per (direction, proto, src, dst, port)
        seen, uniq = set(), []
        for p in out:
            if tuple(p[:5]) not in seen:
                seen.add(tuple(p[:5]))
                uniq.append(p)
        return uniq

    def kernel(self, probes, wait):
        """Both directions at once (each prober in its namespace); UDP
        answers are ICMP errors, which a namespace sends at most 50 in a
        burst: batches of at most 40 per direction, 60 ms apart."""
        res = {}
        batches = {d: [[str(i), p[1], p[2], p[3], p[4]] for i, p in enumerate(probes)
                       if p[0] == d] for d in ("in", "out")}
        for k in range(0, max(len(b) for b in batches.values()), 40):
            asked = []
            for d, b in batches.items():
                if b[k:k + 40]:
                    pr = self.probers[d]
                    pr.stdin.write(json.dumps({"wait": wait, "probes": b[k:k + 40]}) + "\n")
                    pr.stdin.flush()
                    asked.append(d)
            for d in asked:
                line = self.probers[d].stdout.readline()
                if not line:
                    raise SystemExit("the %s prober died" % d)
                ans = json.loads(line)
                self.slowest = max(self.slowest, ans.pop("slowest"))
                res.update(ans)
            time.sleep(0.06)
        return [res[str(i)] for i in range(len(probes))]

    def explain(self, p):
        d, proto, _, _, port, peer = p
        cmd = self.sgctl + ["--json", "explain", d, proto, str(port), peer, "-i", self.iface]
        r = subprocess.run(cmd, capture_output=True, text=True, env=self.env)
        if r.returncode != 0:
            return "error: " + (r.stderr.strip() or r.stdout.strip())
        return "pass" if json.loads(r.stdout)["allowed"] else "drop"

    def sgctl_ok(self, *args):
        r = subprocess.run(self.sgctl + list(args), capture_output=True, text=True, env=self.env)
        if r.returncode != 0:
            self.fail("sgctl %s failed: %s" % (" ".join(args), (r.stderr or r.stdout).strip()))
        return r.returncode == 0

    def fail(self, text):
        self.failures += 1
        self.say("FAIL - " + text)

    def compare(self, what, probes):
        t = time.monotonic()
        got = self.kernel(probes, self.wait)
        if os.environ.get("DIFF_TIMES"):
            self.say("# kernel probes %.2f s (wait %.2f)" % (time.monotonic() - t, self.wait))
        if self.slowest > 0:
            self.wait = min(1.0, max(0.3, 20 * self.slowest))
        said = [self.explain(p) for p in probes]
        bad = [i for i in range(len(probes)) if got[i] != said[i]]
        if bad:
            # a late answer is not a drop: ask the kernel again, slowly
            again = self.kernel([probes[i] for i in bad], max(5.0, self.wait * 5))
            for k, i in enumerate(bad):
                got[i] = again[k]
        self.checked += len(probes)
        n_pass = sum(1 for g in got if g == "pass")
        errors = 0
        for i, p in enumerate(probes):
            if got[i] != said[i]:
                errors += 1
                self.fail("%s: %s %s port %d %s %s: kernel %s, explain %s"
                          % (what, p[0], p[1], p[4], "from" if p[0] == "in" else "to",
                             p[5], got[i], said[i]))
        self.say("%s %s: %d probes (%d passed, %d dropped), kernel and explain %s"
                 % ("ok  " if not errors else "FAIL", what, len(probes), n_pass,
                    len(probes) - n_pass, "agree" if not errors else
                    "disagree on %d" % errors))
        return errors == 0

    def dump(self, c):
        self.say("# configuration: " + json.dumps(c, sort_keys=True))
        self.say("# run-time members: " + json.dumps(self.runtime, sort_keys=True))
        for g in sorted(c["members"]):
            r = subprocess.run(self.sgctl + ["members", "list", g], capture_output=True,
                               text=True, env=self.env)
            self.say("# sgctl members list %s: %s" % (g, " ".join(r.stdout.split())))
        if os.environ.get("DIFF_NFT"):
            r = subprocess.run(["ip", "netns", "exec", os.environ["SRV_NS"], "nft", "list",
                                "table", "inet", "sgd"], capture_output=True, text=True)
            self.say(r.stdout)

    def main(self):
        self.say("# seed %d (DIFF_SEED=%d reproduces this run), %d rounds"
                 % (self.seed, self.seed, self.rounds))
        for rnd in range(1, self.rounds + 1):
            c = self.config()
            self.write(c)
            if not self.sgctl_ok("reload", "--force"):
                self.dump(c)
                break
            if os.environ.get("DIFF_TRACE"):
                self.dump(c)
            ok = self.compare("round %d" % rnd, self.probes(c, 16, 8))
            # members change at run time: a peer group named by a rule
            # gains an address or a block, or loses one
            # (only run-time members can be deleted; they outlive reloads)
            g = self.rng.choice(sorted(c["members"]))
            cur = self.runtime.setdefault(g, [])
            if cur and self.rng.random() < 0.5:
                addr = self.rng.choice(cur)
                act = "del"
                cur.remove(addr)
            else:
                addr = self.rng.choice(CLIENTS4 + CLIENTS6 + ["10.200.0.4/30", "fd00:200::/125"])
                act = "add"
                if addr not in cur:
                    cur.append(addr)
            if not self.sgctl_ok("members", act, g, addr):
                ok = False
            else:
                ok &= self.compare("round %d after members %s %s %s" % (rnd, act, g, addr),
                                   self.probes(c, 10, 4))
            if not ok:
                self.dump(c)
        for p in self.probers.values():
            p.stdin.close()
            p.wait()
        self.say("# %d probes compared, %d disagreements; seed %d"
                 % (self.checked, self.failures, self.seed))
        if self.failures:
            self.say("# reproduce: DIFF_SEED=%d DIFF_ROUNDS=%d meson test diff_explain"
                     % (self.seed, self.rounds))
        return 1 if self.failures else 0


if __name__ == "__main__":
    if sys.argv[1:] == ["prober"]:
        prober()
    else:
        sys.exit(Run().main())
