/* Description: sleeps until killed.  tests/attach.sh builds it statically
 * linked (build/tests/attach/static_sleeper), which heapsnap attach must
 * refuse with one clear line. */
#include <unistd.h>

int main(void)
{
	for (;;)
		sleep(1);
}
