#!/usr/bin/env python3
"""Seeded generator of benchmark policies for sgd and its nft baselines.

One policy of N rules is written three ways, all holding the same rules:

  OUT/conf/sgd.yaml, OUT/conf/groups.d/*.yaml   sgd's configuration
  OUT/linear.nft   nft -f: one rule per policy rule
  OUT/set.nft      nft -f: as a skilled admin would write it: one rule per
                   family/protocol matching a concatenated interval set
                   (ip saddr . tcp dport), elements listed
plus the two reference rulesets that do not depend on the policy:
  OUT/floor.nft    minimal stateful ruleset (ct established,related; iif lo;
                   the one allow rule)
  OUT/noct.nft     the same without connection tracking
and OUT/meta.json (counts, probe addresses).

Every .nft file replaces its table atomically:
  table inet T / delete table inet T / table inet T { ... }

The mix (per policy rule): ~68% tcp single port from a /32, ~20% tcp/udp
port range from a /16../24, ~10% IPv6 (/64 or /128, port or range), ~2%
rules whose source is a peer group.  Sources come from pools that never
overlap the probe network 198.18.0.0/15, so probe packets miss every
policy rule; the last rule of the last attached group (and the last rule of
every nft chain) allows exactly the probe: udp from PROBE_SRC to
PROBE_PORT.
"""
import argparse
import ipaddress
import json
import os
import random
import sys

PROBE_NET = ipaddress.ip_network("198.18.0.0/15")
COMMON_PORTS = [22, 25, 53, 80, 110, 143, 443, 465, 587, 993, 995, 1433, 1521,
                2049, 3306, 3389, 5432, 5439, 6379, 8080, 8443, 9200, 27017]
N_GROUPS = 4
MEMBER_POOL = int(ipaddress.ip_address("100.64.0.0"))   # 100.64.0.0/10
MEMBER_POOL_SIZE = 1 << 22


class Policy:
    """The rules, in a neutral form every writer renders."""

    def __init__(self):
        # each rule: dict(fam=4|6, proto='tcp'|'udp', src=str CIDR or None,
        #                 peer=name or None, lo=int, hi=int, group=int)
        self.rules = []
        self.peers = {}          # peer group name -> [member str]


def pick_port(rng):
    if rng.random() < 0.5:
        return rng.choice(COMMON_PORTS)
    return rng.randint(1024, 65000)


def gen_members(rng, count, used):
    """count distinct /32 members from 100.64.0.0/10, not in `used`."""
    out = []
    while len(out) < count:
        a = MEMBER_POOL + rng.randrange(MEMBER_POOL_SIZE)
        if a in used:
            continue
        used.add(a)
        out.append(str(ipaddress.IPv4Address(a)))
    return out


def generate(n, seed, peer_members, bench_peers):
    rng = random.Random(seed)
    pol = Policy()
    used_pairs = set()
    # /16../24 range sources: each gets its own /16 slot in 11.0.0.0 ..
    # 99.255.0.0, so no two overlap and none touches 10/8 or 198.18/15.
    slots = list(range(11 << 8, 100 << 8))
    rng.shuffle(slots)
    slot_i = 0
    v6_used = set()
    used_members = set()
    peer_names = ["peers-app", "peers-lb"]
    for p in peer_names:
        pol.peers[p] = gen_members(rng, peer_members, used_members)
    if bench_peers:
        pol.peers["bench-peers"] = gen_members(rng, bench_peers, used_members)
    for i in range(n):
        r = rng.random()
        g = i * N_GROUPS // n
        if r < 0.68:
            while True:
                a = (10 << 24) | rng.randrange(1 << 24)
                port = pick_port(rng)
                if (a, port) not in used_pairs:
                    used_pairs.add((a, port))
                    break
            pol.rules.append(dict(fam=4, proto="tcp", peer=None, group=g,
                                  src="%s/32" % ipaddress.IPv4Address(a),
                                  lo=port, hi=port))
        elif r < 0.88:
            if slot_i >= len(slots):
                raise SystemExit("gen_policy: out of /16 slots for range rules")
            base = slots[slot_i] << 16
            slot_i += 1
            plen = rng.randint(16, 24)
            if plen > 16:
                base |= rng.randrange(1 << (plen - 16)) << (32 - plen)
            lo = rng.randint(1024, 60000)
            hi = lo + rng.randint(1, 1000)
            pol.rules.append(dict(fam=4, proto=rng.choice(["tcp", "udp"]),
                                  peer=None, group=g,
                                  src="%s/%d" % (ipaddress.IPv4Address(base), plen),
                                  lo=lo, hi=hi))
        elif r < 0.98:
            # /64s from 2001:db8:1000::/36, /128s from 2001:db8:f000::/36
            if rng.random() < 0.5:
                while True:
                    net = rng.randrange(1 << 28)
                    if ("n", net) not in v6_used:
                        v6_used.add(("n", net))
                        break
                a = (0x20010db8 << 96) | (0x1 << 92) | (net << 64)
                src = "%s/64" % ipaddress.IPv6Address(a)
            else:
                while True:
                    host = rng.randrange(1 << 64)
                    if ("h", host) not in v6_used:
                        v6_used.add(("h", host))
                        break
                a = (0x20010db8 << 96) | (0xf << 92) | host
                src = "%s/128" % ipaddress.IPv6Address(a)
            if rng.random() < 0.7:
                lo = hi = pick_port(rng)
            else:
                lo = rng.randint(1024, 60000)
                hi = lo + rng.randint(1, 1000)
            pol.rules.append(dict(fam=6, proto=rng.choice(["tcp", "udp"]),
                                  peer=None, group=g, src=src, lo=lo, hi=hi))
        else:
            port = pick_port(rng)
            pol.rules.append(dict(fam=4, proto="tcp", peer=rng.choice(peer_names),
                                  group=g, src=None, lo=port, hi=port))
    return pol


