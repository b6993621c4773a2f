"""Documentation generator: MkDocs Markdown pages from knowledge and experiment files."""
