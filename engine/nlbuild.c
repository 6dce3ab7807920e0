/*
 * nlbuild.c — one small builder per expression kind (see nlbuild.h).
 * Every single-field match loads into register 1 and compares there.  The
 * one exception is a lookup in a concatenated set (address . port,
 * compile_flatemit.c): its key spans consecutive registers, so the
 * address goes to register 1 and the port to the 32-bit register right
 * after it (nlb_payload_reg / nlb_ct_original_reg with NFT_REG32_01 after
 * an IPv4 address, NFT_REG32_04 after an IPv6 one).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <linux/netfilter/nf_tables.h>
#include <libnftnl/expr.h>
#include <libnftnl/common.h>
#include <linux/netfilter.h>
#include <libmnl/libmnl.h>
#include "nlbuild.h"
#include "nft_abi.h"

static struct nftnl_expr *nlb_new(struct nftnl_rule *r, const char *name)
{
	struct nftnl_expr *e = nftnl_expr_alloc(name);

	if (e)
		nftnl_rule_add_expr(r, e);
	return e;
}

int nlb_meta(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nlb_new(r, "meta");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
	return 0;
}

int nlb_ct(struct nftnl_rule *r, uint32_t key)
{
	struct nftnl_expr *e = nlb_new(r, "ct");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, NFT_REG_1);
	return 0;
}

int nlb_ct_original_reg(struct nftnl_rule *r, uint32_t key, uint32_t reg)
{
	struct nftnl_expr *e = nlb_new(r, "ct");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_KEY, key);
	nftnl_expr_set_u8(e, NFTNL_EXPR_CT_DIR, ABI_CT_DIR_ORIGINAL);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CT_DREG, reg);
	return 0;
}

int nlb_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len)
{
	struct nftnl_expr *e = nlb_new(r, "payload");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	return 0;
}

int nlb_cmp(struct nftnl_rule *r, uint32_t op, const void *data, size_t len)
{
	struct nftnl_expr *e = nlb_new(r, "cmp");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len);
	return 0;
}

int nlb_bitwise(struct nftnl_rule *r, const void *mask, size_t len)
{
	static const uint8_t zero[16];
	struct nftnl_expr *e = nlb_new(r, "bitwise");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_DREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_BITWISE_LEN, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_MASK, mask, len);
	nftnl_expr_set(e, NFTNL_EXPR_BITWISE_XOR, zero, len);
	return 0;
}

int nlb_lookup(struct nftnl_rule *r, const char *set)
{
	struct nftnl_expr *e = nlb_new(r, "lookup");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	return 0;
}

int nlb_payload_reg(struct nftnl_rule *r, uint32_t base, uint32_t off,
		    uint32_t len, uint32_t reg)
{
	struct nftnl_expr *e = nlb_new(r, "payload");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, reg);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, off);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	return 0;
}

int nlb_lookup_verdict(struct nftnl_rule *r, const char *set)
{
	struct nftnl_expr *e = nlb_new(r, "lookup");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set);
	return 0;
}

int nlb_counter(struct nftnl_rule *r)
{
	return nlb_new(r, "counter") ? 0 : -ENOMEM;
}

int nlb_verdict(struct nftnl_rule *r, int verdict, const char *chain)
{
	struct nftnl_expr *e = nlb_new(r, "immediate");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
	if (chain)
		nftnl_expr_set_str(e, NFTNL_EXPR_IMM_CHAIN, chain);
	return 0;
}

int nlb_limit(struct nftnl_rule *r, uint64_t rate, uint64_t unit, uint32_t burst)
{
	struct nftnl_expr *e = nlb_new(r, "limit");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_RATE, rate);
	nftnl_expr_set_u64(e, NFTNL_EXPR_LIMIT_UNIT, unit);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_BURST, burst);
	nftnl_expr_set_u32(e, NFTNL_EXPR_LIMIT_TYPE, NFT_LIMIT_PKTS);
	return 0;
}

int nlb_log(struct nftnl_rule *r, uint16_t group, const char *prefix)
{
	struct nftnl_expr *e = nlb_new(r, "log");

	if (!e)
		return -ENOMEM;
	nftnl_expr_set_u16(e, NFTNL_EXPR_LOG_GROUP, group);
	nftnl_expr_set_str(e, NFTNL_EXPR_LOG_PREFIX, prefix);
	return 0;
}

int nlb_match_nfproto(struct nftnl_rule *r, uint8_t nfproto)
{
	int rc = nlb_meta(r, NFT_META_NFPROTO);

	return rc ? rc : nlb_cmp(r, NFT_CMP_EQ, &nfproto, 1);
}

int nlb_match_l4proto(struct nftnl_rule *r, uint8_t proto)
{
	int rc = nlb_meta(r, NFT_META_L4PROTO);

	return rc ? rc : nlb_cmp(r, NFT_CMP_EQ, &proto, 1);
}

/* Compare the port just loaded into reg 1 with lo..hi (one port: eq). */
static int nlb_cmp_port(struct nftnl_rule *r, int rc, int lo, int hi)
{
	uint16_t vlo = htons((uint16_t)lo), vhi = htons((uint16_t)hi);

	if (rc)
		return rc;
	if (lo == hi)
		return nlb_cmp(r, NFT_CMP_EQ, &vlo, 2);
	/* big-endian values compare as byte strings, so gte/lte work */
	rc = nlb_cmp(r, NFT_CMP_GTE, &vlo, 2);
	return rc ? rc : nlb_cmp(r, NFT_CMP_LTE, &vhi, 2);
}

