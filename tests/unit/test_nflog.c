/*
 * test_nflog.c — common/nflog.c without a kernel: NFLOG packet messages are
 * crafted with libmnl exactly as nfnetlink_log builds them, then parsed
 * back; payloads (IPv4/IPv6, TCP/UDP/ICMP/ICMPv6, extension headers,
 * fragments) are decoded; truncated and garbage input must be refused or
 * decoded as far as it goes, never read out of bounds (run this under
 * `meson test --setup valgrind` or ASan to prove the last part).
 * Also the closest-group choice of common/drop_closest.c, on a configuration
 * loaded from a temporary directory by the real loader.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>

#include "nflog.h"
#include "drop.h"
#include "out.h"
#include "../../cli/cmd_log.h"
#include <time.h>
#include "config.h"
#include "diag.h"

/* Big enough for any message these tests build; uint32_t for alignment. */
#define BUFWORDS 2048
static uint32_t msgbuf[BUFWORDS];

/* What a crafted message carries; NULL/0 fields are left out. */
struct craft {
	uint8_t family;
	const char *prefix;
	uint32_t indev, outdev;
	bool with_time;
	uint64_t sec, usec;
	const uint8_t *payload;
	size_t payload_len;
};

static struct nlmsghdr *craft_msg(void *buf, const struct craft *c)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;
	struct nfulnl_msg_packet_hdr ph = { .hw_protocol = htons(0x0800), .hook = 1 };

	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = c->family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(100);
	mnl_attr_put(nlh, NFULA_PACKET_HDR, sizeof(ph), &ph);
	if (c->prefix)
		mnl_attr_put_strz(nlh, NFULA_PREFIX, c->prefix);
	if (c->indev)
		mnl_attr_put_u32(nlh, NFULA_IFINDEX_INDEV, htonl(c->indev));
	if (c->outdev)
		mnl_attr_put_u32(nlh, NFULA_IFINDEX_OUTDEV, htonl(c->outdev));
	if (c->with_time) {
		struct nfulnl_msg_packet_timestamp ts = {
			.sec = htobe64(c->sec), .usec = htobe64(c->usec),
		};

		mnl_attr_put(nlh, NFULA_TIMESTAMP, sizeof(ts), &ts);
	}
	if (c->payload)
		mnl_attr_put(nlh, NFULA_PAYLOAD, c->payload_len, c->payload);
	return nlh;
}

/* An IPv4 header (20 bytes) for proto, total length tot, then l4. */
static size_t ipv4(uint8_t *b, uint8_t proto, const uint8_t *l4, size_t l4len)
{
	size_t tot = 20 + l4len;

	memset(b, 0, 20);
	b[0] = 0x45;
	b[2] = (uint8_t)(tot >> 8);
	b[3] = (uint8_t)tot;
	b[8] = 64;
	b[9] = proto;
	inet_pton(AF_INET, "10.77.0.1", b + 12);
	inet_pton(AF_INET, "10.77.0.2", b + 16);
	memcpy(b + 20, l4, l4len);
	return tot;
}

static size_t ipv6(uint8_t *b, uint8_t nh, const uint8_t *rest, size_t len)
{
	memset(b, 0, 40);
	b[0] = 0x60;
	b[4] = (uint8_t)(len >> 8);
	b[5] = (uint8_t)len;
	b[6] = nh;
	b[7] = 64;
	inet_pton(AF_INET6, "fd77::1", b + 8);
	inet_pton(AF_INET6, "fd77::2", b + 24);
	memcpy(b + 40, rest, len);
	return 40 + len;
}

static const uint8_t tcp_syn[20] = {
	0x9c, 0x40, 0x15, 0x38,	/* 40000 -> 5432 */
	0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0,
};

START_TEST(test_parse_full_message)
{
	uint8_t pkt[64];
	size_t n = ipv4(pkt, IPPROTO_TCP, tcp_syn, sizeof(tcp_syn));
	struct craft c = {
		.family = NFPROTO_IPV4, .prefix = "sgd-in ", .indev = 7,
		.with_time = true, .sec = 1795868107, .usec = 242869,
		.payload = pkt, .payload_len = n,
	};
	struct nlmsghdr *nlh = craft_msg(msgbuf, &c);
	struct nflog_msg m;
	struct nflog_pkt p;
	char a[INET_ADDRSTRLEN];

	ck_assert_int_eq(nflog_parse_msg(nlh, &m), 0);
	ck_assert_uint_eq(m.family, NFPROTO_IPV4);
	ck_assert_uint_eq(m.group, 100);
	ck_assert(m.has_hdr);
	ck_assert_uint_eq(m.hw_protocol, 0x0800);
	ck_assert_uint_eq(m.hook, 1);
	ck_assert(m.has_prefix);
	ck_assert_str_eq(m.prefix, "sgd-in ");
	ck_assert_uint_eq(m.indev, 7);
	ck_assert_uint_eq(m.outdev, 0);
	ck_assert(m.has_time);
	ck_assert_int_eq(m.sec, 1795868107);
	ck_assert_uint_eq(m.usec, 242869);
	ck_assert_uint_eq(m.payload_len, n);
	ck_assert_int_eq(memcmp(m.payload, pkt, n), 0);

	ck_assert_int_eq(nflog_decode_packet(m.payload, m.payload_len, m.family, &p), 0);
	ck_assert_int_eq(p.family, AF_INET);
	ck_assert_int_eq(p.proto, IPPROTO_TCP);
	ck_assert(p.has_ports);
	ck_assert_uint_eq(p.sport, 40000);
	ck_assert_uint_eq(p.dport, 5432);
	ck_assert(!p.has_icmp && !p.truncated && !p.fragment);
	inet_ntop(AF_INET, p.src, a, sizeof(a));
	ck_assert_str_eq(a, "10.77.0.1");
	inet_ntop(AF_INET, p.dst, a, sizeof(a));
	ck_assert_str_eq(a, "10.77.0.2");
}
END_TEST

