/* Description: C++ exceptions thrown through frames that allocate, for
 * the stack_verify=1 test (tests/integration.sh): operator new in
 * constructors, in destructors run while the exception unwinds the stack,
 * in catch blocks, and the exception objects themselves; rethrows, nested
 * try blocks, std::string and std::vector growth.  -O2, no frame
 * pointers.  Prints "cxx ok allocations=N". */
#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

static unsigned long allocations;

struct Holder {
	std::vector<int> v;
	explicit Holder(int n) : v(static_cast<size_t>(n) + 1, n) { allocations++; }
	~Holder()
	{
		std::string s(40, 'x'); // a destructor that allocates while unwinding
		allocations++;
		if (s.size() != 40)
			std::puts("never");
	}
};

__attribute__((noinline)) static int thrower(int d, int at)
{
	Holder h(d);
	auto p = std::make_unique<std::string>(32 + static_cast<size_t>(d), 'a');
	allocations++;
	if (d == at)
		throw std::runtime_error("depth " + std::to_string(d) + std::string(30, '!'));
	return thrower(d + 1, at) + static_cast<int>(p->size());
}

__attribute__((noinline)) static int middle(int i)
{
	try {
		return thrower(0, i % 23);
	} catch (const std::runtime_error &e) {
		std::string copy(e.what()); // allocates in the handler
		allocations++;
		if (i % 5 == 0)
			throw std::logic_error(copy + " again");
		return static_cast<int>(copy.size());
	}
}

int main()
{
	long sum = 0;
	for (int i = 0; i < 3000; i++) {
		try {
			sum += middle(i);
		} catch (const std::logic_error &e) {
			std::vector<std::string> v;
			for (int k = 0; k < 5; k++)
				v.emplace_back(e.what());
			allocations += 5;
			sum += static_cast<long>(v.size());
		}
	}
	std::printf("cxx ok allocations=%lu sum=%ld\n", allocations, sum);
	return 0;
}
