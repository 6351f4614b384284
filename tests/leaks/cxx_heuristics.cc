/* Description: C++ blocks that the program still holds, but only through
 * a pointer into their inside, the way C++ itself hands them out:
 *   - new D520[4] of a class with a destructor: the block is 4 x 520 + 8
 *     (the array cookie holding the count) = 2088 bytes, and the program
 *     keeps the pointer new[] returned, block + 8, in a global;
 *   - an object of class Both (216 bytes) deriving from two polymorphic
 *     bases, kept only as a pointer to its second base (block + 104).
 * Valgrind's default leak heuristics (--leak-check-heuristics=all:
 * newarray, multipleinheritance) count both as still reachable, and
 * heapsnap follows memcheck's definitions, so the expected result is:
 * reachable 2 blocks, 2304 bytes; possible 0.  (Without the heuristics
 * they would be possibly lost.)  Plus one plain definite leak through
 * the same class, new D520[2] dropped: 1048 bytes. */
#include "leak.h"

struct D520 {
	char c[520];
	~D520() { c[0] = 0; }
};

struct Base1 {
	virtual ~Base1() {}
	char a[96];
};
struct Base2 {
	virtual ~Base2() {}
	char b[96];
};
struct Both : Base1, Base2 {
	char c[8];
};

D520 *volatile g_array;
Base2 *volatile g_second;

NOINLINE static void hold()
{
	g_array = new D520[4]; /* LEAK:array_held */
	Both *volatile b = new Both; /* LEAK:mi_held */
	g_second = b;
	b = nullptr;
}

NOINLINE static void drop()
{
	D520 *volatile p = new D520[2]; /* LEAK:array_dropped */
	p = nullptr;
	(void)p;
}

int main()
{
	static_assert(sizeof(Both) == 216, "layout");
	hold();
	drop();
	return 0;
}
