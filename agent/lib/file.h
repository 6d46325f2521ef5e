/*
 * Reading a small file whole. For files whose reader must not be fooled:
 * the checks are made on the descriptor that is read, never on the name,
 * and a FIFO or device there cannot hang or flood the reader.
 */
#ifndef AHD_FILE_H
#define AHD_FILE_H

#include <stddef.h>
#include <sys/stat.h>

/*
 * The text of path, NUL-terminated: a regular file of at most max bytes,
 * opened with O_RDONLY | O_CLOEXEC | O_NONBLOCK and oflags (O_NOFOLLOW to
 * refuse a symbolic link). check, if not NULL, judges the stat of the
 * opened descriptor before a byte is read (owner, mode): -1 with its
 * reason in err refuses the file (errno EPERM).
 * NULL with errno and err: open()'s errno and strerror() (ENOENT: there is
 * none), EINVAL "not a regular file of at most MAX bytes", EPERM (check),
 * ENOMEM "out of memory", EIO "shorter than its size" (it shrank), or
 * read()'s.
 */
typedef int (*file_check_fn)(const struct stat *st, char *err, size_t errlen);
char	*file_read(const char *path, int oflags, size_t max, file_check_fn check,
	    char *err, size_t errlen);

#endif
