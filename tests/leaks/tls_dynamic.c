/* Description: pointers held in dynamic TLS: dlopen libleak_tls.so, whose
 * thread-local variable lives in a block the dynamic linker allocates for
 * each thread on first use; main stores a 6201-byte block in its copy, a
 * worker thread stores a 6202-byte block in its own and blocks in read(2)
 * while main calls exit(0).
 * The main thread's DTV is the dynamic linker's own memory (a root): its
 * TLS block, and the 6201 bytes, are still reachable.  A new thread's DTV
 * is a heap block that glibc points to at its second entry (dtv + 1, an
 * interior pointer): it is possibly lost, and so is everything reached
 * only through it, the worker's TLS block and the 6202 bytes, as memcheck
 * says too.  Expected, the program's own blocks: reachable 1 block, 6201
 * bytes; possible 1 block, 6202 bytes; nothing lost; plus the dynamic
 * linker's (the library's link map: still reachable; the TLS blocks and
 * the worker's DTV: reachable or possible). */
#include <dlfcn.h>

#include "leak.h"

static void (*store)(size_t);

static void *worker(void *arg)
{
	(void)arg;
	store(6202);
	signal_ready_and_block();
	return NULL;
}

int main(void)
{
	pthread_t t;

	pipes_init();
	void *h = dlopen(beside_exe("libleak_tls.so"), RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return 1;
	store = (void (*)(size_t))dlsym(h, "tls_store");
	if (!store)
		return 1;
	store(6201);
	if (pthread_create(&t, NULL, worker, NULL))
		return 1;
	wait_ready();
	exit(0);
}