START_TEST(test_parse_optional_absent)
{
	struct craft c = { .family = NFPROTO_IPV6, .outdev = 3 };
	struct nflog_msg m;

	ck_assert_int_eq(nflog_parse_msg(craft_msg(msgbuf, &c), &m), 0);
	ck_assert(!m.has_prefix && !m.has_time);
	ck_assert_ptr_null(m.payload);
	ck_assert_uint_eq(m.outdev, 3);
	ck_assert_uint_eq(m.indev, 0);
}
END_TEST

START_TEST(test_prefix_cut_and_unterminated)
{
	char longp[200];
	struct craft c = { .family = NFPROTO_IPV4, .prefix = longp };
	struct nlmsghdr *nlh;
	struct nflog_msg m;

	memset(longp, 'x', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	ck_assert_int_eq(nflog_parse_msg(craft_msg(msgbuf, &c), &m), 0);
	ck_assert_uint_eq(strlen(m.prefix), NFLOG_PREFIX_MAX - 1);

	/* a prefix without its NUL is taken as far as it goes */
	c.prefix = NULL;
	nlh = craft_msg(msgbuf, &c);
	mnl_attr_put(nlh, NFULA_PREFIX, 6, "sgd-in");
	ck_assert_int_eq(nflog_parse_msg(nlh, &m), 0);
	ck_assert_str_eq(m.prefix, "sgd-in");
}
END_TEST

START_TEST(test_bad_attr_sizes)
{
	struct craft c = { .family = NFPROTO_IPV4 };
	struct nlmsghdr *nlh;
	struct nflog_msg m;
	uint16_t two = 7;
	uint8_t eight[8] = { 0 };

	nlh = craft_msg(msgbuf, &c);
	mnl_attr_put(nlh, NFULA_IFINDEX_INDEV, sizeof(two), &two);
	ck_assert_int_eq(nflog_parse_msg(nlh, &m), -EBADMSG);

	nlh = craft_msg(msgbuf, &c);
	mnl_attr_put(nlh, NFULA_TIMESTAMP, sizeof(eight), eight);
	ck_assert_int_eq(nflog_parse_msg(nlh, &m), -EBADMSG);

	nlh = craft_msg(msgbuf, &c);
	mnl_attr_put(nlh, NFULA_PACKET_HDR, 2, eight);
	ck_assert_int_eq(nflog_parse_msg(nlh, &m), -EBADMSG);
}
END_TEST

START_TEST(test_attr_overruns_message)
{
	uint8_t pkt[64];
	size_t n = ipv4(pkt, IPPROTO_TCP, tcp_syn, sizeof(tcp_syn));
	struct craft c = { .family = NFPROTO_IPV4, .prefix = "sgd-in ",
			   .payload = pkt, .payload_len = n };
	struct nlmsghdr *nlh = craft_msg(msgbuf, &c);
	uint32_t full = nlh->nlmsg_len;
	struct nflog_msg m;

	/* Every shorter message length cuts an attribute: all refused, or
	 * (cut exactly between attributes) accepted without the rest. */
	for (uint32_t len = MNL_NLMSG_HDRLEN; len < full; len++) {
		int r;

		nlh->nlmsg_len = len;
		r = nflog_parse_msg(nlh, &m);
		if (len < MNL_NLMSG_HDRLEN + sizeof(struct nfgenmsg)) {
			ck_assert_int_eq(r, -EBADMSG);
			continue;
		}
		ck_assert_msg(r == 0 || r == -EBADMSG, "len %u: %d", len, r);
		if (r == 0)
			ck_assert_ptr_null(m.payload);
	}
	/* an attribute claiming more than the message holds */
	nlh->nlmsg_len = full;
	{
		struct nlattr *a = (struct nlattr *)((uint8_t *)nlh +
			MNL_NLMSG_HDRLEN + MNL_ALIGN(sizeof(struct nfgenmsg)));

		a->nla_len = 0xfff0;
		ck_assert_int_eq(nflog_parse_msg(nlh, &m), -EBADMSG);
		a->nla_len = 2;	/* shorter than its own header */
		ck_assert_int_eq(nflog_parse_msg(nlh, &m), -EBADMSG);
	}
}
END_TEST

START_TEST(test_not_a_packet_message)
{
	struct craft c = { .family = NFPROTO_IPV4 };
	struct nlmsghdr *nlh = craft_msg(msgbuf, &c);
	struct nflog_msg m;

	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	ck_assert_int_eq(nflog_parse_msg(nlh, &m), -EPROTO);
	nlh->nlmsg_type = (NFNL_SUBSYS_QUEUE << 8) | NFULNL_MSG_PACKET;
	ck_assert_int_eq(nflog_parse_msg(nlh, &m), -EPROTO);
}
END_TEST

struct seen {
	int n;
	uint32_t indev[8];
};

static int count_cb(const struct nflog_msg *m, void *data)
{
	struct seen *s = data;

	if (s->n < 8)
		s->indev[s->n] = m->indev;
	s->n++;
	return 0;
}

static int stop_cb(const struct nflog_msg *m, void *data)
{
	(void)m;
	(*(int *)data)++;
	return -ECANCELED;
}

START_TEST(test_buf_several_messages_one_bad)
{
	uint8_t *p = (uint8_t *)msgbuf;
	struct craft c = { .family = NFPROTO_IPV4, .prefix = "sgd-in " };
	struct nlmsghdr *nlh;
	struct seen s = { 0 };
	struct nflog_ack ack = { 0 };
	unsigned int bad = 0;
	size_t len = 0;
	int stops = 0;

	for (uint32_t i = 1; i <= 3; i++) {
		c.indev = i;
		nlh = craft_msg(p + len, &c);
		if (i == 2) {	/* break the second: an ifindex of 2 bytes */
			uint16_t x = 1;

			mnl_attr_put(nlh, NFULA_IFINDEX_OUTDEV, sizeof(x), &x);
		}
		len += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	ck_assert_int_eq(nflog_parse_buf(msgbuf, len, count_cb, &s, &bad, &ack), 0);
	ck_assert_int_eq(s.n, 2);
	ck_assert_uint_eq(s.indev[0], 1);
	ck_assert_uint_eq(s.indev[1], 3);
	ck_assert_uint_eq(bad, 1);
	ck_assert(!ack.seen);

	/* a callback's negative return stops the walk and is returned */
	ck_assert_int_eq(nflog_parse_buf(msgbuf, len, stop_cb, &stops, NULL, NULL),
			 -ECANCELED);
	ck_assert_int_eq(stops, 1);

	/* a buffer that ends inside a message header, or a message longer
	 * than the buffer */
	ck_assert_int_eq(nflog_parse_buf(msgbuf, len - 1, count_cb, &s, &bad, NULL),
			 -EBADMSG);
	ck_assert_int_eq(nflog_parse_buf(msgbuf, 10, count_cb, &s, &bad, NULL),
			 -EBADMSG);
	((struct nlmsghdr *)msgbuf)->nlmsg_len = 8;	/* < header */
	ck_assert_int_eq(nflog_parse_buf(msgbuf, len, count_cb, &s, &bad, NULL),
			 -EBADMSG);
}
END_TEST

START_TEST(test_buf_ack)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(msgbuf);
	struct nlmsgerr *e;
	struct nflog_ack ack = { 0 };

	nlh->nlmsg_type = NLMSG_ERROR;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = -EPERM;
	e->msg.nlmsg_seq = 42;
	ck_assert_int_eq(nflog_parse_buf(msgbuf, nlh->nlmsg_len, NULL, NULL, NULL, &ack), 1);
	ck_assert(ack.seen);
	ck_assert_int_eq(ack.err, -EPERM);
	ck_assert_uint_eq(ack.seq, 42);

	e->error = 0;
	ck_assert_int_eq(nflog_parse_buf(msgbuf, nlh->nlmsg_len, NULL, NULL, NULL, &ack), 1);
	ck_assert_int_eq(ack.err, 0);

	/* an error message too short for its struct */
	nlh->nlmsg_len = MNL_NLMSG_HDRLEN + 4;
	ck_assert_int_eq(nflog_parse_buf(msgbuf, nlh->nlmsg_len, NULL, NULL, NULL, &ack),
			 -EBADMSG);
}
END_TEST

START_TEST(test_build_config)
{
	struct nlmsghdr *nlh = nflog_build_config(msgbuf, 9, AF_UNSPEC, 100,
						  NFULNL_CFG_CMD_BIND, 128);
	struct nfgenmsg *nfg = mnl_nlmsg_get_payload(nlh);
	struct nlattr *a;
	bool cmd = false, mode = false, qthresh = false;

	ck_assert_uint_eq(nlh->nlmsg_type, (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG);
	ck_assert_uint_eq(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	ck_assert_uint_eq(nlh->nlmsg_seq, 9);
	ck_assert_uint_eq(nfg->nfgen_family, AF_UNSPEC);
	ck_assert_uint_eq(nfg->version, NFNETLINK_V0);
	ck_assert_uint_eq(ntohs(nfg->res_id), 100);
	mnl_attr_for_each(a, nlh, sizeof(*nfg)) {
		switch (mnl_attr_get_type(a)) {
		case NFULA_CFG_CMD:
			ck_assert_uint_eq(mnl_attr_get_payload_len(a), 1);
			ck_assert_uint_eq(mnl_attr_get_u8(a), NFULNL_CFG_CMD_BIND);
			cmd = true;
			break;
		case NFULA_CFG_MODE: {
			const struct nfulnl_msg_config_mode *m = mnl_attr_get_payload(a);

			ck_assert_uint_eq(mnl_attr_get_payload_len(a), sizeof(*m));
			ck_assert_uint_eq(ntohl(m->copy_range), 128);
			ck_assert_uint_eq(m->copy_mode, NFULNL_COPY_PACKET);
			mode = true;
			break;
		}
		case NFULA_CFG_QTHRESH:
			ck_assert_uint_eq(ntohl(mnl_attr_get_u32(a)), 1);
			qthresh = true;
			break;
		default:
			ck_abort_msg("unexpected attribute %u", mnl_attr_get_type(a));
		}
	}
	ck_assert(cmd && mode && qthresh);

	/* unbind: the command alone */
	nlh = nflog_build_config(msgbuf, 10, AF_UNSPEC, 100, NFULNL_CFG_CMD_UNBIND, 0);
	ck_assert_uint_eq(nlh->nlmsg_len, MNL_NLMSG_HDRLEN +
			  MNL_ALIGN(sizeof(*nfg)) + MNL_ALIGN(sizeof(struct nlattr) + 1));
}
END_TEST

START_TEST(test_decode_icmp)
{
	uint8_t pkt[64], echo[8] = { 8, 0, 0, 0, 0, 1, 0, 1 };
	size_t n = ipv4(pkt, IPPROTO_ICMP, echo, sizeof(echo));
	struct nflog_pkt p;

	ck_assert_int_eq(nflog_decode_packet(pkt, n, NFPROTO_IPV4, &p), 0);
	ck_assert_int_eq(p.proto, IPPROTO_ICMP);
	ck_assert(p.has_icmp && !p.has_ports);
	ck_assert_uint_eq(p.icmp_type, 8);
	ck_assert_uint_eq(p.icmp_code, 0);

	/* destination unreachable / fragmentation needed */
	echo[0] = 3;
	echo[1] = 4;
	n = ipv4(pkt, IPPROTO_ICMP, echo, sizeof(echo));
	ck_assert_int_eq(nflog_decode_packet(pkt, n, NFPROTO_UNSPEC, &p), 0);
	ck_assert_uint_eq(p.icmp_type, 3);
	ck_assert_uint_eq(p.icmp_code, 4);
}
END_TEST

START_TEST(test_decode_ipv6_udp_and_icmpv6)
{
	uint8_t pkt[128], udp[8] = { 0xac, 0xca, 0x04, 0xd2, 0, 8, 0, 0 };
	uint8_t icmp6[8] = { 128, 0, 0, 0, 0, 0, 0, 0 };
	struct nflog_pkt p;
	char a[INET6_ADDRSTRLEN];
	size_t n = ipv6(pkt, IPPROTO_UDP, udp, sizeof(udp));

	ck_assert_int_eq(nflog_decode_packet(pkt, n, NFPROTO_IPV6, &p), 0);
	ck_assert_int_eq(p.family, AF_INET6);
	ck_assert_int_eq(p.proto, IPPROTO_UDP);
	ck_assert(p.has_ports);
	ck_assert_uint_eq(p.sport, 44234);
	ck_assert_uint_eq(p.dport, 1234);
	inet_ntop(AF_INET6, p.src, a, sizeof(a));
	ck_assert_str_eq(a, "fd77::1");
	inet_ntop(AF_INET6, p.dst, a, sizeof(a));
	ck_assert_str_eq(a, "fd77::2");

	n = ipv6(pkt, IPPROTO_ICMPV6, icmp6, sizeof(icmp6));
	ck_assert_int_eq(nflog_decode_packet(pkt, n, NFPROTO_IPV6, &p), 0);
	ck_assert(p.has_icmp);
	ck_assert_uint_eq(p.icmp_type, 128);

	/* icmp (1) inside IPv6 is not ICMPv6: no type/code claimed */
	n = ipv6(pkt, IPPROTO_ICMP, icmp6, sizeof(icmp6));
	ck_assert_int_eq(nflog_decode_packet(pkt, n, NFPROTO_IPV6, &p), 0);
	ck_assert_int_eq(p.proto, IPPROTO_ICMP);
	ck_assert(!p.has_icmp);
}
END_TEST

START_TEST(test_decode_ipv6_extension_headers)
{
	/* hop-by-hop (8 bytes) -> fragment (first, more follow) -> tcp */
	uint8_t rest[8 + 8 + 20], pkt[128];
	struct nflog_pkt p;
	size_t n;

	memset(rest, 0, sizeof(rest));
	rest[0] = IPPROTO_FRAGMENT;	/* hop-by-hop: next header */
	rest[1] = 0;			/* (0 + 1) * 8 bytes */
	rest[8] = IPPROTO_TCP;		/* fragment: next header */
	rest[11] = 1;			/* offset 0, more fragments */
	memcpy(rest + 16, tcp_syn, sizeof(tcp_syn));
	n = ipv6(pkt, IPPROTO_HOPOPTS, rest, sizeof(rest));
	ck_assert_int_eq(nflog_decode_packet(pkt, n, NFPROTO_IPV6, &p), 0);
	ck_assert_int_eq(p.proto, IPPROTO_TCP);
	ck_assert(p.has_ports && !p.fragment);
	ck_assert_uint_eq(p.dport, 5432);

	/* a later fragment: protocol known, no ports */
	rest[10] = 0x01;		/* offset 32 */
	n = ipv6(pkt, IPPROTO_HOPOPTS, rest, sizeof(rest));
	ck_assert_int_eq(nflog_decode_packet(pkt, n, NFPROTO_IPV6, &p), 0);
	ck_assert_int_eq(p.proto, IPPROTO_TCP);
	ck_assert(p.fragment && !p.has_ports);

	/* a hop-by-hop header claiming 2 KiB: cut, protocol unknown */
	rest[1] = 255;
	n = ipv6(pkt, IPPROTO_HOPOPTS, rest, sizeof(rest));
	ck_assert_int_eq(nflog_decode_packet(pkt, n, NFPROTO_IPV6, &p), 0);
	ck_assert(p.truncated && !p.has_ports);
}
END_TEST

START_TEST(test_decode_exthdr_loop_bounded)
{
	/* 20 destination-options headers in a row: more than we walk */
	uint8_t rest[20 * 8], pkt[256];
	struct nflog_pkt p;
	size_t n;

	memset(rest, 0, sizeof(rest));
	for (int i = 0; i < 20; i++)
		rest[i * 8] = IPPROTO_DSTOPTS;
	n = ipv6(pkt, IPPROTO_DSTOPTS, rest, sizeof(rest));
	ck_assert_int_eq(nflog_decode_packet(pkt, n, NFPROTO_IPV6, &p), 0);
	ck_assert_int_eq(p.proto, -1);
	ck_assert(p.truncated);
}
END_TEST

START_TEST(test_decode_ipv4_oddities)
{
	uint8_t pkt[128];
	struct nflog_pkt p;
	size_t n = ipv4(pkt, IPPROTO_UDP, tcp_syn, 8);

	/* later fragment */
	pkt[6] = 0x00;
	pkt[7] = 0x10;
	ck_assert_int_eq(nflog_decode_packet(pkt, n, NFPROTO_IPV4, &p), 0);
	ck_assert(p.fragment && !p.has_ports);
	pkt[7] = 0;

	/* link padding after the total length is ignored: total says 22 */
	pkt[3] = 22;
	ck_assert_int_eq(nflog_decode_packet(pkt, n, NFPROTO_IPV4, &p), 0);
	ck_assert(p.truncated && !p.has_ports);
	pkt[3] = (uint8_t)n;

	/* header length below 20, total below header, wrong version */
	pkt[0] = 0x44;
	ck_assert_int_eq(nflog_decode_packet(pkt, n, NFPROTO_IPV4, &p), -EBADMSG);
	pkt[0] = 0x45;
	pkt[3] = 10;
	ck_assert_int_eq(nflog_decode_packet(pkt, n, NFPROTO_IPV4, &p), -EBADMSG);
	pkt[3] = (uint8_t)n;
	ck_assert_int_eq(nflog_decode_packet(pkt, n, NFPROTO_IPV6, &p), -EBADMSG);
	pkt[0] = 0x75;
	ck_assert_int_eq(nflog_decode_packet(pkt, n, NFPROTO_UNSPEC, &p), -EBADMSG);

	/* options longer than what was copied (ihl 15 = 60 bytes of 28) */
	pkt[0] = 0x4f;
	pkt[3] = 80;
	ck_assert_int_eq(nflog_decode_packet(pkt, n, NFPROTO_IPV4, &p), 0);
	ck_assert(p.truncated && !p.has_ports);
	ck_assert_int_eq(p.proto, IPPROTO_UDP);

	ck_assert_int_eq(nflog_decode_packet(NULL, 0, NFPROTO_IPV4, &p), -EBADMSG);
}
END_TEST

/* A heap copy of exactly len bytes, so that a read past the end is caught
 * by valgrind or ASan (the static buffers above would hide it). */
static uint8_t *dup_exact(const void *src, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);

	ck_assert_ptr_nonnull(p);
	memcpy(p, src, len);
	return p;
}

/* Every prefix of a valid packet decodes or is refused; when it decodes,
 * nothing past the prefix was claimed. */
START_TEST(test_decode_every_truncation)
{
	uint8_t pkt4[64], pkt6[128], rest[8 + 20];
	size_t n4 = ipv4(pkt4, IPPROTO_TCP, tcp_syn, sizeof(tcp_syn));
	size_t n6;
	struct nflog_pkt p;

	memset(rest, 0, sizeof(rest));
	rest[0] = IPPROTO_TCP;
	memcpy(rest + 8, tcp_syn, sizeof(tcp_syn));
	n6 = ipv6(pkt6, IPPROTO_DSTOPTS, rest, sizeof(rest));
	for (size_t len = 0; len <= n4; len++) {
		uint8_t *cut = dup_exact(pkt4, len);
		int r = nflog_decode_packet(cut, len, NFPROTO_IPV4, &p);

		free(cut);

		ck_assert_int_eq(r, len < 20 ? -EBADMSG : 0);
		if (r == 0)
			ck_assert(p.has_ports == (len >= 24));
	}
	for (size_t len = 0; len <= n6; len++) {
		uint8_t *cut = dup_exact(pkt6, len);
		int r = nflog_decode_packet(cut, len, NFPROTO_IPV6, &p);

		free(cut);

		ck_assert_int_eq(r, len < 40 ? -EBADMSG : 0);
		if (r == 0) {
			ck_assert(p.has_ports == (len >= 52));
			ck_assert(p.truncated == (len < 52));
		}
	}
}
END_TEST

/* A small deterministic generator: the same garbage on every run. */
static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static int any_cb(const struct nflog_msg *m, void *data)
{
	struct nflog_pkt p;

	(*(int *)data)++;
	if (m->payload)
		(void)nflog_decode_packet(m->payload, m->payload_len, m->family, &p);
	return 0;
}

START_TEST(test_garbage_buffers)
{
	uint32_t seed = 0x5eed5eed;
	uint8_t *b = (uint8_t *)msgbuf;
	int calls = 0;

	for (int round = 0; round < 20000; round++) {
		size_t len = rnd(&seed) % 600;
		struct nflog_ack ack = { 0 };
		unsigned int bad = 0;
		int r;

		for (size_t i = 0; i < len; i++)
			b[i] = (uint8_t)rnd(&seed);
		/* half the rounds get a plausible header so the attribute
		 * and payload parsers are reached, not just the first check */
		if (len >= 20 && (round & 1)) {
			struct nlmsghdr *nlh = (struct nlmsghdr *)b;

			nlh->nlmsg_len = (uint32_t)(len - rnd(&seed) % 8);
			nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_PACKET;
			if (round & 2)
				b[16] = (round & 4) ? NFPROTO_IPV4 : NFPROTO_IPV6;
		}
		{
			uint8_t *exact = dup_exact(b, len);

			r = nflog_parse_buf(exact, len, any_cb, &calls, &bad, &ack);
			free(exact);
		}
		ck_assert(r == 0 || r == 1 || r == -EBADMSG);
	}
	/* the plausible headers must have produced some parsed messages */
	ck_assert_int_gt(calls, 0);
}
END_TEST

/* Random bytes as payloads behind valid IPv4/IPv6 first bytes. */
START_TEST(test_garbage_payloads)
{
	uint32_t seed = 12345;
	uint8_t b[160];
	struct nflog_pkt p;
	int ok = 0;

	for (int round = 0; round < 50000; round++) {
		size_t len = rnd(&seed) % sizeof(b);
		uint8_t *exact;
		int r;

		for (size_t i = 0; i < len; i++)
			b[i] = (uint8_t)rnd(&seed);
		/* keep the version nibble valid so the decoder goes deep */
		if (len)
			b[0] = (uint8_t)(((round & 1) ? 0x40 : 0x60) | (b[0] & 0x0f));
		exact = dup_exact(b, len);
		r = nflog_decode_packet(exact, len, NFPROTO_UNSPEC, &p);

		free(exact);
		if (r == 0) {
			ok++;
			ck_assert(p.family == AF_INET || p.family == AF_INET6);
			ck_assert(!(p.has_ports && p.has_icmp));
		}
	}
	ck_assert_int_gt(ok, 0);
}
END_TEST

/* --- closest group (cmd_log.c) ------------------------------------------- */

static const char closest_sgd[] =
	"attach: [web, db]\n"
	"interfaces:\n"
	"  eth9: [admin]\n"
	"log_denied: true\n";
static const char closest_web[] =
	"name: web\n"
	"ingress:\n"
	"  - {protocol: tcp, ports: 80, from: [0.0.0.0/0, \"::/0\"]}\n"
	"  - {protocol: udp, ports: 5353, from: [0.0.0.0/0]}\n"
	"egress: []\n";
static const char closest_db[] =
	"name: db\n"
	"ingress:\n"
	"  - {protocol: tcp, ports: 5432, from: [192.0.2.0/24]}\n"
	"  - {protocol: icmp, icmp_type: 8, from: [app]}\n"
	"  - {protocol: tcp, ports: 5432-5439, from: [10.9.0.0/16]}\n"
	"egress:\n"
	"  - {protocol: tcp, ports: 443, to: [0.0.0.0/0]}\n";
static const char closest_admin[] =
	"name: admin\n"
	"ingress:\n"
	"  - {protocol: tcp, ports: 22, from: [198.51.100.0/24]}\n"
	"  - {protocol: icmpv6, from: [\"2001:db8::/32\"]}\n";
static const char closest_app[] =
	"name: app\n"
	"members: [192.0.2.10]\n";

static struct sg_config *ccfg;
static char cdir[] = "/tmp/test-nflog-XXXXXX";

static void put_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_ge(fputs(text, f), 0);
	ck_assert_int_eq(fclose(f), 0);
}

static void closest_setup(void)
{
	char gdir[512];
	struct sg_diags d;
	int r;

	ck_assert_ptr_nonnull(mkdtemp(cdir));
	snprintf(gdir, sizeof(gdir), "%s/groups.d", cdir);
	ck_assert_int_eq(mkdir(gdir, 0700), 0);
	put_file(cdir, "sgd.yaml", closest_sgd);
	put_file(gdir, "web.yaml", closest_web);
	put_file(gdir, "db.yaml", closest_db);
	put_file(gdir, "admin.yaml", closest_admin);
	put_file(gdir, "app.yaml", closest_app);
	diags_init(&d);
	r = config_load(cdir, &ccfg, &d);
	if (r) {
		diags_print(stderr, &d);
		ck_abort_msg("config_load: %d", r);
	}
	diags_free(&d);
}

static void closest_teardown(void)
{
	const char *names[] = { "groups.d/web.yaml", "groups.d/db.yaml",
				"groups.d/admin.yaml", "groups.d/app.yaml",
				"sgd.yaml", "groups.d" };
	char path[512];

	config_free(ccfg);
	ccfg = NULL;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", cdir, names[i]);
		(void)remove(path);
	}
	(void)rmdir(cdir);
	memcpy(cdir + strlen(cdir) - 6, "XXXXXX", 6);
}

