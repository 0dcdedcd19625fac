// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * evtchn-poke: the replay's trigger (tests/vm/test_replay.py).
 *
 * Opens /dev/xen/evtchn and asks IOCTL_EVTCHN_BIND_INTERDOMAIN for port 1 of domain
 * argv[1] (1 by default) — what xenstored does when a guest is introduced.  A xen-evtchn
 * built with the replay's injected fault hits a BUG there for any guest domain and the
 * kernel kills this process; Debian's own module passes the request to Xen, which
 * refuses it when there is no such domain or port.
 * Built with gcc -static at test time; runs as a process in the Xen dom0.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <stdint.h>
typedef uint16_t domid_t; /* the uapi header uses the kernel's name */
#include <xen/evtchn.h>

int main(int argc, char **argv)
{
	struct ioctl_evtchn_bind_interdomain bind;
	int fd, rc;

	bind.remote_domain = (unsigned int)strtoul(argc > 1 ? argv[1] : "1", NULL, 10);
	bind.remote_port = 1;
	fd = open("/dev/xen/evtchn", O_RDWR);
	if (fd < 0) {
		printf("open /dev/xen/evtchn: %s\n", strerror(errno));
		return 2;
	}
	printf("bind domain %u port %u (pid %d)\n", bind.remote_domain, bind.remote_port,
	       (int)getpid());
	fflush(stdout);
	rc = ioctl(fd, IOCTL_EVTCHN_BIND_INTERDOMAIN, &bind);
	printf("ioctl returned %d (%s)\n", rc, rc < 0 ? strerror(errno) : "ok");
	close(fd);
	return 0;
}
