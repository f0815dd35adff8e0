"""flowc's standard workers, called from .flow files as `stdlib.<module>.<name>`."""
