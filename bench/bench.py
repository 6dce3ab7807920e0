#!/usr/bin/env python3
"""sgd benchmark driver (run by bench/run.sh, which creates the namespaces).

Phases, each interleaving its variants round by round (A B C A B C ...):
  commit   full commit time and peak RSS: sgd-apply, sgd daemon reload via
           sgctl, nft -f linear, nft -f set form; alternating two policies,
           each commit verified in the kernel with real packets
  pps      UDP packets/s accepted through the input hook: sgd, linear, set,
           floor (minimal stateful ruleset), noct (no conntrack)
  members  one `sgctl members add` / `members del` vs group size, verified
           with a packet from the added address
  daemon   VmHWM of sgd after the largest commit, CPU while idle

Results: a table on stdout, CSV, gnuplot PNG.
"""
import argparse
import ctypes
import csv
import os
import re
import signal
import statistics
import sys
import tempfile
import time

from report import print_summary, print_table, print_targets, write_plot

CLONE_NEWNET = 0x40000000
LIBC = ctypes.CDLL(None, use_errno=True)
HERE = os.path.dirname(os.path.abspath(__file__))
PROBE_SRC = "198.18.0.1"
PROBE_DST = "198.18.0.2"
PORT_A, PORT_B, MEMBER_PORT = 9999, 9998, 7777


def log(msg):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# ---------------------------------------------------------------- processes

class Result:
    def __init__(self, rc, secs, maxrss_kb, out, err):
        self.rc, self.secs, self.maxrss_kb, self.out, self.err = rc, secs, maxrss_kb, out, err


def run(argv, ns=None, timeout=600, check=True):
    """Run argv (in netns `ns`); wall time from fork to reap.

    fork + setns + exec by hand: `ip netns exec` would add milliseconds of
    mount-namespace work.  Timed commands go through timed()."""
    out_f = tempfile.TemporaryFile()
    err_f = tempfile.TemporaryFile()
    nsfd = os.open("/run/netns/" + ns, os.O_RDONLY) if ns else -1
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            if nsfd >= 0 and LIBC.setns(nsfd, CLONE_NEWNET) != 0:
                os.write(2, b"setns failed\n")
                os._exit(126)
            os.dup2(out_f.fileno(), 1)
            os.dup2(err_f.fileno(), 2)
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    deadline = t0 + timeout
    while True:
        wpid, status, ru = os.wait4(pid, os.WNOHANG)
        if wpid:
            break
        if time.perf_counter() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.wait4(pid, 0)
            raise BenchError("timeout after %ds: %s" % (timeout, " ".join(argv)))
        time.sleep(0.0002)
    secs = time.perf_counter() - t0
    if nsfd >= 0:
        os.close(nsfd)
    out_f.seek(0)
    err_f.seek(0)
    r = Result(os.waitstatus_to_exitcode(status), secs, ru.ru_maxrss,
               out_f.read().decode(errors="replace"), err_f.read().decode(errors="replace"))
    out_f.close()
    err_f.close()
    if check and r.rc != 0:
        raise BenchError("%s exited %d: %s%s" % (" ".join(argv), r.rc, r.err.strip()[-2000:],
                                                 r.out.strip()[-500:]))
    return r


def spawn(argv, ns, logpath):
    """Start a long-running process in netns ns; returns its pid."""
    nsfd = os.open("/run/netns/" + ns, os.O_RDONLY)
    logf = os.open(logpath, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    pid = os.fork()
    if pid == 0:
        try:
            if LIBC.setns(nsfd, CLONE_NEWNET) != 0:
                os._exit(126)
            os.dup2(logf, 1)
            os.dup2(logf, 2)
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    os.close(nsfd)
    os.close(logf)
    return pid


def proc_status(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise BenchError("no %s in /proc/%d/status" % (key, pid))


def proc_cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])    # utime + stime


# ---------------------------------------------------------------- kernel side

def timed(timeexec, argv, ns=None, **kw):
    """run() through timeexec: wall time and ru_maxrss of the command alone."""
    with tempfile.NamedTemporaryFile(prefix="sgF-time-") as tf:
        r = run([timeexec, "-o", tf.name] + list(argv), ns=ns, **kw)
        text = open(tf.name).read()
    m = re.match(r"wall_ns=(\d+) maxrss_kb=(\d+)", text)
    if not m:
        raise BenchError("timeexec wrote %r for %s" % (text, " ".join(argv)))
    r.secs = int(m.group(1)) / 1e9
    r.maxrss_kb = int(m.group(2))
    return r


