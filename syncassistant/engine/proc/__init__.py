"""Processes: the only places that start git and git-annex (one-shot and --batch), and the guard that
ends them with the process that started them."""