/* A probe: in|out, protocol, port or type/code (-1: none), remote address. */
static struct log_probe probe(enum sg_dir dir, int proto, int port, int type,
			      int code, const char *addr, const char *ifname)
{
	struct log_probe p = {
		.dir = dir, .proto = proto, .port = port, .has_port = port >= 0,
		.icmp_type = type, .icmp_code = code, .has_icmp = type >= 0,
		.ifname = ifname,
	};

	p.family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	ck_assert_int_eq(inet_pton(p.family, addr, p.remote), 1);
	return p;
}

static void want(const struct log_probe *p, const char *group, enum sg_dir dir,
		 int rule, bool port_ok, bool peer_ok)
{
	struct log_closest c;

	ck_assert_int_eq(log_find_closest(ccfg, NULL, p, &c), 0);
	if (!group) {
		ck_assert_msg(!c.found, "expected no closest group, got %s",
			      c.found ? ccfg->groups[c.group_idx].name : "");
		return;
	}
	ck_assert_msg(c.found, "expected %s, found nothing", group);
	ck_assert_str_eq(ccfg->groups[c.group_idx].name, group);
	ck_assert_int_eq(c.dir, dir);
	ck_assert_int_eq(c.rule_index, rule);
	ck_assert_int_eq(c.port_ok, port_ok);
	ck_assert_int_eq(c.peer_ok, peer_ok);
}

