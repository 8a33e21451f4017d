"""Optional integrations, imported only when a project uses them."""
