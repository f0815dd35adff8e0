"""Semantic analysis: name resolution, the checked graph, and every check of SPEC section 3."""
