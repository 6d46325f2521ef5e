/*
 * Trust in files and programs: only root may be able to change a
 * configuration file, the services directory, vtysh or a plugin, since
 * whoever can may announce any prefix or run anything as the daemon.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cfg.h"

/* One file or directory: root's, and writable by nobody else (a sticky directory may be). */
static int
trusted_node(const char *path, bool dir, char *why, size_t whylen)
{
	struct stat	st;

	if (stat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(why, whylen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (st.st_uid != 0) {
		snprintf(why, whylen, "%s is owned by uid %u: only root may own it and the "
		    "directories above it", path, (unsigned)st.st_uid);
		return -1;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(dir && (st.st_mode & S_ISVTX))) {
		snprintf(why, whylen, "%s is writable by group or others (mode %04o): only "
		    "root may write it and the directories above it", path,
		    (unsigned)(st.st_mode & 07777));
		return -1;
	}
	return 0;
}

int
cfg_stat_trusted(const struct stat *st, char *why, size_t whylen)
{
	if (st->st_uid != 0) {
		snprintf(why, whylen, "owned by uid %u: only root may own it",
		    (unsigned)st->st_uid);
		return -1;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(why, whylen, "writable by group or others (mode %04o): only root "
		    "may write it", (unsigned)(st->st_mode & 07777));
		return -1;
	}
	return 0;
}

/*
 * One name on a path as given: a symbolic link there must be root's too
 * (in a sticky directory its owner could point it elsewhere), and what it
 * names follows trusted_node()'s rule.
 */
static int
trusted_name(const char *path, bool dir, char *why, size_t whylen)
{
	struct stat	st;

	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && st.st_uid != 0) {
		snprintf(why, whylen, "%s is a symbolic link owned by uid %u: only root may "
		    "own it", path, (unsigned)st.st_uid);
		return -1;
	}
	return trusted_node(path, dir, why, whylen);
}

/* path and every directory above it, by name (path is changed). */
static int
trusted_chain(char *path, char *why, size_t whylen)
{
	char	*slash;

	if (trusted_name(path, false, why, whylen) == -1)
		return -1;
	while ((slash = strrchr(path, '/')) != NULL) {
		if (slash == path)
			slash[1] = '\0';
		else
			*slash = '\0';
		if (trusted_name(path, true, why, whylen) == -1)
			return -1;
		if (slash == path)
			break;
	}
	return 0;
}

int
cfg_path_trusted(const char *path, char *resolved, size_t reslen, char *why,
    size_t whylen)
{
	struct stat	st;
	char		given[PATH_MAX], real[PATH_MAX];

	if ((size_t)snprintf(given, sizeof(given), "%s", path) >= sizeof(given)) {
		snprintf(why, whylen, "path too long");
		return -1;
	}
	/* A missing file is root's to create: the directories above it are checked. */
	if (lstat(path, &st) == -1 && errno == ENOENT) {
		snprintf(real, sizeof(real), "%s", path);
	} else if (realpath(path, real) == NULL) {
		snprintf(why, whylen, "%s: %s", path, errno == ENOENT ?
		    "a dangling symbolic link" : strerror(errno));
		return -1;
	}
	/*
	 * Both the names as given (a directory on the way may be a link, or
	 * writable by a user) and what they resolve to; the caller executes
	 * the resolved path, so a link changed after the check is not followed.
	 */
	if (trusted_chain(given, why, whylen) == -1)
		return -1;
	if (resolved != NULL &&
	    (size_t)snprintf(resolved, reslen, "%s", real) >= reslen) {
		snprintf(why, whylen, "path too long");
		return -1;
	}
	return trusted_chain(real, why, whylen);
}
