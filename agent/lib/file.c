#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file.h"

char *
file_read(const char *path, int oflags, size_t max, file_check_fn check,
    char *err, size_t errlen)
{
	struct stat	 sb;
	char		*text = NULL;
	ssize_t		 n;
	size_t		 len = 0;
	int		 fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | oflags)) == -1) {
		e = errno;
		snprintf(err, errlen, "%s", strerror(e));
		errno = e;
		return NULL;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    (uintmax_t)sb.st_size > (uintmax_t)max) {
		snprintf(err, errlen, "not a regular file of at most %zu bytes", max);
		errno = EINVAL;
		goto fail;
	}
	if (check != NULL && check(&sb, err, errlen) == -1) {
		errno = EPERM;
		goto fail;
	}
	if ((text = malloc((size_t)sb.st_size + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		errno = ENOMEM;
		goto fail;
	}
	while (len < (size_t)sb.st_size) {
		n = read(fd, text + len, (size_t)sb.st_size - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			e = n == 0 ? EIO : errno;
			snprintf(err, errlen, "%s", n == 0 ? "shorter than its size" :
			    strerror(e));
			errno = e;
			goto fail;
		}
		len += (size_t)n;
	}
	text[len] = '\0';
	close(fd);
	return text;
fail:
	e = errno;
	free(text);
	close(fd);
	errno = e;
	return NULL;
}
