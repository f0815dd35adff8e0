"""Semantic analysis: name resolution, the checked graph, and every check of SPEC section 3.

`resolve.py` turns the syntax tree into a `model.Model` (E101-E108), with values evaluated by
`values.py` (consts and `--set` overrides); `checks.py` runs the whole-graph checks over the
model and its networkx graph (E201-E304, W301-W303); `lower.py` makes the `Plan`.
`flowc.compiler` wires these stages together.
"""
