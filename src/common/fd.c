/*
 * SPDX-License-Identifier: MIT
 *
 * fcntl() wrappers.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "common/fd.h"

int
sfu_fd_set_nonblock(int fd, bool on)
{
	int fl = 0;

	fl = fcntl(fd, F_GETFL);
	if (fl == -1) {
		return -1;
	}
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl);
}

int
sfu_fd_set_cloexec(int fd, bool on)
{
	int fl = 0;

	fl = fcntl(fd, F_GETFD);
	if (fl == -1) {
		return -1;
	}
	fl = on ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC);
	return fcntl(fd, F_SETFD, fl);
}

void
sfu_fd_close(int *fd)
{
	int saved = errno;

	if (*fd >= 0) {
		close(*fd);
		*fd = -1;
	}
	errno = saved;
}