int nlb_match_port(struct nftnl_rule *r, uint32_t off, int lo, int hi)
{
	return nlb_cmp_port(r, nlb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, off, 2),
			    lo, hi);
}

int nlb_match_ct_dport(struct nftnl_rule *r, int lo, int hi)
{
	return nlb_cmp_port(r, nlb_ct_original_reg(r, NFT_CT_PROTO_DST, NFT_REG_1),
			    lo, hi);
}

int nlb_match_byte(struct nftnl_rule *r, uint32_t off, int lo, int hi)
{
	uint8_t vlo = (uint8_t)lo, vhi = (uint8_t)hi;
	int rc = nlb_payload(r, NFT_PAYLOAD_TRANSPORT_HEADER, off, 1);

	if (rc)
		return rc;
	if (lo == hi)
		return nlb_cmp(r, NFT_CMP_EQ, &vlo, 1);
	rc = nlb_cmp(r, NFT_CMP_GTE, &vlo, 1);
	return rc ? rc : nlb_cmp(r, NFT_CMP_LTE, &vhi, 1);
}

int nlb_match_addr(struct nftnl_rule *r, uint32_t off, const uint8_t *addr,
		   size_t len, unsigned prefix)
{
	uint8_t mask[16] = { 0 }, net[16];
	size_t i;
	int rc = nlb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, len);

	if (rc)
		return rc;
	for (i = 0; i < len; i++) {
		unsigned bits = prefix > i * 8 ? prefix - i * 8 : 0;

		mask[i] = bits >= 8 ? 0xff : (uint8_t)(0xff00 >> bits);
		net[i] = addr[i] & mask[i];
	}
	/* a full-length prefix needs no mask */
	if (prefix < len * 8) {
		rc = nlb_bitwise(r, mask, len);
		if (rc)
			return rc;
	}
	return nlb_cmp(r, NFT_CMP_EQ, net, len);
}

int nlb_match_addr_set(struct nftnl_rule *r, uint32_t off, size_t len,
		       const char *set)
{
	int rc = nlb_payload(r, NFT_PAYLOAD_NETWORK_HEADER, off, len);

	return rc ? rc : nlb_lookup(r, set);
}

int nlb_match_ifname(struct nftnl_rule *r, uint32_t key, const char *ifname)
{
	char name[ABI_IFNAMSIZ] = { 0 };
	int rc;

	strncpy(name, ifname, sizeof(name) - 1);
	rc = nlb_meta(r, key);
	return rc ? rc : nlb_cmp(r, NFT_CMP_EQ, name, sizeof(name));
}

int nlb_match_ifindex(struct nftnl_rule *r, uint32_t key, uint32_t ifindex)
{
	int rc = nlb_meta(r, key);

	return rc ? rc : nlb_cmp(r, NFT_CMP_EQ, &ifindex, sizeof(ifindex));
}

/* ct KEY & bits != 0 */
static int nlb_match_ct_bits(struct nftnl_rule *r, uint32_t key, uint32_t bits)
{
	uint32_t zero = 0;
	int rc = nlb_ct(r, key);

	if (!rc)
		rc = nlb_bitwise(r, &bits, sizeof(bits));
	return rc ? rc : nlb_cmp(r, NFT_CMP_NEQ, &zero, sizeof(zero));
}

int nlb_match_ct_state(struct nftnl_rule *r, uint32_t bits)
{
	return nlb_match_ct_bits(r, NFT_CT_STATE, bits);
}

int nlb_match_ct_status(struct nftnl_rule *r, uint32_t bits)
{
	return nlb_match_ct_bits(r, NFT_CT_STATUS, bits);
}

void nlb_put_data(struct nlmsghdr *nlh, uint16_t type, const void *v, size_t len)
{
	struct nlattr *nest = mnl_attr_nest_start(nlh, type);

	mnl_attr_put(nlh, NFTA_DATA_VALUE, len, v);
	mnl_attr_nest_end(nlh, nest);
}

struct nlmsghdr *nlb_setelems_begin(char *buf, bool del, uint32_t seq,
				    const char *table, const char *set)
{
	struct nlmsghdr *nlh = nftnl_nlmsg_build_hdr(buf, del ? NFT_MSG_DELSETELEM :
						      NFT_MSG_NEWSETELEM, NFPROTO_INET,
						      del ? NLM_F_ACK : NLM_F_ACK | NLM_F_CREATE,
						      seq);

	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, table);
	mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, set);
	return nlh;
}
