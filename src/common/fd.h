/*
 * SPDX-License-Identifier: MIT
 *
 * Small fd helpers: non-blocking and close-on-exec flags, and closing with
 * the fd variable set to -1.
 */
#ifndef SFU_COMMON_FD_H
#define SFU_COMMON_FD_H

#include <stdbool.h>

/* Each returns 0, or -1 with errno set. */
int	sfu_fd_set_nonblock(int fd, bool on);
int	sfu_fd_set_cloexec(int fd, bool on);
/* Closes *fd when >= 0 and sets it to -1; keeps errno. */
void	sfu_fd_close(int *fd);

#endif
