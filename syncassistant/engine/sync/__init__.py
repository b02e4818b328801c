"""The git-level loops of one folder: watch the work tree, commit, push to every remote, notice
incoming pushes, merge them (conflicts kept as variants), and recover from a killed daemon."""
