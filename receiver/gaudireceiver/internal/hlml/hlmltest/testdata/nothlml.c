/* A shared library without HLML's symbols: the hlml source must refuse to use it. */
int not_hlml(void) { return 0; }
