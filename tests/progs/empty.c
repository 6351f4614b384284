/* Description: does nothing; its trace is the baseline that the other
 * programs' event counts are measured against (what the C runtime, the C++
 * runtime and the shim's start-up put in the traced heap). */
int main(void)
{
	return 0;
}
