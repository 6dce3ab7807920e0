#!/usr/bin/env python3
"""Reporting for bench.py: the table, the one-line-per-N summary, issue 6's
targets (met / MISSED / n/a), and the gnuplot PNG.

A row is a dict: section, metric, variant, n, median, min, max, unit,
rounds (0 = not measured), note, optional."""
import os
import subprocess
import time

COLORS = ["#d62728", "#1f77b4", "#2ca02c", "#000000", "#9467bd", "#ff7f0e"]


def fmt(v, unit):
    if v == "" or v is None:
        return "n/a"
    if unit in ("x",):
        return "%.3f" % v
    if unit == "pkt/s":
        return "%.0f" % v
    if abs(v) >= 100:
        return "%.0f" % v
    return "%.3g" % v


def print_table(rows, out):
    sections = {
        "commit": "a. full commit (median over rounds; ratio = median of per-round ratios [min..max])",
        "members": "b. one membership change vs group size",
        "pps": "c. per-packet: UDP packets/s through the input hook",
        "daemon": "d. sgd daemon memory and idle CPU",
    }
    for sec, title in sections.items():
        sr = [r for r in rows if r["section"] == sec]
        if not sr:
            continue
        out.write("\n%s\n" % title)
        out.write("%-20s %-12s %8s %12s %22s %6s\n" % ("metric", "variant", "N", "median",
                                                     "[min .. max]", "rounds"))
        for r in sr:
            rng = "[%s .. %s]" % (fmt(r["min"], r["unit"]), fmt(r["max"], r["unit"])) \
                if r["rounds"] else ""
            out.write("%-20s %-12s %8s %12s %22s %6s %s%s\n" % (
                r["metric"], r["variant"], r["n"], fmt(r["median"], r["unit"]), rng,
                r["rounds"], r["unit"], ("  (" + r["note"] + ")") if r["note"] else ""))


def print_summary(rows, out):
    """One line per N: the headline figures side by side."""
    def get(sec, metric, variant, n):
        for r in rows:
            if (r["section"], r["metric"], r["variant"], r["n"]) == (sec, metric, variant, n) \
                    and r["rounds"]:
                return r["median"]
        return None

    def f(v, spec):
        return spec % v if v is not None else "n/a"

    ns = sorted({r["n"] for r in rows if r["section"] in ("commit", "pps")})
    if not ns:
        return
    out.write("\nsummary (medians; x = median of per-round ratios)\n")
    out.write("%7s | %-51s | %-21s | %-36s\n" % (
        "N", "commit ms: sgd-apply sgd-reload nft-lin nft-set +ctr",
        "sgd-apply/set  /+ctr", "pkt rate vs floor (CPU): sgd lin set noct"))
    for n in ns:
        out.write("%7d | %9s %10s %7s %7s %7s          | %6s %7s  | %5s %5s %5s %5s  (wall: sgd %s)\n" % (
            n,
            f(get("commit", "time_ms", "sgd-apply", n), "%.1f"),
            f(get("commit", "time_ms", "sgd-reload", n), "%.1f"),
            f(get("commit", "time_ms", "nft-linear", n), "%.1f"),
            f(get("commit", "time_ms", "nft-set", n), "%.1f"),
            f(get("commit", "time_ms", "nft-set-ctr", n), "%.1f"),
            f(get("commit", "ratio_vs_nft-set", "sgd-apply", n), "%.2fx"),
            f(get("commit", "ratio_vs_nft-set-ctr", "sgd-apply", n), "%.2fx"),
            f(get("pps", "cpu_ratio_vs_floor", "sgd", n), "%.3f"),
            f(get("pps", "cpu_ratio_vs_floor", "linear", n), "%.3f"),
            f(get("pps", "cpu_ratio_vs_floor", "set", n), "%.3f"),
            f(get("pps", "cpu_ratio_vs_floor", "noct", n), "%.3f"),
            f(get("pps", "ratio_vs_floor", "sgd", n), "%.3f")))
    ms = sorted({r["n"] for r in rows if r["section"] == "members"})
    for m in ms:
        out.write("members %7d: sgctl add %s ms, del %s ms; inside sgd %s\n" % (
            m, f(get("members", "add_e2e_ms", "sgctl", m), "%.2f"),
            f(get("members", "del_e2e_ms", "sgctl", m), "%.2f"),
            (f(get("members", "add_internal_us", "sgd", m), "%.0f us") +
             " (apply %s, journal fdatasync %s)" % (
                 f(get("members", "add_apply_us", "sgd", m), "%.0f us"),
                 f(get("members", "add_journal_us", "sgd", m), "%.0f us")))
            if get("members", "add_internal_us", "sgd", m) is not None else
            f(get("members", "add_internal_ms", "sgd", m), "%.1f ms (1 ms res.)")))
    for r in rows:
        if r["section"] == "daemon" and r["metric"] in ("vmhwm_kb", "idle_cpu_ticks") \
                and r["rounds"]:
            out.write("daemon at N=%d: %s = %.0f %s\n" % (r["n"], r["metric"], r["median"],
                                                        r["unit"]))


