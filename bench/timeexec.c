/*
 * timeexec.c — run one command and report its wall time and peak RSS
 * (a bench tool, not part of sgd).
 *
 *   timeexec -o FILE CMD [ARGS...]
 *
 * Writes "wall_ns=<ns> maxrss_kb=<KB>" to FILE and exits with CMD's exit
 * status (128 + signal if it was killed).  The clock runs from just before
 * fork(2) to the reap in wait4(2).  Being a small C process matters: a
 * child forked from a large parent (the Python driver) would report the
 * parent's memory as its own peak RSS until it execs.
 * Build: cc -O2 -D_GNU_SOURCE -o timeexec timeexec.c
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/wait.h>

static long long timeexec_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	long long t0, t1;
	const char *out;
	FILE *f;
	int status;
	pid_t pid;

	if (argc < 4 || strcmp(argv[1], "-o") != 0) {
		fprintf(stderr, "usage: timeexec -o FILE CMD [ARGS...]\n");
		return 2;
	}
	out = argv[2];
	t0 = timeexec_now_ns();
	pid = fork();
	if (pid < 0) {
		perror("timeexec: fork");
		return 127;
	}
	if (pid == 0) {
		execvp(argv[3], argv + 3);
		fprintf(stderr, "timeexec: %s: %s\n", argv[3], strerror(errno));
		_exit(127);
	}
	if (wait4(pid, &status, 0, &ru) < 0) {
		perror("timeexec: wait4");
		return 127;
	}
	t1 = timeexec_now_ns();
	f = fopen(out, "w");
	if (!f || fprintf(f, "wall_ns=%lld maxrss_kb=%ld\n", t1 - t0, ru.ru_maxrss) < 0 ||
	    fclose(f) != 0) {
		perror("timeexec: writing the result");
		return 127;
	}
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}
