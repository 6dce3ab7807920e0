/*
 * udpflood.c — a fast UDP sender for the sgd benchmark (not part of sgd).
 *
 * Sends small UDP datagrams to one destination with sendmmsg(2), either for
 * a fixed duration (-t SECONDS) or a fixed count (-c COUNT), optionally from
 * a given source address (-s ADDR) and pinned to one CPU (-C CPU).  On exit
 * it prints one line:  "sent=<packets> secs=<elapsed> pps=<rate> cpu=<secs>".
 *
 * The receiver counts what its input hook accepted; this tool only sends.
 * Build: cc -O2 -Wall -Wextra -o udpflood udpflood.c
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#define FLOOD_BATCH_MAX 256

struct flood_opts {
	const char *dst;
	const char *src;
	int port;
	double secs;		/* 0: use count */
	long count;		/* 0: use secs */
	int batch;
	int payload;
	int cpu;		/* -1: no pinning */
};

static double flood_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void flood_usage(FILE *f)
{
	fprintf(f, "usage: udpflood -d DSTADDR -p PORT (-t SECONDS | -c COUNT)"
		" [-s SRCADDR] [-b BATCH] [-l PAYLOAD] [-C CPU]\n");
}

static int flood_parse_args(int argc, char **argv, struct flood_opts *o)
{
	int c;

	*o = (struct flood_opts){ .batch = 64, .payload = 18, .cpu = -1, .port = -1 };
	while ((c = getopt(argc, argv, "d:p:t:c:s:b:l:C:h")) != -1) {
		switch (c) {
		case 'd': o->dst = optarg; break;
		case 's': o->src = optarg; break;
		case 'p': o->port = atoi(optarg); break;
		case 't': o->secs = atof(optarg); break;
		case 'c': o->count = atol(optarg); break;
		case 'b': o->batch = atoi(optarg); break;
		case 'l': o->payload = atoi(optarg); break;
		case 'C': o->cpu = atoi(optarg); break;
		case 'h': flood_usage(stdout); exit(0);
		default: return -EINVAL;
		}
	}
	if (!o->dst || o->port < 1 || o->port > 65535) {
		fprintf(stderr, "udpflood: -d and -p 1..65535 are required\n");
		return -EINVAL;
	}
	if ((o->secs > 0) == (o->count > 0)) {
		fprintf(stderr, "udpflood: give exactly one of -t SECONDS > 0 or -c COUNT > 0\n");
		return -EINVAL;
	}
	if (o->batch < 1 || o->batch > FLOOD_BATCH_MAX) {
		fprintf(stderr, "udpflood: -b must be 1..%d\n", FLOOD_BATCH_MAX);
		return -EINVAL;
	}
	if (o->payload < 1 || o->payload > 1400) {
		fprintf(stderr, "udpflood: -l must be 1..1400\n");
		return -EINVAL;
	}
	return 0;
}

/* Fill a sockaddr for an IPv4 or IPv6 literal; returns its length or -EINVAL. */
static int flood_make_addr(const char *s, int port, struct sockaddr_storage *ss)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, s, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		return sizeof(*a4);
	}
	if (inet_pton(AF_INET6, s, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		return sizeof(*a6);
	}
	fprintf(stderr, "udpflood: %s is not an IP address\n", s);
	return -EINVAL;
}

static int flood_open_socket(const struct flood_opts *o)
{
	struct sockaddr_storage dst, src;
	int dlen, slen, fd;

	dlen = flood_make_addr(o->dst, o->port, &dst);
	if (dlen < 0)
		return dlen;
	fd = socket(dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		perror("udpflood: socket");
		return -errno;
	}
	if (o->src) {
		slen = flood_make_addr(o->src, 0, &src);
		if (slen < 0 || src.ss_family != dst.ss_family) {
			fprintf(stderr, "udpflood: source and destination families differ\n");
			close(fd);
			return -EINVAL;
		}
		if (bind(fd, (struct sockaddr *)&src, (socklen_t)slen) < 0) {
			perror("udpflood: bind");
			close(fd);
			return -errno;
		}
	}
	/* connect() so the kernel caches the route and sendmmsg needs no address. */
	if (connect(fd, (struct sockaddr *)&dst, (socklen_t)dlen) < 0) {
		perror("udpflood: connect");
		close(fd);
		return -errno;
	}
	return fd;
}

static int flood_pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		perror("udpflood: sched_setaffinity");
		return -errno;
	}
	return 0;
}

/* Send until the deadline or the count; returns packets sent or -errno. */
static long flood_run(int fd, const struct flood_opts *o, double *elapsed)
{
	static char payload[1400];
	struct mmsghdr msgs[FLOOD_BATCH_MAX];
	struct iovec iov;
	double start, deadline, now;
	long sent = 0;
	int i, n, want;

	memset(payload, 'x', sizeof(payload));
	iov.iov_base = payload;
	iov.iov_len = (size_t)o->payload;
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < o->batch; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	start = flood_now();
	deadline = start + o->secs;
	now = start;
	for (;;) {
		want = o->batch;
		if (o->count > 0) {
			if (sent >= o->count)
				break;
			if (o->count - sent < want)
				want = (int)(o->count - sent);
		} else if (now >= deadline) {
			break;
		}
		n = sendmmsg(fd, msgs, (unsigned int)want, 0);
		if (n < 0) {
			/* A full queue or a transient ICMP error is not fatal:
			 * the receiver counts what arrived, we keep offering. */
			if (errno == ENOBUFS || errno == EAGAIN || errno == ECONNREFUSED ||
			    errno == EINTR || errno == EPERM) {
				now = flood_now();
				continue;
			}
			perror("udpflood: sendmmsg");
			return -errno;
		}
		sent += n;
		now = flood_now();
	}
	*elapsed = flood_now() - start;
	return sent;
}

int main(int argc, char **argv)
{
	struct flood_opts o;
	struct rusage ru;
	double elapsed = 0, cpu;
	long sent;
	int fd;

	if (flood_parse_args(argc, argv, &o) < 0) {
		flood_usage(stderr);
		return 2;
	}
	if (flood_pin(o.cpu) < 0)
		return 1;
	fd = flood_open_socket(&o);
	if (fd < 0)
		return 1;
	sent = flood_run(fd, &o, &elapsed);
	close(fd);
	if (sent < 0)
		return 1;
	/* CPU time too: the receiver's softirq work mostly runs inline in
	 * this process's sendmmsg, so CPU per packet is less disturbed than
	 * packets per wall second when other work shares the CPU. */
	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	printf("sent=%ld secs=%.6f pps=%.0f cpu=%.6f\n", sent, elapsed,
	       elapsed > 0 ? (double)sent / elapsed : 0.0, cpu);
	return 0;
}
