/* Description: a C++ program for tests/attach.sh: prints "ready", then
 * until the file argv[1] exists allocates strings and vectors with
 * operator new, deletes them, and keeps one 40-byte object in 8 (KEEPNEW)
 * in a list; prints "kept N" and exits 3. */
#include <cstdio>
#include <list>
#include <string>
#include <unistd.h>
#include <vector>

struct item {
	char data[40];
};

int main(int argc, char **argv)
{
	std::list<item *> kept;
	long n = 0;

	if (argc != 2)
		return 2;
	std::printf("ready\n");
	std::fflush(stdout);
	while (access(argv[1], F_OK) != 0) {
		std::vector<std::string> v;
		for (int i = 0; i < 50; i++)
			v.push_back(std::string(40 + i, 'x'));
		if (n++ % 8 == 0)
			kept.push_back(new item()); /* KEEPNEW */
		usleep(200);
	}
	std::printf("kept %zu\n", kept.size());
	return 3;
}
