/*
 * maxrss: run a command and print its peak resident set size in KiB on
 * stderr ("maxrss KIB").  Built static with musl so that the image the
 * child starts from (and the kernel counts until exec) is tiny: a peak
 * measured from a python or shell parent would be theirs, not the
 * command's.
 */
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <stdio.h>
#include <unistd.h>

int
main(int argc, char *argv[])
{
	struct rusage	 ru;
	pid_t		 pid;
	int		 status;

	if (argc < 2)
		errx(100, "usage: maxrss command [args...]");
	if ((pid = fork()) == -1)
		err(111, "fork");
	if (pid == 0) {
		execvp(argv[1], argv + 1);
		err(127, "%s", argv[1]);
	}
	if (wait4(pid, &status, 0, &ru) == -1)
		err(111, "wait4");
	fprintf(stderr, "maxrss %ld\n", ru.ru_maxrss);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}
