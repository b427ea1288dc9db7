"""Recipes: the loops (training, the demo's slice) built from the library's parts."""
