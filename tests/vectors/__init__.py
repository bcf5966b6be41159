"""Known-answer vectors fixed in the repository (identity digests, signed tokens)."""
