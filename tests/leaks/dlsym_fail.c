/* Description: plugin probing, as curl --version does it: dlsym of a name
 * that no loaded object defines.  glibc keeps the error pending until the
 * next dlerror() or dl* call: a message that ld.so allocated and a result
 * object from libc, both freed at exit by __libc_freeres.  The shim's own
 * symbol lookups (its exit wrapper, its destructor) must neither free nor
 * replace them.  With no argument main returns with the error pending;
 * with "exit", an atexit handler reads the message (exit 3 if it is not
 * the program's any more: the shim consumed it) and main calls exit().
 * Expected: nothing leaks, nothing is live at exit (memcheck says the
 * same). */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROBED "heapsnap_test_plugin_init"

static void check_pending_error(void)
{
	const char *msg = dlerror();

	if (!msg || !strstr(msg, PROBED))
		_exit(3);
}

int main(int argc, char **argv)
{
	if (dlsym(RTLD_DEFAULT, PROBED))
		return 2;
	if (argc > 1 && !strcmp(argv[1], "exit")) {
		atexit(check_pending_error);
		exit(0);
	}
	return 0;
}
