/* Description: definitely lost blocks through the C++ operator new
 * family: new of a 2001-byte struct, new char[2002], nothrow new of a
 * 2003-byte struct, aligned new (alignas(64), 2048 bytes), new[] of 3
 * objects with a destructor (3 x 664 bytes + the 8-byte array cookie =
 * 2000 bytes, the pointer held is dropped), and a leaked
 * std::vector<int>(500) (the 24-byte vector object definite, its
 * 2000-byte buffer indirect).  Expected: definite 6 blocks,
 * 2001 + 2002 + 2003 + 2048 + 2000 + 24 = 10078 bytes; indirect 1 block,
 * 2000 bytes; nothing else of the program's. */
#include <new>
#include <vector>

#include "leak.h"

struct B2001 {
	char c[2001];
};
struct B2003 {
	char c[2003];
};
struct alignas(64) A2048 {
	char c[2048];
};
struct D664 {
	char c[664];
	~D664() { c[0] = 0; }
};

NOINLINE static void leak_all()
{
	void *volatile p;

	p = new B2001; /* LEAK:new */
	p = new char[2002]; /* LEAK:new_array */
	p = new (std::nothrow) B2003; /* LEAK:new_nothrow */
	p = new A2048; /* LEAK:new_aligned */
	p = new D664[3]; /* LEAK:new_array_cookie */
	p = new std::vector<int>(500); /* LEAK:vector */
	p = nullptr;
	(void)p;
}

int main()
{
	leak_all();
	return 0;
}
