"""Tools that measure nothing themselves: they turn finished runs into figures and tables."""
