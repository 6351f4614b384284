/* Description: nopopulate ERRNO PROG [ARGS...]: run PROG with every
 * madvise(MADV_POPULATE_WRITE) failing with ERRNO (EINVAL: a kernel older
 * than 5.14; ENOMEM: no memory to populate with), through a seccomp
 * filter that PROG and its children inherit.  Exits 3 if the filter
 * cannot be installed or does not answer as asked, 4 if exec fails. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

static int install(unsigned err)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_madvise, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* the advice, the third argument's low word (little-endian) */
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2])),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, MADV_POPULATE_WRITE, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & SECCOMP_RET_DATA)),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {sizeof(f) / sizeof(f[0]), f};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
		return -1;
	return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

int main(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[1], "EINVAL") && strcmp(argv[1], "ENOMEM"))) {
		fprintf(stderr, "usage: nopopulate EINVAL|ENOMEM PROG [ARGS...]\n");
		return 1;
	}
	unsigned err = strcmp(argv[1], "EINVAL") ? ENOMEM : EINVAL;
	if (install(err)) {
		perror("nopopulate: seccomp");
		return 3;
	}
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED || syscall(SYS_madvise, p, 4096, MADV_POPULATE_WRITE) != -1 || errno != (int)err) {
		fprintf(stderr, "nopopulate: the filter does not answer %s\n", argv[1]);
		return 3;
	}
	munmap(p, 4096);
	execvp(argv[2], argv + 2);
	perror("nopopulate: exec");
	return 4;
}
