"""Bringing pipelines from other frameworks to flowc: `flowc import mimocorb2 SETUP.yaml`.

conversion = flowc.migrate.convert_mimocorb2("setup.yaml")
conversion.flow_text, conversion.diagnostics
"""

from flowc.migrate.mimocorb2 import Conversion, convert_mimocorb2

__all__ = ["Conversion", "convert_mimocorb2"]
