/*
 * frr_drain() (agent/route/frr_call.c), the one read helper of the vtysh
 * pipe and the vty socket: what a non-blocking fd has now, EOF, the cap
 * (an answer that fits it exactly is no overflow), out of memory.
 */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "frr_int.h"

/* A file of n bytes, opened for reading: read() gives them and then EOF. */
static int
file_of(size_t n)
{
	char	 path[] = "/tmp/frr_drain_XXXXXX", *buf;
	int	 fd;

	cr_assert_geq(fd = mkstemp(path), 0);
	unlink(path);
	cr_assert_not_null(buf = malloc(n + 1));
	memset(buf, 'x', n);
	cr_assert_eq(write(fd, buf, n), (ssize_t)n);
	free(buf);
	cr_assert_eq(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

static void
call_done(struct frr_call *c)
{
	close(c->fd);
	free(c->out);
}

Test(frr_drain, a_pipe_now_then_at_its_end)
{
	struct frr_call	c = { .fd = -1 };
	int		p[2], err = -1;

	cr_assert_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	c.fd = p[0];
	cr_expect_eq(frr_drain(&c, &err), FRR_DRAIN_MORE);
	cr_expect_eq(err, 0);
	cr_assert_not_null(c.out, "a string even when nothing came");
	cr_expect_str_eq(c.out, "");
	cr_assert_eq(write(p[1], "abc", 3), 3);
	cr_expect_eq(frr_drain(&c, &err), FRR_DRAIN_MORE);
	cr_expect_str_eq(c.out, "abc");
	cr_assert_eq(write(p[1], "de", 2), 2);
	close(p[1]);
	cr_expect_eq(frr_drain(&c, &err), FRR_DRAIN_EOF);
	cr_expect_eq(c.len, 5);
	cr_expect_str_eq(c.out, "abcde");
	call_done(&c);
}

Test(frr_drain, a_read_error_is_reported_with_its_errno)
{
	struct frr_call	c = { .fd = -1 };
	int		err = 0;

	/* Write-only: read() fails with EBADF. */
	cr_assert_geq(c.fd = open("/dev/null", O_WRONLY | O_CLOEXEC), 0);
	cr_expect_eq(frr_drain(&c, &err), FRR_DRAIN_ERROR);
	cr_expect_eq(err, EBADF);
	call_done(&c);
}

/* Just under the cap, exactly at it (all but the NUL's byte), one byte over. */
Test(frr_drain, an_answer_that_fits_the_cap_is_whole)
{
	size_t	sizes[] = { FRR_OUT_MAX - 4096, FRR_OUT_MAX - 100, FRR_OUT_MAX - 1 };
	int	err;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct frr_call	c = { .fd = file_of(sizes[i]) };

		cr_expect_eq(frr_drain(&c, &err), FRR_DRAIN_EOF, "%zu bytes", sizes[i]);
		cr_expect_eq(c.len, sizes[i]);
		cr_expect_leq(c.cap, FRR_OUT_MAX);
		call_done(&c);
	}
}

Test(frr_drain, one_byte_over_the_cap_is_full)
{
	struct frr_call	c = { .fd = file_of(FRR_OUT_MAX) };
	int		err;

	cr_expect_eq(frr_drain(&c, &err), FRR_DRAIN_FULL);
	cr_expect_eq(c.len, FRR_OUT_MAX - 1);
	cr_expect_eq(c.cap, FRR_OUT_MAX);
	cr_expect_eq(c.out[c.len], '\0');
	/* Asked again (the child's exit drains once more): still full, nothing past it. */
	cr_expect_eq(frr_drain(&c, &err), FRR_DRAIN_EOF);
	cr_expect_eq(c.len, FRR_OUT_MAX - 1);
	call_done(&c);
}

/*
 * Out of memory while growing: an error, and the capacity stays what is
 * allocated, so that the drain after the child's exit reads no further.
 */
Test(frr_drain, out_of_memory_leaves_the_capacity_as_allocated)
{
	struct frr_call	c = { .fd = file_of(FRR_OUT_MAX / 2) };
	struct rlimit	rl;
	unsigned long	pages = 0, res;
	FILE		*f;
	int		err = 0;
	size_t		cap;

#ifdef __SANITIZE_ADDRESS__
	/* ASan's allocator aborts rather than return NULL, and reserves terabytes. */
	cr_skip_test("RLIMIT_AS cannot make malloc fail under ASan");
#endif
	cr_assert_not_null(f = fopen("/proc/self/statm", "r"));
	cr_assert_eq(fscanf(f, "%lu %lu", &pages, &res), 2);
	fclose(f);
	/* Room for 1 MiB more mappings, not for the growth to 4 MiB. */
	rl.rlim_cur = rl.rlim_max = pages * (unsigned long)sysconf(_SC_PAGESIZE) + (1 << 20);
	cr_assert_eq(setrlimit(RLIMIT_AS, &rl), 0, "%s", strerror(errno));
	cr_expect_eq(frr_drain(&c, &err), FRR_DRAIN_ERROR);
	cr_expect_eq(err, ENOMEM);
	cap = c.cap;
	cr_expect_leq(cap, 1 << 20);
	cr_expect_eq(malloc_usable_size(c.out) >= cap, true, "cap %zu, allocated %zu", cap,
	    malloc_usable_size(c.out));
	cr_expect_eq(frr_drain(&c, &err), FRR_DRAIN_ERROR);
	cr_expect_eq(c.cap, cap);
	call_done(&c);
}