START_TEST(test_closest_port_beats_peer)
{
	/* tcp 5432 from 10.77.0.1: db rule 1 has the port (not the source);
	 * web rule 1 has the source (not the port): the port weighs more */
	struct log_probe p = probe(SG_DIR_IN, 6, 5432, -1, -1, "10.77.0.1", NULL);

	want(&p, "db", SG_DIR_IN, 1, true, false);
	/* from 10.9.1.1 db rule 3 matches port and source: it allows it */
	p = probe(SG_DIR_IN, 6, 5433, -1, -1, "10.9.1.1", NULL);
	want(&p, "db", SG_DIR_IN, 3, true, true);
	/* port 5440 is outside every range: web rule 1 (source) wins over
	 * db rules (neither) */
	p = probe(SG_DIR_IN, 6, 5440, -1, -1, "10.77.0.1", NULL);
	want(&p, "web", SG_DIR_IN, 1, false, true);
}
END_TEST

START_TEST(test_closest_protocol_required)
{
	/* udp 9999: only web's udp rule is a candidate */
	struct log_probe p = probe(SG_DIR_IN, 17, 9999, -1, -1, "10.77.0.1", NULL);

	want(&p, "web", SG_DIR_IN, 2, false, true);
	/* udp from IPv6: web's udp rule names IPv4 only */
	p = probe(SG_DIR_IN, 17, 9999, -1, -1, "fd77::1", NULL);
	want(&p, "web", SG_DIR_IN, 2, false, false);
	/* gre: no rule of that protocol */
	p = probe(SG_DIR_IN, 47, -1, -1, -1, "10.77.0.1", NULL);
	want(&p, NULL, SG_DIR_IN, 0, false, false);
	/* unknown protocol (undecodable extension headers) */
	p = probe(SG_DIR_IN, -1, -1, -1, -1, "fd77::1", NULL);
	want(&p, NULL, SG_DIR_IN, 0, false, false);
}
END_TEST

