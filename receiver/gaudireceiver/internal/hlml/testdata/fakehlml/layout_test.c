/*
 * The layout test: compiles only if every struct size, field offset and enum value of fakehlml.h
 * that the Go side relies on has its 64-bit Linux ABI value (layout.h). Run by the Go test
 * TestLayoutCTest, which compiles and runs it.
 */
#include <stdio.h>

#include "layout.h"

#define CHECK(name, expr, abi) _Static_assert((expr) == (abi), name " is not " #abi);
FAKEHLML_LAYOUTS(CHECK)
#undef CHECK

int main(void)
{
	int n = 0;
#define COUNT(name, expr, abi) n++;
	FAKEHLML_LAYOUTS(COUNT)
#undef COUNT
	printf("%d layouts checked\n", n);
	return 0;
}
