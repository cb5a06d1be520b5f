"""The model's actors: residents, disputes, mediators and patrol units."""
