"""Processing provider and algorithms of the Cloud Removal plugin."""
