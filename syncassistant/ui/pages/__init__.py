"""The settings dialog's pages, one module each."""
