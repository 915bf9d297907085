"""Routes of this package (see the issues that build it)."""
