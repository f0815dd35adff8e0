"""The Lark grammar of the .flow language (flow.lark), shipped inside the wheel."""
