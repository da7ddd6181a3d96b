"""CLI, supervisor, admin tools and drills: the user-facing layer over node processes."""
