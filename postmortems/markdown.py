"""Post-mortem text is rendered by the same sanitised Markdown renderer as incident comments."""

from incidents.services import render_markdown

__all__ = ["render_markdown"]
