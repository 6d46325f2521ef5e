#include <criterion/criterion.h>
#include <string.h>

#include "text.h"

/* Printable ASCII stays; '\', controls, NULs and bytes >= 0x7f become \xNN. */
Test(text, printable_escapes_all_but_printable_ascii)
{
	static const char	in[] = "ok \\ \x01\n\x7f\xc3\xa9";
	char			out[128];

	text_printable(in, sizeof(in), out, sizeof(out));
	cr_expect_str_eq(out, "ok \\x5c \\x01\\x0a\\x7f\\xc3\\xa9\\x00");
}

/* Stops while an escape still fits: ends on a whole one, terminated, never past outlen. */
Test(text, printable_cuts_whole_escapes)
{
	char	out[16];

	memset(out, 'Z', sizeof(out));
	text_printable("abcdefgh\x01\x02\x03", 11, out, 12);
	cr_expect_str_eq(out, "abcdefg");
	text_printable("\x01\x02\x03\x04", 4, out, 12);
	cr_expect_str_eq(out, "\\x01\\x02");
	cr_expect_eq(out[15], 'Z');
	text_printable("abc", 3, out, 1);
	cr_expect_str_eq(out, "");
}
