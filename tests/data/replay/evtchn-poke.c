// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * evtchn-poke: the replay's trigger (tests/vm/test_replay.py).
 *
 * Opens /dev/xen/evtchn and asks IOCTL_EVTCHN_NOTIFY for one port number: the port
 * given as argv[1] (hexadecimal), the replay's magic port by default.  A xen-evtchn
 * built with the replay's injected fault hits a BUG there and the kernel kills this
 * process; Debian's own module answers ENOTCONN (the port is not bound).
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
	struct ioctl_evtchn_notify notify;
	int fd, rc;

	notify.port = (unsigned int)strtoul(argc > 1 ? argv[1] : "4b4d4e44", NULL, 16);
	fd = open("/dev/xen/evtchn", O_RDWR);
	if (fd < 0) {
		printf("open /dev/xen/evtchn: %s\n", strerror(errno));
		return 2;
	}
	printf("notify port 0x%x (pid %d)\n", notify.port, (int)getpid());
	fflush(stdout);
	rc = ioctl(fd, IOCTL_EVTCHN_NOTIFY, &notify);
	printf("ioctl returned %d (%s)\n", rc, rc < 0 ? strerror(errno) : "ok");
	close(fd);
	return 0;
}
