"""The glue desktop (Qt) skin of glue-xai: viewers, option panels, workers, menu actions."""