def print_targets(rows, out):
    """Issue 6's targets against this run's medians: met / MISSED / n/a."""
    def get(sec, metric, variant, n):
        for r in rows:
            if (r["section"], r["metric"], r["variant"], r["n"]) == (sec, metric, variant, n) \
                    and r["rounds"]:
                return r["median"]
        return None

    lines = []

    def check(what, value, ok, fmt_="%.3f"):
        if value is None:
            lines.append("  n/a     %s" % what)
        else:
            lines.append("  %-7s %s: %s" % ("met" if ok(value) else "MISSED", what, fmt_ % value))

    for n in (10000, 100000):
        for v in ("sgd-apply", "sgd-reload"):
            check("a. %s commit / nft-set commit at N=%d <= 0.5" % (v, n),
                  get("commit", "ratio_vs_nft-set", v, n), lambda x: x <= 0.5)
        # not a target: the same set form with per-element counters, as sgd
        check("a. (like for like) sgd-apply / nft-set-ctr at N=%d <= 0.5" % n,
              get("commit", "ratio_vs_nft-set-ctr", "sgd-apply", n), lambda x: x <= 0.5)
    check("a. sgd-apply peak RSS at N=100000 <= 32768 KB",
          get("commit", "peak_rss_kb", "sgd-apply", 100000), lambda x: x <= 32768, "%.0f KB")
    check("a. sgd daemon VmHWM at N=100000 <= 32768 KB",
          get("daemon", "vmhwm_kb", "sgd", 100000), lambda x: x <= 32768, "%.0f KB")
    check("b. members add at 100k members, end to end < 5 ms",
          get("members", "add_e2e_ms", "sgctl", 100000), lambda x: x < 5, "%.2f ms")
    us = get("members", "add_internal_us", "sgd", 100000)
    ms = get("members", "add_internal_ms", "sgd", 100000)
    check("b. members add at 100k members, inside sgd < 100 us",
          us if us is not None else (ms * 1000 if ms is not None else None),
          lambda x: x < 100, "%.0f us" + ("" if us is not None else " (1 ms log resolution)"))
    check("b. (part) applying it at 100k members: index + kernel < 100 us",
          get("members", "add_apply_us", "sgd", 100000), lambda x: x < 100, "%.0f us")
    e1, e100 = get("members", "add_e2e_ms", "sgctl", 1000), get("members", "add_e2e_ms",
                                                                 "sgctl", 100000)
    check("b. members add 100k / 1k members <= 2", e100 / e1 if e1 and e100 else None,
          lambda x: x <= 2)
    for n, floor in ((10000, 0.90), (100000, 0.85)):
        for m in ("ratio_vs_floor", "cpu_ratio_vs_floor"):
            check("c. sgd %s at N=%d >= %.2f (nft-set: %s)" % (
                m, n, floor, fmt(get("pps", m, "set", n), "x")),
                get("pps", m, "sgd", n), lambda x, f=floor: x >= f)
    series = [("commit", "time_ms", "sgd-apply"), ("commit", "time_ms", "sgd-reload"),
              ("commit", "peak_rss_kb", "sgd-apply"), ("pps", "cpu_ns_per_pkt", "sgd"),
              ("members", "add_e2e_ms", "sgctl")]
    for sec, metric, v in series:
        pts = sorted((r["n"], r["median"]) for r in rows if (r["section"], r["metric"],
                     r["variant"]) == (sec, metric, v) and r["rounds"])
        for (n0, a0), (n1, a1) in zip(pts, pts[1:]):
            if n1 == 10 * n0 and a0:
                check("growth of %s %s from N=%d to %d <= 12x" % (v, metric, n0, n1),
                      a1 / a0, lambda x: x <= 12, "%.2fx")
    for r in rows:
        if r["metric"] == "idle_cpu_ticks" and r["rounds"]:
            check("d. sgd CPU while idle (%s) == 0 ticks" % r["note"], r["median"],
                  lambda x: x == 0, "%.0f ticks")
    out.write("\ntargets (issue 6)\n" + "\n".join(lines) + "\n")


