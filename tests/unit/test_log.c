/* One event, one line: text logs escape control characters. */
#include <stdio.h>
#include <stdlib.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "log.h"

static void
text_log(void)
{
	/* As under journald: no time stamp, so the line can be compared. */
	setenv("JOURNAL_STREAM", "8:1", 1);
	log_setup(LOG_LVL_INFO, LOG_FMT_TEXT, false);
	cr_redirect_stderr();
}

Test(log, text_lines_escape_control_characters, .init = text_log)
{
	log_err("state file %s: %s", "/run/a\nb\tc\x01", "Is a directory");
	log_msg(LOG_LVL_WARNING, "web", "state", "up -> down: %s", "line1\r\nline2");
	fflush(stderr);
	cr_expect_stderr_eq_str("error: state file /run/a\\nb\\tc\\x01: Is a directory\n"
	    "warning: web: up -> down: line1\\x0d\\nline2\n");
}
