"""Data: MiraBest batches, FITS cutouts, catalogues, synthetic sources and spectra, demo data."""
