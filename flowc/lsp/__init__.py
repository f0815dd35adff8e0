"""`flowc lsp`: a Language Server Protocol server for `.flow` files (diagnostics, hover,
navigation, completion, formatting, outline, semantic tokens, quick fixes and the graph).

`server` wires the features to pygls; `documents` and `positions` keep the open texts and
convert LSP positions; `analysis` checks a text and indexes its names; the other modules are
one feature each.
"""