START_TEST(test_closest_icmp_and_peer_group)
{
	/* echo from a member of the peer group app: allowed by db rule 2 */
	struct log_probe p = probe(SG_DIR_IN, 1, -1, 8, 0, "192.0.2.10", NULL);

	want(&p, "db", SG_DIR_IN, 2, true, true);
	p = probe(SG_DIR_IN, 1, -1, 8, 0, "192.0.2.11", NULL);
	want(&p, "db", SG_DIR_IN, 2, true, false);
	p = probe(SG_DIR_IN, 1, -1, 0, 0, "192.0.2.10", NULL);
	want(&p, "db", SG_DIR_IN, 2, false, true);
}
END_TEST

START_TEST(test_closest_interface_groups)
{
	/* admin is attached to eth9 only */
	struct log_probe p = probe(SG_DIR_IN, 6, 22, -1, -1, "198.51.100.7", "eth9");

	want(&p, "admin", SG_DIR_IN, 1, true, true);
	p = probe(SG_DIR_IN, 6, 22, -1, -1, "198.51.100.7", "eth0");
	want(&p, "web", SG_DIR_IN, 1, false, true);
	p = probe(SG_DIR_IN, 6, 22, -1, -1, "198.51.100.7", NULL);
	want(&p, "web", SG_DIR_IN, 1, false, true);
	/* icmpv6 of any type from 2001:db8::/32 on eth9 */
	p = probe(SG_DIR_IN, 58, -1, 128, 0, "2001:db8::5", "eth9");
	want(&p, "admin", SG_DIR_IN, 2, true, true);
	p = probe(SG_DIR_IN, 58, -1, 128, 0, "2001:db8::5", "eth0");
	want(&p, NULL, SG_DIR_IN, 0, false, false);
}
END_TEST

