/*
 * nflog.h — read packets the firewall logged to an NFLOG group, over
 * netlink with libmnl, and decode their IP and layer-4 headers.
 *
 * Two halves that can be used apart:
 *  - parsing: nflog_parse_buf() walks a buffer of netlink messages as
 *    received from the kernel, nflog_parse_msg() turns one
 *    NFULNL_MSG_PACKET message into a struct nflog_msg, and
 *    nflog_decode_packet() decodes the copied packet bytes.  They never
 *    touch a socket, trust no length in the input, and are unit-tested
 *    with crafted (also truncated and garbage) messages.
 *  - the socket: nflog_open() binds this process to one NFLOG group (that
 *    needs CAP_NET_ADMIN) and nflog_receive() waits for the next batch of
 *    messages.
 */
#ifndef SGD_NFLOG_H
#define SGD_NFLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>

/* The NFLOG group and prefixes sgd's compiler emits with log_denied: true
 * (see docs/logging.md); they are ABI between sgd and `sgctl log`. */
#define NFLOG_SGD_GROUP		100
#define NFLOG_SGD_PREFIX_IN	"sgd-in "
#define NFLOG_SGD_PREFIX_OUT	"sgd-out "
/* How many bytes of each packet the kernel copies to us: enough for an
 * IPv6 header, a few extension headers and the layer-4 ports or ICMP
 * type/code.  The rest of the packet is of no use to a log line. */
#define NFLOG_COPY_RANGE	128

#define NFLOG_PREFIX_MAX	64

/* One logged packet, as the kernel described it.  payload points into the
 * buffer that was parsed and is valid only as long as that buffer. */
struct nflog_msg {
	uint8_t family;		/* nfgen_family: NFPROTO_IPV4, NFPROTO_IPV6, ... */
	uint16_t group;		/* the NFLOG group (host order) */
	bool has_hdr;
	uint16_t hw_protocol;	/* ethertype, host order (when has_hdr) */
	uint8_t hook;		/* netfilter hook (when has_hdr) */
	bool has_prefix;
	char prefix[NFLOG_PREFIX_MAX];	/* NUL-terminated, cut to fit */
	uint32_t indev;		/* ifindex; 0 = not present */
	uint32_t outdev;
	bool has_time;
	int64_t sec;		/* kernel timestamp (when has_time) */
	uint32_t usec;
	const uint8_t *payload;	/* NULL when the message carried none */
	size_t payload_len;
};

/* What the copied packet bytes say.  Fields are valid as their has_ flag
 * says; a packet cut short by the copy range decodes as far as it goes. */
struct nflog_pkt {
	int family;		/* AF_INET or AF_INET6 */
	uint8_t src[16];	/* 4 bytes used for AF_INET */
	uint8_t dst[16];
	int proto;		/* layer-4 protocol (after IPv6 extension
				 * headers); -1 when they could not be walked */
	bool fragment;		/* a non-first fragment: no layer-4 header */
	bool has_ports;		/* tcp, udp, udplite, sctp, dccp */
	uint16_t sport;
	uint16_t dport;
	bool has_icmp;		/* icmp (AF_INET) or icmpv6 (AF_INET6) */
	uint8_t icmp_type;
	uint8_t icmp_code;
	bool truncated;		/* the layer-4 header was not (fully) copied */
};

/* Called by nflog_parse_buf() for every packet message; a negative return
 * stops the walk and is returned. */
typedef int (*nflog_packet_cb)(const struct nflog_msg *m, void *data);

/* Parse one NFULNL_MSG_PACKET message.  nlh->nlmsg_len must already be
 * known to lie within the buffer (nflog_parse_buf checks it).  Returns 0,
 * -EPROTO when it is not an NFLOG packet message, -EBADMSG when it is
 * malformed (short header, attribute overrunning the message, attribute of
 * the wrong size). */
int nflog_parse_msg(const struct nlmsghdr *nlh, struct nflog_msg *out);

/* The kernel's answer to a request: NLMSG_ERROR carries an errno, 0 for a
 * plain acknowledgement. */
struct nflog_ack {
	bool seen;
	int err;		/* 0 or -errno */
	uint32_t seq;		/* the sequence number of the request */
};

/* Walk len bytes of netlink messages (buf 4-byte aligned).  Packet
 * messages go to cb (when cb is not NULL); malformed packet messages are
 * counted in *bad (may be NULL) and skipped, so one bad message does not
 * hide the rest; other messages are ignored.  An NLMSG_ERROR message ends
 * the walk: it is stored in *ack (when not NULL) and the function returns
 * 1.  Returns 0 when the whole buffer was walked, -EBADMSG when a netlink
 * header is inconsistent with the buffer, or what cb returned when it
 * returned a negative value. */
int nflog_parse_buf(const void *buf, size_t len, nflog_packet_cb cb,
		    void *data, unsigned int *bad, struct nflog_ack *ack);

/* Decode the IP header and what follows.  family is nflog_msg.family:
 * NFPROTO_IPV4 / NFPROTO_IPV6 require that version; any other value lets
 * the IP version nibble decide.  Returns 0, or -EBADMSG when the bytes are
 * not a plausible IPv4/IPv6 header (too short, wrong version, header
 * length out of range). */
int nflog_decode_packet(const uint8_t *buf, size_t len, uint8_t family,
			struct nflog_pkt *out);

/* Build a NFULNL_MSG_CONFIG request for group in buf, which must hold
 * MNL_SOCKET_BUFFER_SIZE bytes: command cmd (NFULNL_CFG_CMD_*, or 0 for
 * none) and, when copy_range is not 0, copy mode "packet" with that range
 * and a queue threshold of 1 so every packet is sent at once.  Exposed so
 * the unit test can check the wire format. */
struct nlmsghdr *nflog_build_config(void *buf, uint32_t seq, uint8_t family,
				    uint16_t group, uint8_t cmd,
				    uint32_t copy_range);

struct nflog_sock;

/* Open a netlink socket and bind it to NFLOG group `group`, copying
 * copy_range bytes of each packet, delivered one by one.  Returns 0, or:
 * -EPERM without CAP_NET_ADMIN, -EBUSY when another socket is bound to the
 * group (the kernel says EPERM for both; we tell them apart by our own
 * capabilities), or another -errno. */
int nflog_open(struct nflog_sock **out, uint16_t group, uint32_t copy_range);
/* The socket's file descriptor, for an event loop (then call
 * nflog_receive with timeout 0 when it is readable). */
int nflog_fd(const struct nflog_sock *s);
/* Unbind (best effort) and close.  NULL is fine. */
void nflog_close(struct nflog_sock *s);
/* Wait up to timeout_ms (-1 = forever) for one batch of messages and
 * hand each packet to cb.  Returns 0 (also on timeout), -EINTR when a
 * signal interrupted the wait, -ENOBUFS when the kernel dropped messages
 * because we were too slow (the socket stays usable), what cb returned
 * when negative, or another -errno.  Malformed messages are counted in
 * *bad (may be NULL). */
int nflog_receive(struct nflog_sock *s, int timeout_ms, nflog_packet_cb cb,
		  void *data, unsigned int *bad);

/* The netlink port id of the socket bound to NFLOG group `group` in this
 * network namespace, from /proc/net/netfilter/nfnetlink_log (for an error
 * message).  Returns 0, -ENOENT when no socket is bound, or -errno. */
int nflog_group_holder(uint16_t group, uint32_t *portid);

/* true when this process has CAP_NET_ADMIN in its effective set. */
bool nflog_have_net_admin(void);

#endif