def ports_yaml(r):
    return str(r["lo"]) if r["lo"] == r["hi"] else '"%d-%d"' % (r["lo"], r["hi"])


def write_sgd(pol, out, args):
    conf = os.path.join(out, "conf")
    gdir = os.path.join(conf, "groups.d")
    os.makedirs(gdir, exist_ok=True)
    for f in os.listdir(gdir):
        os.unlink(os.path.join(gdir, f))
    names = ["bench-g%d" % g for g in range(N_GROUPS)]
    with open(os.path.join(conf, "sgd.yaml"), "w") as f:
        f.write("# generated by bench/gen_policy.py --rules %d --seed %d\n"
                % (args.rules, args.seed))
        f.write("table: %s\n" % args.sgd_table)
        f.write("attach: [%s]\n" % ", ".join(names))
    by_group = [[] for _ in range(N_GROUPS)]
    for r in pol.rules:
        by_group[r["group"]].append(r)
    for g, name in enumerate(names):
        with open(os.path.join(gdir, name + ".yaml"), "w") as f:
            f.write("name: %s\ndescription: generated benchmark group %d\ningress:\n"
                    % (name, g))
            for r in by_group[g]:
                src = r["peer"] if r["peer"] else r["src"]
                f.write('  - {protocol: %s, ports: %s, from: ["%s"]}\n'
                        % (r["proto"], ports_yaml(r), src))
            if g == N_GROUPS - 1:
                if args.bench_peers:
                    f.write('  - {protocol: udp, ports: %d, from: [bench-peers],'
                            ' description: membership probe}\n' % args.member_port)
                # Last rule of the last attached group: accepts the probe
                # after it has missed every other rule.
                f.write('  - {protocol: udp, ports: %d, from: ["%s/32"],'
                        ' description: benchmark probe}\n'
                        % (args.probe_port, args.probe_src))
    for name, members in pol.peers.items():
        with open(os.path.join(gdir, name + ".yaml"), "w") as f:
            f.write("name: %s\ndescription: generated peer group\n" % name)
            f.write("ingress: []\nmembers:\n")
            for m in members:
                f.write('  - "%s"\n' % m)


def nft_header(table):
    return "table inet %s\ndelete table inet %s\ntable inet %s {\n" % (table, table, table)


def nft_chain_open(ct=True):
    s = "\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n"
    if ct:
        s += "\t\tct state established,related accept\n"
    s += "\t\tiif lo accept\n"
    return s


def nft_probe_rule(args):
    return "\t\tip saddr %s udp dport %d counter accept\n" % (args.probe_src, args.probe_port)


def nft_peer_sets(pol):
    s = ""
    for name, members in pol.peers.items():
        if not members:
            continue
        s += "\tset %s {\n\t\ttype ipv4_addr; flags interval;\n\t\telements = {\n" % name.replace("-", "_")
        s += "".join("\t\t\t%s,\n" % m for m in members)
        s += "\t\t}\n\t}\n"
    return s


def write_linear(pol, out, args):
    with open(os.path.join(out, "linear.nft"), "w") as f:
        f.write(nft_header(args.table))
        f.write(nft_peer_sets(pol))
        f.write(nft_chain_open())
        for r in pol.rules:
            pr = r["proto"]
            port = str(r["lo"]) if r["lo"] == r["hi"] else "%d-%d" % (r["lo"], r["hi"])
            if r["peer"]:
                f.write("\t\tip saddr @%s %s dport %s accept\n"
                        % (r["peer"].replace("-", "_"), pr, port))
            else:
                fam = "ip" if r["fam"] == 4 else "ip6"
                f.write("\t\t%s saddr %s %s dport %s accept\n" % (fam, r["src"], pr, port))
        if args.bench_peers:
            f.write("\t\tip saddr @bench_peers udp dport %d accept\n" % args.member_port)
        f.write(nft_probe_rule(args))
        f.write("\t}\n}\n")


