/* nflog.c — NFLOG over libmnl: parse, decode, bind; see nflog.h. */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_log.h>

#include "nflog.h"

/* A receive buffer larger than any datagram the kernel builds for us: its
 * per-instance buffer defaults to NLMSG_GOODSIZE (at most 8 KiB), and one
 * message with a 128-byte copy is a few hundred bytes. */
#define NFLOG_RCVBUF_LEN	65536
/* Socket receive queue: room for bursts while the terminal is slow. */
#define NFLOG_SO_RCVBUF		(1 << 20)
#define NFLOG_ACK_TIMEOUT_MS	2000

struct nflog_sock {
	struct mnl_socket *nl;
	uint32_t portid;
	uint32_t seq;
	uint16_t group;
	bool bound;
	/* uint32_t elements keep netlink headers 4-byte aligned */
	uint32_t buf[NFLOG_RCVBUF_LEN / sizeof(uint32_t)];
};

static uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* Store one attribute of a packet message into m; -EBADMSG when its size
 * does not fit its type.  Unknown attributes are ignored (newer kernels
 * add some). */
static int nflog_store_attr(struct nflog_msg *m, uint16_t type,
			    const uint8_t *p, size_t len)
{
	size_t n;

	switch (type) {
	case NFULA_PACKET_HDR:
		if (len < sizeof(struct nfulnl_msg_packet_hdr))
			return -EBADMSG;
		m->has_hdr = true;
		m->hw_protocol = get_be16(p);
		m->hook = p[2];
		break;
	case NFULA_TIMESTAMP:
		if (len < sizeof(struct nfulnl_msg_packet_timestamp))
			return -EBADMSG;
		m->has_time = true;
		m->sec = (int64_t)get_be64(p);
		m->usec = (uint32_t)(get_be64(p + 8) % 1000000u);
		break;
	case NFULA_IFINDEX_INDEV:
	case NFULA_IFINDEX_OUTDEV:
		if (len != sizeof(uint32_t))
			return -EBADMSG;
		if (type == NFULA_IFINDEX_INDEV)
			m->indev = get_be32(p);
		else
			m->outdev = get_be32(p);
		break;
	case NFULA_PREFIX:
		/* The kernel sends the prefix NUL-terminated; we do not rely
		 * on it and cut at the first NUL or at our buffer's size. */
		n = strnlen((const char *)p, len);
		if (n >= sizeof(m->prefix))
			n = sizeof(m->prefix) - 1;
		memcpy(m->prefix, p, n);
		m->prefix[n] = '\0';
		m->has_prefix = true;
		break;
	case NFULA_PAYLOAD:
		m->payload = p;
		m->payload_len = len;
		break;
	default:
		break;
	}
	return 0;
}

int nflog_parse_msg(const struct nlmsghdr *nlh, struct nflog_msg *out)
{
	const struct nfgenmsg *nfg;
	const uint8_t *p, *end;

	memset(out, 0, sizeof(*out));
	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN)
		return -EBADMSG;
	if (NFNL_SUBSYS_ID(nlh->nlmsg_type) != NFNL_SUBSYS_ULOG ||
	    NFNL_MSG_TYPE(nlh->nlmsg_type) != NFULNL_MSG_PACKET)
		return -EPROTO;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(struct nfgenmsg))
		return -EBADMSG;
	nfg = mnl_nlmsg_get_payload(nlh);
	out->family = nfg->nfgen_family;
	out->group = ntohs(nfg->res_id);

	/* Walk the attributes ourselves rather than with mnl_attr_parse(),
	 * which stops quietly at the first bad one: a message whose
	 * attributes do not add up exactly is malformed, not shorter. */
	p = (const uint8_t *)nfg + MNL_ALIGN(sizeof(struct nfgenmsg));
	end = (const uint8_t *)nlh + nlh->nlmsg_len;
	while (p < end) {
		size_t left = (size_t)(end - p);
		struct nlattr a;
		int r;

		if (left < sizeof(a))
			return -EBADMSG;
		memcpy(&a, p, sizeof(a));
		if (a.nla_len < sizeof(a) || a.nla_len > left)
			return -EBADMSG;
		r = nflog_store_attr(out, a.nla_type & NLA_TYPE_MASK,
				     p + sizeof(a), a.nla_len - sizeof(a));
		if (r < 0)
			return r;
		if ((size_t)MNL_ALIGN(a.nla_len) >= left)
			break;
		p += MNL_ALIGN(a.nla_len);
	}
	return 0;
}

