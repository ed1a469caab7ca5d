"""LeadFlow core: configuration, warehouse access, the CLI and logging shared by every package."""

__version__ = "0.1.0"