START_TEST(test_closest_egress)
{
	/* web has egress: [], db allows tcp 443 anywhere */
	struct log_probe p = probe(SG_DIR_OUT, 6, 8443, -1, -1, "10.77.0.1", NULL);

	want(&p, "db", SG_DIR_OUT, 1, false, true);
	p = probe(SG_DIR_OUT, 17, 53, -1, -1, "10.77.0.1", NULL);
	want(&p, NULL, SG_DIR_OUT, 0, false, false);
	/* a probe without a family is refused */
	p.family = 0;
	{
		struct log_closest c;

		ck_assert_int_eq(log_find_closest(ccfg, NULL, &p, &c), -EINVAL);
	}
}
END_TEST

/* A decoded inbound UDP drop, as drop.c would build it. */
static struct drop_entry entry_udp(void)
{
	struct drop_entry e;

	memset(&e, 0, sizeof(e));
	e.seq = 1;
	e.time_us = 1700000000123456LL;
	e.dir = SG_DIR_IN;
	e.decoded = true;
	e.pkt.family = AF_INET;
	inet_pton(AF_INET, "203.0.113.5", e.pkt.src);
	inet_pton(AF_INET, "10.0.0.2", e.pkt.dst);
	e.pkt.proto = 17;
	e.pkt.has_ports = true;
	e.pkt.sport = 40000;
	e.pkt.dport = 53;
	snprintf(e.iface, sizeof(e.iface), "eth0");
	snprintf(e.prefix, sizeof(e.prefix), "sgd-in ");
	e.have_config = true;
	e.closest_found = true;
	snprintf(e.group, sizeof(e.group), "dns");
	e.closest_dir = SG_DIR_IN;
	e.rule_index = 2;
	e.port_ok = true;
	return e;
}

