"""The offline zero-resource benchmark: corpus, tracks, chance baseline, tables."""
