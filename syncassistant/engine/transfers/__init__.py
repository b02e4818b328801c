"""Content sync: what to move (scanner), in which order (queue), and moving it (transferrer)."""
