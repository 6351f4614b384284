/* Description: does nothing, in C++: the baseline of the C++ programs,
 * whose runtime (libstdc++) allocates at start-up what a C program's does
 * not (its emergency exception-handling pool).  It asks for the new
 * handler only so that the linker keeps libstdc++, as in any C++ program
 * that allocates. */
#include <new>

int main()
{
	return std::get_new_handler() != nullptr;
}