def write_set(pol, out, args):
    sets = {}     # (fam, proto) -> [element]
    peer_ports = {}  # (peer, proto) -> set(port strings)
    for r in pol.rules:
        port = str(r["lo"]) if r["lo"] == r["hi"] else "%d-%d" % (r["lo"], r["hi"])
        if r["peer"]:
            peer_ports.setdefault((r["peer"], r["proto"]), set()).add(port)
            continue
        src = r["src"]
        if src.endswith("/32") or src.endswith("/128"):
            src = src.rsplit("/", 1)[0]
        sets.setdefault((r["fam"], r["proto"]), []).append("%s . %s" % (src, port))
    # set.nft as the baseline; set_ctr.nft the same with a counter
    # on every element of the rule sets, as sgd has (what `sgctl stats`
    # reads): the like-for-like comparison of kernel work
    for fname, counter in (("set.nft", ""), ("set_ctr.nft", " counter;")):
        with open(os.path.join(out, fname), "w") as f:
            f.write(nft_header(args.table))
            f.write(nft_peer_sets(pol))
            for (fam, proto), elems in sorted(sets.items()):
                addr = "ipv4_addr" if fam == 4 else "ipv6_addr"
                f.write("\tset v%d%s {\n\t\ttype %s . inet_service; flags interval;%s\n"
                        "\t\telements = {\n" % (fam, proto, addr, counter))
                f.write("".join("\t\t\t%s,\n" % e for e in elems))
                f.write("\t\t}\n\t}\n")
            f.write(nft_chain_open())
            for (fam, proto) in sorted(sets):
                f.write("\t\t%s saddr . %s dport @v%d%s accept\n"
                        % ("ip" if fam == 4 else "ip6", proto, fam, proto))
            for (peer, proto), ports in sorted(peer_ports.items()):
                f.write("\t\tip saddr @%s %s dport { %s } accept\n"
                        % (peer.replace("-", "_"), proto,
                           ", ".join(sorted(ports, key=lambda p: int(p.split("-")[0])))))
            if args.bench_peers:
                f.write("\t\tip saddr @bench_peers udp dport %d accept\n" % args.member_port)
            f.write(nft_probe_rule(args))
            f.write("\t}\n}\n")


def write_refs(out, args):
    with open(os.path.join(out, "floor.nft"), "w") as f:
        f.write(nft_header(args.table) + nft_chain_open(ct=True) + nft_probe_rule(args)
                + "\t}\n}\n")
    with open(os.path.join(out, "noct.nft"), "w") as f:
        f.write(nft_header(args.table) + nft_chain_open(ct=False) + nft_probe_rule(args)
                + "\t}\n}\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rules", type=int, required=True, help="policy rules N")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True, help="output directory")
    ap.add_argument("--table", default="bench", help="nft baseline table name")
    ap.add_argument("--sgd-table", default="sgd", help="sgd.yaml table:")
    ap.add_argument("--probe-src", default="198.18.0.1")
    ap.add_argument("--probe-port", type=int, default=9999)
    ap.add_argument("--peer-members", type=int, default=-1,
                    help="members of each of the 2 peer groups (default N/20, min 4)")
    ap.add_argument("--bench-peers", type=int, default=0,
                    help="add group bench-peers with this many members, allowed "
                         "udp --member-port in the last attached group")
    ap.add_argument("--member-port", type=int, default=7777)
    args = ap.parse_args()
    if args.rules < 1:
        sys.exit("gen_policy: --rules must be >= 1")
    if ipaddress.ip_address(args.probe_src) not in PROBE_NET:
        sys.exit("gen_policy: --probe-src must be in %s" % PROBE_NET)
    peer_members = args.peer_members if args.peer_members >= 0 else max(4, args.rules // 20)
    pol = generate(args.rules, args.seed, peer_members, args.bench_peers)
    os.makedirs(args.out, exist_ok=True)
    write_sgd(pol, args.out, args)
    write_linear(pol, args.out, args)
    write_set(pol, args.out, args)
    write_refs(args.out, args)
    mix = {}
    for r in pol.rules:
        k = "peer" if r["peer"] else ("v6" if r["fam"] == 6 else
                                      ("v4_exact" if r["src"].endswith("/32") else "v4_range"))
        mix[k] = mix.get(k, 0) + 1
    meta = dict(rules=args.rules, seed=args.seed, mix=mix,
                peer_members={k: len(v) for k, v in pol.peers.items()},
                probe_src=args.probe_src, probe_port=args.probe_port,
                member_port=args.member_port)
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)


if __name__ == "__main__":
    main()