int nflog_parse_buf(const void *buf, size_t len, nflog_packet_cb cb,
		    void *data, unsigned int *bad, struct nflog_ack *ack)
{
	const uint8_t *p = buf;

	while (len > 0) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)p;
		struct nflog_msg m;
		size_t step;
		int r;

		if (len < sizeof(*nlh) || nlh->nlmsg_len < sizeof(*nlh) ||
		    nlh->nlmsg_len > len)
			return -EBADMSG;
		switch (nlh->nlmsg_type) {
		case NLMSG_ERROR: {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
				return -EBADMSG;
			if (ack) {
				ack->seen = true;
				ack->err = e->error > 0 ? -e->error : e->error;
				ack->seq = e->msg.nlmsg_seq;
			}
			return 1;
		}
		case NLMSG_NOOP:
		case NLMSG_DONE:
		case NLMSG_OVERRUN:
			break;
		default:
			r = nflog_parse_msg(nlh, &m);
			if (r == -EBADMSG) {
				if (bad)
					(*bad)++;
			} else if (r == 0 && cb) {
				r = cb(&m, data);
				if (r < 0)
					return r;
			}
			break;
		}
		step = NLMSG_ALIGN(nlh->nlmsg_len);
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	return 0;
}

/* Ports or type/code from the layer-4 header at l4 (len bytes copied). */
static void nflog_decode_l4(const uint8_t *l4, size_t len, struct nflog_pkt *out)
{
	switch (out->proto) {
	case IPPROTO_TCP:
	case IPPROTO_UDP:
	case IPPROTO_UDPLITE:
	case IPPROTO_SCTP:
	case IPPROTO_DCCP:
		/* all five start with source port, destination port */
		if (len < 4) {
			out->truncated = true;
			return;
		}
		out->has_ports = true;
		out->sport = get_be16(l4);
		out->dport = get_be16(l4 + 2);
		break;
	case IPPROTO_ICMP:
	case IPPROTO_ICMPV6:
		/* icmp in IPv6 or icmpv6 in IPv4 is not an ICMP message of
		 * that family: leave it as a bare protocol number */
		if ((out->proto == IPPROTO_ICMP) != (out->family == AF_INET))
			return;
		if (len < 2) {
			out->truncated = true;
			return;
		}
		out->has_icmp = true;
		out->icmp_type = l4[0];
		out->icmp_code = l4[1];
		break;
	default:
		break;
	}
}

static int nflog_decode_ipv4(const uint8_t *buf, size_t len, struct nflog_pkt *out)
{
	size_t ihl, total;

	if (len < 20 || buf[0] >> 4 != 4)
		return -EBADMSG;
	ihl = (size_t)(buf[0] & 0x0f) * 4;
	total = get_be16(buf + 2);
	if (ihl < 20 || total < ihl)
		return -EBADMSG;
	out->family = AF_INET;
	memcpy(out->src, buf + 12, 4);
	memcpy(out->dst, buf + 16, 4);
	out->proto = buf[9];
	/* fragment offset != 0: the layer-4 header is in another fragment */
	if (get_be16(buf + 6) & 0x1fff) {
		out->fragment = true;
		return 0;
	}
	/* bytes past the IP total length are link-layer padding */
	if (len > total)
		len = total;
	if (len < ihl) {
		out->truncated = true;
		return 0;
	}
	nflog_decode_l4(buf + ihl, len - ihl, out);
	return 0;
}

/* IPv6 extension headers we step over to reach the layer-4 header. */
#define NFLOG_MAX_EXTHDRS 8

static int nflog_decode_ipv6(const uint8_t *buf, size_t len, struct nflog_pkt *out)
{
	size_t off = 40, plen;
	uint8_t nh;

	if (len < 40 || buf[0] >> 4 != 6)
		return -EBADMSG;
	out->family = AF_INET6;
	memcpy(out->src, buf + 8, 16);
	memcpy(out->dst, buf + 24, 16);
	plen = get_be16(buf + 4);
	/* payload length 0 is a jumbogram: trust what was copied */
	if (plen && len > 40 + plen)
		len = 40 + plen;
	nh = buf[6];
	for (int i = 0; i <= NFLOG_MAX_EXTHDRS; i++) {
		size_t hlen;

		switch (nh) {
		case IPPROTO_HOPOPTS:
		case IPPROTO_ROUTING:
		case IPPROTO_DSTOPTS:
		case IPPROTO_AH:
		case IPPROTO_FRAGMENT:
			break;
		default:
			out->proto = nh;
			if (off > len) {
				out->truncated = true;
				return 0;
			}
			nflog_decode_l4(buf + off, len - off, out);
			return 0;
		}
		if (i == NFLOG_MAX_EXTHDRS || off + 8 > len) {
			/* too many headers to walk, or cut by the copy
			 * range: the layer-4 protocol stays unknown */
			out->proto = -1;
			out->truncated = true;
			return 0;
		}
		if (nh == IPPROTO_FRAGMENT) {
			hlen = 8;
			if (get_be16(buf + off + 2) & 0xfff8) {
				out->proto = buf[off];
				out->fragment = true;
				return 0;
			}
		} else if (nh == IPPROTO_AH) {
			hlen = ((size_t)buf[off + 1] + 2) * 4;
		} else {
			hlen = ((size_t)buf[off + 1] + 1) * 8;
		}
		nh = buf[off];
		off += hlen;
	}
	return 0;	/* not reached: the loop returns on its last turn */
}

