"""FrontDesk: the reception tool that gets every client onto the practice's Client Portal."""

__version__ = "0.1.0"
