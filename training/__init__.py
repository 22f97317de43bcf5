"""Training the embedded classifier (`python -m training.train`); not part of the package."""