int nflog_decode_packet(const uint8_t *buf, size_t len, uint8_t family,
			struct nflog_pkt *out)
{
	int version;

	memset(out, 0, sizeof(*out));
	out->proto = -1;
	if (!buf || len < 1)
		return -EBADMSG;
	version = buf[0] >> 4;
	if (family == NFPROTO_IPV4 && version != 4)
		return -EBADMSG;
	if (family == NFPROTO_IPV6 && version != 6)
		return -EBADMSG;
	if (version == 4)
		return nflog_decode_ipv4(buf, len, out);
	if (version == 6)
		return nflog_decode_ipv6(buf, len, out);
	return -EBADMSG;
}

struct nlmsghdr *nflog_build_config(void *buf, uint32_t seq, uint8_t family,
				    uint16_t group, uint8_t cmd,
				    uint32_t copy_range)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nfgenmsg *nfg;

	nlh->nlmsg_type = (NFNL_SUBSYS_ULOG << 8) | NFULNL_MSG_CONFIG;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	nfg = mnl_nlmsg_put_extra_header(nlh, sizeof(*nfg));
	nfg->nfgen_family = family;
	nfg->version = NFNETLINK_V0;
	nfg->res_id = htons(group);
	if (cmd) {
		struct nfulnl_msg_config_cmd c = { .command = cmd };

		mnl_attr_put(nlh, NFULA_CFG_CMD, sizeof(c), &c);
	}
	if (copy_range) {
		struct nfulnl_msg_config_mode mode = {
			.copy_range = htonl(copy_range),
			.copy_mode = NFULNL_COPY_PACKET,
		};

		mnl_attr_put(nlh, NFULA_CFG_MODE, sizeof(mode), &mode);
		/* The instance default queues up to 100 packets or 1 s
		 * before sending; a live log wants each one now. */
		mnl_attr_put_u32(nlh, NFULA_CFG_QTHRESH, htonl(1));
	}
	return nlh;
}

bool nflog_have_net_admin(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	bool have = false;

	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long caps;

		if (sscanf(line, "CapEff: %llx", &caps) == 1) {
			have = caps & (1ull << 12);	/* CAP_NET_ADMIN */
			break;
		}
	}
	fclose(f);
	return have;
}

