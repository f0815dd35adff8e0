"""Compatibility layers: worker code written for other frameworks, run unchanged by flowc.

`flowc.compat.mimocorb2` runs mimoCoRB2 worker functions (see docs/coming-from-mimocorb2-and-km3pipe.md).
"""
