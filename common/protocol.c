/* protocol.c — IP protocol names and numbers as the configuration writes them. */
#include <errno.h>
#include <strings.h>

#include "config.h"
#include "loader.h"

static const struct {
	const char *name;
	int proto;
} proto_names[] = {
	{ "tcp", SG_PROTO_TCP },
	{ "udp", SG_PROTO_UDP },
	{ "icmp", SG_PROTO_ICMP },
	{ "icmpv6", SG_PROTO_ICMPV6 },
	{ "all", SG_PROTO_ALL },
};

const char *proto_name(int proto)
{
	for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++)
		if (proto_names[i].proto == proto)
			return proto_names[i].name;
	return NULL;
}

int proto_parse(const char *s, int *proto)
{
	long v;
	int r;

	for (size_t i = 0; i < sizeof(proto_names) / sizeof(proto_names[0]); i++) {
		if (strcasecmp(s, proto_names[i].name) == 0) {
			*proto = proto_names[i].proto;
			return 0;
		}
	}
	r = load_parse_int(s, &v);
	if (r == -EINVAL)
		return r;
	if (r == 0 && v == -1) {
		*proto = SG_PROTO_ALL;
		return 0;
	}
	if (r < 0 || v < 0 || v > 255)
		return -ERANGE;
	*proto = (int)v;
	return 0;
}
