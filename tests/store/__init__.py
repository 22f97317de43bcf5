"""Tests of gateway.store: one behaviour suite over every backend."""