static char *render(void (*fn)(const struct drop_entry *, struct out_buf *),
		    const struct drop_entry *e)
{
	struct out_buf b;
	char *s = NULL;

	out_init(&b);
	fn(e, &b);
	ck_assert_int_eq(out_finish(&b, &s), 0);
	return s;
}

START_TEST(test_render_drop)
{
	struct drop_entry e = entry_udp();
	char *s;

	s = render(render_drop_message, &e);
	ck_assert_str_eq(s, "drop in  udp    203.0.113.5 -> 10.0.0.2:53  on eth0  "
			 "closest: dns (ingress rule 2: source not allowed)");
	free(s);
	s = render(render_drop_json, &e);
	ck_assert_str_eq(s, "{\"time\":\"2023-11-14T22:13:20.123456Z\","
			 "\"direction\":\"in\",\"protocol\":\"udp\","
			 "\"protocol_number\":17,\"src\":\"203.0.113.5\","
			 "\"dst\":\"10.0.0.2\",\"sport\":40000,\"dport\":53,"
			 "\"interface\":\"eth0\",\"prefix\":\"sgd-in \","
			 "\"closest\":{\"group\":\"dns\",\"direction\":\"in\","
			 "\"rule\":2,\"port_allowed\":true,\"peer_allowed\":false,"
			 "\"reason\":\"source not allowed\"}}\n");
	free(s);
	/* the text line is the message after a local time */
	s = render(render_drop_text, &e);
	ck_assert_ptr_nonnull(strstr(s, " in  udp    203.0.113.5 -> 10.0.0.2:53  on eth0"));
	ck_assert_int_eq(s[strlen(s) - 1], '\n');
	free(s);
	/* undecodable, no closest rule */
	e.decoded = false;
	e.closest_found = false;
	e.payload_len = 7;
	s = render(render_drop_message, &e);
	ck_assert_str_eq(s, "drop in  ?      (undecodable packet, 7 bytes)  on eth0  closest: -");
	free(s);
}
END_TEST

