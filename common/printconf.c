/*
 * printconf.c — the normalized configuration: canonical YAML that loads
 * again (config_load_stream) to the same model and prints the same text.
 *
 * One stream: a "--- # sgd.yaml" document with every setting spelled out,
 * then one "--- # prefix_lists.d/FILE.yaml" document per managed prefix
 * list and one "--- # groups.d/FILE.yaml" document per group, each in name
 * order.  A rule names a prefix list again where the loader expanded it.
 * Rules are one flow mapping per line; addresses are always quoted (an
 * IPv6 address with "::" is not a safe plain scalar); free text is always
 * double-quoted with escapes.
 */
#include <errno.h>
#include <string.h>

#include "config.h"

/* A word that reads back as itself when written plain. */
static bool print_is_plain_word(const char *s)
{
	static const char *const special[] = { "null", "Null", "NULL", "true", "True",
		"TRUE", "false", "False", "FALSE", "all" };

	if (!((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z') ||
	      (s[0] >= '0' && s[0] <= '9')))
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
			return false;
	for (size_t i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (strcmp(s, special[i]) == 0)
			return false;
	return true;
}

/* YAML's printable set (1.2, 5.1), less U+FEFF. */
static bool print_is_printable(uint32_t cp)
{
	return cp == 0x85 || (cp >= 0x20 && cp <= 0x7e) ||
	       (cp >= 0xa0 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd && cp != 0xfeff) ||
	       (cp >= 0x10000 && cp <= 0x10ffff);
}

/* Double-quoted scalar.  The loader guarantees valid UTF-8. */
static void print_quoted(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	fputc('"', f);
	while (*p) {
		uint32_t cp = *p;
		size_t n = 1;

		if (cp >= 0xf0)
			n = 4, cp &= 0x07;
		else if (cp >= 0xe0)
			n = 3, cp &= 0x0f;
		else if (cp >= 0xc0)
			n = 2, cp &= 0x1f;
		for (size_t k = 1; k < n && p[k]; k++)
			cp = (cp << 6) | (p[k] & 0x3f);
		if (cp == '"' || cp == '\\')
			fprintf(f, "\\%c", (int)cp);
		else if (cp == '\n')
			fputs("\\n", f);
		else if (cp == '\t')
			fputs("\\t", f);
		else if (!print_is_printable(cp) || cp == 0x85 || cp == 0x2028 ||
			 cp == 0x2029)
			/* (NEL, LS and PS are line breaks to a YAML 1.1 reader:
			 * printed raw they would come back folded to a space) */
			fprintf(f, cp > 0xffff ? "\\U%08x" : "\\u%04x", (unsigned)cp);
		else
			fwrite(p, 1, n, f);
		for (size_t k = 0; k < n && *p; k++)
			p++;
	}
	fputc('"', f);
}

static void print_word(FILE *f, const char *s)
{
	if (print_is_plain_word(s))
		fputs(s, f);
	else
		print_quoted(f, s);
}

static void print_cidr(FILE *f, const struct sg_cidr *c)
{
	char buf[64];

	fprintf(f, "\"%s\"", cidr_format(c, buf, sizeof(buf)));
}

static void print_refs(FILE *f, const struct sg_ref *v, size_t n)
{
	fputc('[', f);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputs(", ", f);
		print_word(f, v[i].name);
	}
	fputs("]\n", f);
}

/* The peers of r from i on that came from one reference to a prefix list
 * (validate_expand_rule wrote them in a row, in entry order): 0 when
 * peer i is not from a list. */
static size_t print_plist_run(const struct sg_config *cfg, const struct sg_rule *r, size_t i)
{
	const struct sg_plist *pl;

	if (!config_peer_entry(cfg, &r->peers[i], &pl))
		return 0;
	return plist_usable(pl, r->proto);
}

static void print_rule(FILE *f, const struct sg_config *cfg, const struct sg_rule *r)
{
	const char *pn = proto_name(r->proto);

	if (pn)
		fprintf(f, "  - {protocol: %s", pn);
	else
		fprintf(f, "  - {protocol: %d", r->proto);
	if (r->proto == SG_PROTO_TCP || r->proto == SG_PROTO_UDP) {
		if (r->port_lo == 0 && r->port_hi == 65535)
			fputs(", ports: all", f);
		else if (r->port_lo == r->port_hi)
			fprintf(f, ", ports: %d", r->port_lo);
		else
			fprintf(f, ", ports: \"%d-%d\"", r->port_lo, r->port_hi);
	}
	if (r->proto == SG_PROTO_ICMP || r->proto == SG_PROTO_ICMPV6)
		fprintf(f, ", icmp_type: %d, icmp_code: %d", r->icmp_type, r->icmp_code);
	fprintf(f, ", %s: [", r->dir == SG_DIR_IN ? "from" : "to");
	for (size_t i = 0; i < r->n_peers; i++) {
		size_t run = print_plist_run(cfg, r, i);

		if (i)
			fputs(", ", f);
		if (run) {
			print_word(f, cfg->plists[r->peers[i].plist_idx].name);
			i += run - 1;
		} else if (r->peers[i].kind == SG_PEER_GROUP) {
			print_word(f, r->peers[i].group_ref);
		} else {
			print_cidr(f, &r->peers[i].cidr);
		}
	}
	fputc(']', f);
	if (r->description) {
		fputs(", description: ", f);
		print_quoted(f, r->description);
	}
	fputs("}\n", f);
}

static void print_rules(FILE *f, const struct sg_config *cfg, const char *key,
			const struct sg_rule *v, size_t n)
{
	fprintf(f, "%s:%s\n", key, n ? "" : " []");
	for (size_t i = 0; i < n; i++)
		print_rule(f, cfg, &v[i]);
}

static const char *print_bool(bool b)
{
	return b ? "true" : "false";
}

/* fleet: in flow style, defaults written out (host_id and addresses
 * only when given: their defaults depend on the host). */
static void print_fleet(FILE *f, const struct sg_fleet *fl)
{
	const char *tls_keys[] = { "ca", "cert", "key" };
	const char *tls[] = { fl->tls_ca, fl->tls_cert, fl->tls_key };
	bool first = true;

	fputs("fleet:\n  etcd: [", f);
	for (size_t i = 0; i < fl->n_endpoints; i++) {
		fputs(i ? ", " : "", f);
		print_quoted(f, fl->endpoints[i]);
	}
	fputs("]\n  prefix: ", f);
	print_quoted(f, fl->prefix);
	if (fl->host_id) {
		fputs("\n  host_id: ", f);
		print_quoted(f, fl->host_id);
	}
	if (fl->n_addrs) {
		fputs("\n  addresses: [", f);
		for (size_t i = 0; i < fl->n_addrs; i++) {
			fputs(i ? ", " : "", f);
			print_cidr(f, &fl->addrs[i]);
		}
		fputc(']', f);
	}
	fprintf(f, "\n  lease_ttl: %u\n", fl->lease_ttl);
	for (size_t i = 0; i < 3; i++) {
		if (!tls[i])
			continue;
		fprintf(f, "%s%s: ", first ? "  tls: {" : ", ", tls_keys[i]);
		print_quoted(f, tls[i]);
		first = false;
	}
	if (!first)
		fputs("}\n", f);
}

static void print_settings(FILE *f, const struct sg_config *cfg)
{
	fputs("--- # sgd.yaml\ntable: ", f);
	print_word(f, cfg->table);
	fputs("\nattach: ", f);
	print_refs(f, cfg->attach, cfg->n_attach);
	fprintf(f, "interfaces:%s\n", cfg->n_ifaces ? "" : " {}");
	for (size_t i = 0; i < cfg->n_ifaces; i++) {
		fputs("  ", f);
		print_word(f, cfg->ifaces[i].ifname);
		fputs(": ", f);
		print_refs(f, cfg->ifaces[i].groups, cfg->ifaces[i].n_groups);
	}
	fprintf(f, "implicit: {loopback: %s, dhcp: %s, ipv6_nd: %s, metadata: %s, "
		"ipv6_redirects: %s, aws_dns: %s, aws_ntp: %s}\n",
		print_bool(cfg->implicit.loopback), print_bool(cfg->implicit.dhcp),
		print_bool(cfg->implicit.ipv6_nd), print_bool(cfg->implicit.metadata),
		print_bool(cfg->implicit.ipv6_redirects), print_bool(cfg->implicit.aws_dns),
		print_bool(cfg->implicit.aws_ntp));
	fprintf(f, "log_denied: %s\n", print_bool(cfg->log_denied));
	fprintf(f, "on_drift: %s\n", cfg->on_drift == SG_DRIFT_WARN ? "warn" : "repair");
	fprintf(f, "forward: %s\n", sg_forward_name(cfg->forward));
	if (cfg->control_group) {
		fputs("control_group: ", f);
		print_word(f, cfg->control_group);
		fputc('\n', f);
	}
	print_rules(f, cfg, "failsafe", cfg->failsafe, cfg->n_failsafe);
	if (cfg->fleet)
		print_fleet(f, cfg->fleet);
}

static void print_plist(FILE *f, const struct sg_plist *pl)
{
	fprintf(f, "--- # %s\nname: ", pl->file);
	print_word(f, pl->name);
	fputc('\n', f);
	if (pl->id)
		fprintf(f, "id: %s\n", pl->id);
	fputs("entries:\n", f);
	for (size_t i = 0; i < pl->n_entries; i++) {
		fputs("  - {cidr: ", f);
		print_cidr(f, &pl->entries[i].cidr);
		if (pl->entries[i].description) {
			fputs(", description: ", f);
			print_quoted(f, pl->entries[i].description);
		}
		fputs("}\n", f);
	}
}

static void print_group(FILE *f, const struct sg_config *cfg, const struct sg_group *g)
{
	fprintf(f, "--- # %s\nname: ", g->file);
	print_word(f, g->name);
	fputc('\n', f);
	if (g->id)
		fprintf(f, "id: %s\n", g->id);
	if (g->description) {
		fputs("description: ", f);
		print_quoted(f, g->description);
		fputc('\n', f);
	}
	print_rules(f, cfg, "ingress", g->ingress, g->n_ingress);
	if (g->egress_omitted)
		fputs("# egress omitted: the AWS default, all traffic to 0.0.0.0/0 and ::/0\n", f);
	else
		print_rules(f, cfg, "egress", g->egress, g->n_egress);
	fputs("members: [", f);
	for (size_t i = 0; i < g->n_members; i++) {
		if (i)
			fputs(", ", f);
		print_cidr(f, &g->members[i].cidr);
	}
	fputs("]\n", f);
}

int config_print(FILE *f, const struct sg_config *cfg)
{
	print_settings(f, cfg);
	for (size_t i = 0; i < cfg->n_plists; i++)
		print_plist(f, &cfg->plists[i]);
	for (size_t i = 0; i < cfg->n_groups; i++)
		print_group(f, cfg, &cfg->groups[i]);
	if (fflush(f) == EOF || ferror(f))
		return -EIO;
	return 0;
}