int nflog_group_holder(uint16_t group, uint32_t *portid)
{
	FILE *f = fopen("/proc/net/netfilter/nfnetlink_log", "r");
	char line[256];
	int r = -ENOENT;

	if (!f)
		return errno == ENOENT ? -ENOENT : -errno;
	/* one line per instance: group, peer port id, queue length, ... */
	while (fgets(line, sizeof(line), f)) {
		unsigned int g, pid;

		if (sscanf(line, "%u %u", &g, &pid) == 2 && g == group) {
			*portid = pid;
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}

/* Receive one datagram from the kernel into s->buf; returns its length or
 * -errno.  Datagrams from other sockets are ignored (returns 0). */
static ssize_t nflog_recv_datagram(struct nflog_sock *s)
{
	struct sockaddr_nl addr;
	struct iovec iov = { .iov_base = s->buf, .iov_len = sizeof(s->buf) };
	struct msghdr msg = {
		.msg_name = &addr, .msg_namelen = sizeof(addr),
		.msg_iov = &iov, .msg_iovlen = 1,
	};
	ssize_t n = recvmsg(mnl_socket_get_fd(s->nl), &msg, 0);

	if (n < 0)
		return -errno;
	if (msg.msg_flags & MSG_TRUNC)
		return -EMSGSIZE;
	if (msg.msg_namelen != sizeof(addr) || addr.nl_pid != 0)
		return 0;	/* not from the kernel: never ours to trust */
	return n;
}

static int nflog_wait(struct nflog_sock *s, int timeout_ms)
{
	struct pollfd pfd = { .fd = mnl_socket_get_fd(s->nl), .events = POLLIN };
	int r = poll(&pfd, 1, timeout_ms);

	if (r < 0)
		return -errno;
	return r;	/* 0 = timeout */
}

/* Send a config request and wait for the kernel's answer. */
static int nflog_request(struct nflog_sock *s, uint8_t cmd, uint32_t copy_range)
{
	char req[MNL_SOCKET_BUFFER_SIZE] __attribute__((aligned(4)));
	struct nlmsghdr *nlh;
	uint32_t seq = ++s->seq;

	/* libmnl does not write attribute padding: no stack bytes to the
	 * kernel (sgd runs this on every bind; valgrind saw it) */
	memset(req, 0, sizeof(req));
	nlh = nflog_build_config(req, seq, AF_UNSPEC, s->group, cmd, copy_range);
	if (mnl_socket_sendto(s->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	for (int tries = 0; tries < 64; tries++) {
		struct nflog_ack ack = { 0 };
		ssize_t n;
		int r = nflog_wait(s, NFLOG_ACK_TIMEOUT_MS);

		if (r < 0)
			return r;
		if (r == 0)
			return -ETIMEDOUT;
		n = nflog_recv_datagram(s);
		if (n < 0)
			return (int)n;
		/* packets that arrive before the answer are not shown: the
		 * caller has not started listening yet */
		r = nflog_parse_buf(s->buf, (size_t)n, NULL, NULL, NULL, &ack);
		if (r < 0)
			return r;
		if (ack.seen && ack.seq == seq)
			return ack.err;
	}
	return -ETIMEDOUT;
}

int nflog_open(struct nflog_sock **out, uint16_t group, uint32_t copy_range)
{
	struct nflog_sock *s;
	int rcvbuf = NFLOG_SO_RCVBUF;
	int r;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->group = group;
	s->nl = mnl_socket_open(NETLINK_NETFILTER);
	if (!s->nl) {
		r = -errno;
		free(s);
		return r;
	}
	if (mnl_socket_bind(s->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		goto fail;
	}
	s->portid = mnl_socket_get_portid(s->nl);
	/* FORCE passes the rmem_max cap (we hold CAP_NET_ADMIN when this
	 * matters); fall back to the capped size otherwise. */
	if (setsockopt(mnl_socket_get_fd(s->nl), SOL_SOCKET, SO_RCVBUFFORCE,
		       &rcvbuf, sizeof(rcvbuf)) < 0)
		(void)setsockopt(mnl_socket_get_fd(s->nl), SOL_SOCKET,
				 SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));

	/* No NFULNL_CFG_CMD_PF_UNBIND/PF_BIND: they choose the default
	 * logger of the whole network namespace, which kernels since 3.17
	 * no longer need for `log group N` rules (the rule names its logger
	 * type), and sgd needs kernel >= 5.6 anyway.  A viewer must not
	 * change what other software's logging does.
	 *
	 * Bind, copy mode and queue threshold in one request: the kernel
	 * applies them together, so no packet is sent with the defaults. */
	r = nflog_request(s, NFULNL_CFG_CMD_BIND, copy_range);
	if (r == -EPERM || r == -EBUSY) {
		/* EPERM means either "not privileged" or "the group belongs to
		 * another socket"; only our capabilities tell which. */
		if (r == -EPERM && !nflog_have_net_admin())
			goto fail;
		r = -EBUSY;
		goto fail;
	}
	if (r < 0)
		goto fail;
	s->bound = true;
	*out = s;
	return 0;
fail:
	mnl_socket_close(s->nl);
	free(s);
	return r;
}

int nflog_fd(const struct nflog_sock *s)
{
	return mnl_socket_get_fd(s->nl);
}

void nflog_close(struct nflog_sock *s)
{
	if (!s)
		return;
	/* Closing the socket frees the kernel instance too; unbinding first
	 * just makes it immediate.  Failure is harmless for that reason. */
	if (s->bound)
		(void)nflog_request(s, NFULNL_CFG_CMD_UNBIND, 0);
	mnl_socket_close(s->nl);
	free(s);
}

int nflog_receive(struct nflog_sock *s, int timeout_ms, nflog_packet_cb cb,
		  void *data, unsigned int *bad)
{
	ssize_t n;
	int r = nflog_wait(s, timeout_ms);

	if (r <= 0)
		return r;
	n = nflog_recv_datagram(s);
	if (n < 0)
		return (int)n;
	r = nflog_parse_buf(s->buf, (size_t)n, cb, data, bad, NULL);
	return r < 0 ? r : 0;
}
