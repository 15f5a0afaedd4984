"""One controller per level of the /v1/<account>/<container>/<object> path."""
