"""Recipes: the loops (training, text pretraining) built from the library's parts."""
