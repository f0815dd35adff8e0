"""The front end: Lark grammar, syntax errors, the syntax tree, and the canonical printer."""
