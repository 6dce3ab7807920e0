/*
 * test_journal.c — the run-time membership journal (daemon/journal.c):
 * replay in order, a torn last record and a checksum mismatch are
 * skipped (and a torn tail cut off), compaction empties it.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "journal.h"

struct seen {
	char rec[64][80];
	size_t n;
};

static int collect(void *arg, bool add, const char *group,
		   const struct sg_cidr *c)
{
	struct seen *s = arg;
	char cb[64];

	ck_assert_uint_lt(s->n, 64);
	snprintf(s->rec[s->n++], 80, "%c%s %s", add ? '+' : '-', group,
		 cidr_format(c, cb, sizeof(cb)));
	return 0;
}

static char dir[64];

static void setup(void)
{
	strcpy(dir, "/tmp/sgM-journal-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	char p[128];

	snprintf(p, sizeof(p), "%s/j", dir);
	unlink(p);
	rmdir(dir);
}

static struct sg_cidr C(const char *s)
{
	struct sg_cidr c;

	ck_assert_int_eq(cidr_parse(s, &c), 0);
	return c;
}

static off_t fsize(void)
{
	char p[128];
	struct stat st;

	snprintf(p, sizeof(p), "%s/j", dir);
	ck_assert_int_eq(stat(p, &st), 0);
	return st.st_size;
}

static void append_raw(const char *text, off_t at)
{
	char p[128];
	int fd;

	snprintf(p, sizeof(p), "%s/j", dir);
	fd = open(p, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, text, strlen(text), at), (ssize_t)strlen(text));
	close(fd);
}

/* Three records written as one batch: a, b, then a deleted. */
static void write_three(void)
{
	struct journal j;
	struct seen s = { .n = 0 };
	struct sg_cidr a = C("10.0.0.1"), b = C("2001:db8::/32");
	size_t bad;

	ck_assert_int_eq(journal_open(&j, dir, "j", collect, &s, &bad, NULL, 0), 0);
	ck_assert_uint_eq(s.n, 0);
	ck_assert_int_eq(journal_append(&j, true, "web", &a), 0);
	ck_assert_int_eq(journal_append(&j, true, "db", &b), 0);
	ck_assert_int_eq(journal_append(&j, false, "web", &a), 0);
	ck_assert_int_eq(journal_sync(&j), 0);
	ck_assert_uint_eq(j.n_records, 3);
	journal_close(&j);
}

START_TEST(crc_known_value)
{
	ck_assert_uint_eq(journal_crc32("123456789", 9), 0xcbf43926u);
}
END_TEST

START_TEST(replay_in_order)
{
	struct journal j;
	struct seen s = { .n = 0 };
	char msg[256];
	size_t bad = 9;

	write_three();
	ck_assert_int_eq(journal_open(&j, dir, "j", collect, &s, &bad, msg,
				      sizeof(msg)), 0);
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(s.n, 3);
	ck_assert_str_eq(s.rec[0], "+web 10.0.0.1/32");
	ck_assert_str_eq(s.rec[1], "+db 2001:db8::/32");
	ck_assert_str_eq(s.rec[2], "-web 10.0.0.1/32");
	journal_close(&j);
}
END_TEST

START_TEST(torn_last_record)
{
	struct journal j;
	struct seen s = { .n = 0 };
	struct sg_cidr c = C("10.0.0.9");
	char msg[256];
	off_t good;
	size_t bad;

	write_three();
	good = fsize();
	/* a crash in the middle of the next write */
	append_raw("+ web 10.0.0.", good);
	ck_assert_int_eq(journal_open(&j, dir, "j", collect, &s, &bad, msg,
				      sizeof(msg)), 0);
	ck_assert_uint_eq(bad, 1);
	ck_assert_ptr_nonnull(strstr(msg, ":4: torn"));
	ck_assert_uint_eq(s.n, 3);
	/* cut off, so that the next record starts on its own line */
	ck_assert_int_eq(fsize(), good);
	ck_assert_int_eq(journal_append(&j, true, "web", &c), 0);
	ck_assert_int_eq(journal_sync(&j), 0);
	journal_close(&j);
	s.n = 0;
	ck_assert_int_eq(journal_open(&j, dir, "j", collect, &s, &bad, msg,
				      sizeof(msg)), 0);
	ck_assert_uint_eq(bad, 0);
	ck_assert_uint_eq(s.n, 4);
	ck_assert_str_eq(s.rec[3], "+web 10.0.0.9/32");
	journal_close(&j);
}
END_TEST

