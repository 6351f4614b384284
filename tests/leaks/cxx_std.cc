/* Description: leaks through the C++ standard library's allocation
 * internals, each reported at the program's own line: the standard
 * library's frames (make_shared's __allocate_guarded and _Sp_counted_*
 * control blocks, the containers' _M_get_node and _M_allocate, string's
 * _M_create, ...) are allocation wrappers ("[std]").
 *   - a std::make_shared cycle: two 56-byte control blocks (the Node
 *     inside each) whose shared_ptrs point at each other;
 *   - a leaked std::shared_ptr<int> (16 bytes) holding std::allocate_shared
 *     storage (a 24-byte control block);
 *   - a leaked std::map<std::string, int> (48 bytes) with one 72-byte node;
 *   - a leaked std::list<int> (24 bytes) with one 24-byte node;
 *   - a leaked std::vector<long> (24 bytes) with an 8-byte buffer;
 *   - a leaked std::string (32 bytes) with a 101-byte buffer.
 * Expected (gcc 12's libstdc++): definite 6 blocks, 56 + 16 + 48 + 24 + 24
 * + 32 = 200 bytes; indirect 6 blocks, 56 + 24 + 72 + 24 + 8 + 101 = 285
 * bytes; one leaked cycle of the two control blocks. */
#include <list>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "leak.h"

struct Node {
	std::shared_ptr<Node> peer;
	std::vector<int> data;
};

NOINLINE static void make_cycle()
{
	auto a = std::make_shared<Node>(); /* LEAK:shared_a */
	auto b = std::make_shared<Node>(); /* LEAK:shared_b */
	a->peer = b;
	b->peer = a;
}

NOINLINE static void leak_all()
{
	void *volatile p;

	p = new std::shared_ptr<int>(std::allocate_shared<int>(std::allocator<int>(), 7)); /* LEAK:holder */
	auto *m = new std::map<std::string, int>; /* LEAK:map */
	(*m)["key"] = 1; /* LEAK:map_node */
	p = m;
	m = nullptr;
	auto *l = new std::list<int>; /* LEAK:list */
	l->push_back(1); /* LEAK:list_node */
	p = l;
	l = nullptr;
	auto *v = new std::vector<long>; /* LEAK:vector */
	v->push_back(1); /* LEAK:vector_buf */
	p = v;
	v = nullptr;
	p = new std::string(100, 'x'); /* LEAK:string */
	p = nullptr;
	(void)p;
}

int main()
{
	make_cycle();
	leak_all();
	return 0;
}
