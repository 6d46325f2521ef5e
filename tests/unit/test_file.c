/*
 * file_read(): the one whole-file reader of the state file and of
 * anycast-healthctl's tolerant configuration reader.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"
#include "testutil.h"

static const char	*dir;

static void
setup(void)
{
	dir = tu_mkdir();
}

TestSuite(file, .init = setup, .fini = tu_cleanup);

static const char *
in_dir(const char *name)
{
	static char	path[128];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return path;
}

static void
write_file(const char *name, const char *text)
{
	FILE	*f;

	cr_assert_not_null(f = fopen(in_dir(name), "w"));
	fputs(text, f);
	fclose(f);
}

static off_t	checked_size = -1;

static int
only_small(const struct stat *st, char *err, size_t errlen)
{
	checked_size = st->st_size;
	if (st->st_size > 5) {
		snprintf(err, errlen, "too big for the check");
		return -1;
	}
	return 0;
}

Test(file, reads_the_whole_file_after_the_check)
{
	char		 err[128] = "", *text;

	write_file("a", "{ \"x\": 1 }\n");
	text = file_read(in_dir("a"), 0, 64, NULL, err, sizeof(err));
	cr_assert_not_null(text, "%s", err);
	cr_expect_str_eq(text, "{ \"x\": 1 }\n");
	free(text);
	/* The check sees the opened file and refuses it before it is read. */
	errno = 0;
	cr_expect_null(file_read(in_dir("a"), 0, 64, only_small, err, sizeof(err)));
	cr_expect_eq(errno, EPERM);
	cr_expect_eq(checked_size, 11);
	cr_expect_str_eq(err, "too big for the check");
	write_file("b", "{}\n");
	cr_assert_not_null(text = file_read(in_dir("b"), 0, 64, only_small, err,
	    sizeof(err)));
	cr_expect_str_eq(text, "{}\n");
	free(text);
	/* Exactly the cap is allowed; one byte more is not. */
	cr_assert_not_null(text = file_read(in_dir("a"), 0, 11, NULL, err, sizeof(err)));
	free(text);
	errno = 0;
	cr_expect_null(file_read(in_dir("a"), 0, 10, NULL, err, sizeof(err)));
	cr_expect_eq(errno, EINVAL);
	cr_expect_str_eq(err, "not a regular file of at most 10 bytes");
}

Test(file, empty_file_is_empty_text)
{
	char	err[128] = "", *text;

	write_file("empty", "");
	cr_assert_not_null(text = file_read(in_dir("empty"), 0, 64, NULL, err,
	    sizeof(err)), "%s", err);
	cr_expect_str_eq(text, "");
	free(text);
}

Test(file, missing_file_says_enoent)
{
	char	err[128] = "";

	errno = 0;
	cr_expect_null(file_read(in_dir("none"), 0, 64, NULL, err, sizeof(err)));
	cr_expect_eq(errno, ENOENT);
	cr_expect_str_eq(err, strerror(ENOENT));
}

Test(file, refuses_what_is_not_a_regular_file)
{
	char	err[128] = "";

	/* A FIFO with no writer: O_NONBLOCK keeps this from hanging. */
	cr_assert_eq(mkfifo(in_dir("fifo"), 0600), 0);
	errno = 0;
	cr_expect_null(file_read(in_dir("fifo"), 0, 64, NULL, err, sizeof(err)));
	cr_expect_eq(errno, EINVAL);
	cr_expect_str_eq(err, "not a regular file of at most 64 bytes");
	errno = 0;
	cr_expect_null(file_read(dir, 0, 64, NULL, err, sizeof(err)));
	cr_expect_eq(errno, EINVAL);
}

Test(file, no_follow_refuses_a_link_only_when_asked)
{
	char	err[128] = "", target[128], *text;

	write_file("target", "hello");
	snprintf(target, sizeof(target), "%s", in_dir("target"));
	cr_assert_eq(symlink(target, in_dir("link")), 0, "%s", strerror(errno));
	cr_assert_not_null(text = file_read(in_dir("link"), 0, 64, NULL, err,
	    sizeof(err)), "%s", err);
	cr_expect_str_eq(text, "hello");
	free(text);
	errno = 0;
	cr_expect_null(file_read(in_dir("link"), O_NOFOLLOW, 64, NULL, err, sizeof(err)));
	cr_expect_eq(errno, ELOOP);
	cr_expect_str_eq(err, strerror(ELOOP));
}