def write_plot(rows, resdir, work):
    """Three panels: commit time, ns per packet, membership change time."""
    def series(sec, metric, variant, scale=1.0):
        pts = sorted((r["n"], r["median"] * scale) for r in rows if r["section"] == sec and
                     r["metric"] == metric and r["variant"] == variant and r["rounds"])
        path = os.path.join(work, "plot-%s-%s-%s.dat" % (sec, metric, variant))
        with open(path, "w") as f:
            for n, v in pts:
                f.write("%d %g\n" % (n, v))
        return path if pts else None

    panels = [
        ("full commit time", "ms", "policy rules N",
         [series("commit", "time_ms", v) and (series("commit", "time_ms", v), v)
          for v in ("sgd-apply", "sgd-reload", "nft-linear", "nft-set", "nft-set-ctr")]),
        ("per-packet cost (sender CPU per accepted packet)", "ns per packet",
         "policy rules N",
         [series("pps", "cpu_ns_per_pkt", v) and (series("pps", "cpu_ns_per_pkt", v), v)
          for v in ("sgd", "linear", "set", "floor", "noct")]),
        ("one membership change", "ms", "group members",
         [series("members", "add_e2e_ms", "sgctl") and
          (series("members", "add_e2e_ms", "sgctl"), "sgctl members add (end to end)"),
          series("members", "del_e2e_ms", "sgctl") and
          (series("members", "del_e2e_ms", "sgctl"), "sgctl members del (end to end)"),
          series("members", "add_internal_ms", "sgd") and
          (series("members", "add_internal_ms", "sgd"), "add inside sgd (log, 1 ms res.)"),
          series("members", "add_internal_us", "sgd", 0.001) and
          (series("members", "add_internal_us", "sgd", 0.001), "add inside sgd (apply + journal fdatasync)"),
          series("members", "add_apply_us", "sgd", 0.001) and
          (series("members", "add_apply_us", "sgd", 0.001), "add inside sgd: apply (index + kernel)")]),
    ]
    gp = os.path.join(work, "plot.gp")
    png = os.path.join(resdir, "latest.png")
    with open(gp, "w") as f:
        f.write('set terminal pngcairo size 1500,480 font ",10"\n')
        f.write('set output "%s"\n' % png)
        f.write("set multiplot layout 1,3 title \"sgd benchmark %s\"\n"
                % time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()))
        f.write("set logscale xy\nset grid\nset key top left\n")
        for title, ylabel, xlabel, ser in panels:
            ser = [s for s in ser if s]
            f.write('set title "%s"\nset ylabel "%s"\nset xlabel "%s"\n' % (title, ylabel, xlabel))
            if not ser:
                f.write('unset logscale\nset xrange [0:1]\nset yrange [0:1]\n'
                        'set label 1 "no data" at 0.4,0.5\nplot NaN notitle\n'
                        'unset label 1\nset autoscale\nset logscale xy\n')
                continue
            f.write("plot " + ", ".join(
                '"%s" using 1:2 with linespoints lw 2 pt %d lc rgb "%s" title "%s"'
                % (path, 5 + i, COLORS[i % len(COLORS)], title)
                for i, (path, title) in enumerate(ser)) + "\n")
        f.write("unset multiplot\n")
    r = subprocess.run(["gnuplot", gp], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        print("gnuplot failed: %s" % r.stderr.strip())
        return None
    return png
