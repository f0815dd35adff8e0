"""Renderers of a plan: Graphviz DOT (and later the HTML report), through Jinja2 templates."""