START_TEST(checksum_mismatch)
{
	struct journal j;
	struct seen s = { .n = 0 };
	char msg[256];
	off_t size;
	size_t bad;

	write_three();
	size = fsize();
	/* "+ web 10.0.0.1/32 XXXXXXXX\n": the address changes, not the sum */
	append_raw("7", 13);
	ck_assert_int_eq(journal_open(&j, dir, "j", collect, &s, &bad, msg,
				      sizeof(msg)), 0);
	ck_assert_uint_eq(bad, 1);
	ck_assert_ptr_nonnull(strstr(msg, ":1: checksum mismatch"));
	ck_assert_uint_eq(s.n, 2);
	ck_assert_str_eq(s.rec[0], "+db 2001:db8::/32");
	/* not the tail: nothing is cut */
	ck_assert_int_eq(fsize(), size);
	journal_close(&j);
	/* damaged tail record with its newline: skipped and cut */
	append_raw("+ web 10.0.0.5/32 00000000\n", size);
	s.n = 0;
	ck_assert_int_eq(journal_open(&j, dir, "j", collect, &s, &bad, msg,
				      sizeof(msg)), 0);
	ck_assert_uint_eq(bad, 2);
	ck_assert_uint_eq(s.n, 2);
	ck_assert_int_eq(fsize(), size);
	journal_close(&j);
}
END_TEST

START_TEST(compaction_and_bad_names)
{
	struct journal j;
	struct seen s = { .n = 0 };
	struct sg_cidr c = C("10.0.0.1");
	size_t bad, i;

	ck_assert_int_eq(journal_open(&j, dir, "j", collect, &s, &bad, NULL, 0), 0);
	ck_assert_int_eq(journal_append(&j, true, "two words", &c), -EINVAL);
	ck_assert_int_eq(journal_append(&j, true, "", &c), -EINVAL);
	for (i = 0; i < 200; i++)
		ck_assert_int_eq(journal_append(&j, i % 2 == 0, "web", &c), 0);
	/* a dropped batch is not written */
	journal_drop(&j);
	ck_assert_int_eq(journal_sync(&j), 0);
	ck_assert_int_eq(fsize(), 0);
	for (i = 0; i < 200; i++)
		ck_assert_int_eq(journal_append(&j, i % 2 == 0, "web", &c), 0);
	ck_assert_int_eq(journal_sync(&j), 0);
	ck_assert_uint_eq(j.n_records, 200);
	ck_assert(!journal_wants_compaction(&j, 100));
	ck_assert(journal_wants_compaction(&j, 10));
	ck_assert_int_eq(journal_reset(&j), 0);
	ck_assert_int_eq(fsize(), 0);
	ck_assert(!journal_wants_compaction(&j, 0));
	ck_assert_int_eq(journal_append(&j, true, "web", &c), 0);
	ck_assert_int_eq(journal_sync(&j), 0);
	journal_close(&j);
	ck_assert_int_eq(journal_open(&j, dir, "j", collect, &s, &bad, NULL, 0), 0);
	ck_assert_uint_eq(s.n, 1);
	ck_assert_uint_eq(bad, 0);
	journal_close(&j);
}
END_TEST

static Suite *journal_suite(void)
{
	Suite *s = suite_create("journal");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, crc_known_value);
	tcase_add_test(tc, replay_in_order);
	tcase_add_test(tc, torn_last_record);
	tcase_add_test(tc, checksum_mismatch);
	tcase_add_test(tc, compaction_and_bad_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(journal_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