def nft(ns, *args, **kw):
    return run(["nft"] + list(args), ns=ns, **kw)


def accepted(ns):
    """UDP datagrams that got through the input hook of ns (they reach the
    UDP layer: delivered, no port, or socket errors)."""
    r = run(["cat", "/proc/net/snmp"], ns=ns)
    lines = [l.split() for l in r.out.splitlines() if l.startswith("Udp:")]
    hdr, val = lines[0], lines[1]
    d = dict(zip(hdr[1:], map(int, val[1:])))
    return d["InDatagrams"] + d["NoPorts"] + d["InErrors"]


def received(ns):
    """IPv4 packets that reached the IP layer of ns (Ip InReceives: counted
    before the netfilter hooks, so dropped ones too)."""
    r = run(["cat", "/proc/net/snmp"], ns=ns)
    lines = [l.split() for l in r.out.splitlines() if l.startswith("Ip:")]
    return dict(zip(lines[0][1:], map(int, lines[1][1:])))["InReceives"]


class Bench:
    def __init__(self, a):
        self.a = a
        self.flood = os.path.join(a.work, "udpflood")
        self.timeexec = os.path.join(a.work, "timeexec")
        self.sgd = os.path.join(a.builddir, "daemon", "sgd")
        self.sgctl_bin = os.path.join(a.builddir, "cli", "sgctl")
        self.apply = os.path.join(a.builddir, "tests", "sgd-apply")
        self.have_sgd = os.access(self.sgd, os.X_OK) and os.access(self.sgctl_bin, os.X_OK)
        self.have_apply = os.access(self.apply, os.X_OK)
        self.pairs = {}
        for p in a.pairs.split(","):
            role, tx, rx = p.split(":")
            self.pairs[role] = (tx, rx)
        self.rows = []          # csv rows
        self.daemons = []       # pids to stop at exit
        self.notes = []         # informational
        self.missing = []       # a measurement the run could not make

    # ------------------------------------------------------------ helpers
    def probe(self, tx, rx, port, count=3, src=PROBE_SRC):
        """count datagrams from tx to rx's port; returns once rx's IP layer
        has seen them all, so that the counters read next include their
        fate however slow the machine (60 s: a hang guard only)."""
        r0 = received(rx)
        run([self.flood, "-d", PROBE_DST, "-p", str(port), "-c", str(count), "-s", src], ns=tx)
        deadline = time.time() + 60
        while received(rx) < r0 + count and time.time() < deadline:
            time.sleep(0.01)

    def verify(self, tx, rx, port_ok, port_bad, src=PROBE_SRC, what=""):
        """Real packets: port_ok must be accepted, port_bad dropped."""
        a = accepted(rx)
        self.probe(tx, rx, port_ok, src=src)
        b = accepted(rx)
        if port_bad:
            self.probe(tx, rx, port_bad, src=src)
        c = accepted(rx)
        if b - a < 1 or c != b:
            raise BenchError("verify %s in %s: %d probes to %d accepted (want >=1), "
                             "%d to %s accepted (want 0)" % (what, rx, b - a, port_ok,
                                                            c - b, port_bad))

    def gen(self, n, seed, port, out, extra=()):
        if not os.path.exists(os.path.join(out, "meta.json")):
            run([sys.executable, os.path.join(HERE, "gen_policy.py"), "--rules", str(n),
                 "--seed", str(seed), "--probe-port", str(port), "--out", out] + list(extra))
        return out

    def policy(self, n, which):
        seed, port = (1, PORT_A) if which == "A" else (2, PORT_B)
        return self.gen(n, seed, port, os.path.join(self.a.work, "pol-%d-%s" % (n, which)))

    def point_conf(self, link, target):
        """Atomically re-point the symlink the daemon reads as -c."""
        tmp = link + ".new"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(target, tmp)
        os.rename(tmp, link)

    def sgd_apply(self, ns, conf):
        """sgd-apply --time: its stderr says how long engine_apply (compile
        + commit, without loading the YAML) took."""
        r = timed(self.timeexec, [self.apply, "--time", conf], ns=ns, timeout=900)
        m = re.search(r"commit 1: ([0-9.]+) ms", r.err)
        r.engine_ms = float(m.group(1)) if m else None
        return r

    def sgctl(self, sock, *args, check=True, timeout=600):
        return run([self.sgctl_bin, "-s", sock] + list(args), timeout=timeout, check=check)

    def sgctl_timed(self, sock, *args):
        return timed(self.timeexec, [self.sgctl_bin, "-s", sock] + list(args), timeout=600)

    def daemon_start(self, ns, conf, tag):
        sock = os.path.join(self.a.work, "sgd-%s.sock" % tag)
        state = os.path.join(self.a.work, "state-%s" % tag)
        logp = os.path.join(self.a.work, "sgd-%s.log" % tag)
        run(["rm", "-rf", state])
        os.makedirs(state)
        # -v: the daemon logs its own time for a membership change
        argv = [self.sgd, "-v", "-c", conf, "-s", sock, "--state-dir", state]
        pid = spawn(argv, ns, logp)
        self.daemons.append(pid)
        deadline = time.time() + 600
        while time.time() < deadline:
            wpid, status = os.waitpid(pid, os.WNOHANG)
            if wpid:
                self.daemons.remove(pid)
                raise BenchError("sgd exited %d at start; log %s:\n%s" % (
                    os.waitstatus_to_exitcode(status), logp, open(logp).read()[-2000:]))
            if os.path.exists(sock) and self.sgctl(sock, "status", check=False,
                                                   timeout=30).rc == 0:
                return pid, sock, logp
            time.sleep(0.05)
        raise BenchError("sgd not ready after 600 s; log %s" % logp)

    def daemon_stop(self, pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.time() + 60
        while time.time() < deadline:
            if os.waitpid(pid, os.WNOHANG)[0]:
                self.daemons.remove(pid)
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        self.daemons.remove(pid)
        raise BenchError("sgd %d ignored SIGTERM for 60 s" % pid)

    def stop_all(self):
        for pid in list(self.daemons):
            try:
                self.daemon_stop(pid)
            except (BenchError, OSError) as e:
                log("stopping sgd %d: %s" % (pid, e))

    def add(self, section, metric, variant, n, values, unit, note="", optional=False):
        vals = [v for v in values if v is not None]
        if vals:
            row = dict(section=section, metric=metric, variant=variant, n=n,
                       median=statistics.median(vals), min=min(vals), max=max(vals),
                       unit=unit, rounds=len(vals), note=note)
        else:
            row = dict(section=section, metric=metric, variant=variant, n=n, median="",
                       min="", max="", unit=unit, rounds=0, note=note or "not measured")
        row["optional"] = optional
        self.rows.append(row)
        return row

    # ------------------------------------------------------------ a. commit
    def phase_commit(self):
        a = self.a
        variants = []
        if self.have_apply:
            variants.append("sgd-apply")
        if self.have_sgd:
            variants.append("sgd-reload")
        variants += ["nft-linear", "nft-set", "nft-set-ctr"]
        if not self.have_apply:
            self.notes.append("sgd-apply not built (%s): sgd commits only through "
                              "the daemon" % self.apply)
        if not self.have_sgd:
            self.missing.append("sgd/sgctl not built in %s: no sgd figures" % self.a.builddir)
        daemon = None
        link = os.path.join(a.work, "conf-commit")
        last_n = None
        for n in a.sizes:
            pol = {w: self.policy(n, w) for w in "AB"}
            times = {v: [] for v in variants}
            rss = {v: [] for v in variants}
            engine_ms = []
            # untimed warm-up: every variant holds policy A, so each timed
            # commit replaces a table of the same size
            for v in variants:
                self.commit_one(v, pol["A"], link, daemon)
                if v == "sgd-reload" and daemon is None:
                    daemon = self.daemon_from_link(link)
                tx, rx = self.pairs[v]
                self.verify(tx, rx, PORT_A, PORT_B, what=v + " warm-up")
            for r in range(a.commit_rounds):
                w = "B" if r % 2 == 0 else "A"
                port, other = (PORT_B, PORT_A) if w == "B" else (PORT_A, PORT_B)
                for v in variants:
                    res = self.commit_one(v, pol[w], link, daemon)
                    tx, rx = self.pairs[v]
                    self.verify(tx, rx, port, other, what="%s N=%d policy %s" % (v, n, w))
                    times[v].append(res.secs * 1000)
                    if v != "sgd-reload":
                        rss[v].append(res.maxrss_kb)
                    if v == "sgd-apply":
                        engine_ms.append(res.engine_ms)
                log("commit N=%d round %d: %s" % (n, r + 1, "  ".join(
                    "%s %.1f ms" % (v, times[v][-1]) for v in variants)))
            for v in variants:
                self.add("commit", "time_ms", v, n, times[v], "ms")
                if v == "sgd-apply":
                    self.add("commit", "engine_ms", v, n, engine_ms, "ms",
                             "compile + commit inside sgd-apply, YAML load excluded")
                if v == "sgd-reload":
                    hwm = proc_status(daemon[0], "VmHWM")
                    self.add("commit", "peak_rss_kb", v, n, [hwm], "KB",
                             "daemon VmHWM after these commits")
                else:
                    self.add("commit", "peak_rss_kb", v, n, rss[v], "KB", "ru_maxrss")
            for v in variants:
                if not v.startswith("sgd"):
                    continue
                for base in ("nft-set", "nft-linear", "nft-set-ctr"):
                    ratios = [x / y for x, y in zip(times[v], times[base])]
                    self.add("commit", "ratio_vs_" + base, v, n, ratios, "x")
            last_n = n
        if daemon:
            self.phase_idle(daemon, last_n)
            self.daemon_stop(daemon[0])

    def daemon_from_link(self, link):
        tx, rx = self.pairs["sgd-reload"]
        return self.daemon_start(rx, link, "commit")

    def commit_one(self, v, poldir, link, daemon):
        tx, rx = self.pairs[v]
        if v == "sgd-apply":
            return self.sgd_apply(rx, os.path.join(poldir, "conf"))
        if v == "sgd-reload":
            self.point_conf(link, os.path.join(poldir, "conf"))
            if daemon is None:
                return None     # warm-up: the daemon's start commits it
            return self.sgctl_timed(daemon[1], "reload")
        f = os.path.join(poldir, {"nft-linear": "linear.nft", "nft-set": "set.nft",
                                  "nft-set-ctr": "set_ctr.nft"}[v])
        return timed(self.timeexec, ["nft", "-f", f], ns=rx, timeout=900)

    # ------------------------------------------------------------ d. idle
    def phase_idle(self, daemon, n):
        pid = daemon[0]
        hwm = proc_status(pid, "VmHWM")
        rss = proc_status(pid, "VmRSS")
        hz = os.sysconf("SC_CLK_TCK")
        t0, c0 = time.time(), proc_cpu_ticks(pid)
        time.sleep(self.a.idle_secs)
        t1, c1 = time.time(), proc_cpu_ticks(pid)
        pct = 100.0 * (c1 - c0) / hz / (t1 - t0)
        self.add("daemon", "vmhwm_kb", "sgd", n, [hwm], "KB", "after the N=%d commits" % n)
        self.add("daemon", "vmrss_kb", "sgd", n, [rss], "KB")
        self.add("daemon", "idle_cpu_ticks", "sgd", n, [c1 - c0], "ticks",
                 "over %.0f s, %d ticks/s" % (t1 - t0, hz))
        self.add("daemon", "idle_cpu_pct", "sgd", n, [pct], "%")
        log("daemon idle: VmHWM %d KB, VmRSS %d KB, %d ticks in %.1f s"
            % (hwm, rss, c1 - c0, t1 - t0))

    # ------------------------------------------------------------ c. pps
    def load_pps(self, v, pol, rx):
        nft(rx, "flush", "ruleset")
        if v == "sgd":
            if self.have_apply:
                self.sgd_apply(rx, os.path.join(pol, "conf"))
            else:
                # the daemon commits at start and leaves the rules on SIGTERM
                pid, _, _ = self.daemon_start(rx, os.path.join(pol, "conf"), "pps")
                self.daemon_stop(pid)
        else:
            nft(rx, "-f", os.path.join(pol, v + ".nft"), timeout=900)

    def phase_pps(self):
        """Each variant lives in its own receiver namespace, loaded once per
        N; the rounds then only alternate floods (A B C A B C ...), so a
        round's variants are measured seconds apart and their ratio is not
        skewed by load from outside the benchmark."""
        a = self.a
        variants = (["sgd"] if self.have_sgd or self.have_apply else []) + \
            ["linear", "set", "floor", "noct"]
        for n in a.sizes:
            pol = self.policy(n, "A")
            for v in variants:
                tx, rx = self.pairs["pps-" + v]
                self.load_pps(v, pol, rx)
                self.verify(tx, rx, PORT_A, PORT_B, what="pps %s N=%d" % (v, n))
                self.probe(tx, rx, PORT_A, count=64)   # ARP, conntrack entry, caches
            pps = {v: [] for v in variants}
            cpp = {v: [] for v in variants}     # sender CPU ns per accepted packet
            for r in range(a.pps_rounds):
                for v in variants:
                    tx, rx = self.pairs["pps-" + v]
                    before = accepted(rx)
                    res = run([self.flood, "-d", PROBE_DST, "-p", str(PORT_A), "-t",
                               str(a.flood_secs), "-C", str(a.flood_cpu)], ns=tx, timeout=120)
                    after = accepted(rx)
                    m = re.search(r"secs=([0-9.]+) .*cpu=([0-9.]+)", res.out)
                    if not m:
                        raise BenchError("udpflood printed no duration: %r" % res.out)
                    got = after - before
                    if got <= 0:
                        raise BenchError("pps %s N=%d: no packet accepted" % (v, n))
                    pps[v].append(got / float(m.group(1)))
                    cpu = float(m.group(2))
                    cpp[v].append(cpu * 1e9 / got if cpu > 0 else None)
                log("pps N=%d round %d: %s" % (n, r + 1, "  ".join(
                    "%s %.0f" % (v, pps[v][-1]) for v in variants)))
            for v in variants:
                nft(self.pairs["pps-" + v][1], "flush", "ruleset")
                self.add("pps", "pps", v, n, pps[v], "pkt/s")
                for base in ("floor", "noct"):
                    self.add("pps", "ratio_vs_" + base, v, n,
                             [x / y for x, y in zip(pps[v], pps[base])], "x")
                self.add("pps", "cpu_ns_per_pkt", v, n, cpp[v], "ns",
                         "sender CPU (send + receive softirq) per accepted packet")
                for base in ("floor", "noct"):
                    self.add("pps", "cpu_ratio_vs_" + base, v, n,
                             [y / x for x, y in zip(cpp[v], cpp[base])
                              if x is not None and y is not None], "x",
                             "same ratio per CPU second: robust to other load")

    # ------------------------------------------------------------ b. members
    def internal_time(self, logp, offset):
        """The daemon's own timing of a membership change, from its -v log
        (daemon/membatch.c: "members of G updated: index N us, kernel N us,
        journal N us (K members, C changes)").  Returns (total, unit,
        parts) with parts {label: value}, or None."""
        with open(logp) as f:
            f.seek(offset)
            lines = [l for l in f.read().splitlines()
                     if re.search(r"members of \S+ updated", l)]
        if not lines:
            return None
        parts = re.findall(r"(?:(\w+) )?([0-9.]+) ?(us|µs|ms)\b", lines[-1])
        if not parts:
            return None
        if all(u == "ms" for _, _, u in parts):
            return (sum(float(v) for _, v, _ in parts), "ms",
                    {k: float(v) for k, v, _ in parts if k})
        scale = {"ms": 1000.0, "us": 1.0, "µs": 1.0}
        return (sum(float(v) * scale[u] for _, v, u in parts), "us",
                {k: float(v) * scale[u] for k, v, u in parts if k})

    def phase_members(self):
        a = self.a
        if not self.have_sgd:
            for m in a.members:
                self.add("members", "add_e2e_ms", "sgctl", m, [], "ms", "sgd not built")
            return
        tx, rx = self.pairs["pps-sgd"]
        dev = self.a.tx_dev
        addrs = ["198.19.%d.%d" % (i // 200, i % 200 + 1) for i in range(a.member_rounds)]
        for ad in addrs:
            run(["ip", "addr", "replace", ad + "/15", "dev", dev], ns=tx)
        for msize in a.members:
            pol = self.gen(100, 3, PORT_A, os.path.join(a.work, "members-%d" % msize),
                           ["--bench-peers", str(msize), "--peer-members", "4"])
            nft(rx, "flush", "ruleset")
            pid, sock, logp = self.daemon_start(rx, os.path.join(pol, "conf"), "m%d" % msize)
            add_t, del_t, internal = [], [], []
            for i, ad in enumerate(addrs):
                off = os.path.getsize(logp)
                t = self.sgctl_timed(sock, "members", "add", "bench-peers", ad)
                add_t.append(t.secs * 1000)
                internal.append(self.internal_time(logp, off))
                self.verify(tx, rx, MEMBER_PORT, None, src=ad, what="member %s added" % ad)
                t = self.sgctl_timed(sock, "members", "del", "bench-peers", ad)
                del_t.append(t.secs * 1000)
                b0 = accepted(rx)
                self.probe(tx, rx, MEMBER_PORT, src=ad)
                if accepted(rx) != b0:
                    raise BenchError("member %s still accepted after del" % ad)
            log("members %d: add %.2f ms, del %.2f ms (medians)" % (
                msize, statistics.median(add_t), statistics.median(del_t)))
            self.add("members", "add_e2e_ms", "sgctl", msize, add_t, "ms",
                     "process start to exit")
            self.add("members", "del_e2e_ms", "sgctl", msize, del_t, "ms")
            have = [x for x in internal if x is not None]
            unit = have[0][1] if have else "us"
            self.add("members", "add_internal_" + unit, "sgd", msize,
                     [x[0] for x in have], unit,
                     ("daemon -v log; %s resolution" % ("1 ms" if unit == "ms" else "1 us"))
                     if have else "the daemon logs no time for it", optional=True)
            # the same time in its parts: applying the change (index +
            # kernel transaction) and making it durable (journal fdatasync)
            if have and unit == "us" and all("kernel" in x[2] and "journal" in x[2]
                                             for x in have):
                self.add("members", "add_apply_us", "sgd", msize,
                         [x[2].get("index", 0) + x[2]["kernel"] for x in have], "us",
                         "index + kernel transaction")
                self.add("members", "add_journal_us", "sgd", msize,
                         [x[2]["journal"] for x in have], "us",
                         "journal write + fdatasync before the reply")
            self.daemon_stop(pid)
            nft(rx, "flush", "ruleset")
        for ad in addrs:
            run(["ip", "addr", "del", ad + "/15", "dev", dev], ns=tx, check=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--pairs", required=True,
                    help="role:txns:rxns,... for roles pps-sgd, pps-linear, pps-set, "
                         "pps-floor, pps-noct, sgd-apply, sgd-reload, nft-linear, nft-set, "
                         "nft-set-ctr")
    ap.add_argument("--tx-dev", required=True, help="sender veth of the pps-sgd pair")
    ap.add_argument("--sizes", default="100,1000,10000,100000")
    ap.add_argument("--members", default="1000,10000,100000")
    ap.add_argument("--commit-rounds", type=int, default=6)
    ap.add_argument("--pps-rounds", type=int, default=5)
    ap.add_argument("--member-rounds", type=int, default=20)
    ap.add_argument("--flood-secs", type=float, default=3)
    ap.add_argument("--flood-cpu", type=int, default=1)
    ap.add_argument("--idle-secs", type=float, default=10)
    ap.add_argument("--phases", default="commit,pps,members")
    ap.add_argument("--require-all", action="store_true",
                    help="exit 1 unless every measurement produced a number")
    a = ap.parse_args()
    a.sizes = [int(x) for x in a.sizes.split(",") if x]
    a.members = [int(x) for x in a.members.split(",") if x]
    os.makedirs(a.results, exist_ok=True)
    b = Bench(a)
    failed = None
    try:
        for ph in a.phases.split(","):
            log("phase %s" % ph)
            getattr(b, "phase_" + ph)()
    except (BenchError, OSError) as e:
        failed = str(e)
        log("FAILED: %s" % failed)
    finally:
        b.stop_all()
    csvp = os.path.join(a.results, "latest.csv")
    with open(csvp, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["section", "metric", "variant", "n", "median",
                                          "min", "max", "unit", "rounds", "note"],
                           extrasaction="ignore")
        w.writeheader()
        for r in b.rows:
            w.writerow(r)
    print("sgd benchmark  %s  kernel %s  %d CPUs" % (
        time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), os.uname().release,
        os.cpu_count()))
    print_table(b.rows, sys.stdout)
    print_summary(b.rows, sys.stdout)
    print_targets(b.rows, sys.stdout)
    for n in b.notes:
        print("note: " + n)
    for n in b.missing:
        print("missing: " + n)
    png = write_plot(b.rows, a.results, a.work)
    print("\nCSV: %s\nPNG: %s" % (csvp, png or "(gnuplot failed)"))
    if failed:
        print("FAILED: " + failed)
        return 1
    if a.require_all:
        missing = [r for r in b.rows if not r["rounds"] and not r["optional"]]
        if missing or b.missing or png is None:
            for r in missing:
                print("no figure: %s %s %s N=%s (%s)" % (r["section"], r["metric"],
                                                       r["variant"], r["n"], r["note"]))
            print("FAILED: not every measurement produced a number")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
