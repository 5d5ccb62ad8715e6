"""Record Isaac Lab scenes to Rerun while a policy trains."""

__version__ = "0.1.0"
