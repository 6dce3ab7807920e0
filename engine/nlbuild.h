/*
 * nlbuild.h — one small builder per nftables expression kind.
 *
 * Each appends one expression to a rule and returns 0 or -ENOMEM.  Data
 * given as pointers is copied.  Values are in network byte order where the
 * packet has them so (addresses, ports), host order for meta/ct registers.
 */
#ifndef SGD_NLBUILD_H
#define SGD_NLBUILD_H

#include <stdio.h>
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <libnftnl/rule.h>
#include <linux/netlink.h>

int nlb_meta(struct nftnl_rule *r, uint32_t key);
int nlb_ct(struct nftnl_rule *r, uint32_t key);
int nlb_payload(struct nftnl_rule *r, uint32_t base, uint32_t off, uint32_t len);
int nlb_cmp(struct nftnl_rule *r, uint32_t op, const void *data, size_t len);
int nlb_bitwise(struct nftnl_rule *r, const void *mask, size_t len);
int nlb_lookup(struct nftnl_rule *r, const char *set);
/* payload load into register reg (concatenations use several) */
int nlb_payload_reg(struct nftnl_rule *r, uint32_t base, uint32_t off,
		    uint32_t len, uint32_t reg);
/* lookup reg 1 in map `set`, its data (a verdict) into the verdict register */
int nlb_lookup_verdict(struct nftnl_rule *r, const char *set);
int nlb_counter(struct nftnl_rule *r);
int nlb_verdict(struct nftnl_rule *r, int verdict, const char *chain);
int nlb_limit(struct nftnl_rule *r, uint64_t rate, uint64_t unit, uint32_t burst);
int nlb_log(struct nftnl_rule *r, uint16_t group, const char *prefix);

/* Composite matches used by several rule kinds. */
/* meta nfproto <nfproto> */
int nlb_match_nfproto(struct nftnl_rule *r, uint8_t nfproto);
/* meta l4proto <proto> */
int nlb_match_l4proto(struct nftnl_rule *r, uint8_t proto);
/* th sport|dport lo-hi (a single port when lo == hi) */
int nlb_match_port(struct nftnl_rule *r, uint32_t off, int lo, int hi);
/* icmp/icmpv6 type or code (byte at off) lo-hi */
int nlb_match_byte(struct nftnl_rule *r, uint32_t off, int lo, int hi);
/* ip/ip6 saddr|daddr ADDR/PREFIX (prefix > 0) */
int nlb_match_addr(struct nftnl_rule *r, uint32_t off, const uint8_t *addr,
		   size_t len, unsigned prefix);
/* ip/ip6 saddr|daddr @set */
int nlb_match_addr_set(struct nftnl_rule *r, uint32_t off, size_t len,
		       const char *set);
/* meta iifname|oifname "<name>" */
int nlb_match_ifname(struct nftnl_rule *r, uint32_t key, const char *ifname);
/* meta iif|oif <index> */
int nlb_match_ifindex(struct nftnl_rule *r, uint32_t key, uint32_t ifindex);
/* ct state <bits> (any of them set) */
int nlb_match_ct_state(struct nftnl_rule *r, uint32_t bits);
/* ct status <bits> (any of them set) */
int nlb_match_ct_status(struct nftnl_rule *r, uint32_t bits);
/* ct original <key> into register reg (proto-dst: 2 bytes, network order) */
int nlb_ct_original_reg(struct nftnl_rule *r, uint32_t key, uint32_t reg);
/* ct original proto-dst lo-hi: the destination port the client used,
 * before any DNAT (a single port when lo == hi) */
int nlb_match_ct_dport(struct nftnl_rule *r, int lo, int hi);

/* For element messages built without libnftnl (compile_flatemit.c,
 * compile_sets.c): attribute `type` holding { NFTA_DATA_VALUE v }, as a
 * set element's key, end or data. */
void nlb_put_data(struct nlmsghdr *nlh, uint16_t type, const void *v, size_t len);
/* The header of such a message: NEWSETELEM (DELSETELEM when del) of
 * inet table/set, acked; the element list nest is the caller's. */
struct nlmsghdr *nlb_setelems_begin(char *buf, bool del, uint32_t seq,
				    const char *table, const char *set);

#endif
