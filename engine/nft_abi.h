/*
 * nft_abi.h — wire values sgd puts in its nftables objects.
 *
 * WARNING: these are ABI.  The set key type ids are shared with the nft
 * tool (nftables src/datatype.h): get them wrong and `nft list` prints our
 * sets as raw bytes.  The udata tag type is ours: counters.c reads it back
 * from rules committed by older sgd processes, so never renumber it.
 */
#ifndef SGD_NFT_ABI_H
#define SGD_NFT_ABI_H

enum nft_abi {
	/* set key types (nft datatype ids) */
	ABI_TYPE_IPADDR = 7,		/* ipv4_addr */
	ABI_TYPE_IP6ADDR = 8,		/* ipv6_addr */
	ABI_TYPE_INET_PROTOCOL = 12,	/* inet_proto */
	ABI_TYPE_INET_SERVICE = 13,	/* inet_service */
	ABI_TYPE_CONCAT_SHIFT = 6,	/* concatenation: (a << 6) | b */

	/* address and header layout */
	ABI_IP4_ADDR_LEN = 4,
	ABI_IP6_ADDR_LEN = 16,
	ABI_IP4_SADDR_OFF = 12,		/* struct iphdr */
	ABI_IP4_DADDR_OFF = 16,
	ABI_IP6_SADDR_OFF = 8,		/* struct ipv6hdr */
	ABI_IP6_DADDR_OFF = 24,
	ABI_IP6_HOPLIMIT_OFF = 7,
	ABI_TH_SPORT_OFF = 0,		/* tcp/udp/sctp/dccp header */
	ABI_TH_DPORT_OFF = 2,
	ABI_ICMP_TYPE_OFF = 0,		/* icmp and icmpv6 */
	ABI_ICMP_CODE_OFF = 1,
	ABI_IFNAMSIZ = 16,
	ABI_LO_IFINDEX = 1,		/* loopback is ifindex 1 in every netns */

	/* conntrack state bits (NF_CT_STATE_BIT) */
	ABI_CT_INVALID = 1,
	ABI_CT_ESTABLISHED = 2,
	ABI_CT_RELATED = 4,
	/* conntrack status bit: the flow is destination-NATed (IPS_DST_NAT) */
	ABI_CT_STATUS_DNAT = 0x20,
	/* ct direction of `ct original ...` (IP_CT_DIR_ORIGINAL) */
	ABI_CT_DIR_ORIGINAL = 0,

	/* log group of `log_denied` (documented in sgd.yaml(5)) */
	ABI_LOG_GROUP = 100,

	/* rule udata attribute holding sgd's machine-readable tag
	 * (libnftnl uses 0 for the comment and 1 for ebtables) */
	ABI_UDATA_RULE_SGD_TAG = 0x53,

	/* kernel limit on a rule's udata (NFT_USERDATA_MAXLEN) */
	ABI_USERDATA_MAXLEN = 256,
};

#endif