START_TEST(test_drop_sanitize)
{
	char out[16];

	/* control bytes and non-ASCII never reach a terminal or the log */
	drop_sanitize(out, sizeof(out), "e\x1b[31m\n\xc3\xa9x");
	ck_assert_str_eq(out, "e?[31m???x");
	drop_sanitize(out, 4, "abcdef");
	ck_assert_str_eq(out, "abc");
	drop_sanitize(out, sizeof(out), NULL);
	ck_assert_str_eq(out, "");
}
END_TEST

START_TEST(test_parse_since)
{
	int64_t now = 1700000000000000LL, v;
	struct tm tm = { .tm_year = 126, .tm_mon = 0, .tm_mday = 2, .tm_hour = 3,
			 .tm_min = 4, .tm_sec = 5, .tm_isdst = -1 };

	ck_assert_int_eq(log_parse_since("@1700000000.5", now, &v), 0);
	ck_assert_int_eq(v, 1700000000500000LL);
	ck_assert_int_eq(log_parse_since("-10m", now, &v), 0);
	ck_assert_int_eq(v, now - 600000000LL);
	ck_assert_int_eq(log_parse_since("-2h", now, &v), 0);
	ck_assert_int_eq(v, now - 7200000000LL);
	ck_assert_int_eq(log_parse_since("-1d", now, &v), 0);
	ck_assert_int_eq(v, now - 86400000000LL);
	ck_assert_int_eq(log_parse_since("-30", now, &v), 0);
	ck_assert_int_eq(v, now - 30000000LL);
	ck_assert_int_eq(log_parse_since("2026-01-02 03:04:05", now, &v), 0);
	ck_assert_int_eq(v, (int64_t)mktime(&tm) * 1000000);
	ck_assert_int_eq(log_parse_since("2026-01-02T03:04:05", now, &v), 0);
	ck_assert_int_eq(v, (int64_t)mktime(&tm) * 1000000);
	ck_assert_int_eq(log_parse_since("03:04", now, &v), 0);
	{
		static const char *const bad[] = { "", "@", "-", "-5y", "yesterday",
						   "25:00", "@-1", "12:00x", "-m" };

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			ck_assert_msg(log_parse_since(bad[i], now, &v) == -EINVAL,
				      "'%s' accepted", bad[i]);
	}
}
END_TEST

static Suite *nflog_suite(void)
{
	Suite *s = suite_create("nflog");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, test_parse_full_message);
	tcase_add_test(tc, test_parse_optional_absent);
	tcase_add_test(tc, test_prefix_cut_and_unterminated);
	tcase_add_test(tc, test_bad_attr_sizes);
	tcase_add_test(tc, test_attr_overruns_message);
	tcase_add_test(tc, test_not_a_packet_message);
	tcase_add_test(tc, test_buf_several_messages_one_bad);
	tcase_add_test(tc, test_buf_ack);
	tcase_add_test(tc, test_build_config);
	suite_add_tcase(s, tc);

	tc = tcase_create("decode");
	tcase_add_test(tc, test_decode_icmp);
	tcase_add_test(tc, test_decode_ipv6_udp_and_icmpv6);
	tcase_add_test(tc, test_decode_ipv6_extension_headers);
	tcase_add_test(tc, test_decode_exthdr_loop_bounded);
	tcase_add_test(tc, test_decode_ipv4_oddities);
	tcase_add_test(tc, test_decode_every_truncation);
	suite_add_tcase(s, tc);

	tc = tcase_create("garbage");
	tcase_set_timeout(tc, 0);	/* no timer: meson's timeout is the hang guard */
	tcase_add_test(tc, test_garbage_buffers);
	tcase_add_test(tc, test_garbage_payloads);
	suite_add_tcase(s, tc);

	tc = tcase_create("closest");
	tcase_add_checked_fixture(tc, closest_setup, closest_teardown);
	tcase_add_test(tc, test_closest_port_beats_peer);
	tcase_add_test(tc, test_closest_protocol_required);
	tcase_add_test(tc, test_closest_icmp_and_peer_group);
	tcase_add_test(tc, test_closest_interface_groups);
	tcase_add_test(tc, test_closest_egress);
	suite_add_tcase(s, tc);

	tc = tcase_create("render");
	tcase_add_test(tc, test_render_drop);
	tcase_add_test(tc, test_drop_sanitize);
	tcase_add_test(tc, test_parse_since);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(nflog_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
